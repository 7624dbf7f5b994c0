// TSGAN's configuration switches on the CPU: the λ rule for the pixel sums, the stage-wise
// schedule, the discriminator step without L_adv, one or two generator steps (what batch norm
// counts), the mask pooling of mask attention and the generators' output activation. Each test
// fails when its switch is ignored.
#include <doctest/doctest.h>

#include <algorithm>
#include <cmath>

#include "model_fixtures.hpp"
#include "support.hpp"
#include "tsgan/models/tsgan.hpp"

using namespace tsgan;
using test::snapshot;
using test::synthetic_batch;

namespace {
using Model = TSGAN<config::Tiny>;

struct KeepWeights : config::Tiny {
  static constexpr index_t lambda_reference_size = 32;
};
struct Stagewise : config::Tiny {
  static constexpr config::Schedule schedule = config::Schedule::stagewise;
  static constexpr std::int64_t deocclusion_steps = 1, frontalization_steps = 1;
};
struct NoAdversarial : config::Tiny {
  static constexpr double lambda_adv = 0;
};
struct NoAdversarialButD : NoAdversarial {
  static constexpr auto discriminator_step = config::DiscriminatorSteps::always;
};
struct AveragePooling : config::Tiny {
  static constexpr auto mask_pooling = config::MaskPooling::average;
};
struct MinPooling : config::Tiny {
  static constexpr auto mask_pooling = config::MaskPooling::min;
};
struct SigmoidOutput : config::Tiny {
  static constexpr auto output_activation = config::OutputActivation::sigmoid;
};
struct OneGeneratorStep : config::Tiny {
  static constexpr int generator_steps = 1;
};

// Every batch-norm buffer of m (running statistics and counts), in order, as doubles.
template <class M>
std::vector<double> buffers(M& m) {
  std::vector<double> v;
  nn::for_each_buffer(m, [&](const std::string&, const auto& b) {
    const auto& h = test::to_host(b);
    for (index_t i = 0; i < std::remove_cvref_t<decltype(h)>::size; ++i) v.push_back(static_cast<double>(h[i]));
  });
  return v;
}

// Every generator parameter, batch-norm statistics excluded: what an optimizer step changes.
template <class M>
bool unchanged(M& m, const std::vector<float>& before) {
  return snapshot(m) == before;
}

}  // namespace

