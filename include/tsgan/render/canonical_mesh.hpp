// The canonical face mesh of MediaPipe (468 vertices with texture coordinates, 898 triangles), as
// scripts/fetch-face-mesh.sh decodes it from @mediapipe/face_mesh's packed assets into
// face_mesh_canonical.txt in the models folder. Its vertices are those of FaceMesh's 468 points,
// in the same order, so the triangles connect FaceMesh's output into a surface.
//
// The file: a line "tsgan-face-mesh 1", a line "468 898", 468 lines "x y z u v" (the canonical
// face in centimetres, y up, z towards the viewer; u, v in [0, 1] on MediaPipe's texture), then
// 898 lines "a b c" (0-based vertex indices). Seen from the front in image coordinates (y down),
// the triangles run counter-clockwise (FrontFace::counter_clockwise).
#pragma once

#include <filesystem>
#include <fstream>
#include <optional>
#include <sstream>
#include <string>
#include <vector>

#include "tsgan/core/error.hpp"
#include "tsgan/io/model_path.hpp"
#include "tsgan/render/camera.hpp"
#include "tsgan/render/rasterizer.hpp"

namespace tsgan::render {

inline constexpr std::string_view canonical_mesh_file = "face_mesh_canonical.txt";
inline constexpr int canonical_vertex_count = 468;
inline constexpr int canonical_triangle_count = 898;

struct CanonicalMesh {
  std::vector<Vec3> vertices;
  std::vector<TexCoord> uv;
  std::vector<Triangle> triangles;
};

// Reads face_mesh_canonical.txt; any defect is an IoError naming the file and line.
inline CanonicalMesh read_canonical_mesh(const std::filesystem::path& file) {
  std::ifstream in(file);
  if (!in) fail<IoError>("{}: cannot read the canonical face mesh (run scripts/fetch-face-mesh.sh)", file.string());
  std::string line;
  int number = 0;
  auto next = [&](std::string_view what) {
    if (!std::getline(in, line)) fail<IoError>("{}:{}: the file ends where {} was expected", file.string(), number + 1, what);
    ++number;
    return std::istringstream(line);
  };
  if (next("the header"), line != "tsgan-face-mesh 1")
    fail<IoError>("{}:1: not a tsgan face mesh file (\"tsgan-face-mesh 1\" expected)", file.string());
  int nv = 0, nt = 0;
  if (auto s = next("the counts"); !(s >> nv >> nt) || nv != canonical_vertex_count || nt != canonical_triangle_count)
    fail<IoError>("{}:2: \"{}\" (\"468 898\" expected)", file.string(), line);
  CanonicalMesh m;
  for (int i = 0; i < nv; ++i) {
    auto s = next("a vertex");
    Vec3 p;
    TexCoord t;
    if (!(s >> p.x >> p.y >> p.z >> t.u >> t.v))
      fail<IoError>("{}:{}: vertex {}: \"{}\" is not five numbers x y z u v", file.string(), number, i, line);
    m.vertices.push_back(p);
    m.uv.push_back(t);
  }
  for (int i = 0; i < nt; ++i) {
    auto s = next("a triangle");
    Triangle t;
    if (!(s >> t[0] >> t[1] >> t[2]) || t[0] < 0 || t[1] < 0 || t[2] < 0 || t[0] >= nv || t[1] >= nv || t[2] >= nv)
      fail<IoError>("{}:{}: triangle {}: \"{}\" is not three vertex indices below {}", file.string(), number, i, line, nv);
    m.triangles.push_back(t);
  }
  return m;
}

// The canonical mesh file in the models folder (io::face_models_search_dir()), when it is there.
inline std::optional<std::filesystem::path> find_canonical_mesh() {
  const std::filesystem::path p = io::face_models_search_dir() / canonical_mesh_file;
  std::error_code ec;
  if (io::face_models_search_dir().empty() || !std::filesystem::is_regular_file(p, ec)) return std::nullopt;
  return p;
}

}  // namespace tsgan::render
