// TSGAN<config::Tiny> on the CPU: shapes, what one training step updates (and what it must not),
// learning on real faces, inference at any batch size, and checkpoints that resume a run exactly.
#include <doctest/doctest.h>

#include <cstring>

#include "support.hpp"
#include "tsgan/data/loader.hpp"
#include "tsgan/models/tsgan.hpp"

using namespace tsgan;

namespace {
using Model = TSGAN<config::Tiny>;
using Tiny = config::Tiny;

struct Narrower : config::Tiny {
  static constexpr index_t generator_width = 4;
};
struct WithCentres : config::Tiny {
  static constexpr losses::Negatives negatives = losses::Negatives::running_centres;
};

template <class C = Tiny>
Batch<C> synthetic_batch(std::uint64_t seed) {
  random::Generator g(seed);
  Batch<C> b;
  b.profile = random::uniform<Shape<4, 3, 32, 32>>(g);
  b.frontal = random::uniform<Shape<4, 3, 32, 32>>(g);
  b.mask = random::bernoulli<Shape<4, 1, 32, 32>>(g, 0.25f);
  b.identity = {0, 1, 2, 0};
  return b;
}

template <class M>
std::vector<float> snapshot(M& m) {
  std::vector<float> v;
  nn::for_each_parameter(m, [&](const std::string&, auto& p) {
    v.insert(v.end(), p.value().data(), p.value().data() + std::remove_cvref_t<decltype(p)>::shape::size);
  });
  return v;
}
}  // namespace

