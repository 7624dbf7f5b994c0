// Loss functions: values on tiny inputs computed by hand, and gradients against finite differences.
// Templated over the device: on the GPU the same values, and gradients that match the CPU's.
// NLL and cross-entropy with class weights against PyTorch (tests/fixtures/nn/losses.txt, made by
// make_layers.py there).
#include <doctest/doctest.h>

#include "golden.hpp"
#include "support.hpp"
#include "tsgan/autograd/gradcheck.hpp"
#include "tsgan/ops/losses.hpp"

using namespace tsgan;

namespace {

using Scores = Shape<7, 5>;

template <Reduction R, class D>
void check_classification_case(const test::GoldenCase& c) {
  const auto targets = test::golden_tensor<std::int64_t, Shape<7>>(c.at("targets"));
  const index_t ignore = std::stoll(c.option("ignore_index"));
  const bool weighted = c.option("weighted") == "1";
  const bool logits = c.name == "cross_entropy";
  CAPTURE(c.name);
  CAPTURE(weighted);
  CAPTURE(ignore);
  Tensor<double, Shape<5>> weights(1.0);
  if (weighted) weights = test::golden_tensor<double, Shape<5>>(c.at("weights"));
  auto f = [&](const auto& x) {
    if (logits) return weighted ? cross_entropy<R>(x, targets, weights, ignore) : cross_entropy<R>(x, targets, ignore);
    return weighted ? nll_loss<R>(x, targets, weights, ignore) : nll_loss<R>(x, targets, ignore);
  };
  const auto x = test::golden_tensor<double, Scores>(c.at("x"));
  test::check_golden_op<D>(c, 1e-14, f, {"x"}, x);
  const auto r = gradcheck(f, x.template to<D>());
  CHECK_MESSAGE(r.ok, r.message);
}

}  // namespace

