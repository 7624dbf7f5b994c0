// Pose synthesis (Rotate-and-Render, Zhou et al. 2020): a photo and its 468 FaceMesh points make a
// textured 3-D face; turning it by a yaw θ and rendering it over the photo gives a view of the
// same person, in the same light, at another pose. Training pairs come out aligned to the
// method's crop (align::FaceTemplate::tsgan):
//   - profile:    input = the face rendered at θ,                 target = the photo;
//   - round trip: input = the face rendered at θ and back to 0°,  target = the photo,
//     so the input has the artefacts of the hidden side on a frontal face (what R&R trains on).
//
//   data::PoseSynthesizer synth(mesh.triangles);                // render::read_canonical_mesh
//   data::PosePair p = synth.make(photo, result.points, 30.0, data::PoseMode::profile, 128);
//   p.input, p.target, p.no_source, p.input_points, p.target_points
//
// Contract:
//  - geometry: the points in image pixels (x right, y down; pixel centres at integers, as
//    FaceMesh's mapping gives them), z on the same scale, smaller nearer; the face turns about
//    the vertical axis through the mean of its points; θ > 0 turns it to the image's left
//    (render/camera.hpp); the camera is orthographic, as FaceMesh's own geometry is;
//  - texture: the photo at each point's own (x, y), so a triangle's texture is valid only where
//    the photo saw it: a triangle is seen when it faces the camera at 0° and it is on top in the
//    photo's z-buffer (it owns a pixel, or its centroid is within `depth_tolerance` of the
//    z-buffer there);
//  - output: the rendered face over the photo (the background, hair and ears stay where they
//    are); `no_source` marks (255) the pixels that show a triangle the source view did not see,
//    and the pixels that the face covered in the photo and no longer covers (what lay behind it
//    is unknown); in round trip both turns count;
//  - alignment: the tsgan template fitted to five points of the photo's mesh (the midpoints of
//    the eye corners 33-133 and 362-263, the nose tip 1, the mouth corners 61 and 291), one crop
//    for the input and the target alike: the face turns in place, about its centre, and five
//    points of a face turned beyond about 45° fit a similarity badly (the eyes overlap), which
//    would tilt and scale the crop from one yaw to the next. input_points and target_points are
//    the five points of the rendered face and of the photo in crop pixels (for occlusions at the
//    rendered face's own landmarks), and input_mesh and target_mesh all 468 (landmarks68 picks
//    the 68 iBUG points from them with FaceMesh's map, models::mesh::read_landmark_map). The
//    points of the far side of a turned face are projected like the rest: they may lie behind
//    the near side. The mask is warped with the image and is 255 wherever any of it reaches;
//  - head mode (PoseSynthesizer(render::HeadMesh)): the mesh is the face extended by head rings
//    and a still ring (render/head_mesh.hpp), so forehead, hair, temples, ears, jaw and neck
//    turn with the face, about the same centre, and the background beyond the still ring stays;
//    a band triangle (between the head and the still ring) drawn wider than in the photo shows
//    what lay behind the head and is marked too. Off unless asked for: the face-only mesh is the
//    default, and its pairs do not depend on this mode existing;
//  - deterministic: the rasteriser is, and nothing here is random.
//
// relative_yaw_degrees(from, to) measures the turn back: the rotation of the best similarity
// (Umeyama's least squares, with scale, no reflection) from one set of 3-D points onto another,
// as a yaw in render::yaw's sign (the y-x-z angle decomposition's first angle), so a fit of the
// rendered face against a fit of the photo gives back θ when the render is right.
#pragma once

#include <algorithm>
#include <array>
#include <cmath>
#include <cstdint>
#include <optional>
#include <span>
#include <string_view>
#include <vector>

#include "tsgan/align/face_template.hpp"
#include "tsgan/align/landmarks.hpp"
#include "tsgan/align/warp.hpp"
#include "tsgan/core/error.hpp"
#include "tsgan/io/image.hpp"
#include "tsgan/render/camera.hpp"
#include "tsgan/render/head_mesh.hpp"
#include "tsgan/render/rasterizer.hpp"

