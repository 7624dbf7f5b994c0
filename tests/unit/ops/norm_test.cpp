// batch_norm: forward and running-statistics update against a direct two-pass loop in double
// (training and evaluation, with and without the affine parameters, [N, C, H, W] and [N, C];
// one call counted as several passes),
// gradients against finite differences in both modes, float gradients against double ones.
// Templated over the device: on the GPU values, running statistics and gradients must also match
// the CPU's, and the finite-difference checks run there.
#include <doctest/doctest.h>

#include <cmath>
#include <vector>

#include "support.hpp"
#include "tsgan/autograd/gradcheck.hpp"
#include "tsgan/ops/norm.hpp"

using namespace tsgan;

namespace {

template <ShapeType X>
constexpr index_t channels = X::dims[1];
template <ShapeType X>
constexpr index_t plane = X::size / (X::dims[0] * X::dims[1]);

template <ShapeType X>
index_t channel_of(index_t i) {
  return i / plane<X> % channels<X>;
}

// Per-channel mean and biased variance, two passes in double.
template <class T, ShapeType X>
std::pair<std::vector<double>, std::vector<double>> moments(const Tensor<T, X>& x) {
  constexpr index_t C = channels<X>;
  const double m = double(X::size / C);
  std::vector<double> mean(C, 0.0), var(C, 0.0);
  for (index_t i = 0; i < X::size; ++i) mean[channel_of<X>(i)] += double(x[i]) / m;
  for (index_t i = 0; i < X::size; ++i) {
    const double d = double(x[i]) - mean[channel_of<X>(i)];
    var[channel_of<X>(i)] += d * d / m;
  }
  return {mean, var};
}

// y = (x − mean) / sqrt(var + eps) · gamma + beta, element by element.
template <class T, ShapeType X>
std::vector<double> normalized(const Tensor<T, X>& x, const std::vector<double>& mean, const std::vector<double>& var,
                               const T* gamma, const T* beta, double eps) {
  std::vector<double> y(X::size);
  for (index_t i = 0; i < X::size; ++i) {
    const index_t c = channel_of<X>(i);
    y[i] = (double(x[i]) - mean[c]) / std::sqrt(var[c] + eps) * (gamma ? double(gamma[c]) : 1.0) +
           (beta ? double(beta[c]) : 0.0);
  }
  return y;
}

template <class T, ShapeType X, class D>
void check_forward(std::uint64_t seed, T offset) {
  constexpr index_t C = channels<X>;
  using PC = Shape<C>;
  const double momentum = 0.3, eps = 1e-3;
  const double tol = std::is_same_v<T, float> ? 2e-5 : 1e-11;
  const auto x = Tensor<T, X>(test::random_tensor<T, X>(seed) + offset);
  const auto gamma = test::random_tensor<T, PC>(seed + 1);
  const auto beta = test::random_tensor<T, PC>(seed + 2);
  const auto rm0 = test::random_tensor<T, PC>(seed + 3);
  const auto rv0 = test::random_tensor<T, PC>(seed + 4, T(0.5), T(2));
  const auto [mean, var] = moments(x);
  const double count = double(X::size / C);

  // Training: batch statistics; running statistics move towards the batch's (unbiased variance).
  auto rmd = rm0.template to<D>(), rvd = rv0.template to<D>();
  Graph g;
  const auto xd = x.template to<D>();
  const auto gd = gamma.template to<D>();
  const auto bd = beta.template to<D>();
  auto y = batch_norm(g.input(xd), g.input(gd), g.input(bd), rmd, rvd, true, momentum, eps);
  const auto want = normalized(x, mean, var, gamma.data(), beta.data(), eps);
  test::check_all(test::to_host(y.value()), [&](index_t i) { return want[i]; }, tol, tol, "training output");
  const auto rm = test::to_host(rmd).clone(), rv = test::to_host(rvd).clone();
  test::check_all(rm, [&](index_t c) { return (1 - momentum) * double(rm0[c]) + momentum * mean[c]; }, tol, tol,
                  "running_mean");
  test::check_all(rv, [&](index_t c) { return (1 - momentum) * double(rv0[c]) + momentum * var[c] * count / (count - 1); },
                  tol, tol, "running_var");

  // Evaluation: running statistics, which stay as they are.
  std::vector<double> run_mean(C), run_var(C);
  for (index_t c = 0; c < C; ++c) run_mean[c] = rm[c], run_var[c] = rv[c];
  auto ev = batch_norm(g.input(xd), g.input(gd), g.input(bd), rmd, rvd, false, momentum, eps);
  const auto want_eval = normalized(x, run_mean, run_var, gamma.data(), beta.data(), eps);
  test::check_all(test::to_host(ev.value()), [&](index_t i) { return want_eval[i]; }, tol, tol, "evaluation output");
  const auto& rm_after = test::to_host(rmd);
  const auto& rv_after = test::to_host(rvd);
  for (index_t c = 0; c < C; ++c) CHECK((rm_after[c] == T(run_mean[c]) && rv_after[c] == T(run_var[c])));

  // Without the affine parameters; the running statistics are updated under NoGrad too.
  NoGrad guard;
  auto rm2 = rm0.template to<D>(), rv2 = rv0.template to<D>();
  auto plain = batch_norm(g.input(xd), rm2, rv2, true, momentum, eps);
  const auto want_plain = normalized<T>(x, mean, var, nullptr, nullptr, eps);
  test::check_all(test::to_host(plain.value()), [&](index_t i) { return want_plain[i]; }, tol, tol, "no-affine output");
  test::check_all(test::to_host(rm2), [&](index_t c) { return double(rm[c]); }, 0, 0, "running_mean under NoGrad");

  // On a GPU: the same outputs and running statistics as the CPU, and the same gradients.
  if constexpr (test::is_gpu<D>) {
    auto rmc = rm0.clone(), rvc = rv0.clone();
    Graph h;
    auto yc = batch_norm(h.input(x.clone()), h.input(gamma.clone()), h.input(beta.clone()), rmc, rvc, true, momentum, eps);
    test::check_parity(test::to_host(y.value()), yc.value(), "training output");
    test::check_parity(rm, rmc, "running_mean");
    test::check_parity(rv, rvc, "running_var");
  }
}

template <class T, class D>
void check_forward_all() {
  check_forward<T, Shape<4, 3, 5, 7>, D>(1, T(0));
  check_forward<T, Shape<2, 5, 3, 3>, D>(2, T(3));  // a mean that is large against the spread
  check_forward<T, Shape<1, 2, 1, 2>, D>(3, T(0));  // two values per channel
  check_forward<T, Shape<6, 4>, D>(4, T(0));        // [N, C]
  check_forward<T, Shape<3, 2, 4>, D>(5, T(-1));    // [N, C, L]
}

// Uses x once more after the op, so that the op's backward adds to a gradient already written.
template <class Y, class X>
auto and_again(const Y& y, const X& x) {
  auto s = sum(x);
  return eval(y * s);
}

template <ShapeType X, class D>
void check_gradients(std::uint64_t seed) {
  using PC = Shape<channels<X>>;
  const auto x = test::random_tensor<double, X, D>(seed);
  const auto gamma = test::random_tensor<double, PC, D>(seed + 1);
  const auto beta = test::random_tensor<double, PC, D>(seed + 2);
  auto rm = test::random_tensor<double, PC, D>(seed + 3);
  auto rv = test::random_tensor<double, PC, D>(seed + 4, 0.5, 2.0);
  for (const bool training : {true, false}) {
    CAPTURE(training);
    auto affine = [&](const auto& xv, const auto& gv, const auto& bv) {
      return batch_norm(xv, gv, bv, rm, rv, training, 0.1, 1e-3);
    };
    auto r = gradcheck(affine, x, gamma, beta);
    CHECK_MESSAGE(r.ok, r.message);
    r = gradcheck([&](const auto& xv) { return batch_norm(xv, rm, rv, training); }, x);
    CHECK_MESSAGE(r.ok, r.message);
    r = gradcheck([&](const auto& xv, const auto& gv) { return and_again(batch_norm(xv, gv, gv, rm, rv, training), xv); },
                  x, gamma);
    CHECK_MESSAGE(r.ok, r.message);
  }
}

template <class T, ShapeType S>
Tensor<T, S> random_as(std::uint64_t seed) {
  const auto d = test::random_tensor<double, S>(seed);
  Tensor<T, S> t(uninitialized);
  for (index_t i = 0; i < S::size; ++i) t[i] = T(d[i]);
  return t;
}

// The float kernels' gradients agree with the double ones on the same inputs.
template <ShapeType X, class D>
void check_float_gradients(std::uint64_t seed) {
  using PC = Shape<channels<X>>;
  auto grads = [&]<class T>(T) {
    Tensor<T, PC, D> rm, rv(T(1));
    Graph g;
    auto x = g.variable(random_as<T, X>(seed).template to<D>());
    auto gamma = g.variable(random_as<T, PC>(seed + 1).template to<D>());
    auto beta = g.variable(random_as<T, PC>(seed + 2).template to<D>());
    auto y = batch_norm(x, gamma, beta, rm, rv, true);
    sum(y * random_as<T, X>(seed + 3).template to<D>()).backward();
    return std::tuple(x.grad().template to<cpu>(), gamma.grad().template to<cpu>(), beta.grad().template to<cpu>());
  };
  const auto [fx, fg, fb] = grads(1.f);
  const auto [dx, dg, db] = grads(1.0);
  test::check_all(fx, [&](index_t i) { return dx[i]; }, 1e-4, 1e-5, "float dx");
  test::check_all(fg, [&](index_t i) { return dg[i]; }, 1e-4, 1e-5, "float dgamma");
  test::check_all(fb, [&](index_t i) { return db[i]; }, 1e-4, 1e-5, "float dbeta");
}

}  // namespace

