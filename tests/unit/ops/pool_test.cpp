// Pooling: forward against direct loops in double (padding ignored by max, counted or not by
// average), gradients against finite differences (max pooling on inputs without ties), the tie
// rule of max pooling, global average pooling, and compile-time output sizes. Templated over the
// device: on the GPU values and gradients must also match the CPU's (the tie rule included), and
// the finite-difference checks run there. Adaptive average pooling and ceil mode are checked against
// PyTorch (tests/fixtures/nn/pool.txt, made by make_layers.py there) and finite differences.
#include <doctest/doctest.h>

#include <algorithm>
#include <limits>
#include <numeric>
#include <vector>

#include "golden.hpp"
#include "support.hpp"
#include "tsgan/autograd/gradcheck.hpp"
#include "tsgan/ops/pool.hpp"

using namespace tsgan;

namespace {

// Direct pooling: for each output, the cells of its window that lie inside the input.
template <PoolOptions O, bool Max, class T, ShapeType X>
std::vector<double> direct_pool(const Tensor<T, X>& x) {
  constexpr index_t N = X::dims[0], C = X::dims[1], H = X::dims[2], W = X::dims[3];
  constexpr index_t S = O.stride ? O.stride : O.kernel;
  constexpr index_t Ho = (H + 2 * O.padding - O.kernel) / S + 1, Wo = (W + 2 * O.padding - O.kernel) / S + 1;
  std::vector<double> y;
  for (index_t n = 0; n < N; ++n)
    for (index_t c = 0; c < C; ++c)
      for (index_t oy = 0; oy < Ho; ++oy)
        for (index_t ox = 0; ox < Wo; ++ox) {
          double best = -std::numeric_limits<double>::infinity(), total = 0;
          index_t inside = 0;
          for (index_t ky = 0; ky < O.kernel; ++ky)
            for (index_t kx = 0; kx < O.kernel; ++kx) {
              const index_t iy = oy * S - O.padding + ky, ix = ox * S - O.padding + kx;
              if (iy < 0 || iy >= H || ix < 0 || ix >= W) continue;
              best = std::max(best, double(x(n, c, iy, ix)));
              total += double(x(n, c, iy, ix));
              ++inside;
            }
          y.push_back(Max ? best : total / double(O.count_include_pad ? O.kernel * O.kernel : inside));
        }
  return y;
}

// Distinct values (a shuffled ramp in [-1, 1)), so no finite-difference step changes a maximum.
template <ShapeType X>
Tensor<double, X> distinct(std::uint64_t seed) {
  std::vector<index_t> order(X::size);
  std::iota(order.begin(), order.end(), 0);
  random::Generator gen(seed);
  for (index_t i = X::size - 1; i > 0; --i) std::swap(order[i], order[gen.uniform_int(0, i)]);
  Tensor<double, X> t(uninitialized);
  for (index_t i = 0; i < X::size; ++i) t[i] = 2.0 * double(order[i]) / double(X::size) - 1.0;
  return t;
}

template <class Y, class X>
auto and_again(const Y& y, const X& x) {  // x used once more after the op: its backward adds
  auto s = sum(x);
  return eval(y * s);
}

template <PoolOptions O, class T, ShapeType X, class D>
void check_pool(std::uint64_t seed, T lo = T(-1), T hi = T(1)) {
  const auto x = test::random_tensor<T, X>(seed, lo, hi);
  Graph g;
  auto m = max_pool2d<O>(g.input(x.template to<D>()));
  auto a = avg_pool2d<O>(g.input(x.template to<D>()));
  static_assert(std::is_same_v<decltype(m), decltype(a)>);
  const auto want_max = direct_pool<O, true>(x);
  const auto want_avg = direct_pool<O, false>(x);
  REQUIRE(want_max.size() == std::size_t(decltype(m)::size));
  const double tol = std::is_same_v<T, float> ? 1e-6 : 1e-14;
  test::check_all(test::to_host(m.value()), [&](index_t i) { return want_max[i]; }, 0, 0, "max_pool2d");
  test::check_all(test::to_host(a.value()), [&](index_t i) { return want_avg[i]; }, tol, tol, "avg_pool2d");
  test::check_gradient_parity<D>([](const auto& v) { return max_pool2d<O>(v); }, x);
  test::check_gradient_parity<D>([](const auto& v) { return avg_pool2d<O>(v); }, x);
  if constexpr (std::is_same_v<T, double>) {
    const auto d = distinct<X>(seed + 1).template to<D>();
    auto r = gradcheck([](const auto& v) { return max_pool2d<O>(v); }, d);
    CHECK_MESSAGE(r.ok, r.message);
    // With the input used again the loss is Σx · Σ r ⊙ pool(x), and its rounding over the finite-
    // difference step reaches a few 1e-7 on the larger planes (see layout_test.cpp): atol 1e-6.
    GradcheckOptions again;
    again.atol = 1e-6;
    r = gradcheck(again, [](const auto& v) { return and_again(max_pool2d<O>(v), v); }, d);
    CHECK_MESSAGE(r.ok, r.message);
    r = gradcheck([](const auto& v) { return avg_pool2d<O>(v); }, x.template to<D>());
    CHECK_MESSAGE(r.ok, r.message);
    r = gradcheck(again, [](const auto& v) { return and_again(avg_pool2d<O>(v), v); }, x.template to<D>());
    CHECK_MESSAGE(r.ok, r.message);
  }
}

template <class T, class D>
void all_pools() {
  check_pool<PoolOptions{.kernel = 3, .stride = 2}, T, Shape<2, 3, 9, 9>, D>(1);   // the recognizer's max pool
  check_pool<PoolOptions{.kernel = 2}, T, Shape<1, 2, 7, 6>, D>(2);                // its average pool; odd, floor
  check_pool<PoolOptions{.kernel = 3, .stride = 1, .padding = 1}, T, Shape<2, 2, 5, 4>, D>(3);
  check_pool<PoolOptions{.kernel = 3, .stride = 2, .padding = 1}, T, Shape<1, 3, 6, 7>, D>(4, T(-2), T(-1));
  check_pool<PoolOptions{.kernel = 3, .stride = 2, .padding = 1, .count_include_pad = false}, T, Shape<2, 1, 7, 5>, D>(5);
  check_pool<PoolOptions{.kernel = 2, .stride = 1, .padding = 1, .count_include_pad = false}, T, Shape<1, 2, 3, 3>, D>(6);
  check_pool<PoolOptions{.kernel = 4, .stride = 3, .padding = 2}, T, Shape<1, 2, 8, 11>, D>(7);
  check_pool<PoolOptions{.kernel = 2}, T, Shape<1, 2, 35, 35>, D>(8);              // 35 → 17, as in the recognizer
}

template <index_t Ho, index_t Wo, ShapeType X, class D>
void check_adaptive(const test::GoldenCase& c) {
  REQUIRE(c.option("out_h") == std::to_string(Ho));
  REQUIRE(c.option("out_w") == std::to_string(Wo));
  const auto x = test::golden_tensor<double, X>(c.at("x"));
  auto f = [](const auto& v) { return adaptive_avg_pool2d<Ho, Wo>(v); };
  test::check_golden_op<D>(c, 1e-14, f, {"x"}, x);
  const auto r = gradcheck(f, x.template to<D>());
  CHECK_MESSAGE(r.ok, r.message);
  test::check_gradient_parity<D>(f, test::random_tensor<float, X>(3));
}

// The ceil-mode options of one geometry, with or without the padding counted. (A namespace-scope
// constant: GCC 12 calls a static constexpr local that only template arguments use "set but not
// used".)
template <index_t K, index_t S, index_t P, bool count_include_pad>
constexpr PoolOptions ceil_options{.kernel = K, .stride = S, .padding = P, .count_include_pad = count_include_pad, .ceil_mode = true};

// max, average with padding counted, average without: the three cases of one geometry.
template <index_t K, index_t S, index_t P, ShapeType X, class D>
void check_ceil(const test::GoldenCase* c) {
  REQUIRE(c[0].name == "ceil_max");
  REQUIRE(c[0].option("kernel") == std::to_string(K));
  REQUIRE(c[0].option("stride") == std::to_string(S));
  REQUIRE(c[0].option("padding") == std::to_string(P));
  auto fmax = [](const auto& v) { return max_pool2d<ceil_options<K, S, P, true>>(v); };
  auto favg = [](const auto& v) { return avg_pool2d<ceil_options<K, S, P, true>>(v); };
  auto fexclude = [](const auto& v) { return avg_pool2d<ceil_options<K, S, P, false>>(v); };
  test::check_golden_op<D>(c[0], 1e-15, fmax, {"x"}, test::golden_tensor<double, X>(c[0].at("x")));
  test::check_golden_op<D>(c[1], 1e-14, favg, {"x"}, test::golden_tensor<double, X>(c[1].at("x")));
  test::check_golden_op<D>(c[2], 1e-14, fexclude, {"x"}, test::golden_tensor<double, X>(c[2].at("x")));
  auto r = gradcheck(fmax, distinct<X>(K * 100 + S).template to<D>());
  CHECK_MESSAGE(r.ok, r.message);
  r = gradcheck(favg, test::random_tensor<double, X>(5).template to<D>());
  CHECK_MESSAGE(r.ok, r.message);
  r = gradcheck(fexclude, test::random_tensor<double, X>(6).template to<D>());
  CHECK_MESSAGE(r.ok, r.message);
  const auto xf = test::random_tensor<float, X>(7);
  test::check_gradient_parity<D>(fmax, xf);
  test::check_gradient_parity<D>(favg, xf);
  test::check_gradient_parity<D>(fexclude, xf);
}

}  // namespace

