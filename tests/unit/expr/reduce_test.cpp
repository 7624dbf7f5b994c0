// Reductions against double-precision loops, over every kind of axis set. Templated over the
// device where it applies: on the GPU each result must also match the CPU's.
#include <doctest/doctest.h>

#include <cmath>
#include <cstring>
#include <limits>

#include "support.hpp"

using namespace tsgan;

namespace {
using S = Shape<3, 4, 5, 6>;

// Reference: reduce x over the axes in `mask` with f, in double, into the kept layout.
template <class T, class F>
std::vector<double> reference(const Tensor<T, S>& x, std::array<bool, 4> mask, double init, F f) {
  std::array<index_t, 4> kept_dims{};
  for (int j = 0; j < 4; ++j) kept_dims[j] = mask[j] ? 1 : S::dims[j];
  std::vector<double> out(static_cast<std::size_t>(kept_dims[0] * kept_dims[1] * kept_dims[2] * kept_dims[3]), init);
  for (index_t a = 0; a < 3; ++a)
    for (index_t b = 0; b < 4; ++b)
      for (index_t c = 0; c < 5; ++c)
        for (index_t d = 0; d < 6; ++d) {
          const index_t i[4] = {a, b, c, d};
          index_t o = 0;
          for (int j = 0; j < 4; ++j) o = o * kept_dims[j] + (mask[j] ? 0 : i[j]);
          out[static_cast<std::size_t>(o)] = f(out[static_cast<std::size_t>(o)], double(x(a, b, c, d)));
        }
  return out;
}

template <class Ax, class T, class D>
void check_axes(const Tensor<T, S, D>& xd, std::array<bool, 4> mask) {
  const double tol = std::is_same_v<T, float> ? 1e-5 : 1e-12;
  const auto& x = test::to_host(xd);
  auto s = test::evaluate([](const auto& v) { return sum<Ax>(v); }, xd);
  auto ref_s = reference(x, mask, 0.0, [](double a, double v) { return a + v; });
  test::check_all(s, [&](index_t i) { return ref_s[static_cast<std::size_t>(i)]; }, tol, tol, "sum");
  auto m = test::evaluate([](const auto& v) { return mean<Ax, true>(v); }, xd);
  const double count = double(S::size) / double(ref_s.size());
  test::check_all(m, [&](index_t i) { return ref_s[static_cast<std::size_t>(i)] / count; }, tol, tol, "mean");
  auto mx = test::evaluate([](const auto& v) { return max<Ax>(v); }, xd);
  auto ref_mx = reference(x, mask, -1e300, [](double a, double v) { return std::max(a, v); });
  test::check_all(mx, [&](index_t i) { return ref_mx[static_cast<std::size_t>(i)]; }, 0, 0, "max");
  auto mn = test::evaluate([](const auto& v) { return min<Ax>(v); }, xd);
  auto ref_mn = reference(x, mask, 1e300, [](double a, double v) { return std::min(a, v); });
  test::check_all(mn, [&](index_t i) { return ref_mn[static_cast<std::size_t>(i)]; }, 0, 0, "min");
}

template <class T, class D>
void all_axis_sets() {
  CAPTURE(sizeof(T));
  const auto x = test::random_tensor<T, S, D>(31, T(-2), T(3));
  check_axes<Axes<>>(x, {true, true, true, true});
  check_axes<Axes<3>>(x, {false, false, false, true});          // last axis: rows reduce
  check_axes<Axes<0>>(x, {true, false, false, false});          // first axis: rows add up
  check_axes<Axes<0, 2, 3>>(x, {true, false, true, true});      // batch-norm statistics
  check_axes<Axes<1, 3>>(x, {false, true, false, true});        // interleaved
  check_axes<Axes<-2, 0>>(x, {true, false, true, false});       // negative axis
  static_assert(std::is_same_v<typename decltype(sum<Axes<1>, true>(x))::shape, Shape<3, 1, 5, 6>>);
  static_assert(std::is_same_v<typename decltype(sum(x))::shape, Shape<>>);
  static_assert(std::is_same_v<typename decltype(sum(x))::device, D>);
}
}  // namespace

