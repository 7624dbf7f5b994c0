// Device tags. `cpu` and `cuda` are empty types used as template arguments; code for `cuda` needs
// nvcc, so naming it in a translation unit compiled by a host compiler stops the build with a
// sentence that says what to do (a cuDNN call alone would link, but the fused kernels would not).
#pragma once

#include <concepts>
#include <type_traits>

#include "tsgan/core/config.hpp"

namespace tsgan {

struct cpu {
  static constexpr const char* name = "cpu";
};

struct cuda {
  static constexpr const char* name = "cuda";
};

template <class D>
concept DeviceTag = std::same_as<D, cpu> || std::same_as<D, cuda>;

// Instantiated by every type that is parameterised on a device.
template <class D>
struct CheckDeviceAvailable {
  static_assert(DeviceTag<D>, "tsgan: the device must be tsgan::cpu or tsgan::cuda");
  static_assert(!std::is_same_v<D, cuda> || TSGAN_DEVICE_COMPILER,
                "tsgan: tsgan::cuda is used in a translation unit that is not compiled as CUDA. "
                "Compile this file with nvcc: give it a .cu extension (or set its LANGUAGE "
                "property to CUDA in CMake) and configure tsgan with TSGAN_CUDA=ON.");
  static constexpr bool value = true;
};

template <class A, class B>
struct CheckSameDevice {
  static constexpr bool value = std::is_same_v<A, B>;
  static_assert(value, "tsgan: operands live on different devices (first and second device in "
                       "this instantiation); copy one of them with to<Device>() first");
};

template <class A, class B>
struct CheckSameValueType {
  static constexpr bool value = std::is_same_v<A, B>;
  static_assert(value, "tsgan: operands have different element types; convert one of them "
                       "explicitly");
};

}  // namespace tsgan