TEST_SUITE("ops.norm") {
  TEST_CASE_TEMPLATE("batch_norm matches a direct loop, including the running statistics", D, TSGAN_TEST_DEVICES) {
    TSGAN_SKIP_UNAVAILABLE(D);
    check_forward_all<float, D>();
    check_forward_all<double, D>();
  }

  TEST_CASE_TEMPLATE("batch statistics stay accurate for a mean far from zero", D, TSGAN_TEST_DEVICES) {
    TSGAN_SKIP_UNAVAILABLE(D);
    // E[x²] − E[x]² in double would lose about 12 of 16 digits here.
    const auto x = Tensor<double, Shape<2, 2, 6, 6>>(test::random_tensor<double, Shape<2, 2, 6, 6>>(6) + 1e6);
    Tensor<double, Shape<2>, D> rmd, rvd;
    Graph g;
    auto y = batch_norm(g.input(x.template to<D>()), rmd, rvd, true, 1.0, 0.0);  // momentum 1: running = batch
    const auto [mean, var] = moments(x);
    const auto want = normalized<double>(x, mean, var, nullptr, nullptr, 0.0);
    test::check_all(test::to_host(y.value()), [&](index_t i) { return want[i]; }, 1e-9, 1e-9, "normalised");
    test::check_all(test::to_host(rvd), [&](index_t c) { return var[c] * 72 / 71; }, 1e-9, 0, "running_var");
  }

  TEST_CASE_TEMPLATE("passes = 3 moves the running statistics as three training passes over the batch do", D,
                     TSGAN_TEST_DEVICES) {
    TSGAN_SKIP_UNAVAILABLE(D);
    using X = Shape<4, 3, 5, 7>;
    const double momentum = 0.3, eps = 1e-3;
    const auto x = test::random_tensor<float, X>(31);
    const auto rm0 = test::random_tensor<float, Shape<3>>(32);
    const auto rv0 = test::random_tensor<float, Shape<3>>(33, 0.5f, 2.f);
    auto rm_each = rm0.template to<D>(), rv_each = rv0.template to<D>();
    auto rm_once = rm0.template to<D>(), rv_once = rv0.template to<D>();
    auto rm_single = rm0.template to<D>(), rv_single = rv0.template to<D>();
    Graph g;
    const auto xd = x.template to<D>();
    for (int k = 0; k < 3; ++k) batch_norm(g.input(xd), rm_each, rv_each, true, momentum, eps);
    const auto y = batch_norm(g.input(xd), rm_once, rv_once, true, momentum, eps, 3);
    const auto y_single = batch_norm(g.input(xd), rm_single, rv_single, true, momentum, eps);
    const auto want_y = test::to_host(y_single.value()).clone();
    const auto mean_each = test::to_host(rm_each).clone(), var_each = test::to_host(rv_each).clone();
    test::check_all(test::to_host(y.value()), [&](index_t i) { return want_y[i]; }, 0, 0, "output");  // as one pass's
    test::check_all(test::to_host(rm_once), [&](index_t c) { return mean_each[c]; }, 0, 0, "running_mean");
    test::check_all(test::to_host(rv_once), [&](index_t c) { return var_each[c]; }, 0, 0, "running_var");
    // Three moves towards the batch: (1 − m)³·running + (1 − (1 − m)³)·batch.
    const auto [mean, var] = moments(x);
    const double keep = std::pow(1 - momentum, 3), count = double(X::size / 3);
    test::check_all(test::to_host(rm_once), [&](index_t c) { return keep * rm0[c] + (1 - keep) * mean[c]; }, 1e-6, 1e-6,
                    "running_mean, by hand");
    test::check_all(test::to_host(rv_once), [&](index_t c) { return keep * rv0[c] + (1 - keep) * var[c] * count / (count - 1); },
                    1e-6, 1e-6, "running_var, by hand");
  }

  TEST_CASE_TEMPLATE("batch_norm gradients match finite differences in training and evaluation", D, TSGAN_TEST_DEVICES) {
    TSGAN_SKIP_UNAVAILABLE(D);
    check_gradients<Shape<3, 2, 3, 5>, D>(11);
    check_gradients<Shape<2, 3, 1, 1>, D>(12);
    check_gradients<Shape<1, 3, 4, 3>, D>(13);
    check_gradients<Shape<5, 4>, D>(14);
  }

  TEST_CASE_TEMPLATE("float gradients agree with double gradients, and with the CPU's", D, TSGAN_TEST_DEVICES) {
    TSGAN_SKIP_UNAVAILABLE(D);
    check_float_gradients<Shape<4, 3, 7, 5>, D>(21);
    // Training and evaluation, affine: the GPU's gradients against the CPU's.
    using X = Shape<4, 3, 7, 5>;
    for (const bool training : {true, false}) {
      CAPTURE(training);
      auto f = [training](const auto& xv, const auto& gv, const auto& bv) {
        using T = typename std::remove_cvref_t<decltype(xv)>::value_type;
        using Dev = typename std::remove_cvref_t<decltype(xv)>::device;
        Tensor<T, Shape<3>, Dev> rm, rv(T(1));
        return batch_norm(xv, gv, bv, rm, rv, training);
      };
      test::check_gradient_parity<D>(f, random_as<float, X>(22), random_as<float, Shape<3>>(23), random_as<float, Shape<3>>(24));
    }
  }

  TEST_CASE_TEMPLATE("training needs more than one value per channel", D, TSGAN_TEST_DEVICES) {
    TSGAN_SKIP_UNAVAILABLE(D);
    Tensor<double, Shape<2>, D> rm, rv;
    Graph g;
    auto x = g.input(Tensor<double, Shape<1, 2, 1, 1>, D>(1.0));
    CHECK_THROWS_WITH_AS(batch_norm(x, rm, rv, true), doctest::Contains("more than one value per channel"), Error);
    CHECK_NOTHROW(batch_norm(x, rm, rv, false));
  }
}
