// matmul (every transpose combination, 2-D and batched), linear, softmax and log_softmax: values
// against direct loops in double and gradients against finite differences.
#include <doctest/doctest.h>

#include "support.hpp"
#include "tsgan/autograd/gradcheck.hpp"
#include "tsgan/ops/linear.hpp"
#include "tsgan/ops/softmax.hpp"

using namespace tsgan;

namespace {
template <bool TA, bool TB, class A, class B>
void check_matmul(std::uint64_t seed) {
  const auto a = test::random_tensor<double, A>(seed);
  const auto b = test::random_tensor<double, B>(seed + 1);
  using P = MatmulPlan<A, B, TA, TB>;
  Graph g;
  auto c = matmul<TA, TB>(g.input(a), g.input(b));
  auto at = [&](const auto& t, index_t bt, index_t i, index_t j, bool trans, index_t rows, index_t cols) {
    // element (i, j) of op(t) for batch bt, where t is stored [rows, cols] per batch
    return trans ? t.data()[bt * rows * cols + j * cols + i] : t.data()[bt * rows * cols + i * cols + j];
  };
  test::check_all(c.value(), [&](index_t idx) {
    const index_t bt = idx / (P::m * P::n), i = idx / P::n % P::m, j = idx % P::n;
    double s = 0;
    for (index_t k = 0; k < P::k; ++k)
      s += at(a, bt, i, k, TA, TA ? P::k : P::m, TA ? P::m : P::k) * at(b, bt, k, j, TB, TB ? P::n : P::k, TB ? P::k : P::n);
    return s;
  }, 1e-13, 1e-13, "matmul");
  const auto r = gradcheck([](const auto& x, const auto& y) { return matmul<TA, TB>(x, y); }, a, b);
  CHECK_MESSAGE(r.ok, r.message);
}
}  // namespace

TEST_SUITE("ops.linear") {
  TEST_CASE("matmul with every transpose combination, plain and batched") {
    check_matmul<false, false, Shape<3, 4>, Shape<4, 5>>(1);
    check_matmul<true, false, Shape<4, 3>, Shape<4, 5>>(2);
    check_matmul<false, true, Shape<3, 4>, Shape<5, 4>>(3);
    check_matmul<true, true, Shape<4, 3>, Shape<5, 4>>(4);
    check_matmul<false, false, Shape<2, 3, 4>, Shape<2, 4, 5>>(5);
    check_matmul<false, true, Shape<2, 6, 3>, Shape<2, 6, 3>>(6);  // attention scores K·Qᵀ
    check_matmul<true, true, Shape<3, 4, 2>, Shape<3, 5, 4>>(7);
  }

  TEST_CASE_TEMPLATE("linear: x·Wᵀ + b", T, float, double) {
    const auto x = test::random_tensor<T, Shape<5, 7>>(10);
    const auto w = test::random_tensor<T, Shape<3, 7>>(11);
    const auto b = test::random_tensor<T, Shape<3>>(12);
    Graph g;
    auto y = linear(g.input(x), g.input(w), g.input(b));
    const double tol = std::is_same_v<T, float> ? 1e-5 : 1e-13;
    test::check_all(y.value(), [&](index_t i) {
      double s = b[i % 3];
      for (index_t k = 0; k < 7; ++k) s += double(x(i / 3, k)) * w(i % 3, k);
      return s;
    }, tol, tol, "linear");
    if constexpr (std::is_same_v<T, double>) {
      CHECK(gradcheck([](const auto& xv, const auto& wv, const auto& bv) { return linear(xv, wv, bv); }, x, w, b).ok);
      CHECK(gradcheck([](const auto& xv, const auto& wv) { return linear(xv, wv); }, x, w).ok);
    }
  }

  TEST_CASE("softmax and log_softmax along an axis") {
    const auto x = test::random_tensor<double, Shape<2, 5, 3>>(20, -3.0, 3.0);
    Graph g;
    auto s = softmax<1>(g.input(x));
    auto ls = log_softmax<-1>(g.input(x));
    for (index_t a = 0; a < 2; ++a)
      for (index_t c = 0; c < 3; ++c) {
        double z = 0;
        for (index_t k = 0; k < 5; ++k) z += std::exp(x(a, k, c));
        double total = 0;
        for (index_t k = 0; k < 5; ++k) {
          CHECK(s.value()(a, k, c) == doctest::Approx(std::exp(x(a, k, c)) / z).epsilon(1e-12));
          total += s.value()(a, k, c);
        }
        CHECK(total == doctest::Approx(1.0).epsilon(1e-14));
      }
    for (index_t a = 0; a < 2; ++a)
      for (index_t k = 0; k < 5; ++k) {
        double z = 0;
        for (index_t c = 0; c < 3; ++c) z += std::exp(x(a, k, c));
        for (index_t c = 0; c < 3; ++c) CHECK(ls.value()(a, k, c) == doctest::Approx(x(a, k, c) - std::log(z)).epsilon(1e-12));
      }
    CHECK(gradcheck([](const auto& v) { return softmax<1>(v); }, x).ok);
    CHECK(gradcheck([](const auto& v) { return log_softmax<2>(v); }, x).ok);
  }

  TEST_CASE("matmul output shapes are computed at compile time") {
    static_assert(std::is_same_v<MatmulPlan<Shape<3, 4>, Shape<4, 3>, false, false>::out, Shape<3, 3>>);
    static_assert(std::is_same_v<MatmulPlan<Shape<6, 64, 16>, Shape<6, 64, 16>, false, true>::out, Shape<6, 64, 64>>);
  }
}
