// The GPU's caching allocator: the policy of core/allocator.hpp (size classes, free lists,
// statistics) over cudaMalloc/cudaFree. Never managed memory.
//
// Blocks are reused in stream order: every tsgan kernel and copy runs on the one stream of the
// context (context.cuh), so a block freed after a kernel was queued and handed to the next tensor
// is only written by work queued after that kernel. That is why freeing needs no synchronisation.
#pragma once

#include <cuda_runtime_api.h>

#include <cstdio>

#include "tsgan/core/allocator.hpp"
#include "tsgan/kernels/cuda/error.hpp"

namespace tsgan {

struct CudaMemory {
  static constexpr const char* name = "cuda";
  static constexpr std::size_t alignment = 256;  // what cudaMalloc guarantees

  // nullptr when the device is out of memory (the policy then releases its cache, retries once
  // and reports the request and the bytes in use); any other failure throws CudaError.
  static void* allocate(std::size_t bytes) {
    void* p = nullptr;
    const cudaError_t status = cudaMalloc(&p, bytes);
    if (status == cudaErrorMemoryAllocation) {
      (void)cudaGetLastError();
      return nullptr;
    }
    cuda_detail::check(status, cuda_detail::CallSite{"cudaMalloc(&p, bytes)", __FILE__, __LINE__}, bytes);
    return p;
  }

  static void deallocate(void* p) noexcept {
    const cudaError_t status = cudaFree(p);
    if (status != cudaSuccess) {
      (void)cudaGetLastError();
      // At process exit the runtime may already be unloading; the driver reclaims the memory.
      if (status != cudaErrorCudartUnloading)
        std::fprintf(stderr, "tsgan: cudaFree failed: %s\n", cudaGetErrorString(status));
    }
  }
};

template <>
struct DeviceAllocator<cuda> {
  using type = CachingAllocator<CudaMemory>;
  // Created on first use and never destroyed: a destructor at exit would run after the CUDA
  // runtime has started unloading.
  static type& instance() {
    static type* a = new type;
    return *a;
  }
};

}  // namespace tsgan
