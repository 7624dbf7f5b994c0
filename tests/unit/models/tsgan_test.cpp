// TSGAN<config::Tiny> and variants of it on the CPU: the step's reported terms, running-centre
// negatives, checkpoints of another configuration or damaged ones refused, generators files, and
// learning on real face pairs. What TSGAN<config::Tiny> does on every device (one training step,
// inference, checkpoints, agreement with the CPU) is in tsgan_device_test.cpp; the pretrained
// networks (the recognizer as φ, the released model) in tsgan_pretrained_test.cpp, which keeps
// this file light enough for the sanitized binary.
#include <doctest/doctest.h>

#include <algorithm>
#include <cmath>
#include <map>
#include <optional>
#include <string>

#include "model_fixtures.hpp"
#include "support.hpp"
#include "tsgan/data/loader.hpp"
#include "tsgan/models/tsgan.hpp"

using namespace tsgan;
using test::snapshot;
using test::synthetic_batch;

namespace {
using Model = TSGAN<config::Tiny>;
using Tiny = config::Tiny;

struct Narrower : config::Tiny {
  static constexpr index_t generator_width = 4;
};
struct WithCentres : config::Tiny {
  static constexpr losses::Negatives negatives = losses::Negatives::running_centres;
};
}  // namespace

TEST_SUITE("models.tsgan") {
  TEST_CASE("the paper configuration's attention levels") {
    static_assert(TSGAN<config::Paper>::attends(1) && TSGAN<config::Paper>::attends(3) && !TSGAN<config::Paper>::attends(4));
    static_assert(!TSGAN<config::Paper>::attends(0) && !TSGAN<config::Paper>::attends(5));
    CHECK(TSGAN<config::Paper>::DeocclusionSpec::side(1) == 32);
  }

  TEST_CASE("the step reports each stage's terms, d⁺ and d⁻, and snapshots a fixed batch for grids") {
    Model model(12);
    const auto batch = synthetic_batch(13);
    const auto l = model.train_step(batch);
    const StageLosses &d = l.deocclusion, &f = l.frontalization;
    CHECK(l.pixel == d.pixel + f.pixel);
    CHECK(l.identity == d.identity + f.identity);
    CHECK(l.dual_triplet == d.dual_triplet + f.dual_triplet);
    CHECK(l.adversarial == d.adversarial + f.adversarial);
    CHECK(l.total_variation == d.total_variation + f.total_variation);
    CHECK((d.symmetry == 0 && f.symmetry == l.symmetry && l.symmetry > 0));
    for (const StageLosses* s : {&d, &f}) {
      CHECK((s->pixel > 0 && s->identity > 0 && s->positive_distance > 0 && s->negative_distance > 0));
      // softplus is convex: the mean of softplus(d⁺ − d⁻) is at least softplus of the means.
      CHECK(s->dual_triplet >= std::log1p(std::exp(s->positive_distance - s->negative_distance)) - 1e-6);
    }
    std::map<std::string, double> named;
    for (const auto& [name, value] : l.terms()) CHECK_MESSAGE(named.emplace(name, value).second, name);
    CHECK(named.at("L_pix_d") == d.pixel);
    CHECK(named.at("L_pix_f") == f.pixel);
    CHECK(named.at("d_pos_d") == d.positive_distance);
    CHECK(named.at("d_neg_f") == f.negative_distance);
    CHECK(named.at("L_G") == l.generator);

    const auto shot = model.snapshot(batch);
    const auto again = model.snapshot(batch);
    const auto r = model.restore(Tensor<float, Shape<4, 3, 32, 32>>(batch.profile * (1.f - batch.mask)), batch.mask);
    CHECK(std::equal(shot.profile.data(), shot.profile.data() + shot.profile.size, batch.profile.data()));
    CHECK(std::equal(shot.target.data(), shot.target.data() + shot.target.size, batch.frontal.data()));
    CHECK(std::equal(shot.frontal.data(), shot.frontal.data() + shot.frontal.size, r.frontal.data()));
    CHECK(std::equal(shot.deoccluded.data(), shot.deoccluded.data() + shot.deoccluded.size, again.deoccluded.data()));
    CHECK(model.step() == 1);  // a snapshot is not a step
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

  TEST_CASE("a generators file restores as its checkpoint does: F32 exactly, F16 to half's rounding") {
    Model trained(3);
    trained.train_step(synthetic_batch<Tiny>(40));  // batch-norm statistics and weights away from init
    test::TempDir dir;
    trained.save(dir.path() / "full.safetensors");
    trained.save_generators(dir.path() / "g32.safetensors", io::safetensors::Dtype::F32, {{"tsgan.note", "test"}});
    trained.save_generators(dir.path() / "g16.safetensors", io::safetensors::Dtype::F16);
    const auto batch = synthetic_batch<Tiny>(41);
    const auto want = trained.restore(batch.profile, batch.mask);

    const io::safetensors::Reader file(dir.path() / "g32.safetensors");
    CHECK(file.metadata("tsgan.note") == std::optional<std::string>("test"));
    for (const auto& name : file.names()) CHECK((name.starts_with("gd.") || name.starts_with("gf.")));
    CHECK(file.contains("gd.encoder.0.conv.weight"));
    CHECK(std::filesystem::file_size(dir.path() / "g16.safetensors") < std::filesystem::file_size(dir.path() / "g32.safetensors"));

    auto max_difference = [&](const std::filesystem::path& path) {
      Model fresh(4);  // other weights until loaded
      fresh.load_generators(path);
      const auto got = fresh.restore(batch.profile, batch.mask);
      double worst = 0;
      for (index_t i = 0; i < got.frontal.size; ++i) {
        worst = std::max(worst, std::abs(double(got.frontal.data()[i]) - want.frontal.data()[i]));
        worst = std::max(worst, std::abs(double(got.deoccluded.data()[i]) - want.deoccluded.data()[i]));
      }
      return worst;
    };
    CHECK(max_difference(dir.path() / "g32.safetensors") == 0);
    CHECK(max_difference(dir.path() / "full.safetensors") == 0);  // a training checkpoint's generators
    const double f16 = max_difference(dir.path() / "g16.safetensors");
    CHECK(f16 > 0);
    CHECK(f16 < 2e-2);  // weights rounded to 11 significant bits; outputs in [0, 1]

    TSGAN<Narrower> other(5);
    try {
      other.load_generators(dir.path() / "g32.safetensors");
      FAIL("a generators file of another configuration must be refused");
    } catch (const IoError& e) {
      CHECK(std::string(e.what()).find("another configuration") != std::string::npos);
    }
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