namespace tsgan::data {

enum class PoseMode { profile, roundtrip };

inline std::string_view to_string(PoseMode m) { return m == PoseMode::profile ? "profile" : "roundtrip"; }

// Mesh vertices of the five points: eye corners (image left eye, then the other), nose tip,
// mouth corners (image left first).
inline constexpr std::array<int, 2> mesh_left_eye{33, 133}, mesh_right_eye{362, 263};
inline constexpr int mesh_nose_tip = 1, mesh_left_mouth = 61, mesh_right_mouth = 291;

struct PosePair {
  io::Image input;             // size x size RGB: the rendered face, aligned
  io::Image target;            // size x size RGB: the photo, aligned
  io::Image no_source;         // size x size grey: 255 where the input has no source
  io::Image frame;             // the input before the crop: the photo's size, RGB
  align::FivePoints input_points, target_points;  // in crop pixels (align/point.hpp convention)
  std::vector<align::Point> input_mesh, target_mesh;  // the 468 points, in crop pixels likewise
  align::Similarity crop_to_photo;  // crop pixels to the photo's (the input's crop and the target's)
  double yaw_degrees = 0;
  double no_source_fraction = 0;  // of the input crop's pixels
};

// What one render of the face gives, at full image size.
struct FaceRender {
  render::Frame frame;                  // colour 0..255, RGB (+ carried channels)
  std::vector<render::ScreenVertex> screen;
  std::vector<std::uint8_t> seen;       // per triangle: drawn with a valid source
};

class PoseSynthesizer {
 public:
  explicit PoseSynthesizer(std::vector<render::Triangle> triangles, double depth_tolerance = 1.5)
      : triangles_(std::move(triangles)), depth_tolerance_(depth_tolerance) {}
  // Head mode: the face mesh extended by `head` turns the whole head (see the contract).
  explicit PoseSynthesizer(render::HeadMesh head, double depth_tolerance = 1.5)
      : triangles_(head.triangles()), depth_tolerance_(depth_tolerance), head_(std::move(head)) {}

  bool turns_head() const { return head_.has_value(); }

  const std::vector<render::Triangle>& triangles() const { return triangles_; }

  // The points turned by `yaw_degrees` about their mean.
  static std::vector<render::Vec3> turned(std::span<const render::Vec3> points, double yaw_degrees) {
    return render::rotate_about(std::vector<render::Vec3>(points.begin(), points.end()),
                                render::yaw(render::degrees(yaw_degrees)), mean(points));
  }

  // Per triangle: faces the camera and is on top of the z-buffer of `frame` (rendered from
  // `screen`), i.e. the view that `frame` shows saw it.
  std::vector<std::uint8_t> seen_in(const std::vector<render::ScreenVertex>& screen, const render::Frame& frame) const {
    std::vector<std::uint8_t> seen(triangles_.size(), 0);
    for (const std::int32_t t : frame.triangle)
      if (t >= 0) seen[static_cast<std::size_t>(t)] = 1;
    for (std::size_t t = 0; t < triangles_.size(); ++t) {
      if (seen[t]) continue;
      const auto& a = screen[static_cast<std::size_t>(triangles_[t][0])];
      const auto& b = screen[static_cast<std::size_t>(triangles_[t][1])];
      const auto& c = screen[static_cast<std::size_t>(triangles_[t][2])];
      const double area = (b.x - a.x) * (c.y - a.y) - (b.y - a.y) * (c.x - a.x);
      if (!(area < 0)) continue;  // counter-clockwise on the image faces the camera
      const int x = static_cast<int>(std::lround((a.x + b.x + c.x) / 3)), y = static_cast<int>(std::lround((a.y + b.y + c.y) / 3));
      if (x < 0 || y < 0 || x >= frame.width || y >= frame.height) continue;
      const double depth = (a.depth + b.depth + c.depth) / 3;
      seen[t] = depth <= frame.depth[frame.index(y, x)] + depth_tolerance_;
    }
    return seen;
  }

