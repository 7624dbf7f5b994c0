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
    CHECK(at128.same < 0.8 * at128.different);  // measured 0.071 vs 0.117: grey, 64 x 60 faces
    CHECK(at64.same < 0.8 * at64.different);
    if (const auto lfw = lfw_separation<config::Small::image_size>(recognizer, 2)) {
      MESSAGE("FaceRecognizer on LFW folds 6-10 at 64 px: same " << lfw->same << ", different " << lfw->different);
      CHECK(lfw->same < 0.5 * lfw->different);
    }
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

  TEST_CASE("the released model fills the hole with the face, keeps the rest, and keeps who it is") {
    // models/tsgan-restore.safetensors on data/restore-demo's six clean CMU faces (people it never
    // saw), each with the both-eyes mask: Î_d equals the input outside the mask (composition), is
    // far closer to the hidden eyes than the black hole is, and with the face recognizer's weights
    // the restored face is nearer the clean one than the occluded face is.
    using Release = config::Release;
    constexpr index_t S = Release::image_size, N = 6;
    const auto root = std::filesystem::path(test::source_dir);
    std::vector<std::filesystem::path> files;
    for (const auto& e : std::filesystem::directory_iterator(root / "data" / "restore-demo" / "clean"))
      if (e.path().extension() == ".png") files.push_back(e.path());
    std::ranges::sort(files);
    REQUIRE(files.size() == N);
    Tensor<float, Shape<N, 3, S, S>> clean(uninitialized), occluded(uninitialized);
    Tensor<float, Shape<N, 1, S, S>> mask(uninitialized);
    const auto holes = data::fixed_occlusion(data::Occlusion::both_eyes, S, 7);
    for (index_t n = 0; n < N; ++n) {
      const auto face = data::load_face<S>(files[static_cast<std::size_t>(n)]);
      for (index_t p = 0; p < S * S; ++p) {
        mask.data()[n * S * S + p] = holes[static_cast<std::size_t>(p)];
        for (index_t c = 0; c < 3; ++c) {
          const float v = face.data()[c * S * S + p];
          clean.data()[(n * 3 + c) * S * S + p] = v;
          occluded.data()[(n * 3 + c) * S * S + p] = v * (1 - holes[static_cast<std::size_t>(p)]);
        }
      }
    }
    TSGAN<Release> model;
    model.load_generators(root / "models" / "tsgan-restore.safetensors");
    const auto r = model.restore(occluded, mask);
    double hole_black = 0, hole_restored = 0, outside = 0;
    for (index_t n = 0; n < N; ++n)
      for (index_t c = 0; c < 3; ++c)
        for (index_t p = 0; p < S * S; ++p) {
          const index_t i = (n * 3 + c) * S * S + p;
          if (holes[static_cast<std::size_t>(p)] > 0.5f) {
            hole_black += std::abs(clean.data()[i]);
            hole_restored += std::abs(double(r.deoccluded.data()[i]) - clean.data()[i]);
          } else {
            outside = std::max(outside, std::abs(double(r.deoccluded.data()[i]) - occluded.data()[i]));
          }
        }
    CHECK(outside < 1e-6);
    CHECK(hole_restored < 0.4 * hole_black);

    const auto models = io::face_models_dir();
    if (!models) {
      MESSAGE("skipped the identity check: no face recognizer weights (scripts/fetch-face-models.sh)");
      return;
    }
    models::FaceRecognizer<float> phi;
    phi.load(*models);
    const models::RecognizerChip<S> chip;
    auto embed = [&](const Tensor<float, Shape<N, 3, S, S>>& x) {
      NoGrad guard;
      Graph g;
      return phi.features(chip(g.input(x))).embedding.value().clone();
    };
    const auto e_clean = embed(clean), e_occluded = embed(occluded), e_restored = embed(r.deoccluded);
    constexpr index_t E = models::face::embedding_size;
    int closer = 0;
    for (index_t n = 0; n < N; ++n) {
      auto distance = [&](const auto& a, const auto& b) {
        double d = 0;
        for (index_t k = 0; k < E; ++k) d += std::pow(double(a.data()[n * E + k]) - b.data()[n * E + k], 2);
        return std::sqrt(d);
      };
      closer += distance(e_restored, e_clean) < distance(e_occluded, e_clean);
    }
    CHECK(closer >= 5);  // of 6
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
