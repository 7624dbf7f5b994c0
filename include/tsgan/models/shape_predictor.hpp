// ShapePredictor: dlib's regression-tree shape predictor (Kazemi & Sullivan, "One millisecond face
// alignment with an ensemble of regression trees", CVPR 2014) read from dlib's own serialized
// model, e.g. shape_predictor_68_face_landmarks.dat (Debian's libdlib-data puts it in
// /usr/share/dlib; docs/face-models.md). Learnt from dlib 19.24's shape_predictor.h and
// serialize.h; no code copied.
//
//   tsgan::models::ShapePredictor sp("/usr/share/dlib/shape_predictor_68_face_landmarks.dat");
//   tsgan::align::Landmarks68 points = sp.predict(image, {left, top, right, bottom});
//
// Contract, as dlib's shape_predictor::operator()(img, rect):
//  - the box is a dlib rectangle: integer pixel numbers, right and bottom inclusive, as dlib's
//    frontal face detector returns them; the shape lives in the box's unit square, (0, 0) at pixel
//    (left, top) and (1, 1) at (right, bottom);
//  - the image is read as dlib reads an 8-bit grey image; RGB(A) pixels become (r + g + b) / 3
//    rounded down, as dlib's assign_pixel does (alpha ignored);
//  - each cascade level fits the similarity from the mean shape to the current shape (Umeyama, in
//    double), casts its 2x2 part to float, places each feature pixel at anchor + that · delta (float),
//    maps it into the box (double), rounds to the nearest pixel (floor(v + 0.5)) and reads it, 0
//    outside the image; each tree goes left while pixel[i] - pixel[j] > threshold (float), and the
//    leaves' vectors are added to the shape in tree order (float).
// The points come back unrounded (dlib rounds them to integers) in tsgan's convention
// (align/point.hpp: pixel centres at i + 0.5), so they are dlib's to float precision plus 0.5.
//
// The model was trained on boxes of dlib's own frontal face detector; in face-api's box (larger,
// and set lower) it scores only 94.80 % on the LFW subset of docs/examples.md. dlib_box_from_face_api
// maps face-api's box to the one dlib's detector would give, fitted once on lfw-deepfunneled-extra
// (tools/dlib-box: 1,448 photos where both detectors found the same single face; not View 2).
//
// A missing, truncated or malformed file, or one that is not a shape predictor, is an error naming
// the file. predict is const and thread-safe.
#pragma once

#include <algorithm>
#include <array>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <filesystem>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "tsgan/align/landmarks.hpp"
#include "tsgan/align/similarity.hpp"
#include "tsgan/core/error.hpp"
#include "tsgan/io/dlib_serialize.hpp"
#include "tsgan/io/image.hpp"
#include "tsgan/models/face_detector.hpp"

namespace tsgan::models {

// dlib's rectangle: pixel numbers, all four edges inclusive (a 1-pixel box has left == right).
struct DlibRect {
  long left = 0, top = 0, right = 0, bottom = 0;

