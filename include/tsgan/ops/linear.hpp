// Matrix products on Vars: matmul (2-D, or batched 3-D with a shared leading batch axis) with
// optional transposes as template arguments, and linear (x·Wᵀ + b, PyTorch's layout).
//
//   auto s = matmul<false, true>(k, q);   // [B, N, C] × [B, N, C]ᵀ → [B, N, N]
//   auto y = linear(x, w, b);             // [N, In] with w [Out, In] → [N, Out]
#pragma once

#include <optional>

#include "tsgan/kernels/cpu/gemm.hpp"
#if defined(__CUDACC__)
#include "tsgan/kernels/cuda/gemm.cuh"
#endif
#include "tsgan/ops/node.hpp"

namespace tsgan {
namespace kernels {

template <class D>
struct MatmulKernels;

template <>
struct MatmulKernels<cpu> {
  // For each of `batch` matrices: C (+)= op(A) · op(B), with op(A) [m, k], op(B) [k, n].
  template <class T>
  static void gemm_batched(bool ta, bool tb, index_t batch, index_t m, index_t n, index_t k, const T* a, const T* b,
                           T* c, bool accumulate) {
    const index_t lda = ta ? m : k, ldb = tb ? k : n;
    for (index_t i = 0; i < batch; ++i)
      gemm<T>(ta, tb, m, n, k, T(1), a + i * m * k, lda, b + i * k * n, ldb, accumulate ? T(1) : T(0), c + i * m * n, n);
  }
  // y[r, o] += b[o] for `rows` rows.
  template <class T>
  static void add_rows(T* y, const T* b, index_t rows, index_t cols) {
    parallel_for(rows, std::max<index_t>(1, 4096 / cols), [&](index_t r0, index_t r1) {
      for (index_t r = r0; r < r1; ++r)
        for (index_t o = 0; o < cols; ++o) y[r * cols + o] += b[o];
    });
  }
  // db[o] (+)= Σ_r dy[r, o].
  template <class T>
  static void sum_rows(const T* dy, index_t rows, index_t cols, T* db, bool accumulate) {
    for (index_t o = 0; o < cols; ++o) {
      double s = 0;
      for (index_t r = 0; r < rows; ++r) s += dy[r * cols + o];
      db[o] = accumulate ? db[o] + static_cast<T>(s) : static_cast<T>(s);
    }
  }
};

}  // namespace kernels

template <ShapeType A, ShapeType B, bool TA, bool TB>
struct MatmulPlan {
  static constexpr bool batched = A::rank == 3;
  static constexpr std::size_t r = A::rank;
  static constexpr bool ranks_ok = (A::rank == 2 || A::rank == 3) && A::rank == B::rank;
  static constexpr index_t batch = batched && ranks_ok ? A::dims[0] : 1;
  static constexpr index_t m = ranks_ok ? (TA ? A::dims[r - 1] : A::dims[r - 2]) : 1;
  static constexpr index_t k = ranks_ok ? (TA ? A::dims[r - 2] : A::dims[r - 1]) : 1;
  static constexpr index_t k_b = ranks_ok ? (TB ? B::dims[r - 1] : B::dims[r - 2]) : 0;
  static constexpr index_t n = ranks_ok ? (TB ? B::dims[r - 2] : B::dims[r - 1]) : 1;
  static constexpr bool value = ranks_ok && k == k_b && (!batched || A::dims[0] == B::dims[0]);
  static_assert(value, "tsgan: matmul operands do not fit: both 2-D ([M, K] × [K, N]) or both 3-D with the same "
                       "batch, inner dimensions equal after the requested transposes (first: left shape, second: right)");
  using out = std::conditional_t<batched, Shape<batch, m, n>, Shape<m, n>>;
};

namespace detail {

template <bool TA, bool TB, class T, ShapeType A, ShapeType B, ShapeType C, class D>
class MatmulNode final : public Node {
 public:
  MatmulNode(Var<T, A, D> a, Var<T, B, D> b, Slot<T, C, D>* out) : a_(a), b_(b), out_(out) {}
  void backward() override {
    const T* dc = ops::output_grad(out_);
    if (!dc) return;
    using P = MatmulPlan<A, B, TA, TB>;
    using K = kernels::MatmulKernels<D>;
    const T* a = a_.value().data();
    const T* b = b_.value().data();
    // C = op(A)·op(B): dop(A) = dC·op(B)ᵀ and dop(B) = op(A)ᵀ·dC, written in A's and B's layouts.
    ops::write_grad(a_, [&](T* da, bool acc) {
      if constexpr (!TA) K::gemm_batched(false, !TB, P::batch, P::m, P::k, P::n, dc, b, da, acc);
      else K::gemm_batched(TB, true, P::batch, P::k, P::m, P::n, b, dc, da, acc);
    });
    ops::write_grad(b_, [&](T* db, bool acc) {
      if constexpr (!TB) K::gemm_batched(!TA, false, P::batch, P::k, P::n, P::m, a, dc, db, acc);
      else K::gemm_batched(true, TA, P::batch, P::n, P::k, P::m, dc, a, db, acc);
    });
    out_->grad.release();
  }

