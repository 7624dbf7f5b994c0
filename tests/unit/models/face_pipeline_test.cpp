// The face detector (face-api's TinyFaceDetector) and the 68-point landmark net (FaceLandmark68Net)
// against face-api itself: raw outputs on the synthetic pattern of face-models.md §2.7, then
// boxes, scores and landmarks on real faces (tests/fixtures/face_api/, made by
// tools/face-api-crosscheck/pipeline.mjs); dlib's shape predictor against dlib itself
// (tests/fixtures/dlib_shape/, made by its make.sh); dlib's HOG frontal face detector and fhog
// features against dlib itself (tests/fixtures/dlib_hog/, made by its make.sh). Tests that need the models or the shared data
// skip themselves with a message when those are absent.
#include <doctest/doctest.h>
#include <fmt/format.h>

#include <algorithm>
#include <array>
#include <cmath>
#include <cstdint>
#include <filesystem>
#include <fstream>
#include <numeric>
#include <optional>
#include <string>
#include <vector>

#include "face_fixtures.hpp"
#include "support.hpp"
#include "tsgan/io/image.hpp"
#include "tsgan/models/face_landmarks.hpp"
#include "tsgan/models/fhog.hpp"
#include "tsgan/models/hog_face_detector.hpp"
#include "tsgan/models/shape_predictor.hpp"

#include <nlohmann/json.hpp>

using namespace tsgan;
using models::FaceBox;
using models::FaceDetector;
using models::FaceLandmarker;
namespace fs = std::filesystem;

namespace {

// face-api's outputs (tools/face-api-crosscheck/pipeline.mjs).
nlohmann::json fixture() {
  const fs::path path = fs::path(test::source_dir) / "tests" / "fixtures" / "face_api" / "pipeline.json";
  std::ifstream in(path);
  REQUIRE_MESSAGE(in, "cannot read " << path.string());
  return nlohmann::json::parse(in);
}

}  // namespace

TEST_CASE("face landmarks: raw fc output on the §2.7 pattern at 112 (face-models.md)") {
  const auto dir = test::face_models_or_skip();
  if (!dir) return;
  const FaceLandmarker<> landmarker(*dir);
  const io::Image im = test::spec_pattern(112, 112);
  const auto raw = landmarker.raw_output(im, {0, 0, 112, 112, 1});
  constexpr std::array<double, 8> first = {0.315692, 0.680026, 0.544090, 0.812861, 0.651294, 0.768957, 0.698484, 0.735686};
  for (std::size_t i = 0; i < first.size(); ++i) CHECK(std::abs(raw[i] - first[i]) < 1e-4);
  CHECK(std::abs(std::accumulate(raw.begin(), raw.end(), 0.0) - 82.141933) < 1e-3);
}

TEST_CASE("face detector: raw grid on the §2.7 pattern at 256 (face-models.md)") {
  const auto dir = test::face_models_or_skip();
  if (!dir) return;
  const FaceDetector<> detector(*dir);
  const io::Image im = test::spec_pattern(256, 256);
  const auto raw = detector.raw_output(im, 256);
  REQUIRE(raw.size() == 8 * 8 * 25);
  constexpr std::array<double, 8> first = {0.356809, 0.266972, 0.021588, -0.439947, -5.600064, 1.357270, -1.167262, -0.062522};
  for (std::size_t i = 0; i < first.size(); ++i) CHECK(std::abs(raw[i] - first[i]) < 1e-4);
  CHECK(std::abs(std::accumulate(raw.begin(), raw.end(), 0.0) - -3546.427685) < 1e-2);
}

