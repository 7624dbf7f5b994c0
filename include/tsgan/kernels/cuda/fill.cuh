// Tensor::fill for GPU tensors (found by argument-dependent lookup from core/tensor.hpp): a memset
// when the value is all zero bytes, else a grid-stride kernel. Queued on the context's stream.
#pragma once

#include <cuda_runtime.h>

#include <cstring>

#include "tsgan/core/tensor.hpp"
#include "tsgan/kernels/cuda/context.cuh"
#include "tsgan/kernels/cuda/error.hpp"

namespace tsgan {
namespace cuda_detail {

template <class T>
__global__ void __launch_bounds__(256) fill_kernel(T* data, index_t n, T value) {
  const index_t step = static_cast<index_t>(gridDim.x) * blockDim.x;
  for (index_t i = static_cast<index_t>(blockIdx.x) * blockDim.x + threadIdx.x; i < n; i += step) data[i] = value;
}

}  // namespace cuda_detail

template <class T, ShapeType S>
void fill_device(Tensor<T, S, cuda>& t, T value) {
  auto& ctx = cuda_context();
  unsigned char bytes[sizeof(T)];
  std::memcpy(bytes, &value, sizeof(T));
  bool zero = true;
  for (unsigned char b : bytes) zero = zero && b == 0;
  if (zero) {
    TSGAN_CUDA_CHECK(cudaMemsetAsync(t.data(), 0, sizeof(T) * S::size, ctx.stream()));
    return;
  }
  constexpr int block = 256;
  cuda_detail::fill_kernel<T><<<ctx.grid_for(S::size, block), block, 0, ctx.stream()>>>(t.data(), S::size, value);
  TSGAN_CUDA_CHECK_LAUNCH("tsgan::cuda_detail::fill_kernel");
}

}  // namespace tsgan
