// Every elementwise op against a scalar std:: reference on random inputs, in float and double,
// through the SIMD row path (odd sizes, so packet tails are exercised) and through the
// element-at-a-time path that GPU kernels take; and every derivative against central differences.
#include <doctest/doctest.h>

#include <cmath>
#include <functional>

#include "support.hpp"

using namespace tsgan;

namespace {

template <class T>
constexpr double rtol = std::is_same_v<T, float> ? 2e-6 : 1e-13;
template <class T>
constexpr double atol = std::is_same_v<T, float> ? 1e-6 : 1e-14;

using Odd = Shape<3, 37>;  // 111 elements: whole packets plus a tail for every packet width

// Evaluates `node` both ways and compares with ref(x[i]) computed in double.
template <class T, class Node, class Ref>
void check_unary(const char* name, const Node& node, const Tensor<T, Odd>& x, Ref ref) {
  CAPTURE(name);
  Tensor<T, Odd> got = node;
  test::check_all(got, [&](index_t i) { return ref(static_cast<double>(x[i])); }, rtol<T>, atol<T>, name);
  const auto ev = expr::as_node(node).template evaluator<Odd>();
  for (index_t i = 0; i < Odd::size; ++i) {
    const index_t idx[2] = {i / 37, i % 37};
    const double e = static_cast<double>(ev.template eval<T>(expr::ElementPos<2>{i, idx}));
    REQUIRE(test::close(e, ref(static_cast<double>(x[i])), rtol<T>, atol<T>));
  }
}

template <class T, class Node, class Ref>
void check_binary(const char* name, const Node& node, const Tensor<T, Odd>& a, const Tensor<T, Odd>& b, Ref ref) {
  CAPTURE(name);
  Tensor<T, Odd> got = node;
  test::check_all(got, [&](index_t i) { return ref(double(a[i]), double(b[i])); }, rtol<T>, atol<T>, name);
}

// ∂op/∂x at x against (f(x+h) - f(x-h)) / 2h in double.
template <class Op>
void check_unary_derivative(const char* name, Op op, double x) {
  CAPTURE(name);
  CAPTURE(x);
  const double h = 1e-6;
  const double fd = (op(x + h) - op(x - h)) / (2 * h);
  CHECK(test::close(op.dx(x, op(x)), fd, 1e-6, 1e-8));
}
template <class Op>
void check_binary_derivatives(const char* name, Op op, double a, double b) {
  CAPTURE(name);
  CAPTURE(a);
  CAPTURE(b);
  const double h = 1e-6, y = op(a, b);
  CHECK(test::close(op.da(a, b, y), (op(a + h, b) - op(a - h, b)) / (2 * h), 1e-6, 1e-8));
  CHECK(test::close(op.db(a, b, y), (op(a, b + h) - op(a, b - h)) / (2 * h), 1e-6, 1e-8));
}

}  // namespace

