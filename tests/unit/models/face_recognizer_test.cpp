// The face recognizer (dlib's ResNet from face-api's TF.js weights): the golden descriptor of the
// spec (§2.7, computed by tfjs 4.22) to 1e-5, the host and Var preprocessing against each other,
// the loader's checks, a gradient check through the whole network in double precision, and face
// verification on LFW's first fold. Tests that need the models or the shared data skip themselves
// with a message when those are absent.
#include "tsgan/models/face_recognizer.hpp"

#include <doctest/doctest.h>
#include <fmt/format.h>

#include <algorithm>
#include <array>
#include <chrono>
#include <cmath>
#include <cstdint>
#include <filesystem>
#include <fstream>
#include <map>
#include <sstream>
#include <string>
#include <vector>

#include "face_fixtures.hpp"
#include "support.hpp"
#include "tsgan/align/warp.hpp"
#include "tsgan/io/image.hpp"
#include "tsgan/models/recognizer_chip.hpp"

using namespace tsgan;
using models::FaceRecognizer;
namespace face = tsgan::models::face;
namespace fs = std::filesystem;

namespace {

constexpr index_t S = face::input_size;

// tfjs 4.22 CPU output for pixel(y, x, c) = (3x + 5y + 7c) mod 256 (face-models.md §2.7).
constexpr std::array<double, 128> golden = {
    -0.053252, 0.099460,  0.069715,  -0.041478, -0.068273, -0.066222, -0.081219, -0.013668,
    0.096757,  -0.033202, 0.237896,  -0.014915, -0.253778, -0.049717, -0.008833, 0.080883,
    -0.152013, -0.053119, -0.131154, -0.120074, 0.067639,  -0.018016, 0.001866,  0.025101,
    -0.136682, -0.289812, -0.099256, -0.096746, 0.066727,  -0.155365, -0.000230, 0.017452,
    -0.176296, -0.038380, -0.009520, 0.032937,  -0.041984, -0.108339, 0.170966,  -0.046081,
    -0.140606, -0.020655, 0.018939,  0.233541,  0.223019,  0.046487,  0.032059,  -0.056878,
    0.055880,  -0.262657, 0.024794,  0.218495,  0.039197,  0.130437,  0.073933,  -0.168746,
    0.025249,  0.116759,  -0.095204, 0.025669,  -0.003414, -0.100433, -0.026733, -0.133193,
    0.192253,  0.072578,  -0.122045, -0.129689, 0.120953,  -0.171097, -0.038624, 0.093406,
    -0.131052, -0.186293, -0.262159, 0.094823,  0.386081,  0.211884,  -0.178763, 0.025209,
    -0.110721, -0.065859, 0.023733,  0.053615,  -0.091345, -0.003164, -0.084007, 0.085662,
    0.202199,  -0.072744, 0.039662,  0.201592,  -0.032468, 0.036109,  -0.017157, 0.003535,
    -0.129444, 0.015798,  -0.060646, 0.009869,  0.115248,  -0.137412, 0.012924,  0.125349,
    -0.159470, 0.113178,  -0.009111, -0.042180, 0.005685,  0.006696,  -0.080148, -0.052239,
    0.205651,  -0.216094, 0.229274,  0.244360,  0.052282,  0.125455,  0.086013,  0.137651,
    -0.036053, -0.039210, -0.140073, -0.034504, 0.015117,  -0.006575, -0.010076, -0.025255};

// An 8-bit image as a [1, 3, H, W] tensor in [0, 1].
template <index_t H, index_t W, class T = float>
Tensor<T, Shape<1, 3, H, W>> unit_tensor(const io::Image& im) {
  Tensor<T, Shape<1, 3, H, W>> t(uninitialized);
  for (index_t c = 0; c < 3; ++c)
    for (index_t y = 0; y < H; ++y)
      for (index_t x = 0; x < W; ++x) t(0, c, y, x) = static_cast<T>(im.at(int(y), int(x), int(c))) / T(255);
  return t;
}

template <class X>
double max_abs_diff_golden(const X& e) {
  double m = 0;
  for (index_t i = 0; i < 128; ++i) m = std::max(m, std::abs(static_cast<double>(e[i]) - golden[static_cast<std::size_t>(i)]));
  return m;
}

}  // namespace