TEST_SUITE("expr.reduce") {
  TEST_CASE_TEMPLATE("sum, mean, max and min over every kind of axis set", D, TSGAN_TEST_DEVICES) {
    TSGAN_SKIP_UNAVAILABLE(D);
    all_axis_sets<float, D>();
    all_axis_sets<double, D>();
  }

  TEST_CASE_TEMPLATE("a reduction reads an expression without materialising it", D, TSGAN_TEST_DEVICES) {
    TSGAN_SKIP_UNAVAILABLE(D);
    const auto ad = test::random_tensor<float, Shape<64, 100>, D>(40);
    const auto bd = test::random_tensor<float, Shape<100>, D>(41);
    auto& alloc = allocator<D>();
    const auto before = alloc.stats().requests;
    auto mse = mean(square(ad - bd));
    const auto after = alloc.stats().requests;
    CHECK(after - before <= 2);  // the result and the per-segment partials, no 64x100 temporary
    const auto& a = test::to_host(ad);
    const auto& b = test::to_host(bd);
    double ref = 0;
    for (index_t i = 0; i < 64; ++i)
      for (index_t j = 0; j < 100; ++j) ref += std::pow(double(a(i, j)) - b[j], 2);
    CHECK(test::to_host(mse)[0] == doctest::Approx(ref / 6400).epsilon(1e-6));
  }

  TEST_CASE_TEMPLATE("a long float sum stays within 1e-6 of the double-precision sum", D, TSGAN_TEST_DEVICES) {
    TSGAN_SKIP_UNAVAILABLE(D);
    constexpr index_t n = 1 << 22;
    const auto xd = test::random_tensor<float, Shape<n>, D>(50, 0.f, 1.f);
    const auto& x = test::to_host(xd);
    double ref = 0;
    for (index_t i = 0; i < n; ++i) ref += x[i];
    const double got = test::to_host(sum(xd))[0];
    CHECK(std::abs(got - ref) / ref < 1e-6);
  }

  TEST_CASE_TEMPLATE("log-sum-exp is stable for large inputs", D, TSGAN_TEST_DEVICES) {
    TSGAN_SKIP_UNAVAILABLE(D);
    Tensor<double, Shape<2, 3>> x;
    const double v[6] = {1000, 1001, 999, -5, 0, 2};
    for (int i = 0; i < 6; ++i) x[i] = v[i];
    const auto l = test::evaluate([](const auto& t) { return logsumexp<Axes<1>>(t); }, x.to<D>());
    CHECK(l[0] == doctest::Approx(1001 + std::log(std::exp(-1.0) + 1 + std::exp(-2.0))));
    CHECK(l[1] == doctest::Approx(std::log(std::exp(-5.0) + 1 + std::exp(2.0))));
    const auto f = test::evaluate([](const auto& t) { return logsumexp(t); }, Tensor<float, Shape<4>, D>(100.f));
    CHECK(f[0] == doctest::Approx(100 + std::log(4.0)));
  }

  TEST_CASE_TEMPLATE("a reduction gives the same bits every time", D, TSGAN_TEST_DEVICES) {
    TSGAN_SKIP_UNAVAILABLE(D);
    const auto x = test::random_tensor<float, Shape<16, 32, 40, 40>, D>(61);
    const auto s1 = sum<Axes<0, 2, 3>>(x).template to<cpu>();
    const auto t1 = sum(square(x)).template to<cpu>();
    const auto s2 = sum<Axes<0, 2, 3>>(x).template to<cpu>();
    const auto t2 = sum(square(x)).template to<cpu>();
    CHECK(std::memcmp(s1.data(), s2.data(), sizeof(float) * 32) == 0);
    CHECK(t1[0] == t2[0]);
  }

  TEST_CASE("reductions give identical results with one and two threads") {
    const auto x = test::random_tensor<float, Shape<16, 32, 40, 40>>(60);
    const int threads = num_threads();
    set_num_threads(1);
    auto s1 = sum<Axes<0, 2, 3>>(x);
    auto t1 = sum(x);
    set_num_threads(2);
    auto s2 = sum<Axes<0, 2, 3>>(x);
    auto t2 = sum(x);
    set_num_threads(threads);
    CHECK(std::memcmp(s1.data(), s2.data(), sizeof(float) * 32) == 0);
    CHECK(t1[0] == t2[0]);
  }
}
