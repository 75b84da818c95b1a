// tests/cuda/test_cuda_registration.cpp — linking distillery::cuda is enough.
//
// This program references no symbol of the CUDA backend (no <distillery/cuda.hpp>): the backend
// must still be registered, which holds only if the registration object survives the link
// (distillery::cuda links libdistillery_cuda whole-archive). The registration check runs with or
// without a GPU; the round trip needs one, so without a device the executable exits 77 (skipped).
#include <cuda_runtime.h>

#include <distillery/distillery.hpp>

#include <doctest/doctest.h>

#include <cstdio>
#include <cstdlib>

using namespace distillery;

TEST_CASE("cuda registration: the backend is registered by linking alone") {
  REQUIRE(cuda_available());
  int n = 0;
  if (cudaGetDeviceCount(&n) != cudaSuccess || n == 0) {
    std::printf("SKIPPED: no CUDA device (registration checked)\n");
    std::fflush(stdout);
    std::_Exit(77);
  }
}

TEST_CASE("cuda registration: a round trip through the device") {
  auto x = Tensor<double>::arange(12).reshape({3, 4});
  auto y = x.to(Device::cuda);
  CHECK(y.device() == Device::cuda);
  auto z = mul_scalar(y.t(), 2.0).to(Device::cpu);
  CHECK(z.to_vector() == mul_scalar(x.t(), 2.0).contiguous().to_vector());
  auto i = Tensor<int64_t>::arange(5).to(Device::cuda).to(Device::cpu);
  CHECK(i.to_vector() == std::vector<int64_t>{0, 1, 2, 3, 4});
}
