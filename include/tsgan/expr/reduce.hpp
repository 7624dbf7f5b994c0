// Reductions: sum, mean, max, min over all axes or chosen ones, and a stable log-sum-exp. They
// read any expression without materialising it (sum(square(a - b)) makes no temporary) and return
// a tensor, since a reduced value is almost always read many times afterwards.
//
// Results do not depend on the thread count: the work is cut into pieces whose boundaries depend
// only on the shape, each piece reduces into its own partial, and partials are combined in a
// fixed order (float sums are combined in double).
#pragma once

#include <limits>
#include <vector>

#include "tsgan/expr/eval_cpu.hpp"

namespace tsgan {
namespace reduction {

// A reduction: its identity, how two partials combine (on either device), and how the CPU folds
// the lanes of a SIMD packet.
struct Sum {
  template <class T> TSGAN_HD static constexpr T identity() { return T(0); }
  template <class V> TSGAN_HD static V combine(V a, V b) { return a + b; }
  template <class T> static T horizontal(math::Vec<T> v) { return math::reduce_sum(v); }
  // Partials of a float sum are combined in double.
  template <class T> using accumulator = std::conditional_t<std::is_same_v<T, float>, double, T>;
};
struct Max {
  template <class T> TSGAN_HD static constexpr T identity() { return -std::numeric_limits<T>::infinity(); }
  template <class V> TSGAN_HD static V combine(V a, V b) { return math::max(a, b); }
  template <class T> static T horizontal(math::Vec<T> v) { return math::reduce_max(v); }
  template <class T> using accumulator = T;
};
struct Min {
  template <class T> TSGAN_HD static constexpr T identity() { return std::numeric_limits<T>::infinity(); }
  template <class V> TSGAN_HD static V combine(V a, V b) { return math::min(a, b); }
  template <class T> static T horizontal(math::Vec<T> v) { return math::reduce_min(v); }
  template <class T> using accumulator = T;
};

// Where the reduction splits the input: axes [K, rank) form the contiguous inner run of a row and
// are either all reduced (each row gives one value) or all kept (each row adds into an output row).
template <ShapeType In, class Ax, std::size_t MinSplit>
struct Plan {
  using Reduced = ReduceShape<In, Ax, true>;
  using Kept = typename Reduced::kept;  // In with reduced axes set to 1: the output's layout
  static constexpr auto mask = Reduced::mask;
  static constexpr std::size_t rank = In::rank;

  static constexpr std::size_t suffix_start = [] {
    std::size_t t = rank;
    int category = -1;  // -1 none yet, 0 kept, 1 reduced
    while (t > 0) {
      const std::size_t j = t - 1;
      if (In::dims[j] > 1) {
        const int c = mask[j] ? 1 : 0;
        if (category >= 0 && c != category) break;
        category = c;
      }
      t = j;
    }
    return t;
  }();
  static constexpr std::size_t K = std::max(suffix_start, MinSplit);
  static constexpr bool inner_reduced = [] {
    for (std::size_t j = K; j < rank; ++j)
      if (In::dims[j] > 1) return mask[j];
    return true;  // an inner run of length 1 is treated as reduced
  }();
  using Split = expr::RowSplit<In, K>;

