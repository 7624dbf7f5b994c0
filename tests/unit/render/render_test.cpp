// The software rasteriser: pixels of a plane against values computed from the plane's equation
// (weak perspective, and a tilted plane under perspective, whose texture coordinates come from
// ray-plane intersection, not from barycentrics), the identity render of a bumpy mesh reproducing
// its texture, depth order where triangles overlap or cut through each other, the fill rule on a
// shared edge, back-face culling, determinism across thread counts, and the canonical face mesh
// (skipped when scripts/fetch-face-mesh.sh has not run).
#include <doctest/doctest.h>

#include <cmath>
#include <vector>

#include "support.hpp"
#include "tsgan/core/parallel.hpp"
#include "tsgan/render/camera.hpp"
#include "tsgan/render/rasterizer.hpp"

using namespace tsgan;
using namespace tsgan::render;

namespace {

// A one-channel texture whose texel (y, x) is 2x + 3y + 1: bilinear sampling reproduces a linear
// function exactly, so the expected value at any (u, v) inside it is 2u + 3v + 1.
std::vector<float> gradient_texture(int width, int height) {
  std::vector<float> t(static_cast<std::size_t>(width * height));
  for (int y = 0; y < height; ++y)
    for (int x = 0; x < width; ++x) t[static_cast<std::size_t>(y * width + x)] = float(2 * x + 3 * y + 1);
  return t;
}

// A quad of two triangles, corners 0 (top-left), 1 (top-right), 2 (bottom-right), 3 (bottom-left),
// both clockwise on the image.
const std::vector<Triangle> quad = {{0, 1, 2}, {0, 2, 3}};

// A one-channel texture of two flat halves: 10 on the left (x < 4), 20 on the right.
std::vector<float> two_colours() {
  std::vector<float> t(8 * 8);
  for (int i = 0; i < 64; ++i) t[static_cast<std::size_t>(i)] = (i % 8) < 4 ? 10.f : 20.f;
  return t;
}
const TexCoord left_colour{1, 4}, right_colour{6, 4};

}  // namespace

TEST_CASE("render: a textured plane under weak perspective lands on the pixels its equation gives") {
  const int tw = 16, th = 12;
  const std::vector<float> tex = gradient_texture(tw, th);
  // Screen corners (2.3, 1.7)..(17.6, 11.2) carry texture corners (1, 1)..(14, 10): an affine map.
  const double x0 = 2.3, y0 = 1.7, x1 = 17.6, y1 = 11.2;
  const std::vector<Vec3> points = {{x0, y0, 1}, {x1, y0, 1}, {x1, y1, 1}, {x0, y1, 1}};
  const std::vector<TexCoord> uv = {{1, 1}, {14, 1}, {14, 10}, {1, 10}};
  Frame frame(20, 14, 1, -1.f);
  rasterize(project(points, Projection::weak()), uv, quad, {tex.data(), tw, th, 1}, frame);
  int covered = 0;
  for (int y = 0; y < frame.height; ++y)
    for (int x = 0; x < frame.width; ++x) {
      const bool inside = x > x0 && x < x1 && y > y0 && y < y1;
      CHECK_MESSAGE(bool(frame.coverage[frame.index(y, x)]) == inside, "pixel (" << x << ", " << y << ")");
      if (!inside) {
        CHECK(*frame.pixel(y, x) == -1.f);
        continue;
      }
      ++covered;
      const double u = 1 + (x - x0) / (x1 - x0) * 13, v = 1 + (y - y0) / (y1 - y0) * 9;
      CHECK(*frame.pixel(y, x) == doctest::Approx(2 * u + 3 * v + 1).epsilon(1e-6));
      CHECK(frame.depth[frame.index(y, x)] == doctest::Approx(1.0).epsilon(1e-12));
    }
  CHECK(covered == 15 * 10);  // x in 3..17, y in 2..11
}