TEST_SUITE("expr.ops") {
  TEST_CASE_TEMPLATE("unary ops match std:: on random inputs", T, float, double) {
    const auto x = test::random_tensor<T, Odd>(11, T(-4), T(4));
    const auto pos = test::random_tensor<T, Odd>(12, T(0.01), T(9));
    check_unary<T>("neg", -x, x, [](double v) { return -v; });
    check_unary<T>("exp", exp(x), x, [](double v) { return std::exp(v); });
    check_unary<T>("log", log(pos), pos, [](double v) { return std::log(v); });
    check_unary<T>("sqrt", sqrt(pos), pos, [](double v) { return std::sqrt(v); });
    check_unary<T>("rsqrt", rsqrt(pos), pos, [](double v) { return 1 / std::sqrt(v); });
    check_unary<T>("abs", abs(x), x, [](double v) { return std::abs(v); });
    check_unary<T>("sign", sign(x), x, [](double v) { return double((v > 0) - (v < 0)); });
    check_unary<T>("square", square(x), x, [](double v) { return v * v; });
    check_unary<T>("pow", pow(pos, 1.7), pos, [](double v) { return std::pow(v, 1.7); });
    check_unary<T>("tanh", tanh(x), x, [](double v) { return std::tanh(v); });
    check_unary<T>("sigmoid", sigmoid(x), x, [](double v) { return 1 / (1 + std::exp(-v)); });
    check_unary<T>("relu", relu(x), x, [](double v) { return v > 0 ? v : 0; });
    check_unary<T>("leaky_relu", leaky_relu(x, 0.2), x, [](double v) { return v > 0 ? v : T(0.2) * v; });
    check_unary<T>("softplus", softplus(x), x, [](double v) { return std::log1p(std::exp(v)); });
    check_unary<T>("clamp", clamp(x, -1.5, 2.0), x, [](double v) { return std::clamp(v, -1.5, 2.0); });
  }

  TEST_CASE_TEMPLATE("binary ops and where() match std::", T, float, double) {
    const auto a = test::random_tensor<T, Odd>(21, T(-3), T(3));
    auto b = test::random_tensor<T, Odd>(22, T(-3), T(3));
    b[5] = a[5];  // a tie for min and max
    check_binary<T>("add", a + b, a, b, std::plus<double>{});
    check_binary<T>("sub", a - b, a, b, std::minus<double>{});
    check_binary<T>("mul", a * b, a, b, std::multiplies<double>{});
    check_binary<T>("div", a / b, a, b, std::divides<double>{});
    check_binary<T>("minimum", minimum(a, b), a, b, [](double p, double q) { return std::min(p, q); });
    check_binary<T>("maximum", maximum(a, b), a, b, [](double p, double q) { return std::max(p, q); });
    check_binary<T>("less", a < b, a, b, [](double p, double q) { return double(p < q); });
    check_binary<T>("greater_equal", a >= b, a, b, [](double p, double q) { return double(p >= q); });
    check_binary<T>("equal", equal(a, b), a, b, [](double p, double q) { return double(p == q); });
    check_binary<T>("where", where(a > b, a * 2, b), a, b, [](double p, double q) { return p > q ? 2 * p : q; });
    check_binary<T>("scalar on the left", T(3) - a / T(2), a, b, [](double p, double) { return 3 - p / 2; });
  }

  TEST_CASE("softplus does not overflow for large inputs") {
    Tensor<float, Shape<4>> x;
    x[0] = 100.f;
    x[1] = -100.f;
    x[2] = 0.f;
    x[3] = 30.f;
    Tensor<float, Shape<4>> y = softplus(x);
    CHECK(y[0] == doctest::Approx(100.f));
    CHECK(y[1] >= 0.f);
    CHECK(y[1] < 1e-37f);
    CHECK(y[2] == doctest::Approx(std::log(2.f)));
    CHECK(y[3] == doctest::Approx(30.f));
  }

  TEST_CASE("each op's partial derivatives match central differences") {
    for (double x : {-2.3, -0.4, 0.3, 1.7}) {
      check_unary_derivative("neg", ops::Neg{}, x);
      check_unary_derivative("exp", ops::Exp{}, x);
      check_unary_derivative("abs", ops::Abs{}, x);
      check_unary_derivative("square", ops::Square{}, x);
      check_unary_derivative("tanh", ops::Tanh{}, x);
      check_unary_derivative("sigmoid", ops::Sigmoid{}, x);
      check_unary_derivative("relu", ops::Relu{}, x);
      check_unary_derivative("leaky_relu", ops::LeakyRelu<double>{0.2}, x);
      check_unary_derivative("softplus", ops::Softplus{}, x);
      check_unary_derivative("clamp", ops::Clamp<double>{-1.0, 1.0}, x);
      check_unary_derivative("sign", ops::Sign{}, x);
      const double p = std::abs(x) + 0.1;
      check_unary_derivative("log", ops::Log{}, p);
      check_unary_derivative("sqrt", ops::Sqrt{}, p);
      check_unary_derivative("rsqrt", ops::Rsqrt{}, p);
      check_unary_derivative("pow", ops::Pow<double>{2.5}, p);
    }
    for (auto [a, b] : {std::pair{0.7, -1.3}, std::pair{-2.0, 0.5}, std::pair{1.5, 2.5}}) {
      check_binary_derivatives("add", ops::Add{}, a, b);
      check_binary_derivatives("sub", ops::Sub{}, a, b);
      check_binary_derivatives("mul", ops::Mul{}, a, b);
      check_binary_derivatives("div", ops::Div{}, a, b);
      check_binary_derivatives("min", ops::Min{}, a, b);
      check_binary_derivatives("max", ops::Max{}, a, b);
    }
    // At a tie min and max split the gradient in half, as PyTorch does.
    CHECK(ops::Max{}.da(1.0, 1.0, 1.0) == 0.5);
    CHECK(ops::Min{}.db(1.0, 1.0, 1.0) == 0.5);
    // where() routes the gradient to the branch it took.
    CHECK(ops::Where{}.da(1.0, 2.0, 3.0, 2.0) == 1.0);
    CHECK(ops::Where{}.db(1.0, 2.0, 3.0, 2.0) == 0.0);
  }

  TEST_CASE("SIMD packets and scalars agree lane by lane on the derivative rules") {
    using V = math::Vec<float>;
    alignas(64) float xs[V::width];
    for (int i = 0; i < V::width; ++i) xs[i] = -2.f + 0.37f * float(i);
    const V x = V::load(xs);
    const ops::Tanh op;
    const V y = op(x), d = op.dx(x, y);
    for (int i = 0; i < V::width; ++i) {
      const float ys = op(xs[i]);
      CHECK(y.lane(i) == doctest::Approx(ys).epsilon(1e-6));
      CHECK(d.lane(i) == doctest::Approx(op.dx(xs[i], ys)).epsilon(1e-5));
    }
  }
}