TEST_CASE("face detector: TF 'same' 2x2 max pooling never takes the padded cell") {
  // All values negative: a zero pad would win the bottom row and right column.
  Graph g;
  Tensor<float, Shape<1, 1, 3, 3>> x;
  for (index_t i = 0; i < 9; ++i) x[i] = -1.0f - static_cast<float>(i);
  const auto y = models::face_detection::max_pool_same<2>(g.input(x));
  static_assert(std::is_same_v<typename std::remove_cvref_t<decltype(y)>::shape, Shape<1, 1, 2, 2>>);
  CHECK(y.value()(0, 0, 0, 0) == -1.0f);  // max of -1, -2, -4, -5
  CHECK(y.value()(0, 0, 0, 1) == -3.0f);  // -3, -6 and two padded cells
  CHECK(y.value()(0, 0, 1, 0) == -7.0f);  // -7, -8
  CHECK(y.value()(0, 0, 1, 1) == -9.0f);  // -9 alone
  const auto z = models::face_detection::max_pool_same<1>(g.input(x));
  static_assert(std::is_same_v<typename std::remove_cvref_t<decltype(z)>::shape, Shape<1, 1, 3, 3>>);
  CHECK(z.value()(0, 0, 2, 2) == -9.0f);
  CHECK(z.value()(0, 0, 1, 1) == -5.0f);
}

TEST_CASE("face detector: input pads at the bottom/right, the landmark net's is centred") {
  // A 3 wide, 1 tall grey image of value 200: the square is 3x3, no resize at size 3.
  io::Image im(3, 1, 1, 200);
  const double mean[3] = {100, 50, 0};
  std::vector<float> out(27);
  models::tfjs_face::network_input(im, {0, 0, 3, 1}, 3, models::tfjs_face::Placement::top_left, mean, out.data());
  for (index_t c = 0; c < 3; ++c)
    for (index_t y = 0; y < 3; ++y) {
      const float want = ((y == 0 ? 200.0f : 0.0f) - static_cast<float>(mean[c])) / 255.0f;
      for (index_t x = 0; x < 3; ++x) CHECK(out[static_cast<std::size_t>((c * 3 + y) * 3 + x)] == want);
    }
  // Centred: d = 2, round(2/2) = 1 row after and 1 before, so the image is the middle row.
  models::tfjs_face::network_input(im, {0, 0, 3, 1}, 3, models::tfjs_face::Placement::centred, mean, out.data());
  for (index_t y = 0; y < 3; ++y) CHECK(out[static_cast<std::size_t>(y * 3)] == ((y == 1 ? 200.0f : 0.0f) - 100.0f) / 255.0f);
  // A 2-pixel row resized to 4 by TF's legacy rule: source x = 0, 0.5, 1, 1.5 (clamped at 1).
  io::Image row(2, 2, 1);
  row.at(0, 0, 0) = 0;
  row.at(0, 1, 0) = 100;
  row.at(1, 0, 0) = 0;
  row.at(1, 1, 0) = 100;
  std::vector<float> big(48);
  const double zero[3] = {0, 0, 0};
  models::tfjs_face::network_input(row, {0, 0, 2, 2}, 4, models::tfjs_face::Placement::top_left, zero, big.data());
  CHECK(big[0] * 255.0f == doctest::Approx(0.0));
  CHECK(big[1] * 255.0f == doctest::Approx(50.0));
  CHECK(big[2] * 255.0f == doctest::Approx(100.0));
  CHECK(big[3] * 255.0f == doctest::Approx(100.0));
}

TEST_CASE("face detector: box decoding by hand (one cell, anchor 0, a 32x16 image)") {
  // input 32: a 1x1 grid. The image is 32x16, so the reshaped input is 32x16 and y is stretched 2x.
  std::vector<float> grid(25, -50.0f);  // every anchor's score ~0
  grid[0] = 0;                          // tx: centre at half a cell
  grid[1] = 0;                          // ty
  grid[2] = 0;                          // tw: exp(0)·anchor
  grid[3] = std::log(2.0f);             // th: twice the anchor
  grid[4] = 2.0f;                       // score sigmoid(2) = 0.8808
  const auto boxes = models::face_detection::decode(grid, 32, 32, 16, 0.5);
  REQUIRE(boxes.size() == 1);
  const double aw = 1.603231, ah = 2.094468;
  CHECK(boxes[0].score == doctest::Approx(1 / (1 + std::exp(-2.0))));
  CHECK(boxes[0].width == doctest::Approx(aw));
  CHECK(boxes[0].height == doctest::Approx(2 * ah * 2).epsilon(1e-6));
  CHECK(boxes[0].x == doctest::Approx(0.5 - aw / 2));
  CHECK(boxes[0].y == doctest::Approx(1.0 - 2 * ah));
  CHECK(models::face_detection::decode(grid, 32, 32, 16, 0.9).empty());
}

