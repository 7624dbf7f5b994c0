// Every elementwise op against a scalar std:: reference on random inputs, in float and double,
// through the SIMD row path (odd sizes, so packet tails are exercised) and through the
// element-at-a-time path that GPU kernels take; and every derivative against central differences.
// The op tests are templated over the device: under nvcc they also run the GPU kernels, whose
// results must match the CPU's.
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

// Evaluates make(x) on x's device and compares with ref(x[i]) computed in double; on the CPU also
// through the element-at-a-time path that GPU kernels take (on the GPU, test::evaluate checks the
// kernel's result against the CPU's).
template <class T, class D, class Make, class Ref>
void check_unary(const char* name, Make make, const Tensor<T, Odd, D>& x, Ref ref) {
  CAPTURE(name);
  const auto got = test::evaluate(make, x);
  const auto& hx = test::to_host(x);
  test::check_all(got, [&](index_t i) { return ref(static_cast<double>(hx[i])); }, rtol<T>, atol<T>, name);
  if constexpr (!test::is_gpu<D>) {
    const auto node = make(x);
    const auto ev = expr::as_node(node).template evaluator<Odd>();
    for (index_t i = 0; i < Odd::size; ++i) {
      const index_t idx[2] = {i / 37, i % 37};
      const double e = static_cast<double>(ev.template eval<T>(expr::ElementPos<2>{i, idx}));
      REQUIRE(test::close(e, ref(static_cast<double>(x[i])), rtol<T>, atol<T>));
    }
  }
}

template <class T, class D, class Make, class Ref>
void check_binary(const char* name, Make make, const Tensor<T, Odd, D>& a, const Tensor<T, Odd, D>& b, Ref ref) {
  CAPTURE(name);
  const auto got = test::evaluate(make, a, b);
  const auto& ha = test::to_host(a);
  const auto& hb = test::to_host(b);
  test::check_all(got, [&](index_t i) { return ref(double(ha[i]), double(hb[i])); }, rtol<T>, atol<T>, name);
}

template <class T, class D>
void unary_ops() {
  CAPTURE(sizeof(T));
  const auto x = test::random_tensor<T, Odd, D>(11, T(-4), T(4));
  const auto pos = test::random_tensor<T, Odd, D>(12, T(0.01), T(9));
  check_unary("neg", [](const auto& v) { return -v; }, x, [](double v) { return -v; });
  check_unary("exp", [](const auto& v) { return exp(v); }, x, [](double v) { return std::exp(v); });
  check_unary("log", [](const auto& v) { return log(v); }, pos, [](double v) { return std::log(v); });
  check_unary("sqrt", [](const auto& v) { return sqrt(v); }, pos, [](double v) { return std::sqrt(v); });
  check_unary("rsqrt", [](const auto& v) { return rsqrt(v); }, pos, [](double v) { return 1 / std::sqrt(v); });
  check_unary("abs", [](const auto& v) { return abs(v); }, x, [](double v) { return std::abs(v); });
  check_unary("sign", [](const auto& v) { return sign(v); }, x, [](double v) { return double((v > 0) - (v < 0)); });
  check_unary("square", [](const auto& v) { return square(v); }, x, [](double v) { return v * v; });
  check_unary("pow", [](const auto& v) { return pow(v, 1.7); }, pos, [](double v) { return std::pow(v, 1.7); });
  check_unary("tanh", [](const auto& v) { return tanh(v); }, x, [](double v) { return std::tanh(v); });
  check_unary("sigmoid", [](const auto& v) { return sigmoid(v); }, x, [](double v) { return 1 / (1 + std::exp(-v)); });
  check_unary("relu", [](const auto& v) { return relu(v); }, x, [](double v) { return v > 0 ? v : 0; });
  check_unary("leaky_relu", [](const auto& v) { return leaky_relu(v, 0.2); }, x,
              [](double v) { return v > 0 ? v : T(0.2) * v; });
  check_unary("softplus", [](const auto& v) { return softplus(v); }, x, [](double v) { return std::log1p(std::exp(v)); });
  check_unary("clamp", [](const auto& v) { return clamp(v, -1.5, 2.0); }, x,
              [](double v) { return std::clamp(v, -1.5, 2.0); });
}

