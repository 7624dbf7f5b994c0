// Resizing: every mode against values derived by hand on tiny planes, against an independent
// double loop on random inputs (upscaling and downscaling, odd sizes), and its gradients against
// finite differences. Templated over the device: on the GPU values and gradients must also match
// the CPU's, and the finite-difference checks run there.
#include <doctest/doctest.h>

#include <cmath>
#include <vector>

#include "support.hpp"
#include "tsgan/autograd/gradcheck.hpp"
#include "tsgan/ops/resize.hpp"

using namespace tsgan;

namespace {

enum class Kind { nearest, align_corners, half_pixel, asymmetric };

template <Kind K, index_t OutH, index_t OutW, class V>
auto resize(const V& x) {
  if constexpr (K == Kind::nearest) return resize_nearest<OutH, OutW>(x);
  else if constexpr (K == Kind::align_corners) return resize_bilinear<OutH, OutW, ResizeMode::align_corners>(x);
  else if constexpr (K == Kind::half_pixel) return resize_bilinear<OutH, OutW, ResizeMode::half_pixel>(x);
  else return resize_bilinear<OutH, OutW, ResizeMode::asymmetric>(x);
}

// One plane whose value at (y, x) is a·y + x, resized, compared with `want` (row-major).
template <Kind K, index_t H, index_t W, index_t OutH, index_t OutW, class D>
void check_by_hand(double a, const std::vector<double>& want) {
  Tensor<double, Shape<1, 1, H, W>> x(uninitialized);
  for (index_t i = 0; i < H * W; ++i) x[i] = a * double(i / W) + double(i % W);
  Graph g;
  auto y = resize<K, OutH, OutW>(g.input(x.template to<D>()));
  test::check_all(test::to_host(y.value()), [&](index_t i) { return want[i]; }, 1e-15, 1e-15, "resized");
}

// The source coordinate of output pixel d, written from each mode's definition.
double source(Kind k, index_t d, index_t in, index_t out) {
  switch (k) {
    case Kind::align_corners: return out == 1 ? 0.0 : double(d) * double(in - 1) / double(out - 1);
    case Kind::half_pixel: return std::max(0.0, (double(d) + 0.5) * double(in) / double(out) - 0.5);
    default: return double(d) * double(in) / double(out);
  }
}

template <Kind K, class T, ShapeType X, index_t OutH, index_t OutW>
std::vector<double> direct_resize(const Tensor<T, X>& x) {
  constexpr index_t N = X::dims[0], C = X::dims[1], H = X::dims[2], W = X::dims[3];
  std::vector<double> y;
  for (index_t n = 0; n < N; ++n)
    for (index_t c = 0; c < C; ++c)
      for (index_t oy = 0; oy < OutH; ++oy)
        for (index_t ox = 0; ox < OutW; ++ox) {
          const double sy = source(K, oy, H, OutH), sx = source(K, ox, W, OutW);
          if (K == Kind::nearest) {
            y.push_back(double(x(n, c, index_t(std::floor(sy)), index_t(std::floor(sx)))));
            continue;
          }
          const index_t y0 = index_t(std::floor(sy)), x0 = index_t(std::floor(sx));
          const index_t y1 = std::min(y0 + 1, H - 1), x1 = std::min(x0 + 1, W - 1);
          const double fy = sy - double(y0), fx = sx - double(x0);
          auto at = [&](index_t yy, index_t xx) { return double(x(n, c, yy, xx)); };
          y.push_back((1 - fy) * ((1 - fx) * at(y0, x0) + fx * at(y0, x1)) + fy * ((1 - fx) * at(y1, x0) + fx * at(y1, x1)));
        }
  return y;
}

template <class Y, class X>
auto and_again(const Y& y, const X& x) {  // x used once more after the op: its backward adds
  auto s = sum(x);
  return eval(y * s);
}

template <Kind K, class T, ShapeType X, index_t OutH, index_t OutW, class D>
void check_random(std::uint64_t seed) {
  const auto x = test::random_tensor<T, X>(seed);
  Graph g;
  auto y = resize<K, OutH, OutW>(g.input(x.template to<D>()));
  static_assert(std::is_same_v<typename decltype(y)::shape, Shape<X::dims[0], X::dims[1], OutH, OutW>>);
  const auto want = direct_resize<K, T, X, OutH, OutW>(x);
  const double tol = std::is_same_v<T, float> ? 1e-6 : 1e-14;
  test::check_all(test::to_host(y.value()), [&](index_t i) { return want[i]; }, tol, tol, "resized");
  test::check_gradient_parity<D>([](const auto& v) { return resize<K, OutH, OutW>(v); }, x);
  if constexpr (std::is_same_v<T, double>) {
    auto r = gradcheck([](const auto& v) { return resize<K, OutH, OutW>(v); }, x.template to<D>());
    CHECK_MESSAGE(r.ok, r.message);
    r = gradcheck([](const auto& v) { return and_again(resize<K, OutH, OutW>(v), v); }, x.template to<D>());
    CHECK_MESSAGE(r.ok, r.message);
  }
}

template <Kind K, class T, class D>
void check_random_all(std::uint64_t seed) {
  check_random<K, T, Shape<2, 3, 2, 3>, 5, 7, D>(seed);       // upscale, odd factors
  check_random<K, T, Shape<1, 2, 9, 11>, 4, 5, D>(seed + 1);  // downscale
  check_random<K, T, Shape<1, 2, 6, 5>, 12, 2, D>(seed + 2);  // up along H, down along W
  check_random<K, T, Shape<2, 1, 4, 4>, 8, 8, D>(seed + 3);   // exactly 2x
  check_random<K, T, Shape<1, 1, 3, 4>, 1, 1, D>(seed + 4);   // to one pixel
}

template <class T, class D>
void check_every_mode() {
  check_random_all<Kind::nearest, T, D>(1);
  check_random_all<Kind::align_corners, T, D>(11);
  check_random_all<Kind::half_pixel, T, D>(21);
  check_random_all<Kind::asymmetric, T, D>(31);
}

}  // namespace