TEST_CASE("face detector: non-maximum suppression drops overlaps above the threshold only") {
  using B = models::face_detection::RelativeBox;
  // On a 100 grid: A = [0, 10]^2; B shifted by 10/3 in x: IoU = (20/3)·10 / (200 − (20/3)·10) = 0.5;
  // C = [0, 10] x [0, 14]: IoU with A = 100 / 140 = 0.714; D far away; E of IoU 0.4 exactly with
  // A: [0, 10] x [0, 25] → 100 / 250.
  const std::vector<B> boxes = {{0.1 / 3, 0, 0.1, 0.1, 0.8}, {0, 0, 0.1, 0.1, 0.9}, {0, 0, 0.1, 0.14, 0.7},
                                {0.5, 0.5, 0.1, 0.1, 0.6}, {0, 0, 0.1, 0.25, 0.95}};
  const auto kept = models::face_detection::suppress(boxes, 100, 0.4);
  // E (0.95) first: A's IoU with it is 0.4, not above the threshold, so A stays; C's is
  // 140 / 250 = 0.56 and C goes. Then A: B overlaps it by 0.5 and goes. D stays.
  REQUIRE(kept.size() == 3);
  CHECK(kept[0].score == 0.95);
  CHECK(kept[1].score == 0.9);
  CHECK(kept[2].score == 0.6);
  CHECK(models::face_detection::suppress(boxes, 100, 0.75).size() == 5);
}

TEST_CASE("face landmarks: crop and un-mapping as face-api's (clip, floor, shift by the box)") {
  // Box partly left of a 40x60 image: clipped to x 0, width 40 (not 46.7), then floored.
  const FaceBox box{-3.5, 10.7, 50.2, 40.9, 0.9};
  const auto crop = models::face_landmarks::crop_of(box, 40, 60);
  CHECK(crop.x == 0);
  CHECK(crop.y == 10);
  CHECK(crop.width == 40);
  CHECK(crop.height == 40);
  std::array<float, 136> raw;
  raw.fill(0.5f);
  const auto points = models::face_landmarks::unmap(raw, crop, box);
  // The crop's centre, shifted by the box's own x and y as face-api does.
  CHECK(points[0].x == doctest::Approx(0.5 * 40 - 3.5));
  CHECK(points[0].y == doctest::Approx(0.5 * 40 + 10.7));
  // A 20 wide, 40 tall crop: scaled to 56x112, padded by 28 on each side in x; 0.25 of the padded
  // square is the crop's left edge and 0.75 its right edge.
  const models::tfjs_face::Rect tall{5, 5, 20, 40};
  raw[2] = 0.25f;
  raw[4] = 0.75f;
  const auto p = models::face_landmarks::unmap(raw, tall, {5, 5, 20, 40, 1});
  CHECK(p[1].x == doctest::Approx(5.0));
  CHECK(p[2].x == doctest::Approx(25.0));
  CHECK(p[1].y == doctest::Approx(25.0));
  CHECK_THROWS_WITH_AS(models::face_landmarks::crop_of({50, 0, 10, 10, 1}, 40, 60),
                       doctest::Contains("leaves no pixel of the 40x60 image"), Error);
}

