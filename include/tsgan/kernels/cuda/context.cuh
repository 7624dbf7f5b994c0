// The per-process CUDA context: the device, the one stream on which all of tsgan's GPU work runs,
// the cuBLAS and cuDNN handles bound to that stream, and a growable workspace.
//
// One stream makes the order of GPU work the order of the host calls that queued it: the caching
// allocator can hand a freed block to the next tensor at once (allocator.cuh), nothing needs a
// hidden synchronisation, and the whole training step can later be captured as one CUDA graph.
// Host code waits only where it reads results (a copy to the host, synchronize()).
//
// The context is created on first use, on the device current at that moment (cudaSetDevice before
// the first tsgan call picks another), and lives until the process ends.
#pragma once

#include <cuda_runtime_api.h>

#include <algorithm>
#include <cstddef>
#include <mutex>
#include <string>

#include "tsgan/core/config.hpp"
#include "tsgan/kernels/cuda/allocator.cuh"
#include "tsgan/kernels/cuda/error.hpp"

namespace tsgan {

// True when a CUDA driver and at least one device are present. Never throws; tests use it to skip.
inline bool cuda_available() noexcept {
  static const bool available = [] {
    int count = 0;
    const cudaError_t status = cudaGetDeviceCount(&count);
    if (status != cudaSuccess) {
      (void)cudaGetLastError();
      return false;
    }
    return count > 0;
  }();
  return available;
}

class CudaContext {
 public:
  // The context, created on first use. Throws CudaError when there is no usable device.
  static CudaContext& get() {
    static CudaContext* context = new CudaContext;  // never destroyed, like the allocator
    return *context;
  }

  CudaContext(const CudaContext&) = delete;
  CudaContext& operator=(const CudaContext&) = delete;

  int device() const { return device_; }
  cudaStream_t stream() const { return stream_; }
  const std::string& device_name() const { return name_; }
  int sm_count() const { return sm_count_; }
  int compute_capability() const { return cc_major_ * 10 + cc_minor_; }

  // Blocks for a grid-stride kernel over n items: enough to fill every multiprocessor, no more.
  unsigned grid_for(index_t n, int block) const {
    const index_t wanted = (n + block - 1) / block;
    const index_t resident = static_cast<index_t>(sm_count_) * std::max(1, 2048 / block);
    return static_cast<unsigned>(std::clamp<index_t>(wanted, 1, resident));
  }

  // The cuBLAS handle, created on first use and bound to stream(), with a workspace of its own
  // from the caching allocator: cuBLAS would otherwise allocate one itself, which a CUDA graph
  // capture must not see (NVIDIA recommends cublasSetWorkspace for graphs; 32 MiB is its advice
  // for Hopper).
  cublasHandle_t cublas() {
    std::call_once(cublas_once_, [this] {
      TSGAN_CUDA_CHECK(cublasCreate(&cublas_));
      TSGAN_CUDA_CHECK(cublasSetStream(cublas_, stream_));
      cublas_workspace_ = allocator<cuda>().allocate(cublas_workspace_bytes);
      TSGAN_CUDA_CHECK(cublasSetWorkspace(cublas_, cublas_workspace_, cublas_workspace_bytes));
    });
    return cublas_;
  }

#if TSGAN_HAS_CUDNN
  // The cuDNN handle, created on first use (it loads cuDNN's kernels, which takes a while) and bound
  // to stream().
  cudnnHandle_t cudnn() {
    std::call_once(cudnn_once_, [this] {
      TSGAN_CUDA_CHECK(cudnnCreate(&cudnn_));
      TSGAN_CUDA_CHECK(cudnnSetStream(cudnn_, stream_));
    });
    return cudnn_;
  }
#endif

  // Scratch memory of at least `bytes` bytes for the kernel about to be queued (cuDNN's algorithms
  // want one). It grows and never shrinks; the pointer stays valid until a later call asks for
  // more. Freeing the smaller block is safe at once: see allocator.cuh on stream order.
  void* workspace(std::size_t bytes) {
    std::lock_guard lock(workspace_mutex_);
    if (bytes > workspace_bytes_) {
      auto& alloc = allocator<cuda>();
      const std::size_t grown = size_class(std::max(bytes, workspace_bytes_ + workspace_bytes_ / 2));
      if (workspace_) alloc.deallocate(workspace_, workspace_bytes_);
      workspace_ = nullptr;
      workspace_bytes_ = 0;
      workspace_ = alloc.allocate(grown);
      workspace_bytes_ = grown;
    }
    return workspace_;
  }
  std::size_t workspace_bytes() const { return workspace_bytes_; }

  // Waits until every piece of work queued so far has finished (and reports its errors).
  void synchronize() const { TSGAN_CUDA_CHECK(cudaStreamSynchronize(stream_)); }

 private:
  CudaContext() {
    TSGAN_CUDA_CHECK(cudaGetDevice(&device_));
    cudaDeviceProp props{};
    TSGAN_CUDA_CHECK(cudaGetDeviceProperties(&props, device_));
    name_ = props.name;
    sm_count_ = props.multiProcessorCount;
    cc_major_ = props.major;
    cc_minor_ = props.minor;
    // Non-blocking: the legacy default stream (which some libraries use) does not serialise with it.
    TSGAN_CUDA_CHECK(cudaStreamCreateWithFlags(&stream_, cudaStreamNonBlocking));
  }

  int device_ = 0;
  std::string name_;
  int sm_count_ = 1;
  int cc_major_ = 0, cc_minor_ = 0;
  cudaStream_t stream_ = nullptr;
  static constexpr std::size_t cublas_workspace_bytes = std::size_t{32} << 20;
  std::once_flag cublas_once_;
  cublasHandle_t cublas_ = nullptr;
  void* cublas_workspace_ = nullptr;
#if TSGAN_HAS_CUDNN
  std::once_flag cudnn_once_;
  cudnnHandle_t cudnn_ = nullptr;
#endif
  std::mutex workspace_mutex_;
  void* workspace_ = nullptr;
  std::size_t workspace_bytes_ = 0;
};

inline CudaContext& cuda_context() { return CudaContext::get(); }

}  // namespace tsgan
