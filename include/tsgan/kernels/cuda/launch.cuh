// What the op kernels of kernels/cuda/ share: a grid-stride loop over a lambda, and deterministic
// per-channel sums with run-time geometry.
//
// for_each(n, f) runs the __device__ lambda f(i) for i in [0, n) on the context's stream. The op
// families take their geometry at run time (the same structs as the CPU kernels), so one kernel
// per lambda serves every shape.
//
// channel_sums<K>(outer, channels, inner, f, out) adds, for each channel c, the K values f(o, c, p)
// over o < outer and p < inner (an [outer, channels, inner] tensor: NCHW is [N, C, H·W], a matrix
// summed over its rows is [rows, cols, 1]) in double. The order of the additions depends only on
// the geometry: each channel's elements are cut into fixed chunks, a block of 256 threads reduces
// a chunk (per-thread partials, then a fixed tree in shared memory), and one thread per channel
// adds the chunks' partials in order. No atomics, so the same bits on every run; the bias
// gradients, batch-norm statistics and total variation use it.
#pragma once

#include <cuda_runtime.h>

#include <algorithm>
#include <array>

#include "tsgan/core/tensor.hpp"
#include "tsgan/kernels/cuda/context.cuh"
#include "tsgan/kernels/cuda/error.hpp"

namespace tsgan::kernels::cuda_detail {

inline constexpr int block_size = 256;

template <class F>
__global__ void __launch_bounds__(256) for_each_kernel(index_t n, F f) {
  const index_t step = static_cast<index_t>(gridDim.x) * blockDim.x;
  for (index_t i = static_cast<index_t>(blockIdx.x) * blockDim.x + threadIdx.x; i < n; i += step) f(i);
}

// Runs f(i) for every i in [0, n), queued on the context's stream. `what` names the caller in
// the error a bad launch raises.
template <class F>
void for_each(index_t n, F f, const char* what) {
  if (n <= 0) return;
  auto& ctx = cuda_context();
  for_each_kernel<<<ctx.grid_for(n, block_size), block_size, 0, ctx.stream()>>>(n, f);
  tsgan::cuda_detail::check(cudaGetLastError(), tsgan::cuda_detail::CallSite{what, __FILE__, __LINE__});
}

template <int K>
struct Sums {
  double v[K];
};

// How channel_sums cuts each channel's count = outer·inner elements.
struct ChannelChunks {
  index_t count, chunks, length;
  explicit ChannelChunks(index_t outer, index_t inner) : count(outer * inner) {
    chunks = std::clamp<index_t>((count + 16 * block_size - 1) / (16 * block_size), 1, 1024);
    length = (count + chunks - 1) / chunks;
  }
};

template <int K, class F>
__global__ void __launch_bounds__(256) channel_chunk_kernel(index_t channels, index_t inner, index_t count,
                                                            index_t chunks, index_t length, F f, double* partial) {
  __shared__ double shared[K][256];
  const index_t b = blockIdx.x;
  const index_t c = b / chunks, chunk = b % chunks;
  const index_t begin = chunk * length, end = std::min(count, begin + length);
  double acc[K];
  for (int k = 0; k < K; ++k) acc[k] = 0;
  for (index_t e = begin + threadIdx.x; e < end; e += blockDim.x) {
    const Sums<K> s = f(e / inner, c, e % inner);
    for (int k = 0; k < K; ++k) acc[k] += s.v[k];
  }
  for (int k = 0; k < K; ++k) shared[k][threadIdx.x] = acc[k];
  __syncthreads();
  for (int s = 128; s > 0; s >>= 1) {
    if (static_cast<int>(threadIdx.x) < s)
      for (int k = 0; k < K; ++k) shared[k][threadIdx.x] += shared[k][threadIdx.x + s];
    __syncthreads();
  }
  if (threadIdx.x == 0)
    for (int k = 0; k < K; ++k) partial[b * K + k] = shared[k][0];
  (void)channels;
}

template <int K>
__global__ void __launch_bounds__(256) channel_combine_kernel(index_t channels, index_t chunks, const double* partial,
                                                              double* out) {
  const index_t c = static_cast<index_t>(blockIdx.x) * blockDim.x + threadIdx.x;
  if (c >= channels) return;
  for (int k = 0; k < K; ++k) {
    double s = 0;
    for (index_t j = 0; j < chunks; ++j) s += partial[(c * chunks + j) * K + k];
    out[c * K + k] = s;
  }
}

// out[c·K + k] = Σ_{o, p} f(o, c, p).v[k] (device memory, channels·K doubles); see the top.
template <int K, class F>
void channel_sums(index_t outer, index_t channels, index_t inner, F f, double* out) {
  if (channels <= 0) return;
  const ChannelChunks plan(outer, inner);
  auto& ctx = cuda_context();
  Buffer<double, cuda> partial(static_cast<std::size_t>(channels * plan.chunks * K));
  channel_chunk_kernel<K><<<static_cast<unsigned>(channels * plan.chunks), block_size, 0, ctx.stream()>>>(
      channels, inner, plan.count, plan.chunks, plan.length, f, partial.data());
  TSGAN_CUDA_CHECK_LAUNCH("tsgan::kernels::cuda_detail::channel_chunk_kernel");
  channel_combine_kernel<K><<<static_cast<unsigned>((channels + block_size - 1) / block_size), block_size, 0,
                              ctx.stream()>>>(channels, plan.chunks, partial.data(), out);
  TSGAN_CUDA_CHECK_LAUNCH("tsgan::kernels::cuda_detail::channel_combine_kernel");
}

}  // namespace tsgan::kernels::cuda_detail