TEST_CASE("face landmarks: all 136 raw outputs on the §2.7 pattern within 1e-4 of face-api") {
  const auto dir = test::face_models_or_skip();
  if (!dir) return;
  const nlohmann::json fx = fixture();
  const auto want = fx["raw"]["landmarks_fc_112"].get<std::vector<double>>();
  REQUIRE(want.size() == 136);
  const auto raw = FaceLandmarker<>(*dir).raw_output(test::spec_pattern(112, 112), {0, 0, 112, 112, 1});
  double worst = 0;
  for (std::size_t i = 0; i < want.size(); ++i) worst = std::max(worst, std::abs(raw[i] - want[i]));
  MESSAGE("landmark fc: max |tsgan - face-api| = " << worst);
  CHECK(worst < 1e-4);
}

TEST_CASE("face detector: the raw 8x8x25 grid on the §2.7 pattern at 256 within 1e-4 of face-api") {
  const auto dir = test::face_models_or_skip();
  if (!dir) return;
  const nlohmann::json fx = fixture();
  const auto& grid = fx["raw"]["detector_256"];
  REQUIRE(grid["shape"] == nlohmann::json({1, 8, 8, 25}));
  const auto want = grid["values"].get<std::vector<double>>();
  const auto raw = FaceDetector<>(*dir).raw_output(test::spec_pattern(256, 256), 256);
  REQUIRE(raw.size() == want.size());
  double worst = 0;
  for (std::size_t i = 0; i < want.size(); ++i) worst = std::max(worst, std::abs(raw[i] - want[i]));
  MESSAGE("detector grid: max |tsgan - face-api| = " << worst);
  CHECK(worst < 1e-4);
}

TEST_CASE("face detector + landmarks: face-api's boxes (1 px), scores and 68 landmarks (0.5 px) on shared faces") {
  const auto dir = test::face_models_or_skip();
  if (!dir) return;
  const fs::path data = test::shared_data();
  if (!fs::is_directory(data / "faces")) {
    MESSAGE("skipped: " << (data / "faces").string() << " is absent (the shared face data)");
    return;
  }
  const FaceDetector<> detector(*dir);
  const FaceLandmarker<> landmarker(*dir);
  double box_worst = 0, score_worst = 0, point_worst = 0;
  std::size_t faces = 0;
  const nlohmann::json fx = fixture();
  for (const auto& run : fx["runs"]) {
    const std::string file = run["file"];
    CAPTURE(file);
    const index_t size = run["input_size"];
    CAPTURE(size);
    const io::Image image = io::read_image(data / "faces" / file);
    REQUIRE(image.width == run["width"].get<int>());
    REQUIRE(image.height == run["height"].get<int>());
    const auto boxes = detector.detect(image, {.input_size = size, .score_threshold = run["score_threshold"]});
    const auto& want = run["faces"];
    REQUIRE(boxes.size() == want.size());
    const auto points = landmarker.detect(image, std::span<const FaceBox>(boxes));
    for (std::size_t f = 0; f < boxes.size(); ++f) {
      const auto b = want[f]["box"].get<std::array<double, 4>>();
      const FaceBox& got = boxes[f];
      for (double d : {got.x - b[0], got.y - b[1], got.width - b[2], got.height - b[3]})
        box_worst = std::max(box_worst, std::abs(d));
      score_worst = std::max(score_worst, std::abs(got.score - want[f]["score"].get<double>()));
      const auto& lm = want[f]["landmarks"];
      REQUIRE(lm.size() == 68);
      for (std::size_t p = 0; p < 68; ++p)
        point_worst = std::max({point_worst, std::abs(points[f][p].x - lm[p][0].get<double>()),
                                std::abs(points[f][p].y - lm[p][1].get<double>())});
      // The single-box call agrees with the batched one.
      CHECK(landmarker.detect(image, got) == points[f]);
      ++faces;
    }
  }
  MESSAGE(faces << " faces: max box |diff| " << box_worst << " px, score " << score_worst << ", landmark "
                << point_worst << " px");
  CHECK(faces >= 6);
  CHECK(box_worst <= 1.0);
  CHECK(score_worst <= 1e-3);
  CHECK(point_worst <= 0.5);
}

