// Build-wide definitions: the index type, the host/device function annotation and the library
// version. Everything else in tsgan includes this first.
#pragma once

#include <cstddef>
#include <cstdint>

#define TSGAN_VERSION_MAJOR 0
#define TSGAN_VERSION_MINOR 1
#define TSGAN_VERSION_PATCH 0
#define TSGAN_VERSION_STRING "0.1.0"

// One annotation for code that must run on both devices (the op structs, Philox, shape maths).
#if defined(__CUDACC__)
#define TSGAN_HD __host__ __device__
#define TSGAN_DEVICE_COMPILER 1
#else
#define TSGAN_HD
#define TSGAN_DEVICE_COMPILER 0
#endif

// 1 in every compilation pass that produces host code (a host compiler, and nvcc's host pass); 0 in
// nvcc's device pass. Host-only machinery (the CPU SIMD path over Eigen) exists only where this is
// 1: in the device pass it is declared but not defined, so no kernel can instantiate it by mistake.
#if defined(__CUDA_ARCH__)
#define TSGAN_HOST_PASS 0
#else
#define TSGAN_HOST_PASS 1
#endif

#if defined(__GNUC__) || defined(__clang__)
#define TSGAN_INLINE inline __attribute__((always_inline))
#else
#define TSGAN_INLINE inline
#endif

namespace tsgan {

// Signed so that shape arithmetic (k - 1, in - k) never wraps around.
using index_t = std::int64_t;

inline constexpr const char* version_string = TSGAN_VERSION_STRING;

}  // namespace tsgan