TEST_SUITE("models.tsgan") {
  TEST_CASE("the pixel-sum terms' weights scale with (128 / image_size)², unless a config keeps them") {
    constexpr auto paper = config::loss_weights<config::Paper>();
    constexpr auto small = config::loss_weights<config::Small>();
    constexpr auto tiny = config::loss_weights<config::Tiny>();
    constexpr auto kept = config::loss_weights<KeepWeights>();
    CHECK(paper.pixel == 1);
    CHECK(paper.symmetry == doctest::Approx(0.3));
    CHECK(paper.total_variation == doctest::Approx(1e-3));
    CHECK(small.pixel == 4);
    CHECK(small.symmetry == doctest::Approx(1.2));
    CHECK(small.total_variation == doctest::Approx(4e-3));
    CHECK(tiny.pixel == 16);
    CHECK(tiny.symmetry == doctest::Approx(4.8));
    CHECK(tiny.total_variation == doctest::Approx(1.6e-2));
    CHECK(kept.pixel == 1);
    CHECK(kept.symmetry == doctest::Approx(0.3));
    CHECK(kept.total_variation == doctest::Approx(1e-3));
    for (const auto& w : {paper, small, tiny, kept}) {  // the mean-normalised terms do not scale
      CHECK(w.adversarial == 20);
      CHECK(w.dual_triplet == 4);
      CHECK(w.identity == 40);
    }
    // The step's L_G uses them.
    Model model(5);
    const auto l = model.train_step(synthetic_batch(6));
    const double want = tiny.adversarial * l.adversarial + tiny.dual_triplet * l.dual_triplet + tiny.identity * l.identity +
                        tiny.pixel * l.pixel + tiny.symmetry * l.symmetry + tiny.total_variation * l.total_variation;
    CHECK(l.generator == doctest::Approx(want).epsilon(1e-5));
  }

  // Also what the step reports: the terms are written into one device buffer during the step and
  // read after it, so each step must report its own terms only (a term of a stage not trained is 0,
  // not the previous step's value) and each in its own field (L_G, summed in the step, is the
  // weighted sum of the fields read back).
  TEST_CASE("stage-wise schedule: G_d alone, then G_f alone, then both") {
    TSGAN<Stagewise> model(4);
    constexpr auto lw = config::loss_weights<Stagewise>();
    auto weighted = [&](const StepLosses& r) {
      return lw.adversarial * r.adversarial + lw.dual_triplet * r.dual_triplet + lw.identity * r.identity +
             lw.pixel * r.pixel + lw.symmetry * r.symmetry + lw.total_variation * r.total_variation;
    };
    auto all_zero = [](const StageLosses& s) {
      return s.adversarial == 0 && s.dual_triplet == 0 && s.positive_distance == 0 && s.negative_distance == 0 &&
             s.identity == 0 && s.pixel == 0 && s.symmetry == 0 && s.total_variation == 0;
    };
    auto all_positive = [](const StageLosses& s, bool frontal) {
      return s.adversarial > 0 && s.dual_triplet > 0 && s.positive_distance > 0 && s.negative_distance > 0 &&
             s.identity > 0 && s.pixel > 0 && (s.symmetry > 0) == frontal && s.total_variation > 0;
    };
    auto& n = model.networks();
    auto gd = snapshot(n.gd), gf = snapshot(n.gf), dd = snapshot(n.dd), df = snapshot(n.df);
    const auto batch = synthetic_batch<Stagewise>(7);
    auto l = model.train_step(batch);
    CHECK(l.stage == config::Stage::deocclusion);
    CHECK(!unchanged(n.gd, gd));
    CHECK(unchanged(n.gf, gf));  // no update for G_f in stage 1
    CHECK(!unchanged(n.dd, dd));
    CHECK(unchanged(n.df, df));
    CHECK(l.deocclusion.pixel > 0);
    CHECK(l.frontalization.pixel == 0);
    CHECK(l.pixel == l.deocclusion.pixel);
    CHECK((all_positive(l.deocclusion, false) && l.d_deocclusion > 0 && all_zero(l.frontalization) && l.d_frontal == 0));
    CHECK(l.generator == doctest::Approx(weighted(l)).epsilon(1e-5));
    gd = snapshot(n.gd), gf = snapshot(n.gf), dd = snapshot(n.dd), df = snapshot(n.df);
    l = model.train_step(batch);
    CHECK(l.stage == config::Stage::frontalization);
    CHECK(unchanged(n.gd, gd));  // G_d frozen in stage 2
    CHECK(!unchanged(n.gf, gf));
    CHECK(unchanged(n.dd, dd));
    CHECK(!unchanged(n.df, df));
    CHECK(l.deocclusion.pixel == 0);
    CHECK(l.frontalization.pixel > 0);
    CHECK((all_positive(l.frontalization, true) && l.d_frontal > 0 && all_zero(l.deocclusion) && l.d_deocclusion == 0));
    CHECK(l.generator == doctest::Approx(weighted(l)).epsilon(1e-5));
    gd = snapshot(n.gd), gf = snapshot(n.gf);
    l = model.train_step(batch);
    CHECK(l.stage == config::Stage::joint);
    CHECK(!unchanged(n.gd, gd));
    CHECK(!unchanged(n.gf, gf));
    CHECK((l.deocclusion.pixel > 0 && l.frontalization.pixel > 0));
    CHECK((all_positive(l.deocclusion, false) && all_positive(l.frontalization, true)));
    CHECK((l.d_deocclusion > 0 && l.d_frontal > 0));
    CHECK(l.generator == doctest::Approx(weighted(l)).epsilon(1e-5));
  }

  TEST_CASE("lambda_adv = 0 runs no discriminator step unless asked") {
    TSGAN<NoAdversarial> model(4);
    const auto dd = snapshot(model.networks().dd), df = snapshot(model.networks().df);
    const auto l = model.train_step(synthetic_batch<NoAdversarial>(8));
    CHECK(unchanged(model.networks().dd, dd));
    CHECK(unchanged(model.networks().df, df));
    CHECK(l.d_deocclusion == 0);
    CHECK(l.adversarial == 0);
    TSGAN<NoAdversarialButD> asked(4);
    const auto l2 = asked.train_step(synthetic_batch<NoAdversarialButD>(8));
    CHECK(!unchanged(asked.networks().dd, dd));
    CHECK(!unchanged(asked.networks().df, df));
    CHECK(l2.d_deocclusion > 0);
    static_assert(config::runs_discriminators<config::Tiny>() && !config::runs_discriminators<NoAdversarial>());
  }

  // The discriminator step trains on the first generator step's Î_d and Î_f instead of running
  // G_d and G_f itself (TSGAN::run_step), so that one training-mode pass must move the generators'
  // running statistics as the two passes it replaces did.
  TEST_CASE("generator_steps 1 and 2: G's batch norm counts the pass the discriminator step shares as two") {
    const auto batch = synthetic_batch<OneGeneratorStep>(15);
    TSGAN<OneGeneratorStep> trained(14), twice(14), once(14);
    trained.train_step(batch);
    {
      NoGrad guard;  // as a discriminator step of its own ran G_d and G_f
      Graph g;
      const Tensor<float, Shape<4, 3, 32, 32>> occluded = batch.profile * (1.f - batch.mask);
      for (auto* m : {&twice, &twice, &once}) m->frontalization(m->deocclusion(g.input(occluded), g.input(batch.mask)));
    }
    auto& t = trained.networks();
    CHECK(buffers(t.gd) == buffers(twice.networks().gd));
    CHECK(buffers(t.gf) == buffers(twice.networks().gf));
    CHECK(buffers(t.gd) != buffers(once.networks().gd));
    CHECK(buffers(t.gf) != buffers(once.networks().gf));
    // Two generator steps: the shared pass, then the second step's; D_d and D_f saw the real and
    // the fake batch in the discriminator step and the fake one in each generator step.
    Model model(14);
    model.train_step(synthetic_batch(15));
    auto counts = [](auto& net) {
      std::vector<std::int64_t> c;
      nn::for_each_module(net, [&](auto& m) {
        if constexpr (requires { m.num_batches_tracked; }) c.push_back(m.num_batches_tracked[0]);
      });
      return c;
    };
    auto& n = model.networks();
    for (const auto& c : {counts(n.gd), counts(n.gf)}) CHECK(c == std::vector<std::int64_t>(c.size(), 3));
    for (const auto& c : {counts(n.dd), counts(n.df)}) CHECK(c == std::vector<std::int64_t>(c.size(), 4));
  }

  TEST_CASE("mask pooling max | average | min: the same on cell-aligned masks, different on ragged ones") {
    TSGAN<config::Tiny> with_max(6);
    TSGAN<AveragePooling> with_average(6);
    TSGAN<MinPooling> with_min(6);
    const auto b = synthetic_batch(9);
    const Tensor<float, Shape<4, 3, 32, 32>> occluded = b.profile * (1.f - b.mask);
    // Whole 8 × 8 blocks (the coarsest attention level pools 8 × 8 cells): all three agree.
    Tensor<float, Shape<4, 1, 32, 32>> blocks(0.f);
    for (index_t i = 0; i < 4; ++i)
      for (index_t y = 8 * i % 24; y < 8 * i % 24 + 8; ++y)
        for (index_t x = 8; x < 16; ++x) blocks(i, 0, y, x) = 1.f;
    const Tensor<float, Shape<4, 3, 32, 32>> blocked = b.profile * (1.f - blocks);
    const auto m = with_max.deocclude(blocked, blocks);
    const auto a = with_average.deocclude(blocked, blocks);
    const auto n = with_min.deocclude(blocked, blocks);
    CHECK(std::equal(m.data(), m.data() + m.size, a.data()));
    CHECK(std::equal(m.data(), m.data() + m.size, n.data()));
    // A random quarter of the pixels: every pooling sees another mask.
    const auto rm = with_max.deocclude(occluded, b.mask);
    const auto ra = with_average.deocclude(occluded, b.mask);
    const auto rn = with_min.deocclude(occluded, b.mask);
    CHECK(!std::equal(rm.data(), rm.data() + rm.size, ra.data()));
    CHECK(!std::equal(rm.data(), rm.data() + rm.size, rn.data()));
    CHECK(!std::equal(ra.data(), ra.data() + ra.size, rn.data()));
  }

  TEST_CASE("output activation: a sigmoid decoder gives σ(h) where tanh gives (tanh(h) + 1)/2 = σ(2h)") {
    TSGAN<config::Tiny> with_tanh(6);
    TSGAN<SigmoidOutput> with_sigmoid(6);
    const auto b = synthetic_batch(10);
    const Tensor<float, Shape<4, 3, 32, 32>> occluded = b.profile * (1.f - b.mask);
    const auto t = with_tanh.deocclude(occluded, b.mask);
    const auto s = with_sigmoid.deocclude(occluded, b.mask);
    auto logit = [](double p) { return std::log(p / (1 - p)); };
    double worst = 0;
    for (index_t i = 0; i < t.size; ++i) worst = std::max(worst, std::abs(logit(t[i]) - 2 * logit(s[i])));
    MESSAGE("largest |logit(tanh output) − 2·logit(sigmoid output)|: " << worst);
    CHECK(worst < 1e-3);
    CHECK(config::describe<SigmoidOutput>() != config::describe<config::Tiny>());  // checkpoints tell them apart
  }

}