 private:
  Var<T, A, D> a_;
  Var<T, B, D> b_;
  Slot<T, C, D>* out_;
};

template <class T, index_t N, index_t In, index_t Out, class D>
class LinearNode final : public Node {
 public:
  LinearNode(Var<T, Shape<N, In>, D> x, Var<T, Shape<Out, In>, D> w, std::optional<Var<T, Shape<Out>, D>> b,
             Slot<T, Shape<N, Out>, D>* out)
      : x_(x), w_(w), b_(b), out_(out) {}
  void backward() override {
    const T* dy = ops::output_grad(out_);
    if (!dy) return;
    using K = kernels::MatmulKernels<D>;
    ops::write_grad(x_, [&](T* dx, bool acc) { K::gemm_batched(false, false, 1, N, In, Out, dy, w_.value().data(), dx, acc); });
    ops::write_grad(w_, [&](T* dw, bool acc) { K::gemm_batched(true, false, 1, Out, In, N, dy, x_.value().data(), dw, acc); });
    if (b_) ops::write_grad(*b_, [&](T* db, bool acc) { K::sum_rows(dy, N, Out, db, acc); });
    out_->grad.release();
  }

 private:
  Var<T, Shape<N, In>, D> x_;
  Var<T, Shape<Out, In>, D> w_;
  std::optional<Var<T, Shape<Out>, D>> b_;
  Slot<T, Shape<N, Out>, D>* out_;
};

template <class T, index_t N, index_t In, index_t Out, class D>
Var<T, Shape<N, Out>, D> linear_impl(const Var<T, Shape<N, In>, D>& x, const Var<T, Shape<Out, In>, D>& w,
                                     std::optional<Var<T, Shape<Out>, D>> b) {
  using K = kernels::MatmulKernels<D>;
  const bool grad = ops::needs_grad(x, w) || (b && ops::needs_grad(*b));
  auto out = ops::make_output<T, Shape<N, Out>, D>(x.graph(), grad);
  K::gemm_batched(false, true, 1, N, Out, In, x.value().data(), w.value().data(), out.data(), false);
  if (b) K::add_rows(out.data(), b->value().data(), N, Out);
  if (grad) x.graph().template record<LinearNode<T, N, In, Out, D>>(x, w, b, out.slot);
  return out.var(x.graph());
}

}  // namespace detail

template <bool TA = false, bool TB = false, class T, ShapeType A, ShapeType B, class D>
auto matmul(const Var<T, A, D>& a, const Var<T, B, D>& b) {
  using P = MatmulPlan<A, B, TA, TB>;
  using C = typename P::out;
  const bool grad = ops::needs_grad(a, b);
  auto out = ops::make_output<T, C, D>(a.graph(), grad);
  kernels::MatmulKernels<D>::gemm_batched(TA, TB, P::batch, P::m, P::n, P::k, a.value().data(), b.value().data(),
                                          out.data(), false);
  if (grad) a.graph().template record<detail::MatmulNode<TA, TB, T, A, B, C, D>>(a, b, out.slot);
  return out.var(a.graph());
}

template <class T, index_t N, index_t In, index_t Out, class D>
auto linear(const Var<T, Shape<N, In>, D>& x, const Var<T, Shape<Out, In>, D>& w) {
  return detail::linear_impl<T, N, In, Out, D>(x, w, std::nullopt);
}
template <class T, index_t N, index_t In, index_t Out, class D>
auto linear(const Var<T, Shape<N, In>, D>& x, const Var<T, Shape<Out, In>, D>& w, const Var<T, Shape<Out>, D>& b) {
  return detail::linear_impl<T, N, In, Out, D>(x, w, b);
}

}  // namespace tsgan
