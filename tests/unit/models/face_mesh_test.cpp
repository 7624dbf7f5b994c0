// FaceMesh (MediaPipe's 468-point network from human's TF.js model) against tfjs 4.22 running the
// same model on shared LFW and CMU images (tests/fixtures/face_mesh_golden.json, written by
// tools/face-api-crosscheck/facemesh.mjs): the preprocessed crop's mean, every point within 0.5 px
// in x and y; on the CMU images (PGM, decoded alike by both) also z within 1e-3 of the depth
// range and the face score to 1e-4, on the LFW JPEGs (decoded a little differently by jpeg-js and
// stb_image) z within 0.5 px; human's box rule and the tracking box from points by hand; the
// loader's checks; the 468-to-68 map (face_mesh_68.txt) and its reader's errors. Skipped with a
// message when the model (scripts/fetch-face-mesh.sh) or the shared data are absent.
#include "tsgan/models/face_mesh.hpp"

#include <doctest/doctest.h>
#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include <cmath>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include "support.hpp"
#include "tsgan/io/image.hpp"

using namespace tsgan;
using models::FaceMesh;
namespace mesh = tsgan::models::mesh;
namespace fs = std::filesystem;

namespace {

std::optional<fs::path> mesh_model_or_skip() {
  auto dir = models::face_mesh_dir();
  if (!dir) MESSAGE("skipped: the face mesh model is absent (run scripts/fetch-face-mesh.sh or set TSGAN_MODELS_DIR)");
  return dir;
}

nlohmann::json golden() {
  std::ifstream in(fs::path(test::source_dir) / "tests" / "fixtures" / "face_mesh_golden.json");
  REQUIRE_MESSAGE(in.good(), "tests/fixtures/face_mesh_golden.json is missing");
  return nlohmann::json::parse(in);
}

}  // namespace

TEST_CASE("face mesh: human's face box is the detector's box enlarged 1.4 times, squared and rounded") {
  // A 100 x 80 box centred at (150, 90): 1.4 x 100 = 140 on the longer side, half 70.
  const mesh::Box b = mesh::square_box({100, 50, 200, 130});
  CHECK(b.x0 == 80);
  CHECK(b.y0 == 20);
  CHECK(b.x1 == 220);
  CHECK(b.y1 == 160);
  // Halves round up, as Math.round does: centre 10.25, half 7.25 → 3 and 17.5 → 18.
  const mesh::Box h = mesh::square_box({5.25, 5, 15.25, 15}, 1.45);
  CHECK(h.x0 == 3);
  CHECK(h.x1 == 18);
}

TEST_CASE("face mesh: the tracking box is the points' bounds enlarged 1.5 times, squared and rounded") {
  // Points spanning x 40..100 and y 30..120 (the others inside): bounds centred at (70, 75),
  // 60 x 90; 1.5 x 90 = 135 on the longer side, half 67.5: x 2.5 → 3 and 137.5 → 138, y 7.5 → 8
  // and 142.5 → 143 (halves up). z plays no part.
  const std::vector<mesh::Point3> points = {{40, 50, 9}, {100, 60, -9}, {70, 30, 0}, {55, 120, 3}, {80, 80, 100}};
  const mesh::Box b = mesh::landmarks_box(points);
  CHECK(b.x0 == 3);
  CHECK(b.y0 == 8);
  CHECK(b.x1 == 138);
  CHECK(b.y1 == 143);
  // Centred on the points wherever they lie in the first box: a face found off the detector box's
  // centre (a turned head) is centred by the second pass.
  const mesh::Box moved = mesh::landmarks_box(std::vector<mesh::Point3>{{140, 50, 0}, {200, 140, 0}}, 1.0);
  CHECK(moved.x0 == 125);
  CHECK(moved.x1 == 215);
  CHECK(moved.y0 == 50);
  CHECK(moved.y1 == 140);
  CHECK_THROWS_WITH(mesh::landmarks_box(std::vector<mesh::Point3>{}), doctest::Contains("a box around no points"));
}