TEST_SUITE("models.tsgan") {
  TEST_CASE("the configuration's shapes: U-Net levels, attention levels, discriminator maps") {
    static_assert(Model::DeocclusionSpec::levels == 5 && Model::DeocclusionSpec::side(1) == 8);
    static_assert(Model::attends(1) && Model::attends(2) && !Model::attends(0) && !Model::attends(3));
    static_assert(TSGAN<config::Paper>::attends(1) && TSGAN<config::Paper>::attends(3) && !TSGAN<config::Paper>::attends(4));
    static_assert(Model::embedding_size() == 16);
    Model model(1);
    const auto b = synthetic_batch(2);
    Graph g;
    auto d = model.deocclusion(g.input(b.profile), g.input(b.mask));
    static_assert(std::is_same_v<decltype(d), Var<float, Shape<4, 3, 32, 32>>>);
    auto logits = model.networks().dd(d);
    static_assert(std::is_same_v<decltype(logits), Var<float, Shape<4, 1, 1, 1>>>);
    for (index_t i = 0; i < d.size; ++i) REQUIRE((d.value()[i] >= 0.f && d.value()[i] <= 1.f));
  }

  TEST_CASE("one training step: every generator parameter gets a gradient; the identity network stays frozen") {
    Model model(3);
    const auto phi_before = snapshot(model.networks().phi);
    const auto gd_before = snapshot(model.networks().gd);
    const auto losses = model.train_step(synthetic_batch(4));
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
    for (double v : {losses.d_deocclusion, losses.d_frontal, losses.adversarial, losses.dual_triplet, losses.identity,
                     losses.pixel, losses.symmetry, losses.total_variation, losses.generator})
      CHECK((std::isfinite(v) && v > 0));
    const double weighted = Tiny::lambda_adv * losses.adversarial + Tiny::lambda_dtri * losses.dual_triplet +
                            Tiny::lambda_ip * losses.identity + Tiny::lambda_pix * losses.pixel +
                            Tiny::lambda_sym * losses.symmetry + Tiny::lambda_tv * losses.total_variation;
    CHECK(losses.generator == doctest::Approx(weighted).epsilon(1e-5));
    CHECK(model.step() == 1);
  }

  TEST_CASE("inference runs at any batch size, in eval mode, without gradient") {
    Model model(5);
    const auto b = synthetic_batch(6);
    Tensor<float, Shape<1, 3, 32, 32>> one = b.profile.batch<1>(0);
    Tensor<float, Shape<1, 1, 32, 32>> mask = b.mask.batch<1>(0);
    auto r1 = model.restore(one, mask);
    Tensor<float, Shape<3, 3, 32, 32>> three = b.profile.batch<3>(1);
    Tensor<float, Shape<3, 1, 32, 32>> masks = b.mask.batch<3>(1);
    auto r3 = model.restore(three, masks);
    static_assert(std::is_same_v<decltype(r3.frontal), Tensor<float, Shape<3, 3, 32, 32>>>);
    for (index_t i = 0; i < r1.frontal.size; ++i) REQUIRE((r1.frontal[i] >= 0.f && r1.frontal[i] <= 1.f));
    // Eval mode uses running statistics: an item's output does not depend on the rest of the batch.
    Tensor<float, Shape<1, 3, 32, 32>> first = b.profile.batch<1>(1);
    Tensor<float, Shape<1, 1, 32, 32>> first_mask = b.mask.batch<1>(1);
    auto alone = model.deocclude(first, first_mask);
    for (index_t i = 0; i < alone.size; ++i) REQUIRE(alone[i] == doctest::Approx(r3.deoccluded[i]).epsilon(1e-5));
  }

  TEST_CASE("a checkpoint resumes the run: the next step is bit-identical") {
    Model a(7);
    for (int s = 0; s < 2; ++s) a.train_step(synthetic_batch(10 + static_cast<std::uint64_t>(s)));
    a.rng().reserve(12);  // move the stream, so restoring it is checked too
    test::TempDir dir;
    const auto path = dir.path() / "checkpoint.safetensors";
    a.save(path);
    const auto next = synthetic_batch(20);
    const auto la = a.train_step(next);

    Model b(99);  // different initial weights, overwritten by the checkpoint
    b.load(path);
    CHECK(b.step() == 2);
    CHECK(b.rng().offset() == a.rng().offset());
    const auto lb = b.train_step(next);
    CHECK(lb.generator == la.generator);
    CHECK(lb.d_deocclusion == la.d_deocclusion);
    CHECK(lb.dual_triplet == la.dual_triplet);
    const auto wa = snapshot(a.networks()), wb = snapshot(b.networks());
    REQUIRE(wa.size() == wb.size());
    CHECK(std::memcmp(wa.data(), wb.data(), wa.size() * sizeof(float)) == 0);
  }

  TEST_CASE("running-centre negatives: one centre per identity seen, kept by checkpoints") {
    TSGAN<WithCentres> a(8);
    a.train_step(synthetic_batch<WithCentres>(30));  // identities 0, 1, 2
    CHECK(a.dual_triplet().centres().size() == 3);
    test::TempDir dir;
    a.save(dir.path() / "c.safetensors");
    TSGAN<WithCentres> b(9);
    b.load(dir.path() / "c.safetensors");
    CHECK(b.dual_triplet().centres() == a.dual_triplet().centres());
    const auto next = synthetic_batch<WithCentres>(31);
    CHECK(b.train_step(next).dual_triplet == a.train_step(next).dual_triplet);
  }

  TEST_CASE("a checkpoint of another configuration or a damaged one is refused with every reason") {
    TSGAN<Narrower> other(1);
    test::TempDir dir;
    const auto path = dir.path() / "other.safetensors";
    other.save(path);
    Model model(2);
    try {
      model.load(path);
      FAIL("loading another configuration must fail");
    } catch (const IoError& e) {
      const std::string msg = e.what();
      CHECK(msg.find("another configuration") != std::string::npos);
      CHECK(msg.find("gd.encoder.0.conv.weight") != std::string::npos);  // shapes differ by name
    }
    // A truncated file: a clear error, the model untouched.
    model.save(path);
    const auto before = snapshot(model.networks());
    auto bytes = test::read_bytes(path);
    bytes.resize(bytes.size() / 2);
    test::write_bytes(path, bytes);
    CHECK_THROWS_AS(model.load(path), IoError);
    CHECK(snapshot(model.networks()) == before);
  }

  TEST_CASE("200 steps on 8 real face pairs halve the pixel loss") {
    const auto folder = test::shared_data() / "faces" / "cmu-face-images-half";
    if (!std::filesystem::exists(folder / "index.csv")) {
      MESSAGE("skipped: no shared face data at " << folder.string());
      return;
    }
    const auto index = data::FaceIndex::read(folder);
    std::vector<std::string> warnings;
    std::vector<data::FacePair> chosen;
    std::map<std::int64_t, int> per_identity;
    for (const auto& p : index.pairs(warnings)) {  // left or right views → the forward view
      const auto& pose = index.records()[p.input].pose;
      if ((pose == "left" || pose == "right") && per_identity[p.identity] < 4 && chosen.size() < 8) {
        chosen.push_back(p);
        ++per_identity[p.identity];
      }
    }
    REQUIRE(chosen.size() == 8);
    const data::PairLoader<Tiny> loader(index, chosen);
    Model model(11);
    std::vector<double> pixel;
    for (int step = 0; step < 200; ++step) pixel.push_back(model.train_step(loader.next(model.rng())).pixel);
    const double first = (pixel[0] + pixel[1] + pixel[2]) / 3;
    double last = 0;
    for (int i = 190; i < 200; ++i) last += pixel[static_cast<std::size_t>(i)] / 10;
    MESSAGE("L_pix: first steps " << first << ", last ten " << last);
    CHECK(last <= 0.5 * first);
  }
}