TEST_CASE("render: a tilted plane under perspective is textured perspective-correctly") {
  const int tw = 64, th = 64;
  const std::vector<float> tex = gradient_texture(tw, th);
  // The plane z = 10 + 0.5·X, X in [−4, 4], Y in [−3, 3]; texture u = 5 + 6·(X + 4), v = 4 + 7·(Y + 3).
  const auto z_of = [](double X) { return 10 + 0.5 * X; };
  std::vector<Vec3> points = {{-4, -3, z_of(-4)}, {4, -3, z_of(4)}, {4, 3, z_of(4)}, {-4, 3, z_of(-4)}};
  const std::vector<TexCoord> uv = {{5, 4}, {53, 4}, {53, 46}, {5, 46}};
  const double f = 40, cx = 31.5, cy = 23.5;
  Frame frame(64, 48, 1);
  rasterize(project(points, Projection::pinhole(f, cx, cy)), uv, quad, {tex.data(), tw, th, 1}, frame);
  int covered = 0;
  double worst = 0, worst_affine = 0;
  for (int y = 0; y < frame.height; ++y)
    for (int x = 0; x < frame.width; ++x) {
      // The ray through pixel (x, y) meets the plane where z = 10 + 0.5·(x − cx)·z/f.
      const double z = 10 / (1 - 0.5 * (x - cx) / f);
      const double X = (x - cx) * z / f, Y = (y - cy) * z / f;
      const bool inside = std::abs(X) < 4 && std::abs(Y) < 3;
      CHECK_MESSAGE(bool(frame.coverage[frame.index(y, x)]) == inside, "pixel (" << x << ", " << y << ")");
      if (!inside) continue;
      ++covered;
      const double u = 5 + 6 * (X + 4), v = 4 + 7 * (Y + 3);
      worst = std::max(worst, std::abs(*frame.pixel(y, x) - (2 * u + 3 * v + 1)));
      CHECK(frame.depth[frame.index(y, x)] == doctest::Approx(z).epsilon(1e-12));
      // What affine (screen-linear) interpolation would give, to show the test can tell them apart.
      const double ua = 5 + 48 * (x - (cx - 40.0 * 4 / 8)) / (40.0 * 4 / 12 + 40.0 * 4 / 8);
      worst_affine = std::max(worst_affine, std::abs(ua - u));
    }
  CHECK(covered > 800);
  CHECK(worst < 1e-4);
  CHECK(worst_affine > 1);
}

TEST_CASE("render: rotating a bumpy mesh by 0 reproduces its texture to 1e-6") {
  const int w = 37, h = 29, c = 3;
  std::vector<float> tex(static_cast<std::size_t>(w * h * c));
  for (std::size_t i = 0; i < tex.size(); ++i) tex[i] = float(std::sin(0.37 * double(i)) * 0.5 + 0.5);
  // A grid of vertices half a pixel beyond the image, so that every pixel centre is inside; the
  // depth is a bump, which a rotation by 0 must not reveal.
  const int gx = 9, gy = 7;
  std::vector<Vec3> points;
  std::vector<TexCoord> uv;
  for (int j = 0; j < gy; ++j)
    for (int i = 0; i < gx; ++i) {
      const double x = -0.5 + w * double(i) / (gx - 1), y = -0.5 + h * double(j) / (gy - 1);
      points.push_back({x, y, 5 + std::sin(x * 0.3) * std::cos(y * 0.2)});
      uv.push_back({x, y});
    }
  std::vector<Triangle> triangles;
  for (int j = 0; j + 1 < gy; ++j)
    for (int i = 0; i + 1 < gx; ++i) {
      const int a = j * gx + i, b = a + 1, d = a + gx, e = d + 1;
      triangles.push_back({a, b, e});
      triangles.push_back({a, e, d});
    }
  const auto turned = rotate_about(points, yaw(0.0) * pitch(0.0), {w / 2.0, h / 2.0, 5});
  Frame frame(w, h, c, -1.f);
  rasterize(project(turned, Projection::weak()), uv, triangles, {tex.data(), w, h, c}, frame);
  double worst = 0;
  for (std::size_t i = 0; i < tex.size(); ++i) worst = std::max(worst, double(std::abs(frame.color[i] - tex[i])));
  CHECK(worst <= 1e-6);
  for (std::uint8_t covered : frame.coverage) CHECK(covered == 1);
}

TEST_CASE("render: the nearest triangle wins where triangles overlap, in either drawing order") {
  const std::vector<float> tex = two_colours();
  // A (left colour) at depth 2 and B (right colour) at depth 3 cover the same square.
  const std::vector<Vec3> points = {{1, 1, 2}, {9, 1, 2}, {9, 9, 2}, {1, 9, 3}, {9, 1, 3}, {9, 9, 3}, {1, 9, 2}, {1, 1, 3}};
  const std::vector<TexCoord> uv = {left_colour, left_colour, left_colour, right_colour,
                                    right_colour, right_colour, left_colour, right_colour};
  const std::vector<Triangle> near_first = {{0, 1, 2}, {7, 4, 5}}, far_first = {{7, 4, 5}, {0, 1, 2}};
  for (const auto& order : {near_first, far_first}) {
    Frame frame(10, 10, 1);
    rasterize(project(points, Projection::weak()), uv, order, {tex.data(), 8, 8, 1}, frame);
    CHECK(*frame.pixel(3, 7) == 10.f);  // inside both: the near one
    CHECK(frame.depth[frame.index(3, 7)] == 2.0);
  }
  SUBCASE("triangles that cut through each other switch where their depths cross") {
    // A's depth runs from 1 at x = 0 to 5 at x = 10; B's is 3 everywhere: they cross at x = 5.
    const std::vector<Vec3> p = {{0, 0, 1}, {10, 0, 5}, {10, 10, 5}, {0, 0, 3}, {10, 0, 3}, {10, 10, 3}};
    const std::vector<TexCoord> t = {left_colour, left_colour, left_colour, right_colour, right_colour, right_colour};
    Frame frame(11, 11, 1);
    rasterize(project(p, Projection::weak()), t, std::vector<Triangle>{{0, 1, 2}, {3, 4, 5}}, {tex.data(), 8, 8, 1},
              frame);
    for (int x = 1; x < 10; ++x) {
      const float want = x < 5 ? 10.f : 20.f;  // at x = 5 the depths tie: the first triangle, A
      CHECK_MESSAGE(*frame.pixel(1, x) == (x == 5 ? 10.f : want), "x = " << x);
    }
  }
}

