// core/device.hpp — where a tensor's bytes live.
//
// Every Storage carries a Device tag. Ops never touch memory themselves: they call kernels
// through the per-device table of backend/kernel_table.hpp, so the CUDA backend (cuda/) plugs
// in under the same user-facing API: `t.to(Device::cuda)`.
#pragma once
#include <ostream>

namespace distillery {

enum class Device : unsigned char { cpu = 0, cuda = 1 };

inline const char* device_name(Device d) { return d == Device::cpu ? "cpu" : "cuda"; }
inline std::ostream& operator<<(std::ostream& os, Device d) { return os << device_name(d); }

}  // namespace distillery