  friend constexpr bool operator==(const DlibRect&, const DlibRect&) = default;
};

namespace shape_predictor {

inline constexpr const char* debian_model_path = "/usr/share/dlib/shape_predictor_68_face_landmarks.dat";

// $TSGAN_DLIB_SHAPE_PREDICTOR if set, else Debian's libdlib-data file; none when the file is not there.
inline std::optional<std::filesystem::path> model_path() {
  const char* env = std::getenv("TSGAN_DLIB_SHAPE_PREDICTOR");
  const std::filesystem::path p = env != nullptr && *env != '\0' ? std::filesystem::path(env) : debian_model_path;
  std::error_code ec;
  if (!std::filesystem::is_regular_file(p, ec)) return std::nullopt;
  return p;
}

}  // namespace shape_predictor

// dlib's detector box for a face-api box (TinyFaceDetector at input 256, tsgan-evaluate's setting),
// by tools/dlib-box/fit.py's least squares: centre x + w/2 + 0.02841 w, y + h/2 - 0.06866 h, side
// 0.47011 w + 0.39708 h. Residuals (rms over the 1,448 photos): 8.3 px in x, 6.2 px in y and
// 10.4 px in the side, of dlib's 105 px mean side (its sides come in pyramid steps of 1.2x).
inline DlibRect dlib_box_from_face_api(const FaceBox& box) {
  const double cx = box.x + box.width * (0.5 + 0.02841), cy = box.y + box.height * (0.5 - 0.06866);
  const long side = std::max(1L, std::lround(0.47011 * box.width + 0.39708 * box.height));
  // dlib's [left, right] covers [left, right + 1) in tsgan's coordinates.
  const long left = std::lround(cx - 0.5 * double(side)), top = std::lround(cy - 0.5 * double(side));
  return {left, top, left + side - 1, top + side - 1};
}

class ShapePredictor {
 public:
  explicit ShapePredictor(const std::filesystem::path& path) {
    io::DlibReader r(path, "ShapePredictor", "a dlib shape predictor",
                     "dlib's shape_predictor_68_face_landmarks.dat comes with Debian's libdlib-data; docs/face-models.md");
    const std::int64_t version = r.signed_int("the version");
    if (version != 1) r.bad("the version", fmt::format("version {} (dlib writes 1)", version));
    mean_ = r.column("the mean shape");
    if (mean_.size() < 4 || mean_.size() % 2 != 0)
      r.bad("the mean shape", fmt::format("{} numbers (an even count of at least 4 expected)", mean_.size()));
    const std::size_t levels = r.count("the number of cascade levels", 1000);
    levels_.resize(levels);
    for (Level& level : levels_) {
      level.trees.resize(r.count("the number of trees of a level", 100000));
      for (Tree& tree : level.trees) {
        tree.splits.resize(r.count("the number of splits of a tree", 1 << 16));
        for (Split& s : tree.splits) {
          s.first = r.count("a split's first pixel", UINT32_MAX);
          s.second = r.count("a split's second pixel", UINT32_MAX);
          s.threshold = r.real("a split's threshold");
        }
        const std::size_t leaves = r.count("the number of leaves of a tree", 1 << 17);
        if (leaves != tree.splits.size() + 1 || (leaves & (leaves - 1)) != 0)
          r.bad("a tree's leaves", fmt::format("{} leaves for {} splits (a full binary tree expected)", leaves,
                                               tree.splits.size()));
        tree.leaves.reserve(leaves * mean_.size());
        for (std::size_t i = 0; i < leaves; ++i) {
          const std::vector<float> v = r.column("a leaf");
          if (v.size() != mean_.size())
            r.bad("a leaf", fmt::format("{} numbers for a shape of {}", v.size(), mean_.size()));
          tree.leaves.insert(tree.leaves.end(), v.begin(), v.end());
        }
      }
    }
    if (r.count("the number of anchor lists", levels) != levels) r.bad("the anchor lists", "a count unlike the levels'");
    for (Level& level : levels_) {
      level.pixels.resize(r.count("the number of feature pixels of a level", 1 << 20));
      for (Pixel& p : level.pixels) p.anchor = r.count("a feature pixel's anchor", mean_.size() / 2 - 1);
    }
    if (r.count("the number of offset lists", levels) != levels) r.bad("the offset lists", "a count unlike the levels'");
    for (Level& level : levels_) {
      if (r.count("the number of feature offsets of a level", level.pixels.size()) != level.pixels.size())
        r.bad("the feature offsets", "a count unlike the anchors'");
      for (Pixel& p : level.pixels) {
        p.dx = r.real("a feature offset");
        p.dy = r.real("a feature offset");
      }
      for (const Tree& tree : level.trees)
        for (const Split& s : tree.splits)
          if (s.first >= level.pixels.size() || s.second >= level.pixels.size())
            r.bad("a split", fmt::format("a pixel index of {} or {} among {} pixels", s.first, s.second,
                                         level.pixels.size()));
    }
    if (r.offset() != r.size()) r.bad("the end", fmt::format("{} more bytes after the model", r.size() - r.offset()));
    for (std::size_t i = 0; i < mean_.size() / 2; ++i) mean_points_.push_back({mean_[2 * i], mean_[2 * i + 1]});
  }

  std::size_t point_count() const { return mean_.size() / 2; }
  std::size_t level_count() const { return levels_.size(); }

  // The points in the box's unit square as dlib keeps them, before they are mapped to pixels.
  std::vector<float> predict_normalized(const io::Image& image, const DlibRect& box) const {
    const std::vector<std::uint8_t> grey = intensity(image);
    const double box_w = double(box.right - box.left), box_h = double(box.bottom - box.top);
    std::vector<float> shape = mean_;
    std::vector<float> values;
    std::vector<align::Point> current(point_count());
    for (const Level& level : levels_) {
      for (std::size_t i = 0; i < current.size(); ++i) current[i] = {shape[2 * i], shape[2 * i + 1]};
      const align::Similarity s = align::fit_similarity(mean_points_, current);
      const float a = static_cast<float>(s.a), b = static_cast<float>(s.b);
      values.resize(level.pixels.size());
      for (std::size_t i = 0; i < level.pixels.size(); ++i) {
        const Pixel& p = level.pixels[i];
        const float ux = (a * p.dx + -b * p.dy) + shape[2 * p.anchor];
        const float uy = (b * p.dx + a * p.dy) + shape[2 * p.anchor + 1];
        const double x = std::floor(double(box.left) + box_w * double(ux) + 0.5);
        const double y = std::floor(double(box.top) + box_h * double(uy) + 0.5);
        values[i] = x >= 0 && y >= 0 && x < image.width && y < image.height
                        ? float(grey[std::size_t(y) * std::size_t(image.width) + std::size_t(x)])
                        : 0.0f;
      }
      for (const Tree& tree : level.trees) {
        std::size_t node = 0;
        while (node < tree.splits.size()) {
          const Split& sp = tree.splits[node];
          node = values[sp.first] - values[sp.second] > sp.threshold ? 2 * node + 1 : 2 * node + 2;
        }
        const float* leaf = tree.leaves.data() + (node - tree.splits.size()) * shape.size();
        for (std::size_t k = 0; k < shape.size(); ++k) shape[k] += leaf[k];
      }
    }
    return shape;
  }