TEST_CASE("render: two triangles sharing an edge fill a square once (top-left rule)") {
  const std::vector<float> tex = two_colours();
  const std::vector<Vec3> points = {{0, 0, 1}, {4, 0, 1}, {4, 4, 1}, {0, 4, 1}};
  const std::vector<TexCoord> uv(4, left_colour);
  Frame frame(6, 6, 1);
  rasterize(project(points, Projection::weak()), uv, quad, {tex.data(), 8, 8, 1}, frame);
  int covered = 0;
  for (int y = 0; y < 6; ++y)
    for (int x = 0; x < 6; ++x) {
      const bool want = x < 4 && y < 4;  // the top and left edges are in, the bottom and right out
      CHECK_MESSAGE(bool(frame.coverage[frame.index(y, x)]) == want, "(" << x << ", " << y << ")");
      covered += frame.coverage[frame.index(y, x)];
    }
  CHECK(covered == 16);
  // The diagonal belongs to exactly one of them: the upper-right one, of which it is the left edge.
  for (int k = 0; k < 4; ++k) CHECK(frame.triangle[frame.index(k, k)] == 0);
}

TEST_CASE("render: back faces are culled by their winding on the image") {
  const std::vector<float> tex = two_colours();
  const std::vector<Vec3> points = {{1, 1, 1}, {8, 1, 1}, {1, 8, 1}};
  const std::vector<TexCoord> uv(3, left_colour);
  const std::vector<Triangle> clockwise = {{0, 1, 2}}, counter = {{0, 2, 1}};
  const auto drawn = [&](const std::vector<Triangle>& t, RasterOptions o) {
    Frame frame(10, 10, 1);
    rasterize(project(points, Projection::weak()), uv, t, {tex.data(), 8, 8, 1}, frame);
    Frame f2(10, 10, 1);
    rasterize(project(points, Projection::weak()), uv, t, {tex.data(), 8, 8, 1}, f2, o);
    int n = 0;
    for (std::uint8_t c : f2.coverage) n += c;
    return n;
  };
  const int area = drawn(clockwise, {});
  CHECK(area == 28);  // pixel centres with x, y ≥ 2... : x ≥ 1, y ≥ 1, x + y < 9
  CHECK(drawn(counter, {}) == 0);
  CHECK(drawn(counter, {.cull = Cull::back, .front = FrontFace::counter_clockwise}) == area);
  CHECK(drawn(clockwise, {.cull = Cull::back, .front = FrontFace::counter_clockwise}) == 0);
  CHECK(drawn(counter, {.cull = Cull::none}) == area);
  // Perspective keeps the winding of points in front of the camera.
  Frame frame(10, 10, 1);
  const std::vector<Vec3> far = {{-1, -1, 4}, {1, -1, 4}, {-1, 1, 4}};
  rasterize(project(far, Projection::pinhole(8, 5, 5)), uv, clockwise, {tex.data(), 8, 8, 1}, frame);
  int n = 0;
  for (std::uint8_t c : frame.coverage) n += c;
  CHECK(n > 0);
}

