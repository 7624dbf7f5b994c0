// TSGAN<config::Tiny, D> on every device: what one training step updates (and what it must not),
// inference at any batch size, and checkpoints that resume a run exactly, also through the other
// device. Each case also builds the same model on the CPU from the same seed and compares: on the
// CPU the two must agree bit for bit (the CPU is deterministic); on the GPU the weights must still
// be the same bits (Philox draws), and what is computed from them must agree within the tolerances
// below. The cases on other configurations and on real faces are CPU-only, in tsgan_test.cpp;
// the recorded step (train_step_graph) is GPU-only.
#include <doctest/doctest.h>

#include <cstring>

#include "model_fixtures.hpp"
#include "support.hpp"
#include "tsgan/models/tsgan.hpp"

using namespace tsgan;
using test::snapshot;
using test::synthetic_batch;

namespace {
using Tiny = config::Tiny;
template <class D>
using Model = TSGAN<Tiny, D>;

// GPU against CPU, norm-wise (max |Δ| / max |value|). Float rounding is the only difference, so
// the GPU's distance from the CPU is at most the sum of the two devices' distances from the exact
// result. The CPU's was measured against the same model in double with the float model's weights,
// on these seeds and batches, with OpenBLAS's and with Eigen's products (worst of the two;
// tests/tools/tsgan_float_error.cpp, target tsgan_float_error, prints these numbers):
//   Î_d, Î_f in training mode 8.2e-7; D_d's logits 1.0e-5; running statistics 8.9e-8;
//   restore() (eval mode) 6.2e-8; L_Dd, L_Df 1.2e-7; the discriminators' Adam first moments
//   (their one update's gradients) 4.4e-5; the generator gradients of generator_gradients() 2.1e-5;
//   the loss terms of a step's second generator update 3.2e-5.
// Each tolerance is ten times that, rounded up. The generators' Adam moments after a step are not
// compared: Adam's first update moves every element by about ±lr whatever its gradient's size, so
// elements whose gradient is rounding noise move either way, and the second update's gradients
// then differed by 4.3e-2 between float and double (the sign-like first step amplifies noise).
constexpr double image_tol = 1e-5;
constexpr double logits_tol = 1e-4;
constexpr double statistics_tol = 1e-6;
constexpr double eval_tol = 1e-6;
constexpr double discriminator_loss_tol = 2e-6;
constexpr double discriminator_moment_tol = 5e-4;
constexpr double generator_gradient_tol = 3e-4;
constexpr double generator_loss_tol = 5e-4;
// For the same reason parameters after a step differ by at most about 2·lr per update: |m̂| ≤
// 1.0014·√v̂ in the second update (Cauchy-Schwarz on the bias-corrected averages), one update of
// the discriminators and two of the generators.
constexpr double step_bound = 2 * 2 * 1.0014 * Tiny::learning_rate;

// Every float buffer (batch-norm running statistics), in order, on the host.
template <class M>
std::vector<float> buffers(M& m) {
  std::vector<float> v;
  nn::for_each_buffer(m, [&](const std::string&, auto& b) {
    if constexpr (std::is_same_v<typename std::remove_cvref_t<decltype(b)>::value_type, float>) {
      const auto& h = test::to_host(b);
      v.insert(v.end(), h.data(), h.data() + std::remove_cvref_t<decltype(h)>::size);
    }
  });
  return v;
}
// An optimizer's state: its first moments, second moments and step counts, on the host.
struct AdamState {
  std::vector<float> exp_avg, exp_avg_sq;
  std::vector<std::int64_t> steps;
};
template <class D>
AdamState adam_state(optim::Adam<float, D>& opt) {
  AdamState s;
  opt.for_each_state([&](const std::string&, std::int64_t& step, float* m, float* v, index_t n) {
    const std::size_t at = s.exp_avg.size();
    s.exp_avg.resize(at + static_cast<std::size_t>(n));
    s.exp_avg_sq.resize(at + static_cast<std::size_t>(n));
    copy_to_host<D>(s.exp_avg.data() + at, m, n);
    copy_to_host<D>(s.exp_avg_sq.data() + at, v, n);
    s.steps.push_back(step);
  });
  return s;
}
template <class D>
std::array<AdamState, 4> adam_states(Model<D>& m) {
  return {adam_state(m.optimizer_gd()), adam_state(m.optimizer_dd()), adam_state(m.optimizer_gf()),
          adam_state(m.optimizer_df())};
}

bool same_bits(const std::vector<float>& a, const std::vector<float>& b) {
  return a.size() == b.size() && std::memcmp(a.data(), b.data(), a.size() * sizeof(float)) == 0;
}

double relative_error(const std::vector<float>& got, const std::vector<float>& want) {
  double worst = 0, largest = 0;
  for (std::size_t i = 0; i < want.size(); ++i) {
    worst = std::max(worst, std::abs(double(got[i]) - double(want[i])));
    largest = std::max(largest, std::abs(double(want[i])));
  }
  return worst / std::max(largest, 1e-30);
}
double max_difference(const std::vector<float>& got, const std::vector<float>& want) {
  double worst = 0;
  for (std::size_t i = 0; i < want.size(); ++i) worst = std::max(worst, std::abs(double(got[i]) - double(want[i])));
  return worst;
}

// Device D's values against the CPU's: the same bits on the CPU, within `tol` norm-wise on a GPU.
template <class D>
void check_agrees(const std::vector<float>& got, const std::vector<float>& want, double tol, const std::string& what) {
  REQUIRE_MESSAGE(got.size() == want.size(), what);
  if constexpr (test::is_gpu<D>) {
    const double e = relative_error(got, want);
    CHECK_MESSAGE(e <= tol, what << ": max |GPU − CPU| / max |CPU| = " << e << " > " << tol);
  } else {
    CHECK_MESSAGE(same_bits(got, want), what << ": two CPU models made from the same seed differ");
  }
}
template <class D>
void check_agrees(double got, double want, double tol, const std::string& what) {
  if constexpr (test::is_gpu<D>) CHECK_MESSAGE(std::abs(got - want) <= tol * std::abs(want), what << ": GPU " << got << ", CPU " << want);
  else CHECK_MESSAGE(got == want, what << ": " << got << " and " << want << " from two CPU models of the same seed");
}
// The generators' gradients of a loss that reaches them through every part of the model but the
// host-side negatives: both stages, mask attention, φ and D_f. On the model's device, as host
// values: gd's, then gf's.
template <class M>
std::array<std::vector<float>, 2> generator_gradients(M& m, const Batch<Tiny>& host_batch) {
  using Dv = typename M::device;
  const auto b = host_batch.template to<Dv>();
  auto& nets = m.networks();
  nn::zero_grad(nets.gd);
  nn::zero_grad(nets.gf);
  Graph g;
  auto profile = g.input(b.profile);
  auto frontal = g.input(b.frontal);
  auto mask = g.input(b.mask);
  auto occluded = g.input(Tensor<float, Shape<4, 3, 32, 32>, Dv>(b.profile * (1.f - b.mask)));
  auto d = m.deocclusion(occluded, mask);
  auto f = m.frontalization(d);
  auto loss = eval(losses::pixel_l1(d, profile) + losses::pixel_l1(f, frontal) + losses::symmetry(f) +
                   losses::total_variation_loss(f) +
                   losses::identity_loss(nets.phi.features(f), nets.phi.features(frontal)) +
                   losses::generator_adversarial_loss(nets.df(f), 0.9));
  loss.backward();
  std::array<std::vector<float>, 2> out;
  auto collect = [](std::vector<float>& v) {
    return [&v](const std::string&, auto& p) {
      const auto& h = test::to_host(p.grad());
      v.insert(v.end(), h.data(), h.data() + std::remove_cvref_t<decltype(h)>::size);
    };
  };
  nn::for_each_parameter(nets.gd, collect(out[0]));
  nn::for_each_parameter(nets.gf, collect(out[1]));
  return out;
}
template <class X>
std::vector<float> values(const X& x) {
  const auto& h = test::to_host(x);
  return std::vector<float>(h.data(), h.data() + X::size);
}
}  // namespace

