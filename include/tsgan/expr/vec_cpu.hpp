// The CPU SIMD value type: a thin wrapper over Eigen's packet of T (SSE, AVX or AVX-512, as the
// compiler flags allow) that speaks the same names as the scalar maths in math.hpp. The op
// structs are templates on their value type, so they run unchanged on Vec<T>.
//
// Eigen's packet functions are internal API; tsgan pins Eigen 3.4 and wraps every use here.
// Where Eigen has no vectorised version for T (tanh of double, for example) the function falls
// back to the scalar one lane by lane, so results never depend on the instruction set.
#pragma once

#include "tsgan/core/config.hpp"
#if TSGAN_HOST_PASS  // host code only: nvcc's device pass sees the declaration in math.hpp alone
#include <Eigen/Core>
#include <cmath>
#include <cstring>

#include "tsgan/expr/math.hpp"

namespace tsgan::math {

template <Real T>
struct Vec {
  using Packet = typename Eigen::internal::packet_traits<T>::type;
  using Traits = Eigen::internal::packet_traits<T>;
  static constexpr int width = Eigen::internal::unpacket_traits<Packet>::size;

  Packet p;

  Vec() = default;
  explicit Vec(Packet q) : p(q) {}
  template <class S>
    requires std::is_arithmetic_v<S>
  Vec(S s) : p(Eigen::internal::pset1<Packet>(static_cast<T>(s))) {}  // NOLINT: broadcast

  static Vec load(const T* src) { return Vec(Eigen::internal::ploadu<Packet>(src)); }
  void store(T* dst) const { Eigen::internal::pstoreu(dst, p); }

  // A non-temporal store to `dst` (aligned to the packet size): the line goes to memory without
  // being read first, for outputs too large to stay in cache. Callers end with stream_fence().
  void stream(T* dst) const {
#if defined(EIGEN_VECTORIZE_AVX512)
    if constexpr (std::is_same_v<T, float>) _mm512_stream_ps(dst, p);
    else _mm512_stream_pd(dst, p);
#elif defined(EIGEN_VECTORIZE_AVX)
    if constexpr (std::is_same_v<T, float>) _mm256_stream_ps(dst, p);
    else _mm256_stream_pd(dst, p);
#elif defined(EIGEN_VECTORIZE_SSE2)
    if constexpr (std::is_same_v<T, float>) _mm_stream_ps(dst, p);
    else _mm_stream_pd(dst, p);
#else
    store(dst);
#endif
  }

  // Partial load/store for the tail of a row, so every element goes through the same SIMD code
  // whatever its position (results then do not depend on how rows are split between threads).
  static Vec load_partial(const T* src, int n) {
    alignas(64) T buf[width] = {};
    std::memcpy(buf, src, sizeof(T) * static_cast<std::size_t>(n));
    return Vec(Eigen::internal::pload<Packet>(buf));
  }
  void store_partial(T* dst, int n) const {
    alignas(64) T buf[width];
    Eigen::internal::pstore(buf, p);
    std::memcpy(dst, buf, sizeof(T) * static_cast<std::size_t>(n));
  }