  // Renders `geometry` over `background` (HWC floats, `channels` each), textured from `texture`
  // (same layout) at `uv`; `source_seen` says which triangles have a valid texture.
  FaceRender draw(const std::vector<render::Vec3>& geometry, std::span<const render::TexCoord> uv,
                  const render::TextureView& texture, const render::TextureView& background,
                  const std::vector<std::uint8_t>& source_seen) const {
    FaceRender r{render::Frame::from(background), render::project(geometry, render::Projection::weak()), {}};
    render::rasterize(r.screen, uv, triangles_, texture, r.frame,
                      {.cull = render::Cull::back, .front = render::FrontFace::counter_clockwise});
    r.seen = source_seen;
    return r;
  }

  // One pair: the photo (any channels; used as RGB) and its 468 points, turned by yaw_degrees.
  PosePair make(const io::Image& photo, std::span<const render::Vec3> points, double yaw_degrees, PoseMode mode,
                int size) const {
    io::detail::check_image(photo, "PoseSynthesizer::make");
    if (points.size() != 468) fail("tsgan: pose synthesis: {} mesh points (FaceMesh's 468 expected)", points.size());
    if (size < 16) fail("tsgan: pose synthesis: a crop of {} pixels (16 or more expected)", size);
    const io::Image rgb = io::to_rgb(photo);
    const int w = rgb.width, h = rgb.height;
    // Colour channels 0..2 and, from the second render on, a "no source" channel 3.
    std::vector<float> texture(static_cast<std::size_t>(w) * h * 4, 0.f);
    for (std::size_t p = 0; p < static_cast<std::size_t>(w) * h; ++p)
      for (int c = 0; c < 3; ++c) texture[p * 4 + static_cast<std::size_t>(c)] = rgb.pixels[p * 3 + static_cast<std::size_t>(c)];
    const render::TextureView photo_view{texture.data(), w, h, 4};

    const std::vector<render::Vec3> source = head_ ? head_->extend(points) : std::vector<render::Vec3>(points.begin(), points.end());
    std::vector<render::TexCoord> uv(source.size());
    for (std::size_t i = 0; i < source.size(); ++i) uv[i] = {source[i].x, source[i].y};

    // The photo's own view: which triangles it saw, and which pixels the face covers.
    const FaceRender front = draw(source, uv, photo_view, photo_view, std::vector<std::uint8_t>(triangles_.size(), 1));
    const std::vector<std::uint8_t> seen0 = seen_in(front.screen, front.frame);

    const std::vector<render::Vec3> rotated = head_ ? turned_head(source, yaw_degrees) : turned(points, yaw_degrees);
    FaceRender turned_render = draw(rotated, uv, photo_view, photo_view, head_ ? band_not_widened(seen0, front.screen, rotated) : seen0);
    mark_no_source(turned_render, front.frame);

    const FaceRender* result = &turned_render;
    FaceRender back{render::Frame(1, 1, 4), {}, {}};
    std::vector<render::Vec3> result_points = rotated;
    if (mode == PoseMode::roundtrip) {
      // The turned render is the texture now, at the turned points' image positions.
      std::vector<render::TexCoord> uv_turned(rotated.size());
      for (std::size_t i = 0; i < rotated.size(); ++i) uv_turned[i] = {turned_render.screen[i].x, turned_render.screen[i].y};
      const std::vector<std::uint8_t> seen1 = seen_in(turned_render.screen, turned_render.frame);
      back = draw(source, uv_turned, turned_render.frame.view(), photo_view, seen1);
      // The face covers what it covered in the photo: no background is revealed.
      mark_no_source(back, back.frame);
      result = &back;
      result_points = source;
    }

    PosePair pair;
    pair.yaw_degrees = yaw_degrees;
    const align::FaceTemplate tmpl = align::FaceTemplate::tsgan(size);
    const align::Similarity to_target = align::crop_to_image(tmpl, template_landmarks(points));
    const align::Similarity& to_input = to_target;
    const io::Image rendered = to_image(result->frame, 3);
    const io::Image mask = to_image(result->frame, 1, 3);
    pair.input = align::warp(rendered, to_input, size, size, align::Border::replicate);
    pair.frame = rendered;
    pair.target = align::warp(rgb, to_target, size, size, align::Border::replicate);
    pair.no_source = align::warp(mask, to_input, size, size, align::Border::zero);
    std::size_t masked = 0;
    for (std::uint8_t& v : pair.no_source.pixels) {
      v = v > 0 ? 255 : 0;
      masked += v != 0;
    }
    pair.no_source_fraction = static_cast<double>(masked) / double(size * size);
    const std::span<const render::Vec3> result_face = std::span(result_points).first(points.size());
    pair.input_points = crop_points(to_input, result_face);
    pair.target_points = crop_points(to_target, points);
    pair.crop_to_photo = to_target;
    pair.input_mesh = crop_mesh(to_input, result_face);
    pair.target_mesh = crop_mesh(to_target, points);
    return pair;
  }

