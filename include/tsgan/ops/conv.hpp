// Differentiable 2-D convolutions on Vars (NCHW; weights OIHW for conv2d and [Cin, Cout/groups,
// kh, kw] for conv_transpose2d, as PyTorch), with hyper-parameters as template arguments:
//
//   auto y = conv2d<ConvOptions{.stride = 2, .padding = 1}>(x, w, b);
//   auto z = conv2d<ConvOptions{.stride = 2, .same = true}>(x, w);  // TF 'same', odd pad at the end
//   auto u = conv_transpose2d<ConvTransposeOptions{.stride = 2, .padding = 1}>(x, w);
//   auto r = conv2d<ConvOptions{.stride = {2, 1}, .padding = {1, 0}, .dilation = {1, 2}}>(x, w);  // rows, columns
//   auto v = conv_transpose2d<ConvTransposeOptions{.stride = 2, .groups = 4}>(x, w);  // w: [Cin, Cout / 4, kh, kw]
//
// Stride, padding, dilation and output_padding take one value for both axes or {rows, columns},
// as PyTorch's tuples. Output shapes are computed at compile time; a weight that does not fit the
// input is a compile error naming both shapes.
#pragma once

#include "tsgan/kernels/cpu/conv.hpp"
#if defined(__CUDACC__)
#include "tsgan/kernels/cuda/conv.cuh"
#endif
#include "tsgan/ops/node.hpp"