TEST_CASE("face mesh: 468 points as tfjs computes them on shared images") {
  const auto dir = mesh_model_or_skip();
  if (!dir) return;
  const fs::path data = test::shared_data();
  if (!fs::is_directory(data / "faces")) {
    MESSAGE("skipped: no shared face data at ", data.string(), " (set TSGAN_SHARED_DATA)");
    return;
  }
  FaceMesh<float> net(*dir);
  const nlohmann::json ref = golden();
  REQUIRE(ref["cases"].size() >= 4);
  for (const auto& c : ref["cases"]) {
    const std::string file = c["image"];
    INFO("image: ", file);
    const io::Image image = io::read_image(data / file);
    const mesh::Box box{c["box"][0], c["box"][1], c["box"][2], c["box"][3]};

    const auto input = FaceMesh<float>::preprocess(image.pixels.data(), image.width, image.height, image.channels, box);
    double mean = 0;
    for (index_t i = 0; i < input.size; ++i) mean += input[i];
    mean /= double(input.size);
    // PGM decodes alike everywhere; JPEG does not (jpeg-js in the reference, stb_image here).
    const bool lossless = file.ends_with(".pgm");
    CHECK(mean == doctest::Approx(double(c["input_mean"])).epsilon(lossless ? 1e-6 : 1e-2));

    const mesh::Result r = net.run(image, box);
    const std::vector<double> raw = c["raw"];
    REQUIRE(raw.size() == 3 * mesh::point_count);
    const mesh::Result want = mesh::to_image(box, std::vector<float>(raw.begin(), raw.end()).data(), c["face_score"]);
    double z_range = 0, worst_xy = 0, worst_z = 0;
    for (const auto& p : want.points) z_range = std::max(z_range, std::abs(p.z));
    for (std::size_t i = 0; i < want.points.size(); ++i) {
      worst_xy = std::max({worst_xy, std::abs(r.points[i].x - want.points[i].x), std::abs(r.points[i].y - want.points[i].y)});
      worst_z = std::max(worst_z, std::abs(r.points[i].z - want.points[i].z));
    }
    MESSAGE(fmt::format("{}: largest |dx|, |dy| {:.2e} px, |dz| {:.2e} of range {:.1f} px", file, worst_xy, worst_z, z_range));
    CHECK(worst_xy < 0.5);
    if (lossless) {
      CHECK(worst_z < 1e-3 * z_range);
      CHECK(std::abs(r.face_score - want.face_score) < 1e-4);
    } else {
      CHECK(worst_z < 0.5);
    }
    // The network really ran: the mesh spans the face, not a point.
    CHECK(want.points[454].x - want.points[234].x > 0.3 * box.width());
  }
}

TEST_CASE("face mesh: the loader names what is wrong with the file") {
  const auto dir = mesh_model_or_skip();
  if (!dir) return;
  test::TempDir tmp;
  fs::copy_file(*dir / "facemesh.bin", tmp / "facemesh.bin");
  nlohmann::json model;
  {
    std::ifstream in(*dir / "facemesh.json");
    model = nlohmann::json::parse(in);
  }
  // Rename one weight and give another a wrong shape; the bytes stay where they are.
  for (auto& w : model["weightsManifest"][0]["weights"]) {
    if (w["name"] == "StatefulPartitionedCall/model_1/p_re_lu_3/Neg") w["name"] = "renamed/p_re_lu_3";
  }
  std::ofstream(tmp / "facemesh.json") << model.dump();
  const fs::path file = tmp / "facemesh.json";
  test::check_io_error([&] { FaceMesh<float> net(tmp.path()); }, file,
                       {"2 problems loading the face mesh network",
                        "missing tensor 'StatefulPartitionedCall/model_1/p_re_lu_3/Neg' (parameter 'p_re_lu_3.alpha', shape [1, 1, 16])",
                        "unexpected tensor 'renamed/p_re_lu_3'"});
  CHECK(FaceMesh<float>::tfjs_name("conv2d_21.bias") == "StatefulPartitionedCall/model_1/conv2d_21/BiasAdd/ReadVariableOp");
  CHECK(FaceMesh<float>::tfjs_name("depthwise_conv2d_4.weight") ==
        "StatefulPartitionedCall/model_1/depthwise_conv2d_4/depthwise/ReadVariableOp");
}

TEST_CASE("face mesh: the 468-to-68 map of face_mesh_68.txt, and its errors") {
  const auto dir = mesh_model_or_skip();
  if (!dir || !fs::exists(*dir / mesh::landmark_map_file)) {
    MESSAGE("skipped: face_mesh_68.txt is absent (run scripts/fetch-face-mesh.sh)");
    return;
  }
  const mesh::LandmarkMap map = mesh::read_landmark_map(*dir);
  // The eye corners of the 68 scheme are the mesh's 33, 133, 362 and 263, which pose synthesis'
  // five points use as well; the nose tip 30 is the mesh's 4 (beside its tip 1), the chin 8 is 152.
  CHECK(map[36] == 33);
  CHECK(map[39] == 133);
  CHECK(map[42] == 362);
  CHECK(map[45] == 263);
  CHECK(map[30] == 4);
  CHECK(map[8] == 152);
  test::TempDir tmp;
  std::ofstream(tmp / "face_mesh_68.txt") << "tsgan-face-mesh-68 1\n1\n2\n";
  test::check_io_error([&] { (void)mesh::read_landmark_map(tmp.path()); }, tmp / "face_mesh_68.txt", {"2 vertex indices, 68 expected"});
  {
    std::ofstream out(tmp / "face_mesh_68.txt");
    out << "tsgan-face-mesh-68 1\n";
    for (int i = 0; i < 68; ++i) out << (i == 5 ? 500 : i) << "\n";
  }
  test::check_io_error([&] { (void)mesh::read_landmark_map(tmp.path()); }, tmp / "face_mesh_68.txt", {"entry 5 is vertex 500, outside 0..467"});
}
