# cmake/aarch64-linux-gnu.cmake — cross-compile for 64-bit ARM Linux with Debian's toolchain.
#
#   apt-get install -y g++-aarch64-linux-gnu qemu-user
#   cmake -S . -B build-arm -DCMAKE_TOOLCHAIN_FILE=cmake/aarch64-linux-gnu.cmake \
#         -DDISTILLERY_BUILD_BENCH=OFF -DDISTILLERY_MPI=OFF
#   ctest --test-dir build-arm -L arm_smoke   # runs each test under qemu-aarch64 (scripts/test-arm.sh)
#
# Header-only dependencies (Eigen, doctest) come from the host's /usr/include; OpenMP from the
# cross compiler's libgomp. Programs run through CMAKE_CROSSCOMPILING_EMULATOR, so ctest works.
set(CMAKE_SYSTEM_NAME Linux)
set(CMAKE_SYSTEM_PROCESSOR aarch64)
set(CMAKE_C_COMPILER aarch64-linux-gnu-gcc)
set(CMAKE_CXX_COMPILER aarch64-linux-gnu-g++)
set(DISTILLERY_AARCH64_SYSROOT /usr/aarch64-linux-gnu CACHE PATH "target libraries for qemu -L")
set(CMAKE_CROSSCOMPILING_EMULATOR qemu-aarch64;-L;${DISTILLERY_AARCH64_SYSROOT})
# Target libraries from the cross sysroot; host-only header packages from /usr (Eigen3's and
# doctest's CMake packages live under /usr/share and /usr/lib/cmake).
set(CMAKE_FIND_ROOT_PATH ${DISTILLERY_AARCH64_SYSROOT} /usr)
set(CMAKE_FIND_ROOT_PATH_MODE_PROGRAM NEVER)
set(CMAKE_FIND_ROOT_PATH_MODE_LIBRARY ONLY)
set(CMAKE_FIND_ROOT_PATH_MODE_INCLUDE BOTH)
set(CMAKE_FIND_ROOT_PATH_MODE_PACKAGE BOTH)