TEST_CASE("face recognizer: preprocessing helpers (centred pad, LFW crop)") {
  CHECK(face::square_pad(0).before == 0);
  CHECK(face::square_pad(0).after == 0);
  CHECK(face::square_pad(3).before == 1);  // round(1.5) = 2 after, the rest before
  CHECK(face::square_pad(3).after == 2);
  CHECK(face::square_pad(4).before == 2);
  CHECK(face::square_pad(4).after == 2);

  const face::Crop lfw = face::center_crop(250, 250);
  CHECK(lfw.x == 62);
  CHECK(lfw.y == 62);
  CHECK(lfw.width == 126);
  CHECK(lfw.height == 126);
  const face::Crop wide = face::center_crop(100, 60);  // side round(30.24) = 30
  CHECK(wide.width == 30);
  CHECK(wide.height == 30);
  CHECK(wide.x == 35);
  CHECK(wide.y == 15);
}

TEST_CASE("face recognizer: host preprocessing at 150 is (byte - mean) / 255") {
  const io::Image im = test::spec_pattern(150, 150);
  const auto in = models::preprocess_face(im);
  for (index_t c = 0; c < 3; ++c)
    for (index_t y = 0; y < S; y += 7)
      for (index_t x = 0; x < S; x += 5) {
        const float want = (static_cast<float>(im.at(int(y), int(x), int(c))) - static_cast<float>(face::mean_rgb[c])) / 255.f;
        REQUIRE(in(c, y, x) == want);
      }
}

TEST_CASE("face recognizer: host preprocessing pads to a centred square and resizes by TF's legacy rule") {
  // A 5 x 2 (W x H) image: d = 3, so one zero row on top and two at the bottom; 5 -> 150 is 30x.
  io::Image im(5, 2, 3);
  for (int y = 0; y < 2; ++y)
    for (int x = 0; x < 5; ++x)
      for (int c = 0; c < 3; ++c) im.at(y, x, c) = static_cast<std::uint8_t>(10 + 40 * y + 7 * x + c);
  const auto in = models::preprocess_face<double>(im);
  auto value = [&](index_t c, index_t oy, index_t ox) { return in(c, oy, ox) * 255 + face::mean_rgb[c]; };
  // Output row r samples padded row r / 30; output rows 30..59 read padded row 1 = image row 0
  // blended with padded row 2 = image row 1 (weight (r - 30)/30).
  CHECK(value(0, 0, 0) == doctest::Approx(0.0).epsilon(1e-12));
  CHECK(value(1, 30, 0) == doctest::Approx(11.0));
  CHECK(value(1, 45, 0) == doctest::Approx(11.0 + 0.5 * 40));
  CHECK(value(2, 60, 60) == doctest::Approx(10 + 40 + 7 * 2 + 2));
  // Beyond the last pixel the TF rule clamps: rows 90..149 blend row 3 (zero) and row 4 (zero).
  CHECK(value(0, 120, 10) == doctest::Approx(0.0).epsilon(1e-12));
  // Columns: output column 45 samples padded column 1.5, between x = 1 and x = 2.
  CHECK(value(0, 30, 45) == doctest::Approx(10 + 7 * 1.5));
}

TEST_CASE("face recognizer: the differentiable preprocessing matches the host one") {
  // A non-square 9 x 6 image (W x H) through both paths: pad, resize 9 -> 150, normalise.
  io::Image im(9, 6, 3);
  for (int y = 0; y < 6; ++y)
    for (int x = 0; x < 9; ++x)
      for (int c = 0; c < 3; ++c) im.at(y, x, c) = static_cast<std::uint8_t>((31 * x + 17 * y + 90 * c) % 256);
  const auto host = models::preprocess_face<double>(im);
  Graph g;
  const auto dev = FaceRecognizer<double>::preprocess(g.input(unit_tensor<6, 9, double>(im)));
  test::check_all(dev.value(), [&](index_t i) { return host.data()[i]; }, 0, 1e-7, "preprocess");  // host rounds the resize to float, as tfjs

  // Its gradient, on a small square input.
  GradcheckOptions o;
  o.max_elements = 64;
  const auto x = test::random_tensor<double, Shape<1, 3, 7, 7>>(3, 0.0, 1.0);
  const auto r = gradcheck(o, [](auto& v) { return FaceRecognizer<double>::preprocess(v); }, x);
  CHECK_MESSAGE(r.ok, r.message);
}

// TSGAN can use it as its identity network φ, at any image size.
static_assert(models::IdentityNetwork<FaceRecognizer<float>, Var<float, Shape<4, 3, 128, 128>>>);
static_assert(models::IdentityNetwork<FaceRecognizer<double>, Var<double, Shape<1, 3, 32, 32>>>);