  align::Landmarks68 predict(const io::Image& image, const DlibRect& box) const {
    if (point_count() != 68)
      fail("tsgan: ShapePredictor::predict: the model has {} points, not the 68 of Landmarks68; use predict_points",
           point_count());
    const std::vector<align::Point> p = predict_points(image, box);
    align::Landmarks68 out;
    for (std::size_t i = 0; i < out.size(); ++i) out[i] = p[i];
    return out;
  }

  // dlib's detector box for a face, from points predicted on a first box (tsgan's coordinates): by
  // tools/dlib-box's least squares on lfw-deepfunneled-extra (1,449 photos; the first box
  // dlib_box_from_face_api's), centre = the points' centroid + (0.04771, -0.11290) · spread and
  // side = 2.87245 · spread, spread being the root mean square distance to the centroid.
  // Residuals (rms): 3.9 px in x, 5.6 px in y, 9.3 px in the side (8.3, 6.2 and 10.4 px for the
  // face-api box's map), so a second prediction in this box starts closer to dlib's framing.
  DlibRect box_for(std::span<const align::Point> points) const {
    if (points.size() != point_count())
      fail("tsgan: ShapePredictor::box_for: {} points for a model of {}", points.size(), point_count());
    double px = 0, py = 0;
    for (const align::Point& p : points) px += p.x, py += p.y;
    const double n = double(points.size());
    px /= n, py /= n;
    double spread = 0;
    for (const align::Point& p : points) spread += (p.x - px) * (p.x - px) + (p.y - py) * (p.y - py);
    spread = std::sqrt(spread / n);
    const long side = std::max(1L, std::lround(2.87245 * spread));
    // dlib's [left, right] covers [left, right + 1) in tsgan's coordinates.
    const long left = std::lround(px + 0.04771 * spread - 0.5 * double(side));
    const long top = std::lround(py - 0.11290 * spread - 0.5 * double(side));
    return {left, top, left + side - 1, top + side - 1};
  }

  std::vector<align::Point> predict_points(const io::Image& image, const DlibRect& box) const {
    const std::vector<float> shape = predict_normalized(image, box);
    const double box_w = double(box.right - box.left), box_h = double(box.bottom - box.top);
    std::vector<align::Point> out(point_count());
    for (std::size_t i = 0; i < out.size(); ++i)
      out[i] = {double(box.left) + box_w * double(shape[2 * i]) + 0.5, double(box.top) + box_h * double(shape[2 * i + 1]) + 0.5};
    return out;
  }

 private:
  struct Split {
    std::size_t first = 0, second = 0;
    float threshold = 0;
  };
  struct Tree {
    std::vector<Split> splits;  // breadth-first: node n's children are 2n + 1 (taken when above) and 2n + 2
    std::vector<float> leaves;  // (splits + 1) shape increments, one after the other
  };
  struct Pixel {
    std::size_t anchor = 0;  // the shape point the pixel moves with
    float dx = 0, dy = 0;    // its offset from that point in the mean shape
  };
  struct Level {
    std::vector<Pixel> pixels;
    std::vector<Tree> trees;
  };

  static std::vector<std::uint8_t> intensity(const io::Image& image) {
    if (image.width <= 0 || image.height <= 0 ||
        image.pixels.size() != std::size_t(image.width) * std::size_t(image.height) * std::size_t(image.channels))
      fail("tsgan: ShapePredictor::predict: an image of {}x{}x{} with {} bytes", image.width, image.height,
           image.channels, image.pixels.size());
    if (image.channels == 1) return image.pixels;
    std::vector<std::uint8_t> grey(std::size_t(image.width) * std::size_t(image.height));
    for (std::size_t i = 0; i < grey.size(); ++i) {
      const std::uint8_t* p = image.pixels.data() + i * std::size_t(image.channels);
      grey[i] = std::uint8_t((unsigned(p[0]) + unsigned(p[1]) + unsigned(p[2])) / 3);
    }
    return grey;
  }

  std::vector<float> mean_;
  std::vector<align::Point> mean_points_;
  std::vector<Level> levels_;
};

}  // namespace tsgan::models
