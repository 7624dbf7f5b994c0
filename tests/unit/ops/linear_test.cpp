// matmul (every transpose combination, 2-D and batched), linear, softmax and log_softmax: values
// against direct loops in double and gradients against finite differences. Templated over the
// device: on the GPU (cuBLAS) values and gradients must also match the CPU's, in float and double,
// and the finite-difference checks run there.
#include <doctest/doctest.h>

#include "support.hpp"
#include "tsgan/autograd/gradcheck.hpp"
#include "tsgan/ops/linear.hpp"
#include "tsgan/ops/softmax.hpp"

using namespace tsgan;

namespace {
template <bool TA, bool TB, class A, class B, class D>
void check_matmul(std::uint64_t seed) {
  const auto a = test::random_tensor<double, A>(seed);
  const auto b = test::random_tensor<double, B>(seed + 1);
  using P = MatmulPlan<A, B, TA, TB>;
  Graph g;
  auto c = matmul<TA, TB>(g.input(a.template to<D>()), g.input(b.template to<D>()));
  auto at = [&](const auto& t, index_t bt, index_t i, index_t j, bool trans, index_t rows, index_t cols) {
    // element (i, j) of op(t) for batch bt, where t is stored [rows, cols] per batch
    return trans ? t.data()[bt * rows * cols + j * cols + i] : t.data()[bt * rows * cols + i * cols + j];
  };
  test::check_all(test::to_host(c.value()), [&](index_t idx) {
    const index_t bt = idx / (P::m * P::n), i = idx / P::n % P::m, j = idx % P::n;
    double s = 0;
    for (index_t k = 0; k < P::k; ++k)
      s += at(a, bt, i, k, TA, TA ? P::k : P::m, TA ? P::m : P::k) * at(b, bt, k, j, TB, TB ? P::n : P::k, TB ? P::k : P::n);
    return s;
  }, 1e-13, 1e-13, "matmul");
  auto f = [](const auto& x, const auto& y) { return matmul<TA, TB>(x, y); };
  const auto r = gradcheck(f, a.template to<D>(), b.template to<D>());
  CHECK_MESSAGE(r.ok, r.message);
  test::check_gradient_parity<D>(f, a, b);
  // The same product in float, against the CPU's float product.
  Tensor<float, A> af(uninitialized);
  Tensor<float, B> bf(uninitialized);
  for (index_t i = 0; i < A::size; ++i) af[i] = float(a[i]);
  for (index_t i = 0; i < B::size; ++i) bf[i] = float(b[i]);
  test::check_gradient_parity<D>(f, af, bf);
}

template <class T, class D>
void check_linear() {
  const auto x = test::random_tensor<T, Shape<5, 7>>(10);
  const auto w = test::random_tensor<T, Shape<3, 7>>(11);
  const auto b = test::random_tensor<T, Shape<3>>(12);
  Graph g;
  auto y = linear(g.input(x.template to<D>()), g.input(w.template to<D>()), g.input(b.template to<D>()));
  const double tol = std::is_same_v<T, float> ? 1e-5 : 1e-13;
  test::check_all(test::to_host(y.value()), [&](index_t i) {
    double s = b[i % 3];
    for (index_t k = 0; k < 7; ++k) s += double(x(i / 3, k)) * w(i % 3, k);
    return s;
  }, tol, tol, "linear");
  auto with_bias = [](const auto& xv, const auto& wv, const auto& bv) { return linear(xv, wv, bv); };
  auto without = [](const auto& xv, const auto& wv) { return linear(xv, wv); };
  test::check_gradient_parity<D>(with_bias, x, w, b);
  test::check_gradient_parity<D>(without, x, w);
  if constexpr (std::is_same_v<T, double>) {
    CHECK(gradcheck(with_bias, x.template to<D>(), w.template to<D>(), b.template to<D>()).ok);
    CHECK(gradcheck(without, x.template to<D>(), w.template to<D>()).ok);
  }
}
}  // namespace