template <class T, class D>
void binary_ops() {
  CAPTURE(sizeof(T));
  const auto a = test::random_tensor<T, Odd, D>(21, T(-3), T(3));
  Tensor<T, Odd, D> b;
  {
    auto hb = test::random_tensor<T, Odd>(22, T(-3), T(3));
    hb[5] = test::to_host(a)[5];  // a tie for min and max
    b = hb.template to<D>();
  }
  check_binary("add", [](const auto& p, const auto& q) { return p + q; }, a, b, std::plus<double>{});
  check_binary("sub", [](const auto& p, const auto& q) { return p - q; }, a, b, std::minus<double>{});
  check_binary("mul", [](const auto& p, const auto& q) { return p * q; }, a, b, std::multiplies<double>{});
  check_binary("div", [](const auto& p, const auto& q) { return p / q; }, a, b, std::divides<double>{});
  check_binary("minimum", [](const auto& p, const auto& q) { return minimum(p, q); }, a, b,
               [](double p, double q) { return std::min(p, q); });
  check_binary("maximum", [](const auto& p, const auto& q) { return maximum(p, q); }, a, b,
               [](double p, double q) { return std::max(p, q); });
  check_binary("less", [](const auto& p, const auto& q) { return p < q; }, a, b,
               [](double p, double q) { return double(p < q); });
  check_binary("greater_equal", [](const auto& p, const auto& q) { return p >= q; }, a, b,
               [](double p, double q) { return double(p >= q); });
  check_binary("equal", [](const auto& p, const auto& q) { return equal(p, q); }, a, b,
               [](double p, double q) { return double(p == q); });
  check_binary("where", [](const auto& p, const auto& q) { return where(p > q, p * 2, q); }, a, b,
               [](double p, double q) { return p > q ? 2 * p : q; });
  check_binary("scalar on the left", [](const auto& p, const auto&) { return T(3) - p / T(2); }, a, b,
               [](double p, double) { return 3 - p / 2; });
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
  TEST_CASE_TEMPLATE("unary ops match std:: on random inputs", D, TSGAN_TEST_DEVICES) {
    TSGAN_SKIP_UNAVAILABLE(D);
    unary_ops<float, D>();
    unary_ops<double, D>();
  }

  TEST_CASE_TEMPLATE("binary ops and where() match std::", D, TSGAN_TEST_DEVICES) {
    TSGAN_SKIP_UNAVAILABLE(D);
    binary_ops<float, D>();
    binary_ops<double, D>();
  }

  TEST_CASE_TEMPLATE("softplus does not overflow for large inputs", D, TSGAN_TEST_DEVICES) {
    TSGAN_SKIP_UNAVAILABLE(D);
    Tensor<float, Shape<4>> hx;
    hx[0] = 100.f;
    hx[1] = -100.f;
    hx[2] = 0.f;
    hx[3] = 30.f;
    const auto x = hx.to<D>();
    const auto y = test::evaluate([](const auto& v) { return softplus(v); }, x);
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

#if TSGAN_HOST_PASS  // the SIMD type exists in host code only (nvcc's device pass does not see it)
  TEST_CASE_TEMPLATE("SIMD square roots round as the scalar ones do", T, float, double) {
    // Eigen's packet sqrt is an estimate refined by Newton steps (float; double with AVX-512), one ulp
    // off in about a third of the lanes; Vec's must equal std::sqrt exactly, as CUDA's sqrt does.
    using V = math::Vec<T>;
    alignas(64) T xs[V::width];
    index_t sqrt_off = 0, rsqrt_off = 0, n = 0;
    for (int e = -60; e <= 60; ++e)
      for (int k = 0; k < 64; ++k) {
        for (int l = 0; l < V::width; ++l) xs[l] = std::ldexp(T(1) + T(k * V::width + l) / T(1024), e);
        const V r = math::sqrt(V::load(xs)), q = math::rsqrt(V::load(xs));
        for (int l = 0; l < V::width; ++l, ++n) {
          sqrt_off += r.lane(l) != std::sqrt(xs[l]);
          rsqrt_off += q.lane(l) != T(1) / std::sqrt(xs[l]);
        }
      }
    CAPTURE(n);
    CHECK(sqrt_off == 0);
    CHECK(rsqrt_off == 0);
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
#endif
}