TEST_CASE("render: the result does not depend on the thread count; bad input is named") {
  const int w = 64, h = 48;
  std::vector<float> tex(static_cast<std::size_t>(w * h * 3));
  for (std::size_t i = 0; i < tex.size(); ++i) tex[i] = float((i * 7919) % 101) / 100.f;
  std::vector<Vec3> points;
  std::vector<TexCoord> uv;
  for (int j = 0; j < 12; ++j)
    for (int i = 0; i < 16; ++i) {
      const double x = 4.0 * i, y = 4.0 * j;
      points.push_back({x, y, 20 + 6 * std::sin(0.2 * x + 0.1 * y)});
      uv.push_back({x, y});
    }
  std::vector<Triangle> triangles;
  for (int j = 0; j + 1 < 12; ++j)
    for (int i = 0; i + 1 < 16; ++i) {
      const int a = j * 16 + i;
      triangles.push_back({a, a + 1, a + 17});
      triangles.push_back({a, a + 17, a + 16});
    }
  const auto turned = project(rotate_about(points, yaw(degrees(35)) * pitch(degrees(10)), {32, 24, 20}),
                              Projection::weak());
  const int saved = num_threads();
  std::vector<Frame> frames;
  for (int threads : {1, 2, 3}) {
    set_num_threads(threads);
    Frame f(w, h, 3);
    rasterize(turned, uv, triangles, {tex.data(), w, h, 3}, f, {.cull = Cull::none});
    frames.push_back(std::move(f));
  }
  set_num_threads(saved);
  for (std::size_t k = 1; k < frames.size(); ++k) {
    CHECK(frames[k].color == frames[0].color);
    CHECK(frames[k].triangle == frames[0].triangle);
  }
  Frame f(w, h, 3);
  const std::vector<TexCoord> short_uv(3);
  CHECK_THROWS_WITH_AS((rasterize(turned, short_uv, triangles, {tex.data(), w, h, 3}, f)), doctest::Contains("3 texture coordinates for 192 vertices"), Error);
  CHECK_THROWS_WITH_AS((rasterize(turned, uv, std::vector<Triangle>{{0, 1, 500}}, {tex.data(), w, h, 3}, f)), doctest::Contains("triangle 0 uses vertex 500 of 192"), Error);
  CHECK_THROWS_WITH_AS((rasterize(turned, uv, triangles, {tex.data(), w, h, 1}, f)), doctest::Contains("texture with 1 channels for a frame with 3 channels"), Error);
  CHECK_THROWS_WITH_AS((void)Projection::pinhole(10, 0, 0)({0, 0, -1}), doctest::Contains("z = -1"), Error);
}

// ---- the canonical face mesh and pose synthesis ------------------------------------------------

#include "tsgan/data/pose_synthesis.hpp"
#include "tsgan/render/canonical_mesh.hpp"
#include "tsgan/render/head_mesh.hpp"

namespace {

std::optional<CanonicalMesh> canonical_or_skip() {
  const auto file = find_canonical_mesh();
  if (!file) {
    MESSAGE("skipped: no canonical face mesh (run scripts/fetch-face-mesh.sh or set TSGAN_MODELS_DIR)");
    return std::nullopt;
  }
  return read_canonical_mesh(*file);
}

// The canonical face (centimetres, y up, z towards the viewer) as FaceMesh points in a w x h
// photo: 8 px per cm, centred, y down, z away from the viewer.
std::vector<Vec3> face_in_photo(const CanonicalMesh& m, int w, int h) {
  std::vector<Vec3> p;
  for (const Vec3& v : m.vertices) p.push_back({(w - 1) / 2.0 + 8 * v.x, h / 2.0 - 8 * v.y, -8 * v.z});
  return p;
}

// A photo symmetric about its vertical centre line, with detail everywhere.
io::Image symmetric_photo(int w, int h) {
  io::Image im(w, h, 3);
  for (int y = 0; y < h; ++y)
    for (int x = 0; x < w; ++x) {
      const double d = std::abs(x - (w - 1) / 2.0);
      im.at(y, x, 0) = static_cast<std::uint8_t>(128 + 100 * std::sin(0.21 * d + 0.05 * y));
      im.at(y, x, 1) = static_cast<std::uint8_t>(128 + 100 * std::cos(0.13 * y - 0.07 * d));
      im.at(y, x, 2) = static_cast<std::uint8_t>((7 * y + 3 * static_cast<int>(d)) % 256);
    }
  return im;
}

double mean_abs_difference(const io::Image& a, const io::Image& b, bool mirror_b = false) {
  double s = 0;
  for (int y = 0; y < a.height; ++y)
    for (int x = 0; x < a.width; ++x)
      for (int c = 0; c < a.channels; ++c)
        s += std::abs(int(a.at(y, x, c)) - int(b.at(y, mirror_b ? b.width - 1 - x : x, c)));
  return s / double(a.pixels.size());
}

}  // namespace