TEST_CASE("face detector: batches give the boxes of single images; unsupported sizes are named") {
  const auto dir = test::face_models_or_skip();
  if (!dir) return;
  const FaceDetector<> detector(*dir);
  std::vector<io::Image> images;
  for (int i = 0; i < 5; ++i) images.push_back(test::spec_pattern(200 + 10 * i, 180));  // a batch of 4, then 1
  // Threshold 0 keeps every cell (face-api's `!scoreThreshold`), so NMS has work to do.
  const models::DetectorOptions low{.input_size = 160, .score_threshold = 0};
  const auto batched = detector.detect(std::span<const io::Image>(images), low);
  REQUIRE(batched.size() == images.size());
  std::size_t boxes = 0;
  for (std::size_t i = 0; i < images.size(); ++i) {
    const auto single = detector.detect(images[i], low);
    REQUIRE(single.size() == batched[i].size());
    for (std::size_t b = 0; b < single.size(); ++b) {
      CHECK(single[b].x == doctest::Approx(batched[i][b].x).epsilon(1e-5));
      CHECK(single[b].score == doctest::Approx(batched[i][b].score).epsilon(1e-5));
    }
    boxes += single.size();
  }
  MESSAGE(boxes << " boxes over 5 synthetic images at threshold 0");
  CHECK(boxes >= 5);
  CHECK_THROWS_WITH_AS(detector.detect(images[0], {.input_size = 400}),
                       doctest::Contains("input size 400 is not one of the supported sizes 128, 160"), Error);
}

TEST_CASE("face landmarks: the whole-image call is the box of the whole image; grey reads as RGB") {
  const auto dir = test::face_models_or_skip();
  if (!dir) return;
  const FaceLandmarker<> landmarker(*dir);
  io::Image grey(60, 64, 1);
  io::Image rgb(60, 64, 3);
  for (int y = 0; y < 64; ++y)
    for (int x = 0; x < 60; ++x) {
      const auto v = static_cast<std::uint8_t>((x * 7 + y * 3) % 256);
      grey.at(y, x, 0) = v;
      for (int c = 0; c < 3; ++c) rgb.at(y, x, c) = v;
    }
  const auto a = landmarker.detect(grey);
  CHECK(a == landmarker.detect(rgb));
  CHECK(a == landmarker.detect(grey, {0, 0, 60, 64, 1}));
}

TEST_CASE("dlib shape predictor: dlib's own points on its own boxes (tests/fixtures/dlib_shape)") {
  const auto model = models::shape_predictor::model_path();
  if (!model) {
    MESSAGE("skipped: no dlib shape predictor (install Debian's libdlib-data or set TSGAN_DLIB_SHAPE_PREDICTOR)");
    return;
  }
  const models::ShapePredictor sp(*model);
  REQUIRE(sp.point_count() == 68);
  const fs::path dir = fs::path(test::source_dir) / "tests" / "fixtures" / "dlib_shape";
  std::ifstream in(dir / "shapes.txt");
  REQUIRE_MESSAGE(in, "cannot read " << (dir / "shapes.txt").string());
  std::string word, file;
  models::DlibRect box, first_box;
  int cases = 0;
  while (in >> word >> file >> box.left >> box.top >> box.right >> box.bottom) {
    REQUIRE(word == "case");
    const io::Image image = io::read_image(dir / file);
    const align::Landmarks68 ours = sp.predict(image, box);
    double worst = 0;
    int rounded_apart = 0;
    for (const align::Point& p : ours) {
      double x = 0, y = 0;
      long dlib_x = 0, dlib_y = 0;
      in >> x >> y >> dlib_x >> dlib_y;
      // dlib numbers pixel centres with integers; tsgan puts them at i + 0.5.
      worst = std::max({worst, std::abs(p.x - 0.5 - x), std::abs(p.y - 0.5 - y)});
      rounded_apart += std::floor(p.x) != double(dlib_x) || std::floor(p.y) != double(dlib_y);
    }
    REQUIRE(in);
    MESSAGE(file << " box (" << box.left << ", " << box.top << ", " << box.right << ", " << box.bottom
                 << "): worst distance to dlib's unrounded points " << worst << " px");
    CHECK(worst < 1e-3);
    CHECK(rounded_apart == 0);
    if (cases++ == 0) first_box = box;
  }
  CHECK(cases == 3);
  // An RGB image is read as dlib's (r + g + b) / 3 grey: colours that average to the grey give the
  // same points.
  const io::Image grey = io::read_image(dir / "face1.pgm");
  io::Image rgb(grey.width, grey.height, 3);
  for (int y = 0; y < grey.height; ++y)
    for (int x = 0; x < grey.width; ++x) {
      const int v = grey.at(y, x, 0), d = std::min({20, v, 255 - v});
      rgb.at(y, x, 0) = std::uint8_t(v - d);
      rgb.at(y, x, 1) = std::uint8_t(v);
      rgb.at(y, x, 2) = std::uint8_t(v + d);
    }
  CHECK(sp.predict(rgb, first_box) == sp.predict(grey, first_box));

  // box_for by hand: 34 points at (90, 50) and 34 at (110, 50): centroid (100, 50), spread 10;
  // centre (100.4771, 48.871), side round(28.7245) = 29, left round(85.977), top round(34.371).
  std::vector<align::Point> pair(sp.point_count());
  for (std::size_t i = 0; i < pair.size(); ++i) pair[i] = {i % 2 == 0 ? 90.0 : 110.0, 50.0};
  CHECK(sp.box_for(pair) == models::DlibRect{86, 34, 114, 62});
}