  // Offset into the output of the row with outer index `outer` (axes [0, K)).
  static index_t output_offset(const index_t* outer) {
    index_t off = 0;
    for (std::size_t j = 0; j < K; ++j)
      if (!mask[j]) off += outer[j] * Kept::strides[j];
    return off;
  }
};

// Reduces the expression node `node` over the axes Ax into `dst` (laid out as the kept shape),
// or adds the result to what `dst` holds when `accumulate` is set.
template <class R, class Ax, class E>
void reduce_into(typename E::value_type* dst, const E& node, bool accumulate = false) {
#if TSGAN_HOST_PASS  // nvcc's device pass sees no body: it would instantiate the op structs with Vec
  using In = typename E::shape;
  using T = typename E::value_type;
  const auto ev0 = node.template evaluator<In>();
  using P = Plan<In, Ax, decltype(ev0)::min_split>;
  constexpr std::size_t K = P::K;
  using Split = typename P::Split;
  using Acc = typename R::template accumulator<T>;
  using Vec = math::Vec<T>;
  constexpr int W = Vec::width;
  constexpr index_t outputs = P::Kept::size;

  if constexpr (P::inner_reduced) {
    // One partial per (row, segment); then each output combines its partials in order.
    constexpr index_t seg = expr::segment_length<T, Split::inner>();
    constexpr index_t segs = (Split::inner + seg - 1) / seg;
    Tensor<T, Shape<Split::rows * segs>> partial(uninitialized);
    T* part = partial.data();
    expr::for_each_segment<T, In, K>([&](const index_t* outer, index_t r, index_t begin, index_t end) {
      auto ev = ev0;
      ev.template begin_row<K>(outer);
      T result;
      if constexpr (Split::inner < W) {
        result = R::template identity<T>();
        for (index_t i = begin; i < end; ++i)
          result = R::combine(result, ev.template eval<T>(expr::RowPos<K>{i, 1}));
      } else {
        // Four independent accumulators: shorter dependency chains, smaller rounding error.
        Vec acc[4] = {Vec(R::template identity<T>()), Vec(R::template identity<T>()),
                      Vec(R::template identity<T>()), Vec(R::template identity<T>())};
        index_t i = begin;
        for (; i + 4 * W <= end; i += 4 * W)
          for (int u = 0; u < 4; ++u)
            acc[u] = R::combine(acc[u], ev.template eval<Vec>(expr::RowPos<K>{i + u * W, W}));
        for (; i + W <= end; i += W) acc[0] = R::combine(acc[0], ev.template eval<Vec>(expr::RowPos<K>{i, W}));
        if (i < end) {
          const int n = static_cast<int>(end - i);
          const Vec v = ev.template eval<Vec>(expr::RowPos<K>{i, n});
          // Lanes past the end hold garbage computed from zeros; replace them by the identity.
          alignas(64) T lanes[W];
          v.store(lanes);
          for (int u = n; u < W; ++u) lanes[u] = R::template identity<T>();
          acc[1] = R::combine(acc[1], Vec::load(lanes));
        }
        result = R::horizontal(R::combine(R::combine(acc[0], acc[1]), R::combine(acc[2], acc[3])));
      }
      part[r * segs + begin / seg] = result;
    });
    std::vector<Acc> acc(static_cast<std::size_t>(outputs), R::template identity<Acc>());
    std::array<index_t, In::rank + 1> outer{};
    for (index_t r = 0; r < Split::rows; ++r) {
      Split::outer_index(r, outer.data());
      const index_t o = P::output_offset(outer.data());
      for (index_t s = 0; s < segs; ++s)
        acc[static_cast<std::size_t>(o)] = R::combine(acc[static_cast<std::size_t>(o)], static_cast<Acc>(part[r * segs + s]));
    }
    for (index_t o = 0; o < outputs; ++o) {
      const T r = static_cast<T>(acc[static_cast<std::size_t>(o)]);
      dst[o] = accumulate ? dst[o] + r : r;
    }
  } else {
    // Each row adds elementwise into its output row. Rows are grouped into a fixed number of
    // chunks per output row; each chunk accumulates into its own partial row.
    constexpr index_t inner = Split::inner;
    constexpr index_t out_rows = outputs / inner;
    constexpr index_t rows_per_out = Split::rows / out_rows;
    constexpr index_t chunks = std::min<index_t>(rows_per_out, 16);
    Tensor<T, Shape<out_rows * chunks * inner>> partial(uninitialized);
    T* part = partial.data();
    std::vector<index_t> row_order(static_cast<std::size_t>(Split::rows));
    {  // rows listed by output row, in row-major order within each
      std::vector<index_t> fill(static_cast<std::size_t>(out_rows), 0);
      std::array<index_t, In::rank + 1> outer{};
      for (index_t r = 0; r < Split::rows; ++r) {
        Split::outer_index(r, outer.data());
        const index_t g = P::output_offset(outer.data()) / inner;
        row_order[static_cast<std::size_t>(g * rows_per_out + fill[static_cast<std::size_t>(g)]++)] = r;
      }
    }
    parallel_for(out_rows * chunks, std::max<index_t>(1, 32768 / (inner * rows_per_out / chunks + 1)),
                 [&](index_t t0, index_t t1) {
      std::array<index_t, In::rank + 1> outer{};
      for (index_t t = t0; t < t1; ++t) {
        const index_t g = t / chunks, c = t % chunks;
        T* acc = part + t * inner;
        std::fill_n(acc, inner, R::template identity<T>());
        const index_t r0 = rows_per_out * c / chunks, r1 = rows_per_out * (c + 1) / chunks;
        for (index_t k = r0; k < r1; ++k) {
          const index_t r = row_order[static_cast<std::size_t>(g * rows_per_out + k)];
          Split::outer_index(r, outer.data());
          auto ev = ev0;
          ev.template begin_row<K>(outer.data());
          expr::for_each_packet<T, K, inner>(0, inner, [&]<class V>(const expr::RowPos<K>& p) {
            const V cur = expr::load_value<V>(acc + p.i, p.n);
            expr::store_value<V>(acc + p.i, R::combine(cur, ev.template eval<V>(p)), p.n);
          });
        }
      }
    });
    for (index_t g = 0; g < out_rows; ++g)
      for (index_t i = 0; i < inner; ++i) {
        Acc a = R::template identity<Acc>();
        for (index_t c = 0; c < chunks; ++c) a = R::combine(a, static_cast<Acc>(part[(g * chunks + c) * inner + i]));
        const T r = static_cast<T>(a);
        dst[g * inner + i] = accumulate ? dst[g * inner + i] + r : r;
      }
  }
#else
  (void)dst;
  (void)node;
#endif
}

// Reduces on the device the expression lives on (the GPU version is reduce_device in
// expr/eval_cuda.cuh, found by argument-dependent lookup).
template <class D, class R, class Ax, class N>
void reduce_on(typename N::value_type* dst, const N& node, bool accumulate = false) {
  if constexpr (std::is_same_v<D, cpu>) {
    reduce_into<R, Ax>(dst, node, accumulate);
  } else if (!accumulate) {
    reduce_device(R{}, Ax{}, dst, node);
  } else {
    using Kept = reduce_t<typename N::shape, Ax, true>;
    Tensor<typename N::value_type, Kept, D> part(uninitialized);
    reduce_device(R{}, Ax{}, part.data(), node);
    const TensorView<typename N::value_type, Kept, D> out(dst);
    out = out + part;
  }
}

template <class R, class Ax, bool KeepDims, Expression E>
auto reduce(const E& e) {
  using N = expr::node_t<const E&>;
  using T = typename N::value_type;
  using D = typename N::device;
  using In = typename N::shape;
  static_assert(expr::Computable<T>, "tsgan: reductions compute in float or double");
  Tensor<T, reduce_t<In, Ax, KeepDims>, D> out(uninitialized);
  reduce_on<D, R, Ax>(out.data(), expr::as_node(e));
  return out;
}

}  // namespace reduction

// Reductions of plain tensors and expressions return tensors; over Vars they return Vars
// (autograd/reduce.hpp).
template <class E>
concept ConstantExpression = Expression<E> && !expr::node_t<const E&>::has_var;

template <class Ax = Axes<>, bool KeepDims = false, ConstantExpression E>
auto sum(const E& e) {
  return reduction::reduce<reduction::Sum, Ax, KeepDims>(e);
}
template <class Ax = Axes<>, bool KeepDims = false, ConstantExpression E>
auto max(const E& e) {
  return reduction::reduce<reduction::Max, Ax, KeepDims>(e);
}
template <class Ax = Axes<>, bool KeepDims = false, ConstantExpression E>
auto min(const E& e) {
  return reduction::reduce<reduction::Min, Ax, KeepDims>(e);
}
template <class Ax = Axes<>, bool KeepDims = false, ConstantExpression E>
auto mean(const E& e) {
  using N = expr::node_t<const E&>;
  using In = typename N::shape;
  using T = typename N::value_type;
  auto s = sum<Ax, KeepDims>(e);
  constexpr T count = static_cast<T>(In::size / reduce_t<In, Ax, KeepDims>::size);
  s = s * (T(1) / count);
  return s;
}
// log Σ exp(x) with the maximum subtracted first, so large inputs do not overflow.
template <class Ax = Axes<>, bool KeepDims = false, ConstantExpression E>
auto logsumexp(const E& e) {
  const auto node = expr::as_node(e);
  auto m = max<Ax, true>(node);
  auto s = sum<Ax, true>(exp(node - m));
  using Kept = typename decltype(s)::shape;
  Tensor<typename decltype(s)::value_type, Kept, typename decltype(s)::device> r = log(s) + m;
  if constexpr (KeepDims) return r;
  else return std::move(r).template reshape<reduce_t<typename decltype(node)::shape, Ax, false>>();
}

}  // namespace tsgan
