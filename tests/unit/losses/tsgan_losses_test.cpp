// TSGAN's loss terms on tiny fixed inputs computed by hand, their documented properties, and
// their gradients. Templated over the device: on the GPU the same values, and values and
// gradients that match the CPU's.
#include <doctest/doctest.h>

#include <cmath>

#include "support.hpp"
#include "tsgan/autograd/gradcheck.hpp"
#include "tsgan/losses/adversarial.hpp"
#include "tsgan/losses/dual_triplet.hpp"
#include "tsgan/losses/identity.hpp"
#include "tsgan/losses/pixel.hpp"
#include "tsgan/models/identity.hpp"

using namespace tsgan;

namespace {
// The one value of a scalar Var, on the host.
template <class V>
double value(const V& v) {
  return static_cast<double>(test::to_host(v.value())[0]);
}
}  // namespace

TEST_SUITE("losses") {
  TEST_CASE_TEMPLATE("sigmoid cross-entropy: soft real target 0.9, fake target 0", D, TSGAN_TEST_DEVICES) {
    TSGAN_SKIP_UNAVAILABLE(D);
    Tensor<double, Shape<2, 1, 1, 2>> logits;
    const double v[4] = {0.5, -1.0, 2.0, 0.0};
    for (int i = 0; i < 4; ++i) logits[i] = v[i];
    Graph g;
    auto x = g.input(logits.template to<D>());
    auto sp = [](double z) { return std::log1p(std::exp(z)); };
    double want_real = 0, want_fake = 0;
    for (double z : v) {
      want_real += sp(z) - 0.9 * z;
      want_fake += sp(z);
    }
    CHECK(value(losses::generator_adversarial_loss(x, 0.9)) == doctest::Approx(want_real / 4));
    CHECK(value(losses::discriminator_loss(x, x, 0.9)) == doctest::Approx((want_real + want_fake) / 4));
    const auto fake = test::random_tensor<double, Shape<2, 1, 3, 3>>(4);
    test::check_gradient_parity<D>([](const auto& r, const auto& f) { return losses::discriminator_loss(r, f, 0.9); },
                                   logits, fake);
  }

  TEST_CASE_TEMPLATE("pixel L1 sums over pixels and averages over batch x channels", D, TSGAN_TEST_DEVICES) {
    TSGAN_SKIP_UNAVAILABLE(D);
    Tensor<double, Shape<2, 1, 2, 2>> a, b;
    for (index_t i = 0; i < 8; ++i) {
      a[i] = double(i);
      b[i] = double(i) + (i % 2 ? 1.0 : -0.5);
    }
    Graph g;
    const auto bd = b.template to<D>();
    CHECK(value(losses::pixel_l1(g.input(a.template to<D>()), g.input(bd))) == doctest::Approx((4 * 1.0 + 4 * 0.5) / 2));
    CHECK(gradcheck([&](const auto& x) { return losses::pixel_l1(x, bd); }, test::random_tensor<double, Shape<2, 1, 2, 2>, D>(1)).ok);
    test::check_gradient_parity<D>([](const auto& x, const auto& y) { return losses::pixel_l1(x, y); },
                                   test::random_tensor<float, Shape<2, 3, 4, 4>>(2), test::random_tensor<float, Shape<2, 3, 4, 4>>(3));
  }

  TEST_CASE_TEMPLATE("symmetry: zero for a mirror-symmetric face, a hand value otherwise, gradients only through the right half",
                     D, TSGAN_TEST_DEVICES) {
    TSGAN_SKIP_UNAVAILABLE(D);
    Tensor<double, Shape<1, 1, 2, 8>> sym;  // pooled to 1 x 4: columns 0..3
    const double row[8] = {1, 3, 5, 7, 7, 5, 3, 1};
    for (index_t y = 0; y < 2; ++y)
      for (index_t x = 0; x < 8; ++x) sym(0, 0, y, x) = row[x];
    Graph g;
    CHECK(value(losses::symmetry(g.input(sym.template to<D>()))) == 0.0);
    Tensor<double, Shape<1, 1, 2, 8>> ramp;
    for (index_t y = 0; y < 2; ++y)
      for (index_t x = 0; x < 8; ++x) ramp(0, 0, y, x) = double(x);
    // Pooled: 0.5, 2.5, 4.5, 6.5; left half w < 2: |0.5 − 6.5| + |2.5 − 4.5| = 8.
    CHECK(value(losses::symmetry(g.input(ramp.template to<D>()))) == doctest::Approx(8.0));
    auto v = g.variable(ramp.template to<D>());
    losses::symmetry(v).backward();
    // The left columns (stop-gradient side) get nothing; the right ones get ±1/4 per pixel.
    const auto& grad = test::to_host(v.grad());
    for (index_t y = 0; y < 2; ++y) {
      for (index_t x = 0; x < 4; ++x) CHECK(grad(0, 0, y, x) == 0.0);
      for (index_t x = 4; x < 8; ++x) CHECK(grad(0, 0, y, x) == doctest::Approx(0.25));
    }
    test::check_gradient_parity<D>([](const auto& x) { return losses::symmetry(x); },
                                   test::random_tensor<float, Shape<2, 3, 8, 16>>(6));
  }

  TEST_CASE_TEMPLATE("total variation: zero for a constant image, mean over the batch", D, TSGAN_TEST_DEVICES) {
    TSGAN_SKIP_UNAVAILABLE(D);
    Tensor<double, Shape<2, 1, 2, 2>> x;
    const double v[8] = {0, 1, 3, 2, 5, 5, 5, 5};
    for (int i = 0; i < 8; ++i) x[i] = v[i];
    Graph g;
    CHECK(value(losses::total_variation_loss(g.input(x.template to<D>()))) == doctest::Approx((6.0 + 0.0) / 2));
    test::check_gradient_parity<D>([](const auto& v) { return losses::total_variation_loss(v); },
                                   test::random_tensor<float, Shape<2, 3, 8, 8>>(7));
  }

  TEST_CASE_TEMPLATE("identity loss: mean |Δembedding| + Σ |Δfeature map| / (B·C_p)", D, TSGAN_TEST_DEVICES) {
    TSGAN_SKIP_UNAVAILABLE(D);
    using Features = models::IdentityFeatures<Var<double, Shape<2, 3>, D>, Var<double, Shape<2, 2, 1, 2>, D>>;
    Tensor<double, Shape<2, 3>> e1, e2;
    Tensor<double, Shape<2, 2, 1, 2>> m1, m2;
    for (index_t i = 0; i < 6; ++i) e2[i] = 0.5;        // |Δ| = 0.5 each → mean 0.5
    for (index_t i = 0; i < 8; ++i) m2[i] = double(i);  // Σ = 28 → / 4 = 7
    Graph g;
    Features a{g.input(e1.template to<D>()), g.input(m1.template to<D>())};
    Features b{g.input(e2.template to<D>()), g.input(m2.template to<D>())};
    CHECK(value(losses::identity_loss(a, b)) == doctest::Approx(0.5 + 7.0));
    // Gradients into the generated face's features only (the real ones are constants).
    test::check_gradient_parity<D>(
        [&](const auto& emb, const auto& map) {
          using E = std::remove_cvref_t<decltype(emb)>;
          using M = std::remove_cvref_t<decltype(map)>;
          using Dv = typename E::device;
          Graph& h = emb.graph();
          const models::IdentityFeatures<E, M> fake{emb, map};
          const models::IdentityFeatures<E, M> real{h.input(e2.template to<Dv>()), h.input(m2.template to<Dv>())};
          return losses::identity_loss(fake, real);
        },
        test::random_tensor<double, Shape<2, 3>>(8), test::random_tensor<double, Shape<2, 2, 1, 2>>(9));
  }

  TEST_CASE_TEMPLATE("dual triplet: ln 2 when both distances are equal, smaller for a far negative, gradients", D,
                     TSGAN_TEST_DEVICES) {
    TSGAN_SKIP_UNAVAILABLE(D);
    losses::DualTripletLoss<double, 4> dtl;
    const auto real = test::random_tensor<double, Shape<3, 4>, D>(1);
    const auto fake = test::random_tensor<double, Shape<3, 4>, D>(2);
    Graph g;
    // Negative equal to the positive: d⁺ = d⁻, softplus(0) = ln 2.
    auto same = dtl(g.input(fake), g.input(real), real.clone());
    CHECK(value(same) == doctest::Approx(std::log(2.0)));
    // A negative opposite to the fake embedding: d⁻ = 4, d⁺ = 0 when fake = real.
    Tensor<double, Shape<3, 4>, D> opposite = real * -1.0;
    auto far = dtl(g.input(real), g.input(real), std::move(opposite));
    CHECK(value(far) == doctest::Approx(std::log1p(std::exp(-4.0))));
    const auto r = gradcheck([&](const auto& f) { return dtl(f, real, test::random_tensor<double, Shape<3, 4>, D>(3)); }, fake);
    CHECK_MESSAGE(r.ok, r.message);
    // The generated embeddings, the real ones and the negatives all as inputs.
    const losses::DualTripletLoss<float, 16> dtl16;
    test::check_gradient_parity<D>([&](const auto& f, const auto& p, const auto& n) { return dtl16(f, p, n); },
                                   test::random_tensor<float, Shape<4, 16>>(4), test::random_tensor<float, Shape<4, 16>>(5),
                                   test::random_tensor<float, Shape<4, 16>>(6));
  }

  TEST_CASE("dual triplet negatives: batch roll skips the same identity; running centres pick the nearest other") {
    losses::DualTripletLoss<double, 2> roll;
    Tensor<double, Shape<4, 2>> real;
    for (index_t i = 0; i < 8; ++i) real[i] = double(i);
    const std::array<std::int64_t, 4> ids{7, 7, 3, 7};
    roll.plan(ids, true);  // batch_roll mode keeps no centres
    auto neg = roll.negatives(real);
    for (index_t b = 0; b < 4; ++b) {
      const index_t want = b == 2 ? 3 : 2;  // the next item of another identity, cyclically
      CHECK(neg(b, 0) == real(want, 0));
    }
    CHECK(roll.centres().empty());
    losses::DualTripletLoss<double, 2> centres(losses::Negatives::running_centres);
    Tensor<double, Shape<3, 2>> r;
    const double v[6] = {1, 0, 0, 1, -1, 0};
    for (int i = 0; i < 6; ++i) r[i] = v[i];
    centres.plan(std::array<std::int64_t, 3>{1, 2, 3}, true);
    centres.update_centres(r);
    auto n = centres.negatives(r);
    CHECK(n(0, 0) == 0.0);  // nearest other centre to (1, 0) is (0, 1), not (−1, 0)
    CHECK(n(0, 1) == 1.0);
    Tensor<double, Shape<2, 2>> one_id;
    CHECK_THROWS_WITH_AS(roll.negatives(one_id), doctest::Contains("without a plan"), Error);
    roll.plan(std::array<std::int64_t, 2>{5, 5}, false);
    CHECK_THROWS_WITH_AS(roll.negatives(one_id), doctest::Contains("two identities"), Error);
  }

  // The centres by hand: normalised means with momentum 0.5, an identity twice in one batch, the
  // fallback to the roll partner until two identities have centres, ties to the smaller identity
  // and a planned identity's own centre never chosen; read back and restored exactly.
  TEST_CASE_TEMPLATE("running centres on the device: hand-computed means, fallback, ties, restore", D, TSGAN_TEST_DEVICES) {
    TSGAN_SKIP_UNAVAILABLE(D);
    using Loss = losses::DualTripletLoss<double, 2, D>;
    auto rows = [](std::initializer_list<double> v) {
      Tensor<double, Shape<2, 2>> t;
      index_t i = 0;
      for (double x : v) t[i++] = x;
      return t.template to<D>();
    };
    auto host = [](const Tensor<double, Shape<2, 2>, D>& t) { return test::to_host(t).clone(); };
    Loss dtl(losses::Negatives::running_centres, 0.5);
    // No centres yet: each item's roll partner.
    const auto first = rows({3, 4, 0, 2});
    dtl.plan(std::array<std::int64_t, 2>{9, 4}, false);
    auto n0 = host(dtl.negatives(first));
    CHECK((n0(0, 0) == 0 && n0(0, 1) == 2 && n0(1, 0) == 3 && n0(1, 1) == 4));
    CHECK(dtl.centres().empty());  // a plan without updates hands out no slots
    // Identity 9 twice: (3, 4) → (0.6, 0.8) starts the centre, then (0, 2) → (0, 1) moves it half way.
    dtl.plan(std::array<std::int64_t, 2>{9, 9}, true);
    dtl.update_centres(first);
    auto c = dtl.centres();
    REQUIRE(c.size() == 1);
    const double x9 = 0.5 * 0.6 + 0.5 * 0.0, y9 = 0.5 * 0.8 + 0.5 * 1.0;
    CHECK(c[9] == std::vector<double>{x9, y9});
    // A batch of one identity has no roll partner: refused while fewer than two centres exist.
    CHECK_THROWS_WITH_AS(dtl.negatives(first), doctest::Contains("two identities"), Error);
    // One centre: still the roll partner (the other item of another identity).
    const auto second = rows({-1, 0, 5, 0});
    dtl.plan(std::array<std::int64_t, 2>{4, 9}, true);
    auto n1 = host(dtl.negatives(second));
    CHECK((n1(0, 0) == 5 && n1(1, 0) == -1));
    dtl.update_centres(second);  // 4 starts at (−1, 0); 9 moves half way to (1, 0)
    c = dtl.centres();
    REQUIRE(c.size() == 2);
    CHECK(c[4] == std::vector<double>{-1, 0});
    const double x9b = 0.5 * x9 + 0.5 * 1.0, y9b = 0.5 * y9 + 0.5 * 0.0;
    CHECK(c[9] == std::vector<double>{x9b, y9b});
    // Two centres: each item's negative is the other identity's centre, never its own.
    auto n2 = host(dtl.negatives(second));
    CHECK((n2(0, 0) == x9b && n2(0, 1) == y9b && n2(1, 0) == -1 && n2(1, 1) == 0));
    // Ties: (0, 1) is as far from 7's (1, 0) as from 2's (−1, 0); 2 wins although 7 has the first
    // row of the table, and 5's own centre (0, 1), at distance 0, is skipped.
    Loss ties(losses::Negatives::running_centres, 0.5);
    ties.plan(std::array<std::int64_t, 2>{7, 2}, true);
    ties.update_centres(rows({1, 0, -1, 0}));
    ties.plan(std::array<std::int64_t, 2>{5, 7}, true);
    ties.update_centres(rows({0, 1, 1, 0}));
    auto n3 = host(ties.negatives(rows({0, 1, 0, -1})));
    CHECK((n3(0, 0) == -1 && n3(0, 1) == 0));
    CHECK((n3(1, 0) == -1 && n3(1, 1) == 0));  // (0, −1): 2 at 2, 5 at 4; 7 is its own
    Loss restored(losses::Negatives::running_centres, 0.5);
    restored.set_centres(dtl.centres());
    CHECK(restored.centres() == dtl.centres());
    restored.plan(std::array<std::int64_t, 2>{4, 9}, true);
    auto n4 = host(restored.negatives(second));
    CHECK(std::equal(n4.data(), n4.data() + 4, n2.data()));
  }
}