TEST_CASE("dlib shape predictor: face-api's box to dlib's detector box, by hand") {
  // Centre (10 + 0.52841 · 100, 20 + 0.43134 · 120) = (62.841, 71.7608), side round(0.47011 · 100 +
  // 0.39708 · 120) = round(94.66) = 95: left round(15.341), top round(24.2608).
  CHECK(models::dlib_box_from_face_api({10, 20, 100, 120, 0.9}) == models::DlibRect{15, 24, 109, 118});
}

TEST_CASE("dlib shape predictor: a missing, truncated or foreign file is an error naming it") {
  const test::TempDir tmp;
  const fs::path missing = tmp.path() / "missing.dat";
  CHECK_THROWS_WITH_AS(models::ShapePredictor{missing}, doctest::Contains("missing.dat' is not a file"), Error);
  const auto write = [&](const char* name, std::initializer_list<unsigned char> bytes) {
    const fs::path p = tmp.path() / name;
    std::ofstream(p, std::ios::binary).write(reinterpret_cast<const char*>(std::data(bytes)), std::streamsize(bytes.size()));
    return p;
  };
  // Version 1 (a control byte: one byte follows), then a 136 x 1 matrix (rows and columns negated,
  // dlib's newer format) whose first number is cut off.
  const fs::path cut = write("cut.dat", {0x01, 0x01, 0x81, 0x88, 0x81, 0x01});
  CHECK_THROWS_WITH_AS(models::ShapePredictor{cut}, doctest::Contains("cut.dat' ends early: 6 bytes"), Error);
  const fs::path v2 = write("v2.dat", {0x01, 0x02});
  CHECK_THROWS_WITH_AS(models::ShapePredictor{v2}, doctest::Contains("v2.dat' is not a dlib shape predictor"), Error);
  CHECK_THROWS_WITH_AS(models::ShapePredictor{v2}, doctest::Contains("version 2 (dlib writes 1)"), Error);
  const fs::path text = write("text.dat", {'P', '5', '\n'});
  CHECK_THROWS_WITH_AS(models::ShapePredictor{text}, doctest::Contains("text.dat' is not a dlib shape predictor"), Error);
}