TEST_CASE("face recognizer: parameter names are the TF.js names, and the network is frozen") {
  FaceRecognizer<> net;  // zero weights
  std::vector<std::string> names;
  bool frozen = true;
  nn::for_each_parameter(net, [&](const std::string& name, auto& p) {
    names.push_back(name);
    frozen = frozen && !p.requires_grad();
  });
  CHECK(names.size() == 117);
  CHECK(frozen);
  CHECK(names.front() == "conv32_down.conv.weight");
  CHECK(names.back() == "fc");
  CHECK(FaceRecognizer<>::tfjs_name("conv64_down.conv1.conv.weight") == "conv64_down/conv1/conv/filters");
  CHECK(FaceRecognizer<>::tfjs_name("conv32_down.conv.bias") == "conv32_down/conv/bias");
  CHECK(FaceRecognizer<>::tfjs_name("conv256_2.conv2.scale.weight") == "conv256_2/conv2/scale/weights");
  CHECK(FaceRecognizer<>::tfjs_name("conv256_2.conv2.scale.bias") == "conv256_2/conv2/scale/biases");
  CHECK(FaceRecognizer<>::tfjs_name("fc") == "fc");
  CHECK(nn::parameter_count(net) == 5'614'592);  // 6,444,032 bytes: 276,480 float32 + the rest uint8
}

TEST_CASE("face recognizer: the golden descriptor (face-models.md §2.7) within 1e-5") {
  const auto dir = test::face_models_or_skip();
  if (!dir) return;
  FaceRecognizer<> net(*dir);
  CHECK(net.has_weights());
  CHECK_FALSE(FaceRecognizer<>().has_weights());  // what TSGAN refuses to train with
  const io::Image im = test::spec_pattern(150, 150);

  // The 8-bit host path (what tsgan-embed does).
  auto in = models::preprocess_face(im);
  const auto e = net.embed_preprocessed(std::move(in).reshape<FaceRecognizer<>::Input<1>>());
  const double host_diff = max_abs_diff_golden(e);
  MESSAGE(fmt::format("golden descriptor, 8-bit host preprocessing: max |diff| {:.3g}", host_diff));
  CHECK(host_diff < 1e-5);
  double norm = 0;
  for (index_t i = 0; i < 128; ++i) norm += double(e[i]) * e[i];
  CHECK(std::sqrt(norm) == doctest::Approx(1.353538).epsilon(1e-5));

  // The differentiable path from the same image in [0, 1].
  const auto v = net.embed(unit_tensor<150, 150>(im));
  const double var_diff = max_abs_diff_golden(v);
  MESSAGE(fmt::format("golden descriptor, [0, 1] image through the Var preprocessing: max |diff| {:.3g}", var_diff));
  CHECK(var_diff < 1e-5);

  // A batch gives every item the same descriptor as alone.
  Tensor<float, Shape<3, 3, S, S>> batch;
  const auto one = unit_tensor<150, 150>(im);
  for (index_t b = 0; b < 3; ++b) std::copy_n(one.data(), one.size, batch.data() + b * one.size);
  const auto eb = net.embed(batch);
  for (index_t b = 0; b < 3; ++b)
    for (index_t i = 0; i < 128; ++i) REQUIRE(eb(b, i) == doctest::Approx(v(0, i)).epsilon(1e-6).scale(1));
}

TEST_CASE("face recognizer: loading reports every problem and names the tensors") {
  const auto dir = test::face_models_or_skip();
  if (!dir) return;
  test::TempDir tmp;
  const fs::path manifest = io::face_model_manifest(*dir, io::face_recognition_model);
  fs::copy_file(*dir / "face_recognition_model.bin", tmp / "face_recognition_model.bin");
  nlohmann::json doc = nlohmann::json::parse(std::ifstream(manifest));
  for (auto& w : doc[0]["weights"]) {
    if (w["name"] == "fc") w["shape"] = {128, 256};                      // same bytes, wrong shape
    if (w["name"] == "conv128_1/conv2/scale/biases") w["name"] = "conv128_1/conv2/scale/bias";  // renamed
  }
  const fs::path broken = tmp / "face_recognition_model-weights_manifest.json";
  std::ofstream(broken) << doc.dump();

  FaceRecognizer<> net;
  test::check_io_error([&] { net.load(tmp.path()); }, broken,
                       {"3 problems loading the face recognizer",
                        "tensor 'fc' has shape [128, 256] in the manifest, [256, 128] expected (parameter 'fc')",
                        "missing tensor 'conv128_1/conv2/scale/biases' (parameter 'conv128_1.conv2.scale.bias', shape [128])",
                        "unexpected tensor 'conv128_1/conv2/scale/bias'"});
  // All or nothing: no parameter was written.
  bool zero = true;
  nn::for_each_parameter(net, [&](const std::string&, auto& p) {
    for (index_t i = 0; i < std::remove_cvref_t<decltype(p)>::shape::size; ++i) zero = zero && p.value()[i] == 0;
  });
  CHECK(zero);
}

