// TSGAN on the CPU: other configurations (running-centre negatives, a refused checkpoint of another
// configuration) and learning on real faces. What TSGAN<config::Tiny> does on every device (one
// training step, inference, checkpoints, agreement with the CPU) is in tsgan_device_test.cpp.
#include <doctest/doctest.h>

#include <cmath>
#include <cstring>
#include <map>
#include <optional>
#include <span>

#include "model_fixtures.hpp"
#include "support.hpp"
#include "tsgan/data/lfw.hpp"
#include "tsgan/data/loader.hpp"
#include "tsgan/models/face_recognizer.hpp"
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
struct WithRecognizer : config::Tiny {
  template <class T, class D>
  using identity_network = models::FaceRecognizer<T, D>;
};
struct WithRecognizerUnused : WithRecognizer {
  static constexpr double lambda_ip = 0, lambda_dtri = 0;
};
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

// d(x, y) = ‖x/‖x‖ − y/‖y‖‖², the dual triplet loss's distance, in double.
double unit_distance(std::span<const float> x, std::span<const float> y) {
  double nx = 0, ny = 0, d = 0;
  for (std::size_t i = 0; i < x.size(); ++i) nx += double(x[i]) * x[i], ny += double(y[i]) * y[i];
  for (std::size_t i = 0; i < x.size(); ++i) {
    const double e = x[i] / std::sqrt(nx) - y[i] / std::sqrt(ny);
    d += e * e;
  }
  return d;
}

// φ's embedding of one face [3, S, S] in [0, 1].
template <index_t S, class Phi>
std::vector<float> embedding_of(Phi& phi, const Tensor<float, Shape<3, S, S>>& face) {
  Tensor<float, Shape<1, 3, S, S>> x(uninitialized);
  std::copy_n(face.data(), face.size, x.data());
  NoGrad guard;
  Graph g;
  const auto e = phi.features(g.input(x)).embedding.value().clone();
  return std::vector<float>(e.data(), e.data() + e.size);
}

// LFW's fixed face crop (face::center_crop) of an image, at S × S.
template <index_t S>
Tensor<float, Shape<3, S, S>> lfw_face(const std::filesystem::path& path) {
  const io::Image im = io::to_rgb(io::read_image(path));
  const auto box = models::face::center_crop(im.width, im.height);
  io::Image crop(box.width, box.height, 3);
  for (int y = 0; y < box.height; ++y)
    for (int x = 0; x < box.width; ++x)
      for (int c = 0; c < 3; ++c) crop.at(y, x, c) = im.at(box.y + y, box.x + x, c);
  return io::to_tensor<Shape<3, S, S>>(io::resize(crop, static_cast<int>(S), static_cast<int>(S)));
}

struct Separation {
  double same = 0, different = 0;
};

// Mean distances between the demo's CMU faces (as the loader sizes them) of the same and of
// different people, over the first `per_person` images of each person in index.csv.
template <index_t S, class Phi>
Separation cmu_separation(Phi& phi, int per_person) {
  const auto folder = std::filesystem::path(test::source_dir) / "data" / "cmu-faces-demo";
  const auto index = data::FaceIndex::read(folder);
  std::vector<std::pair<std::string, std::vector<float>>> faces;
  std::map<std::string, int> taken;
  for (const auto& r : index.records()) {
    if (taken[r.identity] >= per_person) continue;
    ++taken[r.identity];
    faces.emplace_back(r.identity, embedding_of<S>(phi, data::load_face<S>(r.path)));
  }
  double same = 0, different = 0;
  int n_same = 0, n_different = 0;
  for (std::size_t i = 0; i < faces.size(); ++i)
    for (std::size_t j = i + 1; j < faces.size(); ++j) {
      const double d = unit_distance(faces[i].second, faces[j].second);
      if (faces[i].first == faces[j].first) same += d, ++n_same;
      else different += d, ++n_different;
    }
  REQUIRE((n_same > 0 && n_different > 0));
  return {same / n_same, different / n_different};
}

// Mean distances over LFW View 2 pairs of folds 6-10 (TinyIdentity never saw their people),
// `per_fold` matched and `per_fold` mismatched pairs per fold; nullopt without the shared copy.
template <index_t S, class Phi>
std::optional<Separation> lfw_separation(Phi& phi, int per_fold) {
  const auto root = test::shared_data() / "faces" / "lfw-deepfunneled-view2";
  if (!std::filesystem::exists(root / "pairs.txt")) return std::nullopt;
  const auto pairs = data::lfw::read_pairs(root / "pairs.txt");
  double same = 0, different = 0;
  int n_same = 0, n_different = 0;
  for (const auto& p : data::lfw::select(pairs, 10, per_fold)) {
    if (p.fold <= 5) continue;
    const double d = unit_distance(embedding_of<S>(phi, lfw_face<S>(data::lfw::image_path(root, p.first_name, p.first_number))),
                                   embedding_of<S>(phi, lfw_face<S>(data::lfw::image_path(root, p.second_name, p.second_number))));
    if (p.same) same += d, ++n_same;
    else different += d, ++n_different;
  }
  return Separation{same / n_same, different / n_different};
}

