// Pooling on Vars (NCHW), with hyper-parameters as template arguments:
//
//   auto m = max_pool2d<PoolOptions{.kernel = 3, .stride = 2}>(x);   // padding cells are −inf
//   auto a = avg_pool2d<PoolOptions{.kernel = 2}>(x);                // stride defaults to kernel
//   auto p = avg_pool2d<PoolOptions{.kernel = 3, .stride = 1, .padding = 1, .count_include_pad = false}>(x);
//   auto c = max_pool2d<PoolOptions{.kernel = 3, .stride = 2, .ceil_mode = true}>(x);
//   auto g = global_avg_pool2d(x);        // [N, C]; global_avg_pool2d<true>(x) gives [N, C, 1, 1]
//   auto q = adaptive_avg_pool2d<7, 7>(x);  // [N, C, 7, 7] whatever H and W
//
// PyTorch's semantics: square windows, output size floor((in + 2·padding − kernel) / stride) + 1
// (ceil instead of floor in ceil_mode, less the last window when it would start past the input
// and its left padding) computed at compile time, padding at most half the kernel, ties in max
// pooling sending the gradient to the first maximum in scan order. Adaptive average pooling
// averages bins [floor(o·in / out), ceil((o + 1)·in / out)) of each axis. An input that is not
// [N, C, H, W], or a window that does not fit, is a compile error naming the input shape and the
// options.
#pragma once

#include "tsgan/autograd/reduce.hpp"
#include "tsgan/kernels/cpu/pool.hpp"
#if defined(__CUDACC__)
#include "tsgan/kernels/cuda/pool.cuh"
#endif
#include "tsgan/ops/node.hpp"

namespace tsgan {

struct PoolOptions {
  index_t kernel = 2;
  index_t stride = 0;  // 0: the kernel size (PyTorch's default)
  index_t padding = 0;
  bool count_include_pad = true;  // average pooling only
  bool ceil_mode = false;
};

// Outputs along an axis of `in` cells: PyTorch's pooling_output_shape.
constexpr index_t pool_out_size(index_t in, index_t kernel, index_t stride, index_t pad, bool ceil_mode) {
  const index_t span = in + 2 * pad - kernel;
  index_t out = (ceil_mode ? (span + stride - 1) / stride : span / stride) + 1;
  if (ceil_mode && (out - 1) * stride >= in + pad) --out;  // the last window must start inside
  return out;
}

template <ShapeType X>
struct CheckPoolInput {
  static constexpr bool value = X::rank == 4;
  static_assert(value, "tsgan: 2-D pooling expects an input [N, C, H, W] (the shape in this instantiation)");
};

template <ShapeType X, PoolOptions O>
struct CheckPoolWindow {
  static constexpr index_t stride = O.stride == 0 ? O.kernel : O.stride;
  static constexpr bool value = X::rank != 4 || (O.kernel >= 1 && stride >= 1 && O.padding >= 0 &&
                                                2 * O.padding <= O.kernel && X::dims[2] + 2 * O.padding >= O.kernel &&
                                                X::dims[3] + 2 * O.padding >= O.kernel);
  static_assert(value, "tsgan: this pooling window does not fit the input (the kernel must fit the padded input "
                       "and the padding must be at most half the kernel)");
};

namespace detail {

template <ShapeType X, PoolOptions O>
struct PoolPlan {
  static_assert(CheckPoolInput<X>::value && CheckPoolWindow<X, O>::value);
  static constexpr index_t stride = CheckPoolWindow<X, O>::stride;
  static constexpr index_t h_out = pool_out_size(X::dims[2], O.kernel, stride, O.padding, O.ceil_mode);
  static constexpr index_t w_out = pool_out_size(X::dims[3], O.kernel, stride, O.padding, O.ceil_mode);
  using out = Shape<X::dims[0], X::dims[1], h_out, w_out>;
  static constexpr kernels::PoolGeometry geometry{X::dims[0] * X::dims[1], X::dims[2], X::dims[3], h_out, w_out,
                                                  O.kernel, stride, O.padding, O.count_include_pad};
};

}  // namespace detail

template <PoolOptions O = PoolOptions{}, class T, ShapeType X, class D>
auto max_pool2d(const Var<T, X, D>& x) {
  using Plan = detail::PoolPlan<X, O>;
  using Y = typename Plan::out;
  using K = kernels::PoolKernels<D>;
  constexpr auto g = Plan::geometry;
  auto out = ops::make_output<T, Y, D>(x.graph(), ops::needs_grad(x));
  if (!out.grad) {
    K::max_forward(g, x.value().data(), out.data(), static_cast<std::int32_t*>(nullptr));
    return out.var(x.graph());
  }
  Tensor<std::int32_t, Y, D> argmax(uninitialized);
  K::max_forward(g, x.value().data(), out.data(), argmax.data());
  ops::record_unary(x, out, [argmax = std::move(argmax)](const T* dy, T* dx, bool acc) {
    K::max_backward(Plan::geometry, dy, argmax.data(), dx, acc);
  });
  return out.var(x.graph());
}

template <PoolOptions O = PoolOptions{}, class T, ShapeType X, class D>
auto avg_pool2d(const Var<T, X, D>& x) {
  using Plan = detail::PoolPlan<X, O>;
  using K = kernels::PoolKernels<D>;
  constexpr auto g = Plan::geometry;
  auto out = ops::make_output<T, typename Plan::out, D>(x.graph(), ops::needs_grad(x));
  K::avg_forward(g, x.value().data(), out.data());
  ops::record_unary(x, out, [](const T* dy, T* dx, bool acc) { K::avg_backward(Plan::geometry, dy, dx, acc); });
  return out.var(x.graph());
}

template <index_t Ho, index_t Wo, class T, ShapeType X, class D>
auto adaptive_avg_pool2d(const Var<T, X, D>& x) {
  static_assert(CheckPoolInput<X>::value);
  static_assert(Ho >= 1 && Wo >= 1, "tsgan: adaptive_avg_pool2d needs an output of at least 1x1");
  using Y = Shape<X::dims[0], X::dims[1], Ho, Wo>;
  using K = kernels::PoolKernels<D>;
  static constexpr kernels::AdaptivePoolGeometry g{X::dims[0] * X::dims[1], X::dims[2], X::dims[3], Ho, Wo};
  auto out = ops::make_output<T, Y, D>(x.graph(), ops::needs_grad(x));
  K::adaptive_avg_forward(g, x.value().data(), out.data());
  ops::record_unary(x, out, [](const T* dy, T* dx, bool acc) { K::adaptive_avg_backward(g, dy, dx, acc); });
  return out.var(x.graph());
}

// The mean over H and W: the Var reduction (deterministic, and already on every device).
template <bool KeepDims = false, class T, ShapeType X, class D>
auto global_avg_pool2d(const Var<T, X, D>& x) {
  static_assert(CheckPoolInput<X>::value);
  return mean<Axes<2, 3>, KeepDims>(x);
}

}  // namespace tsgan
