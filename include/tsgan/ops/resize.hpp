// Resizing the planes of an NCHW Var to OutH x OutW, up or down:
//
//   auto a = resize_nearest<64, 64>(x);                               // PyTorch 'nearest'
//   auto b = resize_bilinear<150, 150, ResizeMode::asymmetric>(x);    // the face recognizer's
//
// Source coordinate of output pixel d along an axis with `in` input and `out` output pixels:
//   nearest        floor(d·in/out)                     (PyTorch 'nearest', TF legacy nearest)
//   align_corners  d·(in − 1)/(out − 1), 0 if out = 1   (PyTorch align_corners=True)
//   half_pixel     max(0, (d + ½)·in/out − ½)          (PyTorch align_corners=False, TF
//                                                       half_pixel_centers=True)
//   asymmetric     d·in/out                            (TF resizeBilinear with alignCorners and
//                                                       halfPixelCenters false; face-api)
// Bilinear reads the two neighbours floor(src) and floor(src) + 1 (clamped to the last pixel) on
// each axis. The mode is a required template argument: the three disagree on every pixel, so
// none is a safe default. The backward pass scatter-adds the interpolation weights.
#pragma once

#include "tsgan/kernels/cpu/resize.hpp"
#if defined(__CUDACC__)
#include "tsgan/kernels/cuda/resize.cuh"
#endif
#include "tsgan/ops/node.hpp"

namespace tsgan {

enum class ResizeMode { align_corners, half_pixel, asymmetric };

template <ShapeType X>
struct CheckResizeInput {
  static constexpr bool value = X::rank == 4;
  static_assert(value, "tsgan: resizing expects an input [N, C, H, W] (the shape in this instantiation)");
};

namespace detail {

template <ShapeType X, index_t OutH, index_t OutW, ResizeMode Mode>
struct ResizePlan {
  static_assert(CheckResizeInput<X>::value);
  static constexpr double scale(index_t in, index_t out) {
    if (Mode == ResizeMode::align_corners) return out > 1 ? double(in - 1) / double(out - 1) : 0.0;
    return double(in) / double(out);
  }
  using out = Shape<X::dims[0], X::dims[1], OutH, OutW>;
  static constexpr kernels::ResizeGeometry geometry{X::dims[0] * X::dims[1], X::dims[2], X::dims[3], OutH, OutW,
                                                    scale(X::dims[2], OutH), scale(X::dims[3], OutW),
                                                    Mode == ResizeMode::half_pixel ? 0.5 : 0.0};
};

}  // namespace detail

template <index_t OutH, index_t OutW, class T, ShapeType X, class D>
auto resize_nearest(const Var<T, X, D>& x) {
  using Plan = detail::ResizePlan<X, OutH, OutW, ResizeMode::asymmetric>;  // nearest reads no scale
  using K = kernels::ResizeKernels<D>;
  auto out = ops::make_output<T, typename Plan::out, D>(x.graph(), ops::needs_grad(x));
  K::nearest_forward(Plan::geometry, x.value().data(), out.data());
  ops::record_unary(x, out, [](const T* dy, T* dx, bool acc) { K::nearest_backward(Plan::geometry, dy, dx, acc); });
  return out.var(x.graph());
}

template <index_t OutH, index_t OutW, ResizeMode Mode, class T, ShapeType X, class D>
auto resize_bilinear(const Var<T, X, D>& x) {
  using Plan = detail::ResizePlan<X, OutH, OutW, Mode>;
  using K = kernels::ResizeKernels<D>;
  auto out = ops::make_output<T, typename Plan::out, D>(x.graph(), ops::needs_grad(x));
  K::bilinear_forward(Plan::geometry, x.value().data(), out.data());
  ops::record_unary(x, out, [](const T* dy, T* dx, bool acc) { K::bilinear_backward(Plan::geometry, dy, dx, acc); });
  return out.var(x.graph());
}

}  // namespace tsgan
