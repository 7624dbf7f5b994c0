// Total variation on the GPU: TotalVariationKernels<cuda>, the same calls and semantics as
// TotalVariationKernels<cpu> (ops/losses.hpp). The forward pass is one deterministic sum per
// image in double (launch.cuh's per-channel sums, an image being a "channel" of [1, N, C·H·W]);
// the backward pass is one thread per pixel, each reading its four neighbours.
#pragma once

#include "tsgan/kernels/cuda/launch.cuh"

namespace tsgan::kernels {

template <class D>
struct TotalVariationKernels;

template <>
struct TotalVariationKernels<cuda> {
  // tv[n] = Σ_{c,h,w} |x[h+1, w] − x[h, w]| + |x[h, w+1] − x[h, w]| for each image n.
  template <class T>
  static void forward(const T* x, index_t n, index_t c, index_t h, index_t w, T* tv) {
    Buffer<double, cuda> sums(static_cast<std::size_t>(n));
    double* s = sums.data();
    const index_t image = c * h * w;
    cuda_detail::channel_sums<1>(1, n, image, [=] __device__(index_t, index_t img, index_t p) {
      const T* q = x + img * image;
      const index_t i = p % w, y = p / w % h;
      double v = 0;
      if (y + 1 < h) v += ::fabs(double(q[p + w]) - double(q[p]));
      if (i + 1 < w) v += ::fabs(double(q[p + 1]) - double(q[p]));
      return cuda_detail::Sums<1>{{v}};
    }, s);
    cuda_detail::for_each(n, [=] __device__(index_t img) { tv[img] = static_cast<T>(s[img]); },
                          "tsgan::kernels::TotalVariationKernels<cuda>::forward");
  }

  // dx (+)= g[n] · ∂tv[n]/∂x.
  template <class T>
  static void backward(const T* x, const T* g, index_t n, index_t c, index_t h, index_t w, T* dx, bool accumulate) {
    cuda_detail::for_each(n * c * h * w, [=] __device__(index_t k) {
      auto sign = [](T d) { return T((d > T(0)) - (d < T(0))); };
      const index_t i = k % w, y = k / w % h, plane = k / (w * h);
      const T* p = x + plane * h * w;
      const index_t at = y * w + i;
      T v = 0;
      if (y + 1 < h) v -= sign(p[at + w] - p[at]);
      if (y > 0) v += sign(p[at] - p[at - w]);
      if (i + 1 < w) v -= sign(p[at + 1] - p[at]);
      if (i > 0) v += sign(p[at] - p[at - 1]);
      const T gi = g[plane / c];
      dx[k] = accumulate ? dx[k] + gi * v : gi * v;
    }, "tsgan::kernels::TotalVariationKernels<cuda>::backward");
  }
};

}  // namespace tsgan::kernels