namespace tsgan {

// A hyper-parameter per spatial axis: h along the rows, w along the columns.
struct Hw {
  index_t h, w;
  constexpr Hw(index_t both) : h(both), w(both) {}  // NOLINT: implicit, `.stride = 2` means both axes
  constexpr Hw(index_t rows, index_t columns) : h(rows), w(columns) {}
};

struct ConvOptions {
  Hw stride = 1;
  Hw padding = 0;    // on both sides of each axis
  bool same = false; // TensorFlow 'same' instead of `padding`: out = ceil(in / stride)
  Hw dilation = 1;
  index_t groups = 1;
};

struct ConvTransposeOptions {
  Hw stride = 1;
  Hw padding = 0;
  Hw output_padding = 0;
  Hw dilation = 1;
  index_t groups = 1;
};

template <ShapeType X, ShapeType W, index_t Groups>
struct CheckConvWeight {
  static constexpr bool value = X::rank == 4 && W::rank == 4 && Groups >= 1 && X::dims[1] % Groups == 0 &&
                                W::dims[0] % Groups == 0 && W::dims[1] * Groups == X::dims[1];
  static_assert(value, "tsgan: conv2d expects an input [N, Cin, H, W] and a weight [Cout, Cin / groups, kh, kw] "
                       "(first: input shape, second: weight shape)");
};

template <ShapeType X, ShapeType W, index_t Groups>
struct CheckConvTransposeWeight {
  static constexpr bool value = X::rank == 4 && W::rank == 4 && Groups >= 1 && W::dims[0] == X::dims[1] &&
                                X::dims[1] % Groups == 0;
  static_assert(value, "tsgan: conv_transpose2d expects an input [N, Cin, H, W] and a weight [Cin, Cout / groups, kh, "
                       "kw], Cin divisible by groups (first: input shape, second: weight shape)");
};

namespace detail {

template <ShapeType X, ShapeType W, ConvOptions O>
struct Conv2dPlan {
  static_assert(CheckConvWeight<X, W, O.groups>::value);
  static constexpr index_t n = X::dims[0], c_in = X::dims[1], h = X::dims[2], w = X::dims[3];
  static constexpr index_t c_out = W::dims[0], kh = W::dims[2], kw = W::dims[3];
  static constexpr SamePadding pad_y =
      O.same ? tf_same_padding(h, kh, O.stride.h, O.dilation.h) : SamePadding{O.padding.h, O.padding.h};
  static constexpr SamePadding pad_x =
      O.same ? tf_same_padding(w, kw, O.stride.w, O.dilation.w) : SamePadding{O.padding.w, O.padding.w};
  static constexpr index_t h_out = conv_out_size(h, kh, O.stride.h, pad_y.begin, pad_y.end, O.dilation.h);
  static constexpr index_t w_out = conv_out_size(w, kw, O.stride.w, pad_x.begin, pad_x.end, O.dilation.w);
  static_assert(CheckConvOutput<X, h_out>::value && CheckConvOutput<X, w_out>::value);
  using out = Shape<n, c_out, h_out, w_out>;
  static constexpr kernels::ConvGeometry geometry{n, c_in, h, w, c_out, h_out, w_out, kh, kw, O.stride.h, O.stride.w,
                                                  pad_y.begin, pad_x.begin, O.dilation.h, O.dilation.w, O.groups};
};

// A transposed convolution from X is the adjoint of a convolution from its output to X (with the
// same groups: the weight [Cin, Cout / groups, kh, kw] is that convolution's OIHW weight).
template <ShapeType X, ShapeType W, ConvTransposeOptions O>
struct ConvTranspose2dPlan {
  static_assert(CheckConvTransposeWeight<X, W, O.groups>::value);
  static constexpr index_t n = X::dims[0], c_in = X::dims[1], h = X::dims[2], w = X::dims[3];
  static constexpr index_t c_out = W::dims[1] * O.groups, kh = W::dims[2], kw = W::dims[3];
  static constexpr index_t h_out =
      conv_transpose_out_size(h, kh, O.stride.h, O.padding.h, O.output_padding.h, O.dilation.h);
  static constexpr index_t w_out =
      conv_transpose_out_size(w, kw, O.stride.w, O.padding.w, O.output_padding.w, O.dilation.w);
  static_assert(CheckConvOutput<X, h_out>::value && CheckConvOutput<X, w_out>::value);
  using out = Shape<n, c_out, h_out, w_out>;
  // The convolution being transposed: from [n, c_out, h_out, w_out] to [n, c_in, h, w].
  static constexpr kernels::ConvGeometry geometry{n, c_out, h_out, w_out, c_in, h, w, kh, kw, O.stride.h, O.stride.w,
                                                  O.padding.h, O.padding.w, O.dilation.h, O.dilation.w, O.groups};
};

template <class T, ShapeType X, ShapeType W, ShapeType Y, index_t Cout, class D>
class Conv2dNode final : public Node {
 public:
  Conv2dNode(const kernels::ConvGeometry& g, Var<T, X, D> x, Var<T, W, D> w, const Var<T, Shape<Cout>, D>* b,
             Slot<T, Y, D>* out)
      : g_(g), x_(x), w_(w), b_(b ? std::optional(*b) : std::nullopt), out_(out) {}
  void backward() override {
    const T* dy = ops::output_grad(out_);
    if (!dy) return;
    const profile::Scope scope(profile::Op::conv_backward);
    using K = kernels::ConvKernels<D>;
    ops::write_grad(x_, [&](T* dx, bool acc) { K::backward_data(g_, dy, w_.value().data(), dx, acc); });
    ops::write_grad(w_, [&](T* dw, bool acc) { K::backward_weight(g_, x_.value().data(), dy, dw, acc); });
    if (b_) ops::write_grad(*b_, [&](T* db, bool acc) { K::backward_bias(g_, dy, db, acc); });
    out_->grad.release();
  }

 private:
  kernels::ConvGeometry g_;
  Var<T, X, D> x_;
  Var<T, W, D> w_;
  std::optional<Var<T, Shape<Cout>, D>> b_;
  Slot<T, Y, D>* out_;
};

template <class T, ShapeType X, ShapeType W, ShapeType Y, index_t Cout, class D>
class ConvTranspose2dNode final : public Node {
 public:
  ConvTranspose2dNode(const kernels::ConvGeometry& g, Var<T, X, D> x, Var<T, W, D> w,
                      const Var<T, Shape<Cout>, D>* b, Slot<T, Y, D>* out)
      : g_(g), x_(x), w_(w), b_(b ? std::optional(*b) : std::nullopt), out_(out) {}
  void backward() override {
    const T* dy = ops::output_grad(out_);
    if (!dy) return;
    const profile::Scope scope(profile::Op::conv_backward);
    using K = kernels::ConvKernels<D>;
    ops::write_grad(x_, [&](T* dx, bool acc) { K::forward(g_, dy, w_.value().data(), static_cast<const T*>(nullptr), dx, acc); });
    ops::write_grad(w_, [&](T* dw, bool acc) { K::backward_weight(g_, dy, x_.value().data(), dw, acc); });
    if (b_) ops::write_grad(*b_, [&](T* db, bool acc) {
      // The bias is added to the transposed convolution's output: sum dy over (n, h, w).
      kernels::ConvGeometry out_g = g_;
      out_g.c_out = Cout;
      out_g.h_out = g_.h_in;
      out_g.w_out = g_.w_in;
      K::backward_bias(out_g, dy, db, acc);
    });
    out_->grad.release();
  }