TEST_SUITE("ops.linear") {
  TEST_CASE_TEMPLATE("matmul with every transpose combination, plain and batched", D, TSGAN_TEST_DEVICES) {
    TSGAN_SKIP_UNAVAILABLE(D);
    check_matmul<false, false, Shape<3, 4>, Shape<4, 5>, D>(1);
    check_matmul<true, false, Shape<4, 3>, Shape<4, 5>, D>(2);
    check_matmul<false, true, Shape<3, 4>, Shape<5, 4>, D>(3);
    check_matmul<true, true, Shape<4, 3>, Shape<5, 4>, D>(4);
    check_matmul<false, false, Shape<2, 3, 4>, Shape<2, 4, 5>, D>(5);
    check_matmul<false, true, Shape<2, 6, 3>, Shape<2, 6, 3>, D>(6);  // attention scores K·Qᵀ
    check_matmul<true, true, Shape<3, 4, 2>, Shape<3, 5, 4>, D>(7);
  }

  TEST_CASE_TEMPLATE("linear: x·Wᵀ + b", D, TSGAN_TEST_DEVICES) {
    TSGAN_SKIP_UNAVAILABLE(D);
    check_linear<float, D>();
    check_linear<double, D>();
  }

  TEST_CASE_TEMPLATE("with TF32, float products stay within 3e-3 of FP32", D, TSGAN_TEST_DEVICES) {
    TSGAN_SKIP_UNAVAILABLE(D);
    const auto a = test::random_tensor<float, Shape<4, 64, 96>>(30);
    const auto b = test::random_tensor<float, Shape<4, 96, 80>>(31);
    auto f = [](const auto& x, const auto& y) { return matmul(x, y); };
    const auto want = test::value_and_gradients<cpu>(f, a, b);
    const Tf32Scope tf32(true);
    const auto got = test::value_and_gradients<D>(f, a, b);
    test::check_relative_error(std::get<0>(got), std::get<0>(want), 3e-3, "TF32 product");
    test::check_relative_error(std::get<1>(got), std::get<1>(want), 3e-3, "TF32 left gradient");
    test::check_relative_error(std::get<2>(got), std::get<2>(want), 3e-3, "TF32 right gradient");
  }

  TEST_CASE_TEMPLATE("softmax and log_softmax along an axis", D, TSGAN_TEST_DEVICES) {
    TSGAN_SKIP_UNAVAILABLE(D);
    const auto x = test::random_tensor<double, Shape<2, 5, 3>>(20, -3.0, 3.0);
    Graph g;
    auto sv = softmax<1>(g.input(x.template to<D>()));
    auto lsv = log_softmax<-1>(g.input(x.template to<D>()));
    const auto& s = test::to_host(sv.value());
    const auto& ls = test::to_host(lsv.value());
    for (index_t a = 0; a < 2; ++a)
      for (index_t c = 0; c < 3; ++c) {
        double z = 0;
        for (index_t k = 0; k < 5; ++k) z += std::exp(x(a, k, c));
        double total = 0;
        for (index_t k = 0; k < 5; ++k) {
          CHECK(s(a, k, c) == doctest::Approx(std::exp(x(a, k, c)) / z).epsilon(1e-12));
          total += s(a, k, c);
        }
        CHECK(total == doctest::Approx(1.0).epsilon(1e-14));
      }
    for (index_t a = 0; a < 2; ++a)
      for (index_t k = 0; k < 5; ++k) {
        double z = 0;
        for (index_t c = 0; c < 3; ++c) z += std::exp(x(a, k, c));
        for (index_t c = 0; c < 3; ++c) CHECK(ls(a, k, c) == doctest::Approx(x(a, k, c) - std::log(z)).epsilon(1e-12));
      }
    CHECK(gradcheck([](const auto& v) { return softmax<1>(v); }, x.template to<D>()).ok);
    CHECK(gradcheck([](const auto& v) { return log_softmax<2>(v); }, x.template to<D>()).ok);
    test::check_gradient_parity<D>([](const auto& v) { return softmax<1>(v); }, x);
  }

  TEST_CASE("matmul output shapes are computed at compile time") {
    static_assert(std::is_same_v<MatmulPlan<Shape<3, 4>, Shape<4, 3>, false, false>::out, Shape<3, 3>>);
    static_assert(std::is_same_v<MatmulPlan<Shape<6, 64, 16>, Shape<6, 64, 16>, false, true>::out, Shape<6, 64, 64>>);
  }
}