TEST_CASE("face recognizer: gradients through the whole network reach the input (double precision)") {
  const auto dir = test::face_models_or_skip();
  if (!dir) return;
  FaceRecognizer<double> net(*dir);

  // Float and double agree on the golden image (a check of the double load).
  const auto e = net.embed_preprocessed(models::preprocess_face<double>(test::spec_pattern(150, 150)).reshape<FaceRecognizer<double>::Input<1>>());
  CHECK(max_abs_diff_golden(e) < 1e-5);

  // A small image (any size works: the preprocessing resizes to 150); a face-like range of values.
  const auto x = test::random_tensor<double, Shape<1, 3, 20, 20>>(7, 0.2, 0.8);
  GradcheckOptions o;
  o.max_elements = 24;
  o.atol = 1e-8;
  const auto r = gradcheck(o, [&](auto& v) { return net.features(v).embedding; }, x);
  CHECK_MESSAGE(r.ok, r.message);
  MESSAGE(fmt::format("gradcheck through the recognizer (embedding): max abs error {:.3g}", r.max_abs_error));
  o.max_elements = 8;
  const auto rm = gradcheck(o, [&](auto& v) { return net.features(v).feature_map; }, x);
  CHECK_MESSAGE(rm.ok, rm.message);

  // Frozen: a backward pass leaves the weights without gradients.
  Graph g;
  auto v = g.variable(x.clone());
  sum(net.features(v).embedding).backward();
  CHECK(v.has_grad());
  CHECK_FALSE(net.fc.has_grad());
  CHECK_FALSE(net.conv32_down.weight.has_grad());
}

TEST_CASE("face recognizer: LFW fold 1, fixed centre crop, threshold 0.6") {
  const auto dir = test::face_models_or_skip();
  if (!dir) return;
  const fs::path lfw = test::shared_data() / "faces" / "lfw-deepfunneled-view2";
  if (!fs::exists(lfw / "pairs.txt")) {
    MESSAGE("skipped: LFW is absent from ", lfw.string(), " (set TSGAN_SHARED_DATA)");
    return;
  }
  // pairs.txt: "10 300", then per fold 300 matched "name i j" and 300 mismatched "a i b j" lines.
  constexpr int per_kind = 300;
  std::ifstream in(lfw / "pairs.txt");
  int folds = 0, n = 0;
  in >> folds >> n;
  REQUIRE(n == per_kind);
  auto path = [&](const std::string& name, int i) {
    return lfw / "images" / name / fmt::format("{}_{:04d}.jpg", name, i);
  };
  std::vector<std::pair<fs::path, fs::path>> matched, mismatched;
  for (int k = 0; k < per_kind; ++k) {
    std::string name;
    int i = 0, j = 0;
    in >> name >> i >> j;
    matched.emplace_back(path(name, i), path(name, j));
  }
  for (int k = 0; k < per_kind; ++k) {
    std::string a, b;
    int i = 0, j = 0;
    in >> a >> i >> b >> j;
    mismatched.emplace_back(path(a, i), path(b, j));
  }
  REQUIRE(in);

  const auto start = std::chrono::steady_clock::now();
  std::map<fs::path, std::size_t> index;
  std::vector<Tensor<float, Shape<3, S, S>>> faces;
  for (const auto* list : {&matched, &mismatched})
    for (const auto& [a, b] : *list)
      for (const fs::path& p : {a, b})
        if (index.emplace(p, faces.size()).second) {
          const io::Image im = io::read_image(p);
          faces.push_back(models::preprocess_face(im, face::center_crop(im.width, im.height)));
        }
  FaceRecognizer<> net(*dir);
  const auto descriptors = net.embed_all<16>(faces);
  const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();

  int matched_ok = 0, mismatched_ok = 0;
  double matched_mean = 0, mismatched_mean = 0;
  for (const auto& [a, b] : matched) {
    const double d = models::face_distance(descriptors[index[a]], descriptors[index[b]]);
    matched_ok += d < face::same_person_threshold;
    matched_mean += d / per_kind;
  }
  for (const auto& [a, b] : mismatched) {
    const double d = models::face_distance(descriptors[index[a]], descriptors[index[b]]);
    mismatched_ok += d >= face::same_person_threshold;
    mismatched_mean += d / per_kind;
  }
  const double accuracy = double(matched_ok + mismatched_ok) / (2 * per_kind);
  MESSAGE(fmt::format("LFW fold 1 ({} matched + {} mismatched pairs, {} images, centre crop 126x126 at 62,62): "
                      "accuracy {:.1f}% at 0.6 (matched {}/{} below, mismatched {}/{} above; mean distance "
                      "{:.3f} matched, {:.3f} mismatched); {:.1f} s",
                      per_kind, per_kind, faces.size(), 100 * accuracy, matched_ok, per_kind, mismatched_ok,
                      per_kind, matched_mean, mismatched_mean, seconds));
  // face-models.md §2.5 measured 96.3% with this crop on 80 pairs; dlib reports 99.38% with its
  // own alignment. Three matched pairs of fold 1 are mislabelled in LFW itself.
  CHECK(accuracy >= 0.93);
  CHECK(matched_ok >= per_kind * 85 / 100);
  CHECK(mismatched_ok >= per_kind * 90 / 100);
}