  // The 68 iBUG points among 468 mesh points, `map[i]` being the vertex of point i.
  static align::Landmarks68 landmarks68(std::span<const align::Point> mesh, const std::array<int, 68>& map) {
    if (mesh.size() != 468) fail("tsgan: landmarks68: {} mesh points (FaceMesh's 468 expected)", mesh.size());
    align::Landmarks68 out;
    for (std::size_t i = 0; i < out.size(); ++i) out[i] = mesh[static_cast<std::size_t>(map[i])];
    return out;
  }

  // The five points of align/landmarks.hpp from mesh points, in align's convention (+0.5).
  static align::FivePoints five_points(std::span<const render::Vec3> p) {
    const auto at = [&](int i) { return align::Point{p[static_cast<std::size_t>(i)].x + 0.5, p[static_cast<std::size_t>(i)].y + 0.5}; };
    const auto mid = [&](const std::array<int, 2>& e) {
      const align::Point a = at(e[0]), b = at(e[1]);
      return align::Point{(a.x + b.x) / 2, (a.y + b.y) / 2};
    };
    return {mid(mesh_left_eye), mid(mesh_right_eye), at(mesh_nose_tip), at(mesh_left_mouth), at(mesh_right_mouth)};
  }

 private:
  static render::Vec3 mean(std::span<const render::Vec3> points) {
    render::Vec3 c;
    for (const auto& p : points) {
      c.x += p.x;
      c.y += p.y;
      c.z += p.z;
    }
    const double n = static_cast<double>(points.size());
    return {c.x / n, c.y / n, c.z / n};
  }

  // Head mode: the face and the head rings turn about the face's centre (the same turn as
  // without the head); the still ring stays.
  std::vector<render::Vec3> turned_head(const std::vector<render::Vec3>& source, double yaw_degrees) const {
    const std::span<const render::Vec3> all(source);
    std::vector<render::Vec3> out = render::rotate_about(std::vector<render::Vec3>(source.begin(), source.begin() + std::ptrdiff_t(head_->turning_count())),
                                                         render::yaw(render::degrees(yaw_degrees)), mean(all.first(head_->face_vertex_count())));
    out.insert(out.end(), source.begin() + std::ptrdiff_t(head_->turning_count()), source.end());
    return out;
  }

  // The band between the turning head and the still background: where a band triangle is drawn
  // wider than the photo showed it, it shows what lay behind the head, which the photo never
  // showed, so it counts as unseen.
  std::vector<std::uint8_t> band_not_widened(std::vector<std::uint8_t> seen, const std::vector<render::ScreenVertex>& before,
                                             const std::vector<render::Vec3>& after) const {
    const auto area = [](const auto& a, const auto& b, const auto& c) {
      return std::abs((b.x - a.x) * (c.y - a.y) - (b.y - a.y) * (c.x - a.x));
    };
    const auto at = [](const auto& v, int vertex) { return v[static_cast<std::size_t>(vertex)]; };
    for (std::size_t t = head_->band_begin(); t < triangles_.size(); ++t) {
      const auto& [i, j, k] = triangles_[t];
      if (area(at(after, i), at(after, j), at(after, k)) > area(at(before, i), at(before, j), at(before, k)) * (1 + 1e-9)) seen[t] = 0;
    }
    return seen;
  }