TEST_CASE("render: the canonical face mesh: 468 vertices, 898 triangles facing the viewer counter-clockwise") {
  const auto mesh = canonical_or_skip();
  if (!mesh) return;
  REQUIRE(mesh->vertices.size() == 468);
  REQUIRE(mesh->triangles.size() == 898);
  const auto p = project(face_in_photo(*mesh, 200, 200), Projection::weak());
  int counter = 0;
  for (const Triangle& t : mesh->triangles) {
    const auto &a = p[std::size_t(t[0])], &b = p[std::size_t(t[1])], &c = p[std::size_t(t[2])];
    counter += (b.x - a.x) * (c.y - a.y) - (b.y - a.y) * (c.x - a.x) < 0;
  }
  CHECK(counter > 0.9 * 898);
  for (const TexCoord& t : mesh->uv) {
    CHECK(t.u >= 0);
    CHECK(t.u <= 1);
  }
}

TEST_CASE("pose synthesis: 0° gives the photo back; ±θ mirror each other; hidden parts grow with θ") {
  const auto mesh = canonical_or_skip();
  if (!mesh) return;
  const int w = 180, h = 200;
  const io::Image photo = symmetric_photo(w, h);
  const std::vector<Vec3> points = face_in_photo(*mesh, w, h);
  const data::PoseSynthesizer synth(mesh->triangles);
  for (const data::PoseMode mode : {data::PoseMode::profile, data::PoseMode::roundtrip}) {
    INFO("mode ", data::to_string(mode));
    const data::PosePair same = synth.make(photo, points, 0, mode, 128);
    CHECK(mean_abs_difference(same.input, same.target) < 0.5);
    CHECK(same.no_source_fraction == 0);
    const data::PosePair left = synth.make(photo, points, 30, mode, 128), right = synth.make(photo, points, -30, mode, 128);
    CHECK(left.no_source_fraction > 0.005);
    // The face and the photo are symmetric, so turning either way gives mirror images.
    CHECK(mean_abs_difference(left.input, right.input, true) < 4);
    CHECK(mean_abs_difference(left.no_source, right.no_source, true) < 0.05 * 255);
    CHECK(synth.make(photo, points, 60, mode, 128).no_source_fraction > left.no_source_fraction);
    if (mode == data::PoseMode::roundtrip)  // back at 0°: the landmarks are the photo's
      for (std::size_t i = 0; i < 5; ++i) CHECK(std::abs(left.input_points[i].x - left.target_points[i].x) < 1e-9);
    else  // turned to the image's left: the nose tip moves left of the eyes' midpoint
      CHECK(left.input_points[2].x < (left.input_points[0].x + left.input_points[1].x) / 2 - 5);
  }
}

TEST_CASE("pose synthesis: the yaw of the best rigid fit gives back the turn, whatever the pitch, roll, scale and shift") {
  // A face-like cloud that needs no model file: an ellipsoid cap with a nose.
  std::vector<Vec3> face;
  for (int i = 0; i < 15; ++i)
    for (int j = 0; j < 15; ++j) {
      const double u = (i - 7) / 7.0, v = (j - 7) / 7.0;
      face.push_back({60 * u, 70 * v, -40 * std::sqrt(std::max(0.0, 1 - 0.7 * u * u - 0.5 * v * v)) - (u * u + v * v < 0.05 ? 15 : 0)});
    }
  for (const double theta : {-75.0, -30.0, -5.0, 0.0, 12.0, 45.0, 60.0}) {
    INFO("θ = ", theta);
    CHECK(std::abs(data::relative_yaw_degrees(face, data::PoseSynthesizer::turned(face, theta)) - theta) < 1e-9);
    // Turned first, then pitched, rolled, scaled and shifted: the yaw-pitch-roll decomposition
    // keeps the yaw.
    const Rotation r = yaw(degrees(theta)) * pitch(degrees(8)) * roll(degrees(-5));
    std::vector<Vec3> moved;
    for (const Vec3& p : face) {
      const Vec3 q = r(p);
      moved.push_back({1.3 * q.x + 20, 1.3 * q.y - 7, 1.3 * q.z + 3});
    }
    CHECK(std::abs(data::relative_yaw_degrees(face, moved) - theta) < 1e-9);
  }
  CHECK_THROWS_WITH_AS(data::relative_yaw_degrees(std::span(face).first(2), std::span(face).first(2)),
                       doctest::Contains("at least 3"), Error);
}

