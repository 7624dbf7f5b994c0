// CPU evaluation of expressions: rows of SIMD packets, split across threads.
//
// For an output shape Out the evaluator picks the split axis K (the largest min_split of the
// leaves and the destination), so that inside a row every leaf is contiguous or constant. Rows are
// cut into segments whose length is a multiple of the packet width and depends only on the shape,
// so each element is computed by the same instructions whatever the thread count.
#pragma once

#include <algorithm>
#include <array>
#include <type_traits>

#include "tsgan/core/parallel.hpp"
#include "tsgan/expr/expr.hpp"
#include "tsgan/expr/vec_cpu.hpp"

namespace tsgan {
namespace expr {

// How an output of shape Out is cut into rows at axis K.
template <ShapeType Out, std::size_t K>
struct RowSplit {
  static constexpr index_t inner = [] {
    index_t n = 1;
    for (std::size_t j = K; j < Out::rank; ++j) n *= Out::dims[j];
    return n;
  }();
  static constexpr index_t rows = Out::size / inner;
  // Outer multi-index (axes [0, K)) of row r.
  static void outer_index(index_t r, index_t* idx) {
    for (std::size_t j = K; j-- > 0;) {
      idx[j] = r % Out::dims[j];
      r /= Out::dims[j];
    }
  }
};

// Segment length: whole rows when they are short, else a fixed multiple of the packet width.
template <class T, index_t Inner>
constexpr index_t segment_length() {
  constexpr index_t width = math::Vec<T>::width;
  constexpr index_t target = 32768;
  return Inner <= 2 * target ? Inner : target / width * width;
}

// Calls body(outer_idx, row, begin, end) for every segment of every row, in parallel.
template <class T, ShapeType Out, std::size_t K, class Body>
void for_each_segment(Body&& body) {
  using Split = RowSplit<Out, K>;
  constexpr index_t seg = segment_length<T, Split::inner>();
  constexpr index_t segs_per_row = (Split::inner + seg - 1) / seg;
  constexpr index_t tasks = Split::rows * segs_per_row;
  constexpr index_t grain = std::max<index_t>(1, 32768 / std::max<index_t>(1, seg));
  parallel_for(tasks, grain, [&](index_t t0, index_t t1) {
    std::array<index_t, Out::rank + 1> outer{};
    index_t current_row = -1;
    for (index_t t = t0; t < t1; ++t) {
      const index_t r = t / segs_per_row;
      const index_t s = t % segs_per_row;
      if (r != current_row) {
        Split::outer_index(r, outer.data());
        current_row = r;
      }
      body(outer.data(), r, s * seg, std::min(Split::inner, (s + 1) * seg));
    }
  });
}

// Runs f(pos) over [begin, end) of the current row with packets (or scalars for tiny rows).
template <class T, std::size_t K, index_t Inner, class F>
TSGAN_INLINE void for_each_packet(index_t begin, index_t end, F&& f) {
  using Vec = math::Vec<T>;
  constexpr int W = Vec::width;
  if constexpr (Inner < W) {
    for (index_t i = begin; i < end; ++i) f.template operator()<T>(RowPos<K>{i, 1});
  } else {
    index_t i = begin;
    for (; i + W <= end; i += W) f.template operator()<Vec>(RowPos<K>{i, W});
    if (i < end) f.template operator()<Vec>(RowPos<K>{i, static_cast<int>(end - i)});
  }
}

// The adjoint of each element in a backward pass: f(y, a, b, c) where y is the element's forward
// value and a, b, c are read from tensors laid out against the same output (the output gradient,
// a reduced value broadcast back, ...). Unused slots hold scalar leaves.
template <class F, class A, class B = ScalarLeafEval<float>, class C = ScalarLeafEval<float>>
struct AdjointEval {
  static constexpr std::size_t min_split = std::max({A::min_split, B::min_split, C::min_split});
  F f;
  A a;
  B b = {0};
  C c = {0};
  template <std::size_t K>
  TSGAN_HD void begin_row(const index_t* outer) {
    a.template begin_row<K>(outer);
    b.template begin_row<K>(outer);
    c.template begin_row<K>(outer);
  }
  template <class V, class P>
  TSGAN_HD_TEMPLATE V adjoint(const P& p, V y) const {
    return f(y, a.template eval<V>(p), b.template eval<V>(p), c.template eval<V>(p));
  }
};

// The backward pass of a fused expression on the CPU, in one sweep over the output shape Out:
// each element's trace is recomputed from the leaves, its adjoint taken from `adj`, and pushed to
// the leaves' gradients; then leaves that broadcast fold their gradient (finish()).
template <class T, ShapeType Out, class Ev, class Adj>
void backward_cpu(Ev& ev0, const Adj& adj0) {
#if TSGAN_HOST_PASS  // nvcc's device pass sees no body: it would instantiate the op structs with Vec
  constexpr std::size_t K = std::max(Ev::min_split, Adj::min_split);
  constexpr index_t inner = RowSplit<Out, K>::inner;
  for_each_segment<T, Out, K>([&](const index_t* outer, index_t, index_t begin, index_t end) {
    auto ev = ev0;
    auto adj = adj0;
    ev.template begin_row<K>(outer);
    adj.template begin_row<K>(outer);
    for_each_packet<T, K, inner>(begin, end, [&]<class V>(const RowPos<K>& p) {
      const auto tr = ev.template trace<V>(p);
      ev.backward(tr, adj.template adjoint<V>(p, tr.y), p);
    });
  });
  ev0.finish();
#else
  (void)ev0;
  (void)adj0;
#endif
}

}  // namespace expr

// Evaluates `e` into `dst` (a host tensor or view) in one pass.
template <class Dst, Expression E>
  requires std::is_same_v<typename std::remove_cvref_t<Dst>::device, cpu>
void assign(Dst& dst, const E& e) {
  using DstT = std::remove_cvref_t<Dst>;
  using Out = typename DstT::shape;
  using T = typename DstT::value_type;
  static_assert(expr::Computable<T>, "tsgan: expressions compute in float or double");
  static_assert(CheckSameValueType<T, typename std::remove_cvref_t<E>::value_type>::value);
  static_assert(CheckSameDevice<cpu, typename std::remove_cvref_t<E>::device>::value);
  static_assert(expr::CheckAssignable<Out, typename std::remove_cvref_t<E>::shape>::value);
#if TSGAN_HOST_PASS  // nvcc's device pass sees no body: it would instantiate the op structs with Vec
  const auto& node = expr::as_node(e);  // a reference: an owned tensor inside is not copied
  const auto ev0 = node.template evaluator<Out>();
  const auto dst0 = expr::dest_evaluator(dst);
  constexpr std::size_t K = std::max(decltype(ev0)::min_split, decltype(dst0)::min_split);
  constexpr index_t inner = expr::RowSplit<Out, K>::inner;

  // Outputs larger than a typical share of last-level cache are written with streaming stores:
  // they would be evicted before anyone reads them, and skipping the read-for-ownership saves a
  // sixth of the traffic of a four-input expression.
  constexpr bool streaming = Out::size * sizeof(T) >= (std::size_t{16} << 20) && inner >= math::Vec<T>::width;
  expr::for_each_segment<T, Out, K>([&](const index_t* outer, index_t, index_t begin, index_t end) {
    auto ev = ev0;
    auto out = dst0;
    ev.template begin_row<K>(outer);
    out.template begin_row<K>(outer);
    expr::for_each_packet<T, K, inner>(begin, end, [&]<class V>(const expr::RowPos<K>& p) {
      if constexpr (streaming && !std::is_arithmetic_v<V>) out.stream(p, ev.template eval<V>(p));
      else out.store(p, ev.template eval<V>(p));
    });
    if constexpr (streaming) math::stream_fence();
  });
#endif
}

}  // namespace tsgan