namespace {

// The fixture images of tests/fixtures/dlib_hog/make_detections.cpp, by name; none for "lfw"
// without the shared data.
std::optional<io::Image> hog_fixture_image(const std::string& name) {
  const fs::path shape = fs::path(test::source_dir) / "tests" / "fixtures" / "dlib_shape";
  const io::Image face1 = io::read_image(shape / "face1.pgm"), face2 = io::read_image(shape / "face2.pgm");
  if (name == "face1") return face1;
  if (name == "face2") return face2;
  if (name == "pair") {
    io::Image pair(face1.width + face2.width, std::max(face1.height, face2.height), 1);
    for (int y = 0; y < face1.height; ++y)
      for (int x = 0; x < face1.width; ++x) pair.at(y, x, 0) = face1.at(y, x, 0);
    for (int y = 0; y < face2.height; ++y)
      for (int x = 0; x < face2.width; ++x) pair.at(y, face1.width + x, 0) = face2.at(y, x, 0);
    return pair;
  }
  const fs::path lfw = test::shared_data() / "faces" / "lfw-deepfunneled-extra" / "images" / "AJ_Cook" / "AJ_Cook_0001.jpg";
  if (name == "lfw" && fs::is_regular_file(lfw)) return io::read_image(lfw);
  return std::nullopt;
}

}  // namespace

TEST_CASE("dlib HOG face detector: dlib's own detections and fhog features (tests/fixtures/dlib_hog)") {
  const fs::path dir = fs::path(test::source_dir) / "tests" / "fixtures" / "dlib_hog";
  std::ifstream in(dir / "detections.txt");
  REQUIRE_MESSAGE(in, "cannot read " << (dir / "detections.txt").string());
  const auto model = models::hog_face_detector::model_path();
  if (!model) MESSAGE("detections skipped: no " << std::string(models::hog_face_detector::file_name)
                                               << " in the face model folder (scripts/fetch-face-models.sh with "
                                                  "Debian's libdlib-dev); fhog features checked");
  std::optional<models::HogFaceDetector> detector;
  if (model) detector.emplace(*model);
  std::string word, name;
  double score_worst = 0, feature_worst = 0, sum_worst = 0;
  int detection_cases = 0, fhog_cases = 0;
  while (in >> word >> name) {
    CAPTURE(name);
    const std::optional<io::Image> image = hog_fixture_image(name);
    if (word == "image") {
      double adjust = 0;
      std::size_t count = 0;
      in >> adjust >> count;
      std::vector<models::HogDetection> want(count);
      for (auto& d : want) in >> d.rect.left >> d.rect.top >> d.rect.right >> d.rect.bottom >> d.detector >> d.score;
      REQUIRE(in);
      if (!detector || !image) continue;
      CAPTURE(adjust);
      const std::vector<models::HogDetection> got = detector->detect(*image, adjust);
      REQUIRE(got.size() == want.size());
      for (std::size_t i = 0; i < got.size(); ++i) {
        CHECK(got[i].rect == want[i].rect);
        CHECK(got[i].detector == want[i].detector);
        score_worst = std::max(score_worst, std::abs(got[i].score - want[i].score));
      }
      ++detection_cases;
    } else {
      REQUIRE(word == "fhog");
      int cell = 0, rows_padding = 0, cols_padding = 0, rows = 0, cols = 0;
      in >> cell >> rows_padding >> cols_padding >> rows >> cols;
      REQUIRE(image);
      const models::FhogPlanes f = models::extract_fhog(*image, cell, rows_padding, cols_padding);
      REQUIRE(f.rows == rows);
      REQUIRE(f.cols == cols);
      for (int p = 0; p < models::FhogPlanes::planes; ++p) {
        double sum = 0, v1 = 0, v2 = 0, v3 = 0;
        in >> sum >> v1 >> v2 >> v3;
        double ours = 0;
        for (int r = 0; r < rows; ++r)
          for (int c = 0; c < cols; ++c) ours += f.at(p, r, c);
        sum_worst = std::max(sum_worst, std::abs(ours - sum) / std::max(1.0, std::abs(sum)));
        feature_worst = std::max({feature_worst, std::abs(f.at(p, rows / 3, cols / 3) - v1),
                                  std::abs(f.at(p, rows / 2, cols / 2) - v2),
                                  std::abs(f.at(p, 2 * rows / 3, cols / 4) - v3)});
      }
      REQUIRE(in);
      ++fhog_cases;
    }
  }
  MESSAGE(detection_cases << " detection cases, worst score difference " << score_worst << "; " << fhog_cases
                          << " fhog cases, worst value difference " << feature_worst
                          << ", worst relative plane-sum difference " << sum_worst);
  CHECK(fhog_cases == 3);
  if (detector) CHECK(detection_cases >= 6);
  // dlib's detector and tsgan's do the same float operations in the same order, so on x86-64 without
  // FMA they agree bit for bit (tools/dlib-hog/compare.cpp on lfw-deepfunneled-extra: every image);
  // the bounds leave room for the 9 printed digits and for the SVD's last bits on other CPUs
  // (hog_face_detector.hpp), far below the 1e-2 that would move a window across the threshold.
  CHECK(score_worst < 1e-5);
  CHECK(feature_worst < 1e-6);
  CHECK(sum_worst < 1e-9);
}