TEST_CASE("pose synthesis: the mesh points of a rendered crop sit on the texture they carry") {
  // A vertex's texture is the photo at its own position, so wherever a vertex is visible the
  // rendered crop at input_mesh[i] shows what the target crop shows at target_mesh[i]. A
  // projection that forgot the turn, the crop or the half pixel would read other texels.
  const auto mesh = canonical_or_skip();
  if (!mesh) return;
  const int w = 180, h = 200;
  const io::Image photo = symmetric_photo(w, h);
  const std::vector<Vec3> points = face_in_photo(*mesh, w, h);
  const data::PoseSynthesizer synth(mesh->triangles);
  const auto sample = [](const io::Image& im, align::Point p) {  // bilinear, align's pixel centres at +0.5
    const double x = p.x - 0.5, y = p.y - 0.5;
    const int x0 = static_cast<int>(std::floor(x)), y0 = static_cast<int>(std::floor(y));
    const double fx = x - x0, fy = y - y0;
    std::array<double, 3> v{};
    for (int c = 0; c < 3; ++c)
      v[static_cast<std::size_t>(c)] = (1 - fy) * ((1 - fx) * im.at(y0, x0, c) + fx * im.at(y0, x0 + 1, c)) +
                                       fy * ((1 - fx) * im.at(y0 + 1, x0, c) + fx * im.at(y0 + 1, x0 + 1, c));
    return v;
  };
  for (const double theta : {30.0, -30.0}) {
    INFO("θ = ", theta);
    const data::PosePair p = synth.make(photo, points, theta, data::PoseMode::profile, 128);
    REQUIRE(p.input_mesh.size() == 468);
    REQUIRE(p.target_mesh.size() == 468);
    std::vector<double> turned, unturned, half_pixel_off;
    for (std::size_t i = 0; i < 468; ++i) {
      const align::Point a = p.input_mesh[i], t = p.target_mesh[i];
      if (a.x < 2 || a.y < 2 || a.x > 126 || a.y > 126 || t.x < 2 || t.y < 2 || t.x > 126 || t.y > 126) continue;
      if (p.no_source.at(static_cast<int>(a.y), static_cast<int>(a.x), 0) != 0) continue;  // no source there
      const auto want = sample(p.target, t);
      const auto diff = [&](align::Point q) {
        const auto got = sample(p.input, q);
        return (std::abs(got[0] - want[0]) + std::abs(got[1] - want[1]) + std::abs(got[2] - want[2])) / 3;
      };
      turned.push_back(diff(a));
      unturned.push_back(diff(t));
      half_pixel_off.push_back(diff({a.x + 0.5, a.y + 0.5}));
    }
    REQUIRE(turned.size() > 200);
    const auto median = [](std::vector<double> v) {
      std::ranges::sort(v);
      return v[v.size() / 2];
    };
    MESSAGE(fmt::format("{} visible points: median |difference| {:.2f} levels at the rendered points, {:.2f} half a pixel off, "
                        "{:.2f} at the unturned points", turned.size(), median(turned), median(half_pixel_off), median(unturned)));
    CHECK(median(turned) < 2.0);
    CHECK(median(half_pixel_off) > 2 * median(turned));
    CHECK(median(unturned) > 10 * median(turned));
  }
}

// ---- head mode: the face mesh extended over the whole head ---------------------------------------

namespace {

// The canonical face placed in a photo by a known similarity: turned, scaled, shifted.
std::vector<Vec3> moved(const std::vector<Vec3>& points, const Rotation& r, double s, const Vec3& t) {
  std::vector<Vec3> out;
  for (const Vec3& p : points) {
    const Vec3 q = r(p);
    out.push_back({s * q.x + t.x, s * q.y + t.y, s * q.z + t.z});
  }
  return out;
}

// Where the head shape puts boundary vertex b's ring point at scale r for face_in_photo's
// placement (8 px per cm, y and z flipped), computed here from the ellipsoid's equation: on its
// front surface, or at its centre's depth outside its outline (`back`: at the back of the head).
Vec3 expected_ring_point(const CanonicalMesh& m, const HeadShape& shape, int b, double r, int w, int h, bool back = false) {
  const Vec3 &c = shape.centre, &a = shape.semi_axes, &p = m.vertices[std::size_t(b)];
  const double x = c.x + r * (p.x - c.x), y = c.y + r * (p.y - c.y);
  const double u = (x - c.x) / a.x, v = (y - c.y) / a.y;
  const double z = back ? c.z - a.z : c.z + a.z * std::sqrt(std::max(0.0, 1 - u * u - v * v));
  return {(w - 1) / 2.0 + 8 * x, h / 2.0 - 8 * y, -8 * z};
}

}  // namespace

