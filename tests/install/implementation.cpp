// tests/install/implementation.cpp — the one translation unit that compiles the CPU kernels when
// the consumer links distillery::headers instead of the prebuilt distillery::kernels.
#define DISTILLERY_IMPLEMENTATION
#include <distillery/distillery.hpp>
