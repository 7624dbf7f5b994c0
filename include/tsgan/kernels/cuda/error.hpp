// Checked CUDA, cuBLAS and cuDNN calls. Every call tsgan makes goes through one of the macros below;
// a failure throws tsgan::CudaError whose message names the call as written, the file and line, and
// the library's name and description of the status. An allocation failure throws
// tsgan::OutOfMemoryError instead and says how many bytes were asked for (when the call site knows)
// and how much device memory is in use.
//
// Host code only (no kernels here): usable from a host compiler's translation unit as well.
#pragma once

#include <cublas_v2.h>
#include <cuda_runtime_api.h>
#if __has_include(<cudnn.h>)
#include <cudnn.h>
#define TSGAN_HAS_CUDNN 1
#else
#define TSGAN_HAS_CUDNN 0
#endif
#include <fmt/format.h>

#include <cstddef>
#include <string>

#include "tsgan/core/error.hpp"

namespace tsgan {

// A CUDA, cuBLAS or cuDNN call failed for a reason other than memory.
class CudaError : public Error {
 public:
  using Error::Error;
};

namespace cuda_detail {

// Where a checked call is written.
struct CallSite {
  const char* call;
  const char* file;
  int line;
};

inline std::string device_memory_use() {
  std::size_t free_bytes = 0, total_bytes = 0;
  if (cudaMemGetInfo(&free_bytes, &total_bytes) != cudaSuccess) {
    (void)cudaGetLastError();
    return "device memory use unknown";
  }
  return fmt::format("the device has {} bytes in use of {} ({} free)", total_bytes - free_bytes,
                     total_bytes, free_bytes);
}

inline std::string asked_for(std::size_t bytes) {
  return bytes ? fmt::format("asked for {} bytes", bytes) : std::string("request size not known");
}

[[noreturn]] inline void raise(const CallSite& at, const char* library, const char* status_name,
                               const std::string& description, bool out_of_memory, std::size_t bytes) {
  std::string what = fmt::format("tsgan: {} call `{}` failed at {}:{}: {} ({})", library, at.call,
                                 at.file, at.line, status_name, description);
  if (out_of_memory)
    throw OutOfMemoryError(fmt::format("{}; {}; {}", what, asked_for(bytes), device_memory_use()));
  throw CudaError(what);
}

inline void check(cudaError_t status, const CallSite& at, std::size_t bytes = 0) {
  if (status == cudaSuccess) [[likely]]
    return;
  (void)cudaGetLastError();  // clear it, so the next call does not report it again
  raise(at, "CUDA", cudaGetErrorName(status), cudaGetErrorString(status),
        status == cudaErrorMemoryAllocation, bytes);
}

inline void check(cublasStatus_t status, const CallSite& at, std::size_t bytes = 0) {
  if (status == CUBLAS_STATUS_SUCCESS) [[likely]]
    return;
  raise(at, "cuBLAS", cublasGetStatusName(status), cublasGetStatusString(status),
        status == CUBLAS_STATUS_ALLOC_FAILED, bytes);
}

#if TSGAN_HAS_CUDNN
inline void check(cudnnStatus_t status, const CallSite& at, std::size_t bytes = 0) {
  if (status == CUDNN_STATUS_SUCCESS) [[likely]]
    return;
  std::string description = cudnnGetErrorString(status);
#if CUDNN_MAJOR >= 9
  char detail[512] = {};
  cudnnGetLastErrorString(detail, sizeof(detail));
  if (detail[0] != '\0') description += fmt::format("; {}", detail);
  const bool oom = status == CUDNN_STATUS_INTERNAL_ERROR_DEVICE_ALLOCATION_FAILED ||
                   status == CUDNN_STATUS_INTERNAL_ERROR_HOST_ALLOCATION_FAILED;
#else
  const bool oom = status == CUDNN_STATUS_ALLOC_FAILED;
#endif
  raise(at, "cuDNN", cudnnGetErrorString(status), description, oom, bytes);
}
#endif

}  // namespace cuda_detail
}  // namespace tsgan

// TSGAN_CUDA_CHECK(cudaMemcpyAsync(...)): throws if the call does not return success. The same
// macro takes cudaError_t, cublasStatus_t and cudnnStatus_t.
#define TSGAN_CUDA_CHECK(call) ::tsgan::cuda_detail::check((call), ::tsgan::cuda_detail::CallSite{#call, __FILE__, __LINE__})
// For calls that allocate `bytes` bytes: an out-of-memory error then says how much was asked for.
#define TSGAN_CUDA_CHECK_ALLOC(call, bytes) \
  ::tsgan::cuda_detail::check((call), ::tsgan::cuda_detail::CallSite{#call, __FILE__, __LINE__}, (bytes))
// After a kernel launch: reports a bad launch configuration at once. Errors inside the kernel
// surface at the next synchronising call; run with CUDA_LAUNCH_BLOCKING=1 to pin them on the launch.
#define TSGAN_CUDA_CHECK_LAUNCH(kernel) \
  ::tsgan::cuda_detail::check(cudaGetLastError(), ::tsgan::cuda_detail::CallSite{"launch of " kernel, __FILE__, __LINE__})
