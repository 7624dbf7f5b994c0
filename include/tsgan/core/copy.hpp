// Raw copies between host memory and a device's memory, within a device, and zeroing, for the few
// places that move untyped buffers (optimizer states, checkpoints, a training step's loss terms).
// Tensors use Tensor::to<Device>().
#pragma once

#include <cstring>

#include "tsgan/core/device.hpp"

namespace tsgan {
namespace kernels {
template <class D>
struct Copy;  // kernels/cuda/copy.cuh specialises it for cuda

template <>
struct Copy<cpu> {
  static void to_host(void* dst, const void* src, std::size_t bytes) { std::memcpy(dst, src, bytes); }
  static void from_host(void* dst, const void* src, std::size_t bytes) { std::memcpy(dst, src, bytes); }
  static void zero(void* dst, std::size_t bytes) { std::memset(dst, 0, bytes); }
  static void on_device(void* dst, const void* src, std::size_t bytes) { std::memcpy(dst, src, bytes); }
};
}  // namespace kernels

template <class D, class T>
void copy_to_host(T* host, const T* device_data, index_t n) {
  kernels::Copy<D>::to_host(host, device_data, static_cast<std::size_t>(n) * sizeof(T));
}
template <class D, class T>
void copy_from_host(T* device_data, const T* host, index_t n) {
  kernels::Copy<D>::from_host(device_data, host, static_cast<std::size_t>(n) * sizeof(T));
}
// Queued on the device like a kernel (a CUDA graph can record it).
template <class D, class T>
void copy_on_device(T* dst, const T* src, index_t n) {
  kernels::Copy<D>::on_device(dst, src, static_cast<std::size_t>(n) * sizeof(T));
}
template <class D, class T>
void zero_fill(T* data, index_t n) {
  kernels::Copy<D>::zero(data, static_cast<std::size_t>(n) * sizeof(T));
}

}  // namespace tsgan