  template <class F>
  Vec map(F f) const {
    alignas(64) T buf[width];
    Eigen::internal::pstore(buf, p);
    for (T& v : buf) v = f(v);
    return Vec(Eigen::internal::pload<Packet>(buf));
  }
  T lane(int i) const {
    alignas(64) T buf[width];
    Eigen::internal::pstore(buf, p);
    return buf[i];
  }
};

// Orders earlier streaming stores before any later store (see Vec::stream).
inline void stream_fence() {
#if defined(EIGEN_VECTORIZE_SSE2)
  _mm_sfence();
#endif
}

template <class T>
struct scalar_of<Vec<T>> {
  using type = T;
};

// A lane mask produced by comparisons (all bits set where true), consumed by select().
template <Real T>
struct VecMask {
  typename Vec<T>::Packet p;
};

namespace vec_detail {
namespace E = Eigen::internal;

// Square roots rounded correctly, as std::sqrt and CUDA's sqrt round them. Eigen's psqrt, under
// EIGEN_FAST_MATH (its default), refines an rsqrt estimate by Newton steps for float, and for
// double with AVX-512: one ulp off in a third of the lanes.
template <class P>
P sqrt_rn(P x) {
  using T = typename E::unpacket_traits<P>::type;
  constexpr int n = E::unpacket_traits<P>::size;
  alignas(64) T lanes[n];
  E::pstoreu(lanes, x);
  for (auto& v : lanes) v = std::sqrt(v);
  return E::ploadu<P>(lanes);
}
#if defined(EIGEN_VECTORIZE_SSE2)
inline __m128 sqrt_rn(__m128 x) { return _mm_sqrt_ps(x); }
inline __m128d sqrt_rn(__m128d x) { return _mm_sqrt_pd(x); }
#endif
#if defined(EIGEN_VECTORIZE_AVX)
inline __m256 sqrt_rn(__m256 x) { return _mm256_sqrt_ps(x); }
inline __m256d sqrt_rn(__m256d x) { return _mm256_sqrt_pd(x); }
#endif
#if defined(EIGEN_VECTORIZE_AVX512)
inline __m512 sqrt_rn(__m512 x) { return _mm512_sqrt_ps(x); }
inline __m512d sqrt_rn(__m512d x) { return _mm512_sqrt_pd(x); }
#endif
}  // namespace vec_detail

template <Real T> inline Vec<T> operator+(Vec<T> a, Vec<T> b) { return Vec<T>(vec_detail::E::padd(a.p, b.p)); }
template <Real T> inline Vec<T> operator-(Vec<T> a, Vec<T> b) { return Vec<T>(vec_detail::E::psub(a.p, b.p)); }
template <Real T> inline Vec<T> operator*(Vec<T> a, Vec<T> b) { return Vec<T>(vec_detail::E::pmul(a.p, b.p)); }
template <Real T> inline Vec<T> operator/(Vec<T> a, Vec<T> b) { return Vec<T>(vec_detail::E::pdiv(a.p, b.p)); }
template <Real T> inline Vec<T> operator-(Vec<T> a) { return Vec<T>(vec_detail::E::pnegate(a.p)); }
template <Real T> inline Vec<T>& operator+=(Vec<T>& a, Vec<T> b) { return a = a + b; }

template <Real T> inline VecMask<T> operator<(Vec<T> a, Vec<T> b) { return {vec_detail::E::pcmp_lt(a.p, b.p)}; }
template <Real T> inline VecMask<T> operator<=(Vec<T> a, Vec<T> b) { return {vec_detail::E::pcmp_le(a.p, b.p)}; }
template <Real T> inline VecMask<T> operator>(Vec<T> a, Vec<T> b) { return {vec_detail::E::pcmp_lt(b.p, a.p)}; }
template <Real T> inline VecMask<T> operator>=(Vec<T> a, Vec<T> b) { return {vec_detail::E::pcmp_le(b.p, a.p)}; }
template <Real T> inline VecMask<T> operator==(Vec<T> a, Vec<T> b) { return {vec_detail::E::pcmp_eq(a.p, b.p)}; }
template <Real T> inline VecMask<T> operator!=(Vec<T> a, Vec<T> b) {
  return {vec_detail::E::pandnot(vec_detail::E::ptrue(a.p), vec_detail::E::pcmp_eq(a.p, b.p))};
}

// a·b + c, one rounding where the instruction set has fused multiply-adds (two otherwise).
template <Real T> inline Vec<T> fma(Vec<T> a, Vec<T> b, Vec<T> c) { return Vec<T>(vec_detail::E::pmadd(a.p, b.p, c.p)); }

template <Real T> inline Vec<T> select(VecMask<T> m, Vec<T> a, Vec<T> b) { return Vec<T>(vec_detail::E::pselect(m.p, a.p, b.p)); }
template <Real T> inline Vec<T> min(Vec<T> a, Vec<T> b) { return Vec<T>(vec_detail::E::pmin(a.p, b.p)); }
template <Real T> inline Vec<T> max(Vec<T> a, Vec<T> b) { return Vec<T>(vec_detail::E::pmax(a.p, b.p)); }
template <Real T> inline Vec<T> abs(Vec<T> a) { return Vec<T>(vec_detail::E::pabs(a.p)); }
template <Real T> inline Vec<T> floor(Vec<T> a) { return Vec<T>(vec_detail::E::pfloor(a.p)); }
template <Real T> inline Vec<T> sqrt(Vec<T> a) { return Vec<T>(vec_detail::sqrt_rn(a.p)); }
template <Real T> inline Vec<T> rsqrt(Vec<T> a) {
  // Eigen's prsqrt is an estimate plus Newton steps; 1/sqrt rounds as the scalar rsqrt does.
  return Vec<T>(vec_detail::E::pdiv(vec_detail::E::pset1<typename Vec<T>::Packet>(T(1)), vec_detail::sqrt_rn(a.p)));
}

template <Real T> inline Vec<T> exp(Vec<T> a) {
  if constexpr (Vec<T>::Traits::HasExp) return Vec<T>(vec_detail::E::pexp(a.p));
  else return a.map([](T v) { return std::exp(v); });
}
template <Real T> inline Vec<T> log(Vec<T> a) {
  if constexpr (Vec<T>::Traits::HasLog) return Vec<T>(vec_detail::E::plog(a.p));
  else return a.map([](T v) { return std::log(v); });
}
template <Real T> inline Vec<T> log1p(Vec<T> a) {
  if constexpr (Vec<T>::Traits::HasLog1p) return Vec<T>(vec_detail::E::plog1p(a.p));
  else return a.map([](T v) { return std::log1p(v); });
}
template <Real T> inline Vec<T> tanh(Vec<T> a) {
  if constexpr (Vec<T>::Traits::HasTanh) return Vec<T>(vec_detail::E::ptanh(a.p));
  else return a.map([](T v) { return std::tanh(v); });
}
template <Real T> inline Vec<T> pow(Vec<T> a, Vec<T> b) {
  alignas(64) T x[Vec<T>::width], y[Vec<T>::width];
  a.store(x);
  b.store(y);
  for (int i = 0; i < Vec<T>::width; ++i) x[i] = std::pow(x[i], y[i]);
  return Vec<T>::load(x);
}

template <Real T> inline T reduce_sum(Vec<T> a) { return vec_detail::E::predux(a.p); }
template <Real T> inline T reduce_max(Vec<T> a) { return vec_detail::E::predux_max(a.p); }
template <Real T> inline T reduce_min(Vec<T> a) { return vec_detail::E::predux_min(a.p); }

}  // namespace tsgan::math
#endif  // TSGAN_HOST_PASS