// Every generator parameter, batch-norm statistics excluded: what an optimizer step changes.
template <class M>
bool unchanged(M& m, const std::vector<float>& before) {
  return snapshot(m) == before;
}

}  // namespace

TEST_SUITE("models.tsgan") {
  TEST_CASE("the paper configuration's attention levels") {
    static_assert(TSGAN<config::Paper>::attends(1) && TSGAN<config::Paper>::attends(3) && !TSGAN<config::Paper>::attends(4));
    static_assert(!TSGAN<config::Paper>::attends(0) && !TSGAN<config::Paper>::attends(5));
    CHECK(TSGAN<config::Paper>::DeocclusionSpec::side(1) == 32);
  }

  TEST_CASE("a pretrained φ without weights stops training with the call that loads it") {
    TSGAN<WithRecognizer> model(1);
    CHECK_FALSE(model.networks().phi.has_weights());
    const auto before = snapshot(model.networks().gd);
    try {
      model.train_step(synthetic_batch<WithRecognizer>(2));
      FAIL("training with an unloaded recognizer must fail");
    } catch (const Error& e) {
      const std::string msg = e.what();
      CHECK(msg.find("no weights") != std::string::npos);
      CHECK(msg.find("model.networks().phi.load(models_dir)") != std::string::npos);
      CHECK(msg.find("model.load(path)") != std::string::npos);
    }
    CHECK(snapshot(model.networks().gd) == before);  // refused before anything moved
    CHECK(model.step() == 0);
    // Without L_ip and L_dtri φ is not used, so an unloaded one is no reason to stop.
    TSGAN<WithRecognizerUnused> unused(1);
    CHECK(unused.train_step(synthetic_batch<WithRecognizerUnused>(2)).identity == 0);
  }

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

  TEST_CASE("every config's φ puts the same person's faces closer than different people's") {
    // TinyIdentity (config::Tiny): all 283 demo faces, and LFW pairs it never saw in training.
    models::TinyIdentity<32> tiny;
    const Separation cmu = cmu_separation<32>(tiny, 1000);
    MESSAGE("TinyIdentity on the CMU demo faces: same " << cmu.same << ", different " << cmu.different);
    CHECK(cmu.same < 0.5 * cmu.different);
    if (const auto lfw = lfw_separation<32>(tiny, 100)) {
      MESSAGE("TinyIdentity on LFW folds 6-10: same " << lfw->same << ", different " << lfw->different);
      CHECK(lfw->same < 0.8 * lfw->different);
    } else {
      MESSAGE("skipped LFW: no shared copy under " << test::shared_data().string());
    }
    // FaceRecognizer (config::Paper at 128, config::Small at 64), when its weights are here.
    const auto dir = io::face_models_dir();
    if (!dir) {
      MESSAGE("skipped the recognizer: no face models (scripts/fetch-face-models.sh)");
      return;
    }
    models::FaceRecognizer<> recognizer(*dir);
    const Separation at128 = cmu_separation<config::Paper::image_size>(recognizer, 2);
    const Separation at64 = cmu_separation<config::Small::image_size>(recognizer, 2);
    MESSAGE("FaceRecognizer on CMU demo faces: same " << at128.same << " / " << at64.same << ", different "
                                                      << at128.different << " / " << at64.different << " (128 / 64 px)");
    CHECK(at128.same < 0.5 * at128.different);
    CHECK(at64.same < 0.5 * at64.different);
    if (const auto lfw = lfw_separation<config::Small::image_size>(recognizer, 2)) {
      MESSAGE("FaceRecognizer on LFW folds 6-10 at 64 px: same " << lfw->same << ", different " << lfw->different);
      CHECK(lfw->same < 0.5 * lfw->different);
    }
  }

  TEST_CASE("stage-wise schedule: G_d alone, then G_f alone, then both") {
    TSGAN<Stagewise> model(4);
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
    gd = snapshot(n.gd), gf = snapshot(n.gf), dd = snapshot(n.dd), df = snapshot(n.df);
    l = model.train_step(batch);
    CHECK(l.stage == config::Stage::frontalization);
    CHECK(unchanged(n.gd, gd));  // G_d frozen in stage 2
    CHECK(!unchanged(n.gf, gf));
    CHECK(unchanged(n.dd, dd));
    CHECK(!unchanged(n.df, df));
    CHECK(l.deocclusion.pixel == 0);
    CHECK(l.frontalization.pixel > 0);
    gd = snapshot(n.gd), gf = snapshot(n.gf);
    l = model.train_step(batch);
    CHECK(l.stage == config::Stage::joint);
    CHECK(!unchanged(n.gd, gd));
    CHECK(!unchanged(n.gf, gf));
    CHECK((l.deocclusion.pixel > 0 && l.frontalization.pixel > 0));
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