  // The tsgan template reads only the five points' sources: the eye contours 36-47 (their
  // means), the nose tip 30 and the mouth corners 48 and 54.
  static align::Landmarks68 template_landmarks(std::span<const render::Vec3> p) {
    const align::FivePoints f = five_points(p);
    align::Landmarks68 l{};
    for (std::size_t i = 36; i < 42; ++i) l[i] = f[0];
    for (std::size_t i = 42; i < 48; ++i) l[i] = f[1];
    l[30] = f[2];
    l[48] = f[3];
    l[54] = f[4];
    return l;
  }

  static std::vector<align::Point> crop_mesh(const align::Similarity& crop_to_image, std::span<const render::Vec3> p) {
    const align::Similarity inv = crop_to_image.inverse();
    std::vector<align::Point> out;
    out.reserve(p.size());
    for (const render::Vec3& v : p) out.push_back(inv(align::Point{v.x + 0.5, v.y + 0.5}));
    return out;
  }

  static align::FivePoints crop_points(const align::Similarity& crop_to_image, std::span<const render::Vec3> p) {
    const align::Similarity inv = crop_to_image.inverse();
    align::FivePoints f = five_points(p);
    for (align::Point& q : f) q = inv(q);
    return f;
  }

  // Channel 3 of `r.frame` becomes 255 where the pixel has no source: a drawn triangle the
  // source view did not see, a sampled source pixel that had none, or a pixel the face covered
  // in the source view and no longer covers.
  static void mark_no_source(FaceRender& r, const render::Frame& source_view) {
    render::Frame& f = r.frame;
    for (int y = 0; y < f.height; ++y)
      for (int x = 0; x < f.width; ++x) {
        const std::size_t p = f.index(y, x);
        float& flag = f.pixel(y, x)[3];
        if (f.coverage[p]) {
          const bool unseen = !r.seen[static_cast<std::size_t>(f.triangle[p])];
          flag = unseen || flag > 127.5f ? 255.f : 0.f;
        } else {
          flag = source_view.coverage[p] ? 255.f : std::max(flag, 0.f);
        }
      }
  }

  // `count` channels from `first` of a frame as an 8-bit image (rounded, clamped).
  static io::Image to_image(const render::Frame& f, int count, int first = 0) {
    io::Image out(f.width, f.height, count);
    for (int y = 0; y < f.height; ++y)
      for (int x = 0; x < f.width; ++x)
        for (int c = 0; c < count; ++c)
          out.at(y, x, c) = static_cast<std::uint8_t>(std::clamp(std::lround(f.pixel(y, x)[first + c]), 0L, 255L));
    return out;
  }

  std::vector<render::Triangle> triangles_;
  double depth_tolerance_;
  std::optional<render::HeadMesh> head_;
};

// The yaw, in degrees, of the rotation of the least-squares similarity that maps `from` onto `to`
// (corresponding points, at least 3, not all on a line): R = yaw · pitch · roll, the yaw being
// atan2(R02, R22); render::yaw(θ) applied to `from` gives θ back.
inline double relative_yaw_degrees(std::span<const render::Vec3> from, std::span<const render::Vec3> to) {
  if (from.size() != to.size() || from.size() < 3)
    fail("tsgan: relative_yaw_degrees: {} and {} points (as many, and at least 3, expected)", from.size(), to.size());
  const render::Rotation r = render::best_similarity(from, to).rotation;
  return std::atan2(r.r[0][2], r.r[2][2]) * 180.0 / 3.14159265358979323846;
}

// FaceMesh points (a range of anything with x, y, z) as renderer points.
template <class Points>
std::vector<render::Vec3> mesh_vertices(const Points& points) {
  std::vector<render::Vec3> v;
  for (const auto& p : points) v.push_back({p.x, p.y, p.z});
  return v;
}

}  // namespace tsgan::data