TEST_SUITE("models.tsgan") {
  TEST_CASE_TEMPLATE("the same seed gives the same weights on every device; a forward pass agrees with the CPU's", D,
                     TSGAN_TEST_DEVICES) {
    TSGAN_SKIP_UNAVAILABLE(D);
    static_assert(Model<D>::DeocclusionSpec::levels == 5 && Model<D>::DeocclusionSpec::side(1) == 8);
    static_assert(Model<D>::attends(1) && Model<D>::attends(2) && !Model<D>::attends(0) && !Model<D>::attends(3));
    static_assert(Model<D>::embedding_size() == 64);  // TinyIdentity's
    Model<D> model(1);
    Model<cpu> ref(1);
    CHECK(same_bits(snapshot(model.networks()), snapshot(ref.networks())));
    CHECK(same_bits(buffers(model.networks()), buffers(ref.networks())));

    const auto b = synthetic_batch(2);
    const auto bd = b.template to<D>();
    Graph g, h;
    auto d = model.deocclusion(g.input(bd.profile), g.input(bd.mask));
    static_assert(std::is_same_v<decltype(d), Var<float, Shape<4, 3, 32, 32>, D>>);
    auto logits = model.networks().dd(d);
    static_assert(std::is_same_v<decltype(logits), Var<float, Shape<4, 1, 1, 1>, D>>);
    auto f = model.frontalization(d);
    const auto dh = values(d.value());
    for (float v : dh) REQUIRE((v >= 0.f && v <= 1.f));
    auto d_ref = ref.deocclusion(h.input(b.profile), h.input(b.mask));
    auto logits_ref = ref.networks().dd(d_ref);
    auto f_ref = ref.frontalization(d_ref);
    check_agrees<D>(dh, values(d_ref.value()), image_tol, "Î_d (training mode)");
    check_agrees<D>(values(logits.value()), values(logits_ref.value()), logits_tol, "D_d(Î_d)");
    check_agrees<D>(values(f.value()), values(f_ref.value()), image_tol, "Î_f (training mode)");
    // Batch statistics moved the running ones the same way.
    check_agrees<D>(buffers(model.networks()), buffers(ref.networks()), statistics_tol, "running statistics");

    // Inference: eval mode, running statistics.
    const auto r = model.restore(bd.profile, bd.mask);
    const auto r_ref = ref.restore(b.profile, b.mask);
    check_agrees<D>(values(r.deoccluded), values(r_ref.deoccluded), eval_tol, "restore: Î_d");
    check_agrees<D>(values(r.frontal), values(r_ref.frontal), eval_tol, "restore: Î_f");
  }

  TEST_CASE_TEMPLATE("one training step: every generator parameter gets a gradient, φ stays frozen, the CPU agrees", D,
                     TSGAN_TEST_DEVICES) {
    TSGAN_SKIP_UNAVAILABLE(D);
    Model<D> model(3);
    Model<cpu> ref(3);
    const auto phi_before = snapshot(model.networks().phi);
    const auto gd_before = snapshot(model.networks().gd);
    const auto batch = synthetic_batch(4);
    const auto losses = model.train_step(batch.template to<D>());
    const auto want = ref.train_step(batch);
    int without = 0;
    auto check = [&](const std::string& name, auto& p) {
      if (!p.has_grad()) {
        ++without;
        MESSAGE("no gradient: " << name);
      }
    };
    nn::for_each_parameter(model.networks().gd, check, "gd");
    nn::for_each_parameter(model.networks().gf, check, "gf");
    CHECK(without == 0);
    nn::for_each_parameter(model.networks().phi, [&](const std::string& name, auto& p) {
      CHECK_MESSAGE(!p.has_grad(), name);
      CHECK_MESSAGE(!p.requires_grad(), name);
    });
    CHECK(snapshot(model.networks().phi) == phi_before);
    CHECK(snapshot(model.networks().gd) != gd_before);
    // Every term is reported, finite and positive; L_G is their weighted sum.
    const double terms[] = {losses.d_deocclusion, losses.d_frontal, losses.adversarial,
                            losses.dual_triplet,  losses.identity,  losses.pixel,
                            losses.symmetry,      losses.total_variation, losses.generator};
    for (double v : terms) CHECK((std::isfinite(v) && v > 0));
    constexpr auto lw = config::loss_weights<Tiny>();  // the pixel sums' λ's scaled to 32 px
    const double weighted = lw.adversarial * losses.adversarial + lw.dual_triplet * losses.dual_triplet +
                            lw.identity * losses.identity + lw.pixel * losses.pixel + lw.symmetry * losses.symmetry +
                            lw.total_variation * losses.total_variation;
    CHECK(losses.generator == doctest::Approx(weighted).epsilon(1e-5));
    CHECK(model.step() == 1);

    // The CPU's step from the same weights and batch.
    check_agrees<D>(losses.d_deocclusion, want.d_deocclusion, discriminator_loss_tol, "L_Dd");
    check_agrees<D>(losses.d_frontal, want.d_frontal, discriminator_loss_tol, "L_Df");
    check_agrees<D>(losses.adversarial, want.adversarial, generator_loss_tol, "L_adv");
    check_agrees<D>(losses.dual_triplet, want.dual_triplet, generator_loss_tol, "L_dtri");
    check_agrees<D>(losses.identity, want.identity, generator_loss_tol, "L_ip");
    check_agrees<D>(losses.pixel, want.pixel, generator_loss_tol, "L_pix");
    check_agrees<D>(losses.symmetry, want.symmetry, generator_loss_tol, "L_sym");
    check_agrees<D>(losses.total_variation, want.total_variation, generator_loss_tol, "L_tv");
    check_agrees<D>(losses.generator, want.generator, generator_loss_tol, "L_G");
    const auto states = adam_states(model);
    const auto states_ref = adam_states(ref);
    const char* nets[4] = {"gd", "dd", "gf", "df"};
    for (std::size_t i = 0; i < 4; ++i) CHECK_MESSAGE(states[i].steps == states_ref[i].steps, nets[i] << ": Adam's step counts");
    check_agrees<D>(states[1].exp_avg, states_ref[1].exp_avg, discriminator_moment_tol, "Adam exp_avg of dd");
    check_agrees<D>(states[3].exp_avg, states_ref[3].exp_avg, discriminator_moment_tol, "Adam exp_avg of df");
    const auto w = snapshot(model.networks());
    const auto w_ref = snapshot(ref.networks());
    const double apart = max_difference(w, w_ref);
    if constexpr (test::is_gpu<D>) CHECK(apart <= step_bound);
    else CHECK_MESSAGE(same_bits(w, w_ref), "parameters after the step differ by up to " << apart);
  }

  TEST_CASE_TEMPLATE("the generators' gradients through both stages, φ and a discriminator agree with the CPU's", D,
                     TSGAN_TEST_DEVICES) {
    TSGAN_SKIP_UNAVAILABLE(D);
    Model<D> model(3);
    Model<cpu> ref(3);
    const auto batch = synthetic_batch(4);
    const auto got = generator_gradients(model, batch);
    const auto want = generator_gradients(ref, batch);
    check_agrees<D>(got[0], want[0], generator_gradient_tol, "gradients of gd");
    check_agrees<D>(got[1], want[1], generator_gradient_tol, "gradients of gf");
    // They are real gradients: every generator parameter received one, and not all are zero.
    double largest = 0;
    for (float v : want[0]) largest = std::max(largest, double(std::abs(v)));
    CHECK(largest > 0);
  }

  TEST_CASE_TEMPLATE("inference runs at any batch size, in eval mode, without gradient", D, TSGAN_TEST_DEVICES) {
    TSGAN_SKIP_UNAVAILABLE(D);
    Model<D> model(5);
    const auto b = synthetic_batch(6);
    Tensor<float, Shape<1, 3, 32, 32>> one = b.profile.batch<1>(0);
    Tensor<float, Shape<1, 1, 32, 32>> mask = b.mask.batch<1>(0);
    auto r1 = model.restore(one.template to<D>(), mask.template to<D>());
    Tensor<float, Shape<3, 3, 32, 32>> three = b.profile.batch<3>(1);
    Tensor<float, Shape<3, 1, 32, 32>> masks = b.mask.batch<3>(1);
    auto r3 = model.restore(three.template to<D>(), masks.template to<D>());
    static_assert(std::is_same_v<decltype(r3.frontal), Tensor<float, Shape<3, 3, 32, 32>, D>>);
    for (float v : values(r1.frontal)) REQUIRE((v >= 0.f && v <= 1.f));
    // Eval mode uses running statistics: an item's output does not depend on the rest of the batch.
    Tensor<float, Shape<1, 3, 32, 32>> first = b.profile.batch<1>(1);
    Tensor<float, Shape<1, 1, 32, 32>> first_mask = b.mask.batch<1>(1);
    const auto alone = values(model.deocclude(first.template to<D>(), first_mask.template to<D>()));
    const auto together = values(r3.deoccluded);
    for (std::size_t i = 0; i < alone.size(); ++i) REQUIRE(alone[i] == doctest::Approx(together[i]).epsilon(1e-5));
  }

  TEST_CASE_TEMPLATE("a checkpoint resumes the run bit for bit, also after a round trip through the CPU", D,
                     TSGAN_TEST_DEVICES) {
    TSGAN_SKIP_UNAVAILABLE(D);
    Model<D> a(7);
    for (int s = 0; s < 2; ++s) a.train_step(synthetic_batch(10 + static_cast<std::uint64_t>(s)).template to<D>());
    a.rng().reserve(12);  // move the stream, so restoring it is checked too
    test::TempDir dir;
    const auto path = dir.path() / "checkpoint.safetensors";
    a.save(path);
    const auto saved = snapshot(a.networks());
    const auto saved_buffers = buffers(a.networks());
    const auto saved_adam = adam_states(a);
    const auto next = synthetic_batch(20).template to<D>();
    const auto la = a.train_step(next);

    Model<D> b(99);  // different initial weights, overwritten by the checkpoint
    b.load(path);
    CHECK(b.step() == 2);
    CHECK(b.rng().offset() == a.rng().offset());
    const auto lb = b.train_step(next);
    CHECK(lb.generator == la.generator);
    CHECK(lb.d_deocclusion == la.d_deocclusion);
    CHECK(lb.dual_triplet == la.dual_triplet);
    CHECK(same_bits(snapshot(a.networks()), snapshot(b.networks())));

    // The same file on the CPU holds exactly what the model had; saved again there and loaded back
    // on D, it continues like the original run.
    Model<cpu> c(98);
    c.load(path);
    CHECK(same_bits(snapshot(c.networks()), saved));
    CHECK(same_bits(buffers(c.networks()), saved_buffers));
    const auto c_adam = adam_states(c);
    for (std::size_t i = 0; i < 4; ++i) {
      CHECK(same_bits(c_adam[i].exp_avg, saved_adam[i].exp_avg));
      CHECK(same_bits(c_adam[i].exp_avg_sq, saved_adam[i].exp_avg_sq));
      CHECK(c_adam[i].steps == saved_adam[i].steps);
    }
    const auto round_trip = dir.path() / "round_trip.safetensors";
    c.save(round_trip);
    Model<D> e(97);
    e.load(round_trip);
    CHECK(e.step() == 2);
    const auto le = e.train_step(next);
    CHECK(le.generator == la.generator);
    CHECK(le.d_frontal == la.d_frontal);
    CHECK(same_bits(snapshot(e.networks()), snapshot(a.networks())));
    const auto ea = adam_states(e);
    const auto aa = adam_states(a);
    for (std::size_t i = 0; i < 4; ++i) {
      CHECK(same_bits(ea[i].exp_avg_sq, aa[i].exp_avg_sq));
      CHECK(ea[i].steps == aa[i].steps);
    }
  }
#if defined(__CUDACC__)
  // train_step_graph: the first call runs eagerly, the second records the step and runs the
  // recording, later calls replay it on new batches. Every step's losses, and after the last one
  // everything a checkpoint holds (weights, running statistics, batch-norm counters, Adam's
  // moments and step counts, the step), equal an eager run's bit for bit.
  TEST_CASE("a recorded and replayed training step equals the eager step bit for bit") {
    TSGAN_SKIP_UNAVAILABLE(cuda);
    Model<cuda> eager(21), recorded(21);
    for (std::uint64_t s = 0; s < 5; ++s) {
      const auto batch = synthetic_batch(40 + s).template to<cuda>();
      const auto want = eager.train_step(batch);
      const auto got = recorded.train_step_graph(batch);
      CHECK_MESSAGE(got.terms() == want.terms(), "step " << s);
      CHECK_MESSAGE(same_bits(snapshot(recorded.networks()), snapshot(eager.networks())), "step " << s);
    }
    CHECK(recorded.step() == 5);
    test::TempDir dir;
    eager.save(dir.path() / "eager.safetensors");
    recorded.save(dir.path() / "recorded.safetensors");
    CHECK(test::read_bytes(dir.path() / "recorded.safetensors") == test::read_bytes(dir.path() / "eager.safetensors"));
  }
#endif

}