TEST_CASE("render: head mesh: the face's boundary loop, rings facing the viewer on the head ellipsoid, placed with the face") {
  const auto mesh = canonical_or_skip();
  if (!mesh) return;
  // The loop: every step is an edge that exactly one triangle uses, and it visits all of them.
  const std::vector<int> loop = boundary_loop(mesh->triangles);
  std::map<std::pair<int, int>, int> uses;
  for (const Triangle& t : mesh->triangles)
    for (int k = 0; k < 3; ++k) ++uses[std::minmax(t[std::size_t(k)], t[std::size_t((k + 1) % 3)])];
  const auto single = std::ranges::count_if(uses, [](const auto& e) { return e.second == 1; });
  REQUIRE(loop.size() == std::size_t(single));
  for (std::size_t j = 0; j < loop.size(); ++j) CHECK(uses[std::minmax(loop[j], loop[(j + 1) % loop.size()])] == 1);
  CHECK(loop.size() == 36);

  const HeadMesh head(*mesh);
  const std::size_t n = loop.size(), rings = head.shape().ring_scales.size();
  REQUIRE(head.triangles().size() == 898 + 2 * n * (rings + 1));
  CHECK(head.turning_count() == 468 + n * rings);
  const int w = 320, h = 320;
  const std::vector<Vec3> points = face_in_photo(*mesh, w, h);
  const std::vector<Vec3> v = head.extend(points);
  REQUIRE(v.size() == head.vertex_count());
  for (std::size_t i = 0; i < 468; ++i) CHECK(v[i] == points[i]);
  // Every ring and band triangle faces the viewer as the face's own do (counter-clockwise).
  const auto p = project(v, Projection::weak());
  for (std::size_t t = 898; t < head.triangles().size(); ++t) {
    const Triangle& tri = head.triangles()[t];
    const auto &a = p[std::size_t(tri[0])], &b = p[std::size_t(tri[1])], &c = p[std::size_t(tri[2])];
    CHECK((b.x - a.x) * (c.y - a.y) - (b.y - a.y) * (c.x - a.x) < 0);
  }
  // The outermost head ring lies on the ellipsoid (no offset left) and the still ring at the
  // back of the head, each where the canonical frame's placement puts it.
  for (std::size_t j = 0; j < n; ++j) {
    const Vec3 outer = v[468 + (rings - 1) * n + j], still = v[head.turning_count() + j];
    const Vec3 want = expected_ring_point(*mesh, head.shape(), loop[j], head.shape().ring_scales.back(), w, h);
    const Vec3 want_still = expected_ring_point(*mesh, head.shape(), loop[j], head.shape().still_scale, w, h, true);
    CHECK(std::abs(outer.x - want.x) + std::abs(outer.y - want.y) + std::abs(outer.z - want.z) < 1e-6);
    CHECK(std::abs(still.x - want_still.x) + std::abs(still.y - want_still.y) + std::abs(still.z - want_still.z) < 1e-6);
  }
  // The head goes where the face goes: extending a turned, scaled, shifted face gives the
  // extension of the face turned, scaled and shifted alike.
  const Rotation r = yaw(degrees(20)) * pitch(degrees(-10)) * roll(degrees(7));
  const std::vector<Vec3> v_moved = head.extend(moved(points, r, 0.7, {-15, 30, 4}));
  const std::vector<Vec3> moved_v = moved(v, r, 0.7, {-15, 30, 4});
  double worst = 0;
  for (std::size_t i = 0; i < v.size(); ++i)
    worst = std::max({worst, std::abs(v_moved[i].x - moved_v[i].x), std::abs(v_moved[i].y - moved_v[i].y), std::abs(v_moved[i].z - moved_v[i].z)});
  CHECK(worst < 1e-6);
  // The similarity itself, recovered from the points.
  const SimilarityTransform fit = best_similarity(points, moved(points, r, 0.7, {-15, 30, 4}));
  CHECK(fit.scale == doctest::Approx(0.7).epsilon(1e-12));
  for (int i = 0; i < 3; ++i)
    for (int j = 0; j < 3; ++j) CHECK(std::abs(fit.rotation.r[std::size_t(i)][std::size_t(j)] - r.r[std::size_t(i)][std::size_t(j)]) < 1e-12);
  CHECK_THROWS_WITH_AS(head.extend(std::span(points).first(100)), doctest::Contains("100 face points"), Error);
}