TEST_CASE("face recognizer: the method's crop mapped to its chip (RecognizerChip) is the dlib chip") {
  using Chip = models::RecognizerChip<128>;
  const Chip chip;
  const align::Similarity& m = chip.chip_to_crop_map();
  MESSAGE(fmt::format("chip -> crop at 128: scale {:.6f}, rotation {:.2e} rad, shift ({:.4f}, {:.4f})", m.a, m.angle(),
                      m.tx, m.ty));
  CHECK(std::abs(m.angle()) < 1e-12);  // both templates upright: a scale and a shift
  CHECK(m.scale() == doctest::Approx(0.8497).epsilon(1e-3));
  // Nearly S/128 at other sizes; dlib's extraction rectangle adds a stretch of one pixel that does
  // not scale with the face (measured 0.2074 at 32 px against 0.2124).
  CHECK(models::RecognizerChip<32>().chip_to_crop_map().scale() == doctest::Approx(m.scale() / 4).epsilon(0.03));

  // A face (LFW's first image when the shared data is here, else the synthetic image) in the
  // method's crop, by the alignment's fallback (dlib's mean face in LFW's centre square).
  const fs::path lfw = test::shared_data() / "faces" / "lfw-deepfunneled-view2" / "images" / "Abel_Pacheco" / "Abel_Pacheco_0001.jpg";
  const io::Image image = fs::exists(lfw) ? io::to_rgb(io::read_image(lfw)) : test::spec_pattern(250, 250);
  const io::Image crop = align::warp(image, align::fallback_crop_to_image(align::FaceTemplate::tsgan(128), image.width, image.height), 128, 128);
  const io::Image dlib_chip = align::warp(image, align::fallback_crop_to_image(align::FaceTemplate::dlib(150), image.width, image.height), 150, 150);
  auto batch = [](const io::Image& im, auto shape) {
    using X = decltype(shape);
    const auto t = io::to_tensor<Shape<3, X::dims[1], X::dims[2]>>(im);
    Tensor<float, Shape<1, 3, X::dims[1], X::dims[2]>> out(uninitialized);
    std::copy_n(t.data(), t.size, out.data());
    return out;
  };
  Graph g;
  const auto mapped = chip(g.input(batch(crop, Shape<3, 128, 128>{}))).value().clone();

  // The op against align::warp of the crop by the same map (8-bit, so within half a grey level).
  const auto want = batch(align::warp(crop, m, 150, 150), Shape<3, 150, 150>{});
  double worst = 0;
  for (index_t i = 0; i < want.size; ++i) worst = std::max(worst, double(std::abs(mapped[i] - want[i])));
  MESSAGE("RecognizerChip vs align::warp: largest difference " << worst * 255 << " grey levels");
  CHECK(worst <= 0.5 / 255 + 1e-6);

  // The descriptors: the mapped crop against the chip cut from the image directly, and the plain
  // resize of the crop (what φ saw before) for comparison.
  const auto dir = test::face_models_or_skip();
  if (!dir) return;
  FaceRecognizer<> net(*dir);
  const auto direct = net.embed(batch(dlib_chip, Shape<3, 150, 150>{}));
  const auto via_map = net.embed(mapped);
  const auto via_resize = net.embed(batch(crop, Shape<3, 128, 128>{}));
  auto distance = [](const auto& a, const auto& b) {
    double d = 0;
    for (index_t i = 0; i < a.size; ++i) d += (double(a[i]) - b[i]) * (double(a[i]) - b[i]);
    return std::sqrt(d);
  };
  const double d_map = distance(via_map, direct), d_resize = distance(via_resize, direct);
  MESSAGE("descriptor distance to the dlib chip's: mapped " << d_map << ", plain resize " << d_resize
                                                           << " (same person below 0.6)");
  CHECK(d_map < 0.05);  // measured 0.039 (plain resize 0.086)
  CHECK(d_map < d_resize);
}