TEST_SUITE("ops.pool") {
  TEST_CASE_TEMPLATE("adaptive average pooling matches PyTorch (shrinking, growing, global) and finite differences", D,
                     TSGAN_TEST_DEVICES) {
    TSGAN_SKIP_UNAVAILABLE(D);
    const auto cases = test::golden_cases("pool.txt", "adaptive_avg_pool2d");
    REQUIRE(cases.size() == 4);
    check_adaptive<3, 4, Shape<2, 3, 7, 9>, D>(cases[0]);
    check_adaptive<5, 4, Shape<1, 2, 2, 3>, D>(cases[1]);
    check_adaptive<1, 1, Shape<1, 2, 6, 5>, D>(cases[2]);
    check_adaptive<7, 3, Shape<1, 1, 10, 10>, D>(cases[3]);
  }

  TEST_CASE_TEMPLATE("ceil_mode pooling matches PyTorch (extra window, clipped divisors) and finite differences", D,
                     TSGAN_TEST_DEVICES) {
    TSGAN_SKIP_UNAVAILABLE(D);
    std::vector<test::GoldenCase> cases;
    for (const auto& c : test::load_golden("pool.txt"))
      if (c.name.starts_with("ceil_")) cases.push_back(c);
    REQUIRE(cases.size() == 12);
    check_ceil<3, 2, 0, Shape<1, 2, 8, 8>, D>(&cases[0]);
    check_ceil<3, 2, 1, Shape<2, 1, 7, 6>, D>(&cases[3]);
    check_ceil<2, 2, 0, Shape<1, 2, 5, 5>, D>(&cases[6]);
    check_ceil<2, 4, 1, Shape<1, 1, 6, 9>, D>(&cases[9]);
  }

  TEST_CASE("ceil_mode output sizes: one more window only when it starts inside the input or its left padding") {
    static_assert(pool_out_size(8, 3, 2, 0, false) == 3 && pool_out_size(8, 3, 2, 0, true) == 4);
    static_assert(pool_out_size(5, 2, 2, 0, true) == 3);
    // (in + 2p − k) / s = 6 / 4 rounds up to 2, so 3 windows, but the third would start at
    // 2·4 − 1 = 7, past the input (6 cells) and its left padding: PyTorch keeps 2.
    static_assert(pool_out_size(6, 2, 4, 1, true) == 2);
    static_assert(std::is_same_v<detail::PoolPlan<Shape<1, 1, 6, 9>, PoolOptions{.kernel = 2, .stride = 4, .padding = 1,
                                                                              .ceil_mode = true}>::out,
                                 Shape<1, 1, 2, 3>>);
  }

  TEST_CASE_TEMPLATE("max and average pooling match direct loops and finite differences", D, TSGAN_TEST_DEVICES) {
    TSGAN_SKIP_UNAVAILABLE(D);
    all_pools<float, D>();
    all_pools<double, D>();
  }

  TEST_CASE_TEMPLATE("padding cells never win a maximum", D, TSGAN_TEST_DEVICES) {
    TSGAN_SKIP_UNAVAILABLE(D);
    Graph g;
    auto y = max_pool2d<PoolOptions{.kernel = 3, .stride = 2, .padding = 1}>(g.input(Tensor<float, Shape<1, 1, 4, 4>, D>(-5.f)));
    const auto& v = test::to_host(y.value());
    for (index_t i = 0; i < 4; ++i) CHECK(v[i] == -5.f);
  }

  TEST_CASE_TEMPLATE("tied maxima send the gradient to the first one in scan order", D, TSGAN_TEST_DEVICES) {
    TSGAN_SKIP_UNAVAILABLE(D);
    // A constant 5x5 plane, 3x3 windows, stride 2, padding 1: windows start at rows and columns
    // -1, 1, 3, so their first cells inside the input are at rows and columns 0, 1, 3.
    Graph g;
    auto x = g.variable(Tensor<double, Shape<1, 1, 5, 5>, D>(2.0));
    sum(max_pool2d<PoolOptions{.kernel = 3, .stride = 2, .padding = 1}>(x)).backward();
    const auto& grad = test::to_host(x.grad());
    for (index_t r = 0; r < 5; ++r)
      for (index_t c = 0; c < 5; ++c) {
        const bool first = (r == 0 || r == 1 || r == 3) && (c == 0 || c == 1 || c == 3);
        CHECK(grad(0, 0, r, c) == (first ? 1.0 : 0.0));
      }
  }

  TEST_CASE_TEMPLATE("a NaN in a window wins the maximum, as in PyTorch", D, TSGAN_TEST_DEVICES) {
    TSGAN_SKIP_UNAVAILABLE(D);
    Tensor<float, Shape<1, 1, 2, 2>> t(1.f);
    t[3] = std::numeric_limits<float>::quiet_NaN();
    Graph g;
    auto y = max_pool2d<PoolOptions{.kernel = 2}>(g.input(t.template to<D>()));
    CHECK(std::isnan(test::to_host(y.value())[0]));
  }

  TEST_CASE_TEMPLATE("global average pooling: values, keepdims and gradients", D, TSGAN_TEST_DEVICES) {
    TSGAN_SKIP_UNAVAILABLE(D);
    const auto x = test::random_tensor<double, Shape<2, 3, 5, 7>>(9);
    Graph g;
    auto yv = global_avg_pool2d(g.input(x.template to<D>()));
    auto kv = global_avg_pool2d<true>(g.input(x.template to<D>()));
    static_assert(std::is_same_v<typename decltype(yv)::shape, Shape<2, 3>>);
    static_assert(std::is_same_v<typename decltype(kv)::shape, Shape<2, 3, 1, 1>>);
    const auto& y = test::to_host(yv.value());
    const auto& k = test::to_host(kv.value());
    for (index_t n = 0; n < 2; ++n)
      for (index_t c = 0; c < 3; ++c) {
        double s = 0;
        for (index_t i = 0; i < 35; ++i) s += x(n, c, i / 7, i % 7);
        CHECK(y(n, c) == doctest::Approx(s / 35).epsilon(1e-14));
        CHECK(k(n, c, 0, 0) == y(n, c));
      }
    const auto r = gradcheck([](const auto& v) { return global_avg_pool2d(v); }, x.template to<D>());
    CHECK_MESSAGE(r.ok, r.message);
  }

  TEST_CASE("output sizes are computed at compile time (floor mode)") {
    using R = detail::PoolPlan<Shape<1, 32, 72, 72>, PoolOptions{.kernel = 3, .stride = 2}>;
    static_assert(std::is_same_v<R::out, Shape<1, 32, 35, 35>>);
    static_assert(std::is_same_v<detail::PoolPlan<Shape<1, 32, 35, 35>, PoolOptions{}>::out, Shape<1, 32, 17, 17>>);
    static_assert(std::is_same_v<detail::PoolPlan<Shape<1, 128, 8, 8>, PoolOptions{}>::out, Shape<1, 128, 4, 4>>);
    static_assert(std::is_same_v<detail::PoolPlan<Shape<2, 3, 7, 7>, PoolOptions{.kernel = 3, .stride = 2, .padding = 1}>::out,
                                 Shape<2, 3, 4, 4>>);
  }
}
