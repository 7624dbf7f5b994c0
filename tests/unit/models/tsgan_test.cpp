// TSGAN on the CPU: other configurations (running-centre negatives, a refused checkpoint of another
// configuration) and learning on real faces. What TSGAN<config::Tiny> does on every device (one
// training step, inference, checkpoints, agreement with the CPU) is in tsgan_device_test.cpp.
#include <doctest/doctest.h>

#include <cstring>

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