TEST_CASE("pose synthesis, head mode: 0° gives the photo back; the head turns by its depth; the mask grows; deterministic") {
  const auto mesh = canonical_or_skip();
  if (!mesh) return;
  const int w = 320, h = 320;
  const io::Image photo = symmetric_photo(w, h);
  const std::vector<Vec3> points = face_in_photo(*mesh, w, h);
  const data::PoseSynthesizer synth{HeadMesh(*mesh)};
  REQUIRE(synth.turns_head());
  for (const data::PoseMode mode : {data::PoseMode::profile, data::PoseMode::roundtrip}) {
    INFO("mode ", data::to_string(mode));
    const data::PosePair same = synth.make(photo, points, 0, mode, 128);
    CHECK(mean_abs_difference(same.frame, photo) < 0.01);
    CHECK(same.no_source_fraction == 0);
    const data::PosePair left = synth.make(photo, points, 30, mode, 128), right = synth.make(photo, points, -30, mode, 128);
    CHECK(left.no_source_fraction > 0.005);
    CHECK(mean_abs_difference(left.input, right.input, true) < 4);
    CHECK(synth.make(photo, points, 60, mode, 128).no_source_fraction > left.no_source_fraction);
    const data::PosePair again = synth.make(photo, points, 30, mode, 128);
    CHECK(again.input.pixels == left.input.pixels);
    CHECK(again.no_source.pixels == left.no_source.pixels);
  }
  // A point of the head at depth z turns about the face's centre c to x' = cx + (x − cx)·cos θ +
  // (z − cz)·sin θ: the render shows the photo's colour of each outermost head-ring point there,
  // not where a flat head (z = cz) would put it. Without the head the photo stays there.
  const HeadMesh head(*mesh);
  Vec3 c;
  for (const Vec3& q : points) c = {c.x + q.x / 468, c.y + q.y / 468, c.z + q.z / 468};
  const double theta = 30, cs = std::cos(degrees(theta)), sn = std::sin(degrees(theta));
  const data::PosePair turned = synth.make(photo, points, theta, data::PoseMode::profile, 128);
  const data::PosePair face_only = data::PoseSynthesizer(mesh->triangles).make(photo, points, theta, data::PoseMode::profile, 128);
  const auto sample = [](const io::Image& im, double x, double y) {
    const int x0 = static_cast<int>(std::floor(x)), y0 = static_cast<int>(std::floor(y));
    const double fx = x - x0, fy = y - y0;
    std::array<double, 3> out{};
    for (int k = 0; k < 3; ++k)
      out[std::size_t(k)] = (1 - fy) * ((1 - fx) * im.at(y0, x0, k) + fx * im.at(y0, x0 + 1, k)) +
                            fy * ((1 - fx) * im.at(y0 + 1, x0, k) + fx * im.at(y0 + 1, x0 + 1, k));
    return out;
  };
  const auto difference = [](const std::array<double, 3>& a, const std::array<double, 3>& b) {
    return (std::abs(a[0] - b[0]) + std::abs(a[1] - b[1]) + std::abs(a[2] - b[2])) / 3;
  };
  std::vector<double> at_depth, flat, without_head, still;
  for (const int b : head.loop()) {
    const Vec3 s = expected_ring_point(*mesh, head.shape(), b, head.shape().still_scale, w, h, true);
    if (s.x >= 0 && s.x <= w - 2 && s.y >= 0 && s.y <= h - 2)
      still.push_back(difference(sample(turned.frame, s.x, s.y), sample(photo, s.x, s.y)));
    const Vec3 q = expected_ring_point(*mesh, head.shape(), b, head.shape().ring_scales.back(), w, h);
    const double x = c.x + (q.x - c.x) * cs + (q.z - c.z) * sn, x_flat = c.x + (q.x - c.x) * cs;
    const auto inside = [&](double px) { return px >= 0 && px <= w - 2; };
    if (!inside(x) || !inside(x_flat) || !inside(q.x) || q.y < 0 || q.y > h - 2) continue;
    const auto want = sample(photo, q.x, q.y);
    at_depth.push_back(difference(sample(turned.frame, x, q.y), want));
    flat.push_back(difference(sample(turned.frame, x_flat, q.y), want));
    without_head.push_back(difference(sample(face_only.frame, x, q.y), want));
  }
  REQUIRE(at_depth.size() >= 20);
  // The still ring and what lies beyond it stay put: the photo's colours at its points, and
  // the corners untouched.
  REQUIRE(still.size() >= 20);
  int changed = 0;
  for (const int y0 : {0, h - 16})
    for (const int x0 : {0, w - 16})
      for (int y = y0; y < y0 + 16; ++y)
        for (int x = x0; x < x0 + 16; ++x)
          for (int k = 0; k < 3; ++k) changed += turned.frame.at(y, x, k) != photo.at(y, x, k);
  CHECK(changed == 0);
  const auto median = [](std::vector<double> v) {
    std::ranges::sort(v);
    return v[v.size() / 2];
  };
  MESSAGE(fmt::format("{} head-ring points at 30°: median |difference| {:.2f} levels where their depth turns them, {:.2f} "
                      "where a flat head would, {:.2f} there without the head", at_depth.size(), median(at_depth), median(flat),
                      median(without_head)));
  // The texture changes by up to about 20 levels a pixel, and these points sit on triangle edges
  // where the bilinear read mixes neighbouring triangles: within a fifth of a pixel.
  CHECK(median(at_depth) < 4.0);
  CHECK(median(flat) > 10 * median(at_depth));
  CHECK(median(without_head) > 10 * median(at_depth));
  CHECK(median(still) < 4.0);
}
