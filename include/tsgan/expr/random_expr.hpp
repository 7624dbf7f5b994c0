// Random tensors as expressions: `Tensor<float, S> w = random::normal<S>(gen, 0.f, 0.02f);` or
// fused, `x + 0.1f * random::normal<S>(gen)`. Creating the node reserves its words of the
// generator's stream, so evaluating the same node twice gives the same numbers, and element i
// is the same on every device and thread count.
#pragma once

#include "tsgan/core/random.hpp"
#include "tsgan/expr/expr.hpp"
#include "tsgan/expr/vec_cpu.hpp"

namespace tsgan::random {

template <class T>
struct UniformDist {
  T lo, hi;
  static constexpr std::uint64_t words = uniform_words<T>;
  TSGAN_HD T operator()(std::uint64_t seed, std::uint64_t offset, std::uint64_t i) const {
    return uniform<T>(seed, offset, i, lo, hi);
  }
};
template <class T>
struct NormalDist {
  T mean, stddev;
  static constexpr std::uint64_t words = normal_words<T>;
  TSGAN_HD T operator()(std::uint64_t seed, std::uint64_t offset, std::uint64_t i) const {
    return normal<T>(seed, offset, i, mean, stddev);
  }
#if TSGAN_HOST_PASS
  // Elements first to first + N - 1 into out, normal()'s values (core.random checks every one), in
  // passes over the lanes: the uniforms, then logarithms and cosines in a loop the compiler
  // vectorises, then the square roots in SIMD (in that loop sqrt's errno branch stops GCC). 12.5
  // instead of 35 ns a float normal: the weights a model draws when it is built.
  template <int N>
  void fill(std::uint64_t seed, std::uint64_t offset, std::uint64_t first, T* out) const {
    using VD = math::Vec<double>;
    static_assert(N % VD::width == 0);
    alignas(64) double u1[N], u2[N], r2[N], c[N], z[N];
    for (int l = 0; l < N; ++l) normal_uniforms<T>(seed, offset, first + static_cast<std::uint64_t>(l), u1[l], u2[l]);
#pragma omp simd
    for (int l = 0; l < N; ++l) {
      r2[l] = -2.0 * detail::det_log(u1[l]);
      c[l] = detail::det_cos_2pi(u2[l]);
    }
    for (int l = 0; l < N; l += VD::width) (math::sqrt(VD::load(r2 + l)) * VD::load(c + l)).store(z + l);
    // Scalar fma: the lanes' fma is fused only where the instruction set has one.
#pragma omp simd
    for (int l = 0; l < N; ++l)
      out[l] = static_cast<T>(math::fma(static_cast<double>(stddev), z[l], static_cast<double>(mean)));
  }
#endif
};
template <class T>
struct BernoulliDist {
  T p;
  static constexpr std::uint64_t words = uniform_words<T>;
  TSGAN_HD T operator()(std::uint64_t seed, std::uint64_t offset, std::uint64_t i) const {
    return bernoulli<T>(seed, offset, i, p);
  }
};

template <class T, class Layout, class Dist>
struct RandomLeafEval {
  static constexpr bool has_grad = false;
  static constexpr std::size_t min_split = Layout::min_split;
  Dist dist;
  std::uint64_t seed, offset;
  index_t row = 0;

  template <std::size_t K>
  TSGAN_HD void begin_row(const index_t* outer) {
    row = Layout::template row_offset<K>(outer);
  }
  TSGAN_HD T value(index_t i) const { return dist(seed, offset, static_cast<std::uint64_t>(i)); }

  template <class V, std::size_t K>
  V eval(const expr::RowPos<K>& p) const {
    if constexpr (!Layout::contiguous_from(K)) {
      return V(value(row));
    } else if constexpr (std::is_arithmetic_v<V>) {
      return value(row + p.i);
    } else {
      alignas(64) T buf[V::width] = {};
      if constexpr (requires { dist.template fill<V::width>(seed, offset, std::uint64_t{}, buf); })
        dist.template fill<V::width>(seed, offset, static_cast<std::uint64_t>(row + p.i), buf);  // a whole packet
      else
        for (int l = 0; l < p.n; ++l) buf[l] = value(row + p.i + l);
      return V::load(buf);
    }
  }
  template <class V, std::size_t R>
  TSGAN_HD V eval(const expr::ElementPos<R>& p) const {
    return value(Layout::element_offset(p.linear, p.idx));
  }
  template <class V, class P>
  TSGAN_HD expr::LeafTrace<V> trace(const P& p) const { return {eval<V>(p)}; }
  template <class V, class P>
  TSGAN_HD void backward(const expr::LeafTrace<V>&, V, const P&) const {}
};

template <class T, ShapeType S, class D, class Dist>
struct RandomLeaf : expr::ExprTraits<T, S, D> {
  Dist dist;
  std::uint64_t seed, offset;
  template <ShapeType Out>
  auto evaluator() const {
    return RandomLeafEval<T, expr::LeafLayout<S, default_strides_t<S>, Out>, Dist>{dist, seed, offset};
  }
};

template <ShapeType S, class T, class D, class Dist>
auto make_random(Generator& gen, Dist dist) {
  static_assert(std::is_floating_point_v<T>, "tsgan: random tensors are float or double");
  RandomLeaf<T, S, D, Dist> leaf;
  leaf.dist = dist;
  leaf.seed = gen.seed();
  leaf.offset = gen.reserve(static_cast<std::uint64_t>(S::size) * Dist::words);
  return leaf;
}

template <ShapeType S, class T = float, class D = cpu>
auto uniform(Generator& gen, T lo = T(0), T hi = T(1)) {
  return make_random<S, T, D>(gen, UniformDist<T>{lo, hi});
}
template <ShapeType S, class T = float, class D = cpu>
auto normal(Generator& gen, T mean = T(0), T stddev = T(1)) {
  return make_random<S, T, D>(gen, NormalDist<T>{mean, stddev});
}
// 1 with probability p, else 0.
template <ShapeType S, class T = float, class D = cpu>
auto bernoulli(Generator& gen, T p) {
  return make_random<S, T, D>(gen, BernoulliDist<T>{p});
}

}  // namespace tsgan::random