TEST_CASE("dlib HOG face detector: nearest the centre, overlap test by hand, bad files named") {
  // Two faces: the one whose centre is nearer (50, 50) wins whatever its score.
  const std::vector<models::HogDetection> faces{{{0, 0, 39, 39}, 2.0, 0}, {{30, 30, 69, 69}, 0.5, 1}};
  const auto best = models::HogFaceDetector::nearest_centre(faces, 100, 100);
  REQUIRE(best);
  CHECK(best->detector == 1);
  CHECK_FALSE(models::HogFaceDetector::nearest_centre({}, 100, 100));

  const test::TempDir tmp;
  const fs::path missing = tmp.path() / "missing.dat";
  CHECK_THROWS_WITH_AS(models::HogFaceDetector{missing}, doctest::Contains("missing.dat' is not a file"), Error);
  const auto write = [&](const char* name, std::initializer_list<unsigned char> bytes) {
    const fs::path p = tmp.path() / name;
    std::ofstream(p, std::ios::binary).write(reinterpret_cast<const char*>(std::data(bytes)), std::streamsize(bytes.size()));
    return p;
  };
  // Version 2, scanner version 1, an empty feature array, cell size 8, then nothing.
  const fs::path cut = write("cut.dat", {0x01, 0x02, 0x01, 0x01, 0x01, 0x00, 0x01, 0x00, 0x01, 0x08});
  CHECK_THROWS_WITH_AS(models::HogFaceDetector{cut}, doctest::Contains("cut.dat' ends early: 10 bytes"), Error);
  // A shape predictor's first bytes (version 1).
  const fs::path foreign = write("sp.dat", {0x01, 0x01, 0x81, 0x88, 0x81, 0x01});
  CHECK_THROWS_WITH_AS(models::HogFaceDetector{foreign},
                       doctest::Contains("sp.dat' is not dlib's serialized frontal face detector"), Error);

  const auto model = models::hog_face_detector::model_path();
  if (!model) return;
  const models::HogFaceDetector detector(*model);
  CHECK(detector.filter_count() == 5);
  // dlib's serialized test_box_overlap (IoU 0.330, covered 0.789): 40x40 boxes 10 px apart overlap
  // with IoU 1200/2000 = 0.6; 20 px apart 800/2400 = 0.33 (above 0.330082); 25 px apart
  // 600/2600 = 0.23, and 600/1600 = 0.375 covered: apart. A box inside a larger one is covered.
  CHECK(detector.overlaps({0, 0, 39, 39}, {10, 0, 49, 39}));
  CHECK(detector.overlaps({0, 0, 39, 39}, {20, 0, 59, 39}));
  CHECK_FALSE(detector.overlaps({0, 0, 39, 39}, {25, 0, 64, 39}));
  CHECK(detector.overlaps({0, 0, 99, 99}, {10, 10, 49, 49}));
  CHECK_FALSE(detector.overlaps({0, 0, 9, 9}, {10, 10, 19, 19}));
}
