// Copies between host and GPU memory, all queued on the context's stream.
//
// Host <-> device copies go through two pinned (page-locked) staging buffers allocated once, on the
// first copy, and reused by every copy after: a copy from pageable memory cannot run
// asynchronously, and pinning or allocating pinned memory per call costs more than the copy for
// the sizes a training step moves. Large copies are cut into chunks that alternate between the
// two buffers, so the host's memcpy of one chunk overlaps the transfer of the other.
//
//  - to the device: returns once the source is in the staging buffers; the transfer finishes in
//    stream order, before any kernel queued afterwards reads the destination;
//  - to the host: returns when the data is there (the caller reads it next);
//  - device to device: queued, returns at once.
//
// The overloads of copy_bytes take the destination's and the source's device tags, so
// Tensor::to<D>() finds them by argument-dependent lookup.
#pragma once

#include <cuda_runtime_api.h>

#include <algorithm>
#include <cstddef>
#include <cstring>
#include <mutex>

#include "tsgan/core/copy.hpp"
#include "tsgan/core/device.hpp"
#include "tsgan/kernels/cuda/context.cuh"
#include "tsgan/kernels/cuda/error.hpp"

namespace tsgan {
namespace cuda_detail {

class Staging {
 public:
  static constexpr std::size_t chunk_bytes = std::size_t{4} << 20;

  static Staging& get() {
    static Staging* staging = new Staging;  // never destroyed, like the context
    return *staging;
  }

  void to_device(void* dst, const void* src, std::size_t bytes) {
    if (bytes == 0) return;
    std::lock_guard lock(mutex_);
    ensure_buffers();
    const cudaStream_t stream = cuda_context().stream();
    auto* d = static_cast<std::byte*>(dst);
    const auto* s = static_cast<const std::byte*>(src);
    for (std::size_t off = 0, k = 0; off < bytes; off += chunk_bytes, ++k) {
      const std::size_t n = std::min(chunk_bytes, bytes - off);
      const std::size_t slot = k & 1u;
      // The last transfer that used this buffer must be done before it is overwritten.
      TSGAN_CUDA_CHECK(cudaEventSynchronize(done_[slot]));
      std::memcpy(buffer_[slot], s + off, n);
      TSGAN_CUDA_CHECK(cudaMemcpyAsync(d + off, buffer_[slot], n, cudaMemcpyHostToDevice, stream));
      TSGAN_CUDA_CHECK(cudaEventRecord(done_[slot], stream));
    }
  }

  void to_host(void* dst, const void* src, std::size_t bytes) {
    if (bytes == 0) return;
    std::lock_guard lock(mutex_);
    ensure_buffers();
    const cudaStream_t stream = cuda_context().stream();
    auto* d = static_cast<std::byte*>(dst);
    const auto* s = static_cast<const std::byte*>(src);
    const std::size_t chunks = (bytes + chunk_bytes - 1) / chunk_bytes;
    auto queue = [&](std::size_t k) {
      const std::size_t off = k * chunk_bytes, n = std::min(chunk_bytes, bytes - off);
      TSGAN_CUDA_CHECK(cudaMemcpyAsync(buffer_[k & 1u], s + off, n, cudaMemcpyDeviceToHost, stream));
      TSGAN_CUDA_CHECK(cudaEventRecord(done_[k & 1u], stream));
    };
    queue(0);
    for (std::size_t k = 0; k < chunks; ++k) {
      // The other buffer was emptied in the previous iteration; fill it while this one drains.
      if (k + 1 < chunks) queue(k + 1);
      TSGAN_CUDA_CHECK(cudaEventSynchronize(done_[k & 1u]));
      const std::size_t off = k * chunk_bytes;
      std::memcpy(d + off, buffer_[k & 1u], std::min(chunk_bytes, bytes - off));
    }
  }

 private:
  Staging() = default;

  void ensure_buffers() {
    if (buffer_[0]) return;
    for (int i = 0; i < 2; ++i) {
      TSGAN_CUDA_CHECK_ALLOC(cudaMallocHost(&buffer_[i], chunk_bytes), chunk_bytes);
      TSGAN_CUDA_CHECK(cudaEventCreateWithFlags(&done_[i], cudaEventDisableTiming));
    }
  }

  std::mutex mutex_;
  void* buffer_[2] = {nullptr, nullptr};
  cudaEvent_t done_[2] = {nullptr, nullptr};
};

}  // namespace cuda_detail

inline void copy_bytes(cuda, void* dst, cpu, const void* src, std::size_t bytes) {
  cuda_detail::Staging::get().to_device(dst, src, bytes);
}

inline void copy_bytes(cpu, void* dst, cuda, const void* src, std::size_t bytes) {
  cuda_detail::Staging::get().to_host(dst, src, bytes);
}

inline void copy_bytes(cuda, void* dst, cuda, const void* src, std::size_t bytes) {
  if (bytes == 0) return;
  TSGAN_CUDA_CHECK(cudaMemcpyAsync(dst, src, bytes, cudaMemcpyDeviceToDevice, cuda_context().stream()));
}

// Untyped copies for optimizer states and checkpoints (core/copy.hpp), with the semantics above:
// to_host returns with the data there, from_host once the source may be reused, zero and
// on_device are queued.
template <>
struct kernels::Copy<cuda> {
  static void to_host(void* dst, const void* src, std::size_t bytes) { copy_bytes(cpu{}, dst, cuda{}, src, bytes); }
  static void from_host(void* dst, const void* src, std::size_t bytes) { copy_bytes(cuda{}, dst, cpu{}, src, bytes); }
  static void zero(void* dst, std::size_t bytes) {
    if (bytes) TSGAN_CUDA_CHECK(cudaMemsetAsync(dst, 0, bytes, cuda_context().stream()));
  }
  static void on_device(void* dst, const void* src, std::size_t bytes) { copy_bytes(cuda{}, dst, cuda{}, src, bytes); }
};

}  // namespace tsgan