TEST_SUITE("ops.losses") {
  TEST_CASE_TEMPLATE("NLL and cross-entropy match PyTorch: class weights, each reduction, ignore_index", D,
                     TSGAN_TEST_DEVICES) {
    TSGAN_SKIP_UNAVAILABLE(D);
    int seen = 0;
    for (const char* name : {"nll", "cross_entropy"})
      for (const auto& c : test::golden_cases("losses.txt", name)) {
        const auto reduction = c.option("reduction");
        if (reduction == "mean") check_classification_case<Reduction::mean, D>(c);
        else if (reduction == "sum") check_classification_case<Reduction::sum, D>(c);
        else check_classification_case<Reduction::none, D>(c);
        ++seen;
      }
    CHECK(seen == 24);
  }

  TEST_CASE_TEMPLATE("cross-entropy: the weighted mean divides by the targets' weights; bad targets are errors", D,
                     TSGAN_TEST_DEVICES) {
    TSGAN_SKIP_UNAVAILABLE(D);
    // Two samples of classes 0 and 1 with uniform logits: each loss is log 3, so any weighted mean
    // is log 3, while dividing by N would give (w0 + w1)·log 3 / 2.
    Tensor<std::int32_t, Shape<2>> targets;
    targets[0] = 0;
    targets[1] = 1;
    Tensor<float, Shape<3>> weights;
    weights[0] = 3.f;
    weights[1] = 0.5f;
    weights[2] = 7.f;
    Graph g;
    auto logits = g.variable(Tensor<float, Shape<2, 3>, D>(0.25f));
    const auto mean = test::to_host(cross_entropy(logits, targets, weights).value())[0];
    CHECK(mean == doctest::Approx(std::log(3.0)).epsilon(1e-6));
    const auto summed = test::to_host(cross_entropy<Reduction::sum>(logits, targets, weights).value())[0];
    CHECK(summed == doctest::Approx(3.5 * std::log(3.0)).epsilon(1e-6));
    // Every sample ignored: PyTorch's mean is 0 / 0.
    Tensor<std::int32_t, Shape<2>> ignored(-100);
    CHECK(std::isnan(test::to_host(cross_entropy(logits, ignored).value())[0]));
    targets[1] = 3;
    CHECK_THROWS_WITH_AS(cross_entropy(logits, targets),
                         "tsgan: classification loss: target 3 of sample 1 is outside the 3 classes [0, 3)", Error);
  }

  TEST_CASE_TEMPLATE("L1, MSE and BCE-with-logits on hand-computed values", D, TSGAN_TEST_DEVICES) {
    TSGAN_SKIP_UNAVAILABLE(D);
    Tensor<double, Shape<2, 2>> x, yh;
    const double xs[4] = {1.0, -2.0, 0.5, 3.0}, ys[4] = {0.0, 1.0, 0.5, 1.0};
    for (int i = 0; i < 4; ++i) {
      x[i] = xs[i];
      yh[i] = ys[i];
    }
    const auto y = yh.template to<D>();
    auto value = [](const auto& v) { return test::to_host(v.value())[0]; };
    Graph g;
    auto xv = g.variable(x.template to<D>());
    CHECK(value(l1_loss(xv, y)) == doctest::Approx((1 + 3 + 0 + 2) / 4.0));
    CHECK(value(l1_loss_sum(xv, y)) == doctest::Approx(6.0));
    CHECK(value(mse_loss(xv, y)) == doctest::Approx((1 + 9 + 0 + 4) / 4.0));
    // σCE with soft target 0.9: log(1 + e^x) − 0.9 x, averaged.
    double want = 0;
    for (double v : xs) want += std::log1p(std::exp(v)) - 0.9 * v;
    CHECK(value(bce_with_logits(xv, 0.9)) == doctest::Approx(want / 4));
    // Large logits do not overflow: BCE(100, target 1) = log(1 + e^-100) ≈ 0.
    Tensor<double, Shape<1>, D> big(100.0);
    CHECK(value(bce_with_logits(g.input(big), 1.0)) == doctest::Approx(0.0).epsilon(1e-30));
    CHECK(gradcheck([&](const auto& v) { return bce_with_logits(v, y); }, x.template to<D>()).ok);
    CHECK(gradcheck([&](const auto& v) { return mse_loss(v, y); }, x.template to<D>()).ok);
    test::check_gradient_parity<D>([](const auto& u, const auto& v) { return bce_with_logits(u, v); }, x, yh);
    test::check_gradient_parity<D>([](const auto& u, const auto& v) { return l1_loss(u, v); }, x, yh);
  }

  TEST_CASE_TEMPLATE("cosine similarity and squared distance along an axis", D, TSGAN_TEST_DEVICES) {
    TSGAN_SKIP_UNAVAILABLE(D);
    const auto a = test::random_tensor<double, Shape<3, 8>>(1);
    const auto b = test::random_tensor<double, Shape<3, 8>>(2);
    Graph g;
    auto csv = cosine_similarity<1>(g.input(a.template to<D>()), g.input(b.template to<D>()));
    auto sdv = squared_distance<1>(g.input(a.template to<D>()), g.input(b.template to<D>()));
    const auto& cs = test::to_host(csv.value());
    const auto& sd = test::to_host(sdv.value());
    for (index_t r = 0; r < 3; ++r) {
      double dot = 0, na = 0, nb = 0, d = 0;
      for (index_t k = 0; k < 8; ++k) {
        dot += a(r, k) * b(r, k);
        na += a(r, k) * a(r, k);
        nb += b(r, k) * b(r, k);
        d += (a(r, k) - b(r, k)) * (a(r, k) - b(r, k));
      }
      CHECK(cs[r] == doctest::Approx(dot / std::sqrt(na * nb)).epsilon(1e-12));
      CHECK(sd[r] == doctest::Approx(d).epsilon(1e-12));
    }
    auto cosine = [](const auto& u, const auto& v) { return cosine_similarity<1>(u, v); };
    CHECK(gradcheck(cosine, a.template to<D>(), b.template to<D>()).ok);
    CHECK(gradcheck([](const auto& u, const auto& v) { return squared_distance<1>(u, v); }, a.template to<D>(),
                    b.template to<D>()).ok);
    test::check_gradient_parity<D>(cosine, a, b);
  }

  TEST_CASE_TEMPLATE("total variation: a hand example, zero for a constant image, gradients", D, TSGAN_TEST_DEVICES) {
    TSGAN_SKIP_UNAVAILABLE(D);
    Tensor<double, Shape<1, 1, 2, 2>> x;
    x[0] = 0;
    x[1] = 1;
    x[2] = 3;
    x[3] = 2;
    Graph g;
    CHECK(test::to_host(total_variation(g.input(x.template to<D>())).value())[0] == doctest::Approx(3 + 1 + 1 + 1));
    Tensor<double, Shape<2, 3, 4, 5>, D> flat(0.7);
    const auto& tv = test::to_host(total_variation(g.input(flat)).value());
    CHECK(tv[0] == 0.0);
    CHECK(tv[1] == 0.0);
    const auto r = test::random_tensor<double, Shape<2, 2, 4, 5>>(3);
    const auto res = gradcheck([](const auto& v) { return total_variation(v); }, r.template to<D>());
    CHECK_MESSAGE(res.ok, res.message);
    test::check_gradient_parity<D>([](const auto& v) { return total_variation(v); }, r);
    test::check_gradient_parity<D>([](const auto& v) { return total_variation(v); },
                                   test::random_tensor<float, Shape<3, 2, 9, 7>>(4));
  }
}
