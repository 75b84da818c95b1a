// src/kernels.cpp — the prebuilt CPU kernels (CMake target distillery::kernels).
//
// Compiles backend/cpu/implementation.hpp once, so programs that link distillery::distillery
// (= distillery::headers + distillery::kernels) never compile the kernels themselves.
#include <distillery/backend/cpu/implementation.hpp>
