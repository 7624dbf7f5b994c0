// Scalar maths for the op structs, callable on the host and in CUDA device code. The op structs
// in ops.hpp are written once against these names; the CPU packet type (vec_cpu.hpp) provides the
// same names for SIMD registers, so one definition serves the CPU loop, the GPU kernel and the
// backward pass.
#pragma once

#include <cmath>
#include <type_traits>

#include "tsgan/core/config.hpp"

namespace tsgan::math {

template <class T>
concept Real = std::is_floating_point_v<T>;

// The CPU SIMD value type (vec_cpu.hpp). Only declared here: nvcc's device pass never sees its
// definition, so an op struct instantiated with it inside a kernel is a compile error.
template <Real T>
struct Vec;

#if defined(__CUDA_ARCH__)
TSGAN_HD inline float exp(float x) { return ::expf(x); }
TSGAN_HD inline double exp(double x) { return ::exp(x); }
TSGAN_HD inline float log(float x) { return ::logf(x); }
TSGAN_HD inline double log(double x) { return ::log(x); }
TSGAN_HD inline float log1p(float x) { return ::log1pf(x); }
TSGAN_HD inline double log1p(double x) { return ::log1p(x); }
TSGAN_HD inline float sqrt(float x) { return ::sqrtf(x); }
TSGAN_HD inline double sqrt(double x) { return ::sqrt(x); }
TSGAN_HD inline float rsqrt(float x) { return ::rsqrtf(x); }
TSGAN_HD inline double rsqrt(double x) { return ::rsqrt(x); }
TSGAN_HD inline float tanh(float x) { return ::tanhf(x); }
TSGAN_HD inline double tanh(double x) { return ::tanh(x); }
TSGAN_HD inline float abs(float x) { return ::fabsf(x); }
TSGAN_HD inline double abs(double x) { return ::fabs(x); }
TSGAN_HD inline float pow(float x, float y) { return ::powf(x, y); }
TSGAN_HD inline double pow(double x, double y) { return ::pow(x, y); }
TSGAN_HD inline float floor(float x) { return ::floorf(x); }
TSGAN_HD inline double floor(double x) { return ::floor(x); }
TSGAN_HD inline float fma(float a, float b, float c) { return ::fmaf(a, b, c); }
TSGAN_HD inline double fma(double a, double b, double c) { return ::fma(a, b, c); }
#else
template <Real T>
inline T exp(T x) { return std::exp(x); }
template <Real T>
inline T log(T x) { return std::log(x); }
template <Real T>
inline T log1p(T x) { return std::log1p(x); }
template <Real T>
inline T sqrt(T x) { return std::sqrt(x); }
template <Real T>
inline T rsqrt(T x) { return T(1) / std::sqrt(x); }
template <Real T>
inline T tanh(T x) { return std::tanh(x); }
template <Real T>
inline T abs(T x) { return std::abs(x); }
template <Real T>
inline T pow(T x, T y) { return std::pow(x, y); }
template <Real T>
inline T floor(T x) { return std::floor(x); }
// a * b + c with one rounding, on every device (random.hpp relies on it for bit-identical draws).
template <Real T>
inline T fma(T a, T b, T c) { return std::fma(a, b, c); }
#endif

template <Real T>
TSGAN_HD inline T select(bool c, T a, T b) { return c ? a : b; }
template <Real T>
TSGAN_HD inline T min(T a, T b) { return b < a ? b : a; }
template <Real T>
TSGAN_HD inline T max(T a, T b) { return a < b ? b : a; }

// Sums the lanes of a value; the identity for scalars (used by reductions written once).
template <Real T>
TSGAN_HD inline T reduce_sum(T x) { return x; }
template <Real T>
TSGAN_HD inline T reduce_max(T x) { return x; }
template <Real T>
TSGAN_HD inline T reduce_min(T x) { return x; }

// The scalar type behind a value type (T for scalars, T for Vec<T>).
template <class V>
struct scalar_of {
  using type = V;
};
template <class V>
using scalar_of_t = typename scalar_of<V>::type;

}  // namespace tsgan::math