 private:
  kernels::ConvGeometry g_;
  Var<T, X, D> x_;
  Var<T, W, D> w_;
  std::optional<Var<T, Shape<Cout>, D>> b_;
  Slot<T, Y, D>* out_;
};

template <ConvOptions O, class T, ShapeType X, ShapeType W, class D>
auto conv2d_impl(const Var<T, X, D>& x, const Var<T, W, D>& w, const Var<T, Shape<W::dims[0]>, D>* b) {
  using Plan = Conv2dPlan<X, W, O>;
  using Y = typename Plan::out;
  const bool grad = ops::needs_grad(x, w) || (b && ops::needs_grad(*b));
  auto out = ops::make_output<T, Y, D>(x.graph(), grad);
  const profile::Scope scope(profile::Op::conv_forward);
  kernels::ConvKernels<D>::forward(Plan::geometry, x.value().data(), w.value().data(), b ? b->value().data() : nullptr,
                                   out.data());
  if (grad) x.graph().template record<Conv2dNode<T, X, W, Y, W::dims[0], D>>(Plan::geometry, x, w, b, out.slot);
  return out.var(x.graph());
}

template <ConvTransposeOptions O, class T, ShapeType X, ShapeType W, class D>
auto conv_transpose2d_impl(const Var<T, X, D>& x, const Var<T, W, D>& w, const Var<T, Shape<W::dims[1] * O.groups>, D>* b) {
  using Plan = ConvTranspose2dPlan<X, W, O>;
  using Y = typename Plan::out;
  const bool grad = ops::needs_grad(x, w) || (b && ops::needs_grad(*b));
  auto out = ops::make_output<T, Y, D>(x.graph(), grad);
  const profile::Scope scope(profile::Op::conv_forward);
  constexpr auto g = Plan::geometry;
  using K = kernels::ConvKernels<D>;
  K::backward_data(g, x.value().data(), w.value().data(), out.data(), false, b ? b->value().data() : nullptr);
  if (grad) x.graph().template record<ConvTranspose2dNode<T, X, W, Y, Plan::c_out, D>>(g, x, w, b, out.slot);
  return out.var(x.graph());
}

}  // namespace detail

template <ConvOptions O = ConvOptions{}, class T, ShapeType X, ShapeType W, class D>
auto conv2d(const Var<T, X, D>& x, const Var<T, W, D>& w) {
  return detail::conv2d_impl<O>(x, w, static_cast<const Var<T, Shape<W::dims[0]>, D>*>(nullptr));
}
template <ConvOptions O = ConvOptions{}, class T, ShapeType X, ShapeType W, class D, index_t Cout>
auto conv2d(const Var<T, X, D>& x, const Var<T, W, D>& w, const Var<T, Shape<Cout>, D>& b) {
  static_assert(CheckSameShape<Shape<W::dims[0]>, Shape<Cout>>::value, "tsgan: conv2d bias must be [Cout]");
  return detail::conv2d_impl<O>(x, w, &b);
}

template <ConvTransposeOptions O = ConvTransposeOptions{}, class T, ShapeType X, ShapeType W, class D>
auto conv_transpose2d(const Var<T, X, D>& x, const Var<T, W, D>& w) {
  return detail::conv_transpose2d_impl<O>(x, w, static_cast<const Var<T, Shape<W::dims[1] * O.groups>, D>*>(nullptr));
}
template <ConvTransposeOptions O = ConvTransposeOptions{}, class T, ShapeType X, ShapeType W, class D, index_t Cout>
auto conv_transpose2d(const Var<T, X, D>& x, const Var<T, W, D>& w, const Var<T, Shape<Cout>, D>& b) {
  static_assert(CheckSameShape<Shape<W::dims[1] * O.groups>, Shape<Cout>>::value,
                "tsgan: conv_transpose2d bias must be [Cout] (the weight's dim 1 times groups)");
  return detail::conv_transpose2d_impl<O>(x, w, &b);
}

}  // namespace tsgan