TEST_SUITE("ops.resize") {
  TEST_CASE_TEMPLATE("2x2 to 4x4 by hand", D, TSGAN_TEST_DEVICES) {
    TSGAN_SKIP_UNAVAILABLE(D);
    // Input (y, x) -> 2y + x: [[0, 1], [2, 3]]. Bilinear reproduces a linear function, so each
    // output is 2·sy + sx at its source coordinates (sy, sx), clamped to [0, 1].
    // nearest: floor(d·2/4) = 0, 0, 1, 1.
    check_by_hand<Kind::nearest, 2, 2, 4, 4, D>(2, {0, 0, 1, 1,  //
                                                 0, 0, 1, 1,  //
                                                 2, 2, 3, 3,  //
                                                 2, 2, 3, 3});
    // align_corners: d·(2 − 1)/(4 − 1) = 0, 1/3, 2/3, 1.
    check_by_hand<Kind::align_corners, 2, 2, 4, 4, D>(2, {0, 1. / 3, 2. / 3, 1,      //
                                                       2. / 3, 1, 4. / 3, 5. / 3,  //
                                                       4. / 3, 5. / 3, 2, 7. / 3,  //
                                                       2, 7. / 3, 8. / 3, 3});
    // half_pixel: (d + ½)·½ − ½ = −¼ (clamped to 0), ¼, ¾, 1¼ (both neighbours are pixel 1).
    check_by_hand<Kind::half_pixel, 2, 2, 4, 4, D>(2, {0, .25, .75, 1,       //
                                                    .5, .75, 1.25, 1.5,   //
                                                    1.5, 1.75, 2.25, 2.5, //
                                                    2, 2.25, 2.75, 3});
    // asymmetric: d·½ = 0, ½, 1, 1½ (both neighbours are pixel 1).
    check_by_hand<Kind::asymmetric, 2, 2, 4, 4, D>(2, {0, .5, 1, 1,  //
                                                    1, 1.5, 2, 2, //
                                                    2, 2.5, 3, 3, //
                                                    2, 2.5, 3, 3});
  }

  TEST_CASE_TEMPLATE("4x4 to 3x3 by hand", D, TSGAN_TEST_DEVICES) {
    TSGAN_SKIP_UNAVAILABLE(D);
    // Input (y, x) -> 4y + x; each output is 4·sy + sx.
    // nearest: floor(d·4/3) = 0, 1, 2.
    check_by_hand<Kind::nearest, 4, 4, 3, 3, D>(4, {0, 1, 2, 4, 5, 6, 8, 9, 10});
    // align_corners: d·3/2 = 0, 1.5, 3.
    check_by_hand<Kind::align_corners, 4, 4, 3, 3, D>(4, {0, 1.5, 3, 6, 7.5, 9, 12, 13.5, 15});
    // half_pixel: (d + ½)·4/3 − ½ = 1/6, 3/2, 17/6; 4·sy = 4/6, 36/6, 68/6.
    check_by_hand<Kind::half_pixel, 4, 4, 3, 3, D>(4, {5. / 6, 13. / 6, 21. / 6,   //
                                                    37. / 6, 45. / 6, 53. / 6,  //
                                                    69. / 6, 77. / 6, 85. / 6});
    // asymmetric: d·4/3 = 0, 4/3, 8/3; 4·sy = 0, 16/3, 32/3.
    check_by_hand<Kind::asymmetric, 4, 4, 3, 3, D>(4, {0, 4. / 3, 8. / 3,     //
                                                    16. / 3, 20. / 3, 8,   //
                                                    32. / 3, 12, 40. / 3});
  }

  TEST_CASE_TEMPLATE("3x3 to 1x1 by hand", D, TSGAN_TEST_DEVICES) {
    TSGAN_SKIP_UNAVAILABLE(D);
    // Input (y, x) -> 3y + x. align_corners and asymmetric read pixel (0, 0); half_pixel reads
    // (1.5 − ½, 1.5 − ½) = the centre, 4; nearest reads floor(0) = (0, 0).
    check_by_hand<Kind::nearest, 3, 3, 1, 1, D>(3, {0});
    check_by_hand<Kind::align_corners, 3, 3, 1, 1, D>(3, {0});
    check_by_hand<Kind::half_pixel, 3, 3, 1, 1, D>(3, {4});
    check_by_hand<Kind::asymmetric, 3, 3, 1, 1, D>(3, {0});
  }

  TEST_CASE_TEMPLATE("every mode matches a direct loop and finite differences", D, TSGAN_TEST_DEVICES) {
    TSGAN_SKIP_UNAVAILABLE(D);
    check_every_mode<float, D>();
    check_every_mode<double, D>();
  }

  TEST_CASE_TEMPLATE("the face recognizer's input: 100x120 to 150x150, TF legacy bilinear", D, TSGAN_TEST_DEVICES) {
    TSGAN_SKIP_UNAVAILABLE(D);
    check_random<Kind::asymmetric, float, Shape<1, 3, 100, 120>, 150, 150, D>(41);
  }
}
