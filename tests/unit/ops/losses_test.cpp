// Loss functions: values on tiny inputs computed by hand, and gradients against finite differences.
#include <doctest/doctest.h>

#include "support.hpp"
#include "tsgan/autograd/gradcheck.hpp"
#include "tsgan/ops/losses.hpp"

using namespace tsgan;

TEST_SUITE("ops.losses") {
  TEST_CASE("L1, MSE and BCE-with-logits on hand-computed values") {
    Tensor<double, Shape<2, 2>> x, y;
    const double xs[4] = {1.0, -2.0, 0.5, 3.0}, ys[4] = {0.0, 1.0, 0.5, 1.0};
    for (int i = 0; i < 4; ++i) {
      x[i] = xs[i];
      y[i] = ys[i];
    }
    Graph g;
    auto xv = g.variable(x.clone());
    CHECK(l1_loss(xv, y).value()[0] == doctest::Approx((1 + 3 + 0 + 2) / 4.0));
    CHECK(l1_loss_sum(xv, y).value()[0] == doctest::Approx(6.0));
    CHECK(mse_loss(xv, y).value()[0] == doctest::Approx((1 + 9 + 0 + 4) / 4.0));
    // σCE with soft target 0.9: log(1 + e^x) − 0.9 x, averaged.
    double want = 0;
    for (double v : xs) want += std::log1p(std::exp(v)) - 0.9 * v;
    CHECK(bce_with_logits(xv, 0.9).value()[0] == doctest::Approx(want / 4));
    // Large logits do not overflow: BCE(100, target 1) = log(1 + e^-100) ≈ 0.
    Tensor<double, Shape<1>> big(100.0);
    CHECK(bce_with_logits(g.input(big), 1.0).value()[0] == doctest::Approx(0.0).epsilon(1e-30));
    CHECK(gradcheck([&](const auto& v) { return bce_with_logits(v, y); }, x).ok);
    CHECK(gradcheck([&](const auto& v) { return mse_loss(v, y); }, x).ok);
  }

  TEST_CASE("cosine similarity and squared distance along an axis") {
    const auto a = test::random_tensor<double, Shape<3, 8>>(1);
    const auto b = test::random_tensor<double, Shape<3, 8>>(2);
    Graph g;
    auto cs = cosine_similarity<1>(g.input(a), g.input(b));
    auto sd = squared_distance<1>(g.input(a), g.input(b));
    for (index_t r = 0; r < 3; ++r) {
      double dot = 0, na = 0, nb = 0, d = 0;
      for (index_t k = 0; k < 8; ++k) {
        dot += a(r, k) * b(r, k);
        na += a(r, k) * a(r, k);
        nb += b(r, k) * b(r, k);
        d += (a(r, k) - b(r, k)) * (a(r, k) - b(r, k));
      }
      CHECK(cs.value()[r] == doctest::Approx(dot / std::sqrt(na * nb)).epsilon(1e-12));
      CHECK(sd.value()[r] == doctest::Approx(d).epsilon(1e-12));
    }
    CHECK(gradcheck([](const auto& u, const auto& v) { return cosine_similarity<1>(u, v); }, a, b).ok);
    CHECK(gradcheck([](const auto& u, const auto& v) { return squared_distance<1>(u, v); }, a, b).ok);
  }

  TEST_CASE("total variation: a hand example, zero for a constant image, gradients") {
    Tensor<double, Shape<1, 1, 2, 2>> x;
    x[0] = 0;
    x[1] = 1;
    x[2] = 3;
    x[3] = 2;
    Graph g;
    CHECK(total_variation(g.input(x)).value()[0] == doctest::Approx(3 + 1 + 1 + 1));
    Tensor<double, Shape<2, 3, 4, 5>> flat(0.7);
    auto tv = total_variation(g.input(flat));
    CHECK(tv.value()[0] == 0.0);
    CHECK(tv.value()[1] == 0.0);
    const auto r = test::random_tensor<double, Shape<2, 2, 4, 5>>(3);
    const auto res = gradcheck([](const auto& v) { return total_variation(v); }, r);
    CHECK_MESSAGE(res.ok, res.message);
  }
}
