// HogFaceDetector: dlib's frontal face detector (dlib::get_frontal_face_detector(), an
// object_detector<scan_fhog_pyramid<pyramid_down<6>>>: 5 HOG filters, front, left, right and front
// rotated either way) read from dlib's own serialized detector, the file
// tools/dlib-hog/export.cpp writes (scripts/fetch-face-models.sh, when libdlib-dev is installed;
// docs/face-models.md). Learnt from dlib 19.24's object_detector.h, scan_fhog_pyramid.h,
// image_pyramid.h, spatial_filtering.h and interpolation.h; no code copied.
//
//   tsgan::models::HogFaceDetector hog(*tsgan::models::hog_face_detector::model_path());
//   std::vector<tsgan::models::HogDetection> faces = hog.detect(image);  // best first
//
// Contract, as dlib's detector(img, dets, adjust_threshold) on an 8-bit grey image:
//  - RGB(A) images are read as grey (r + g + b) / 3 rounded down (dlib's assign_pixel), as
//    ShapePredictor reads them; dlib run on an RGB image itself would take each pixel's strongest
//    channel gradient instead;
//  - the pyramid: the image, then each level floor(5/6) of the last in each direction, by dlib's
//    bilinear resize of 8-bit grey images (its 4-wide float code and its double tail, in its
//    order); levels while dlib's rect_down of the image rectangle keeps both sides >= the
//    serialized minimum (64);
//  - per level, fhog features (models/fhog.hpp, cell 8, padded by the filter size) and, per filter,
//    the sum over the 31 planes of each plane correlated with its filter; dlib makes each plane's
//    10x10 filter separable by an SVD (in double; singular values below max(1e-4, 0.001 · the
//    largest) dropped) and uses the separable sums unless there are more than 31 · 10 / 3 rank-one
//    terms, in float in its order. Eigen's SVD stands in for dlib's svd3; their singular vectors
//    could differ in the last bits of the float casts, but on all of LFW View 2 the detections
//    and scores equal dlib's bit for bit (tools/dlib-hog/compare.cpp; the golden test allows 1e-5);
//  - a window scores its sum minus the filter's bias; it is kept when score >= adjust_threshold and
//    mapped back as dlib maps it (its fhog_to_image, then 1.2 · p + 0.3 per level, rounded);
//  - all windows of the 5 filters, best first (equal scores in scan order, where dlib's unstable
//    sort leaves them unspecified), greedily dropping one that overlaps a kept one by the
//    serialized test_box_overlap (IoU above 0.33 or more than 0.79 of either box covered).
// Boxes are dlib rectangles (DlibRect: inclusive pixel numbers), ready for ShapePredictor.
//
// A missing, truncated or malformed file, or one that is not this kind of detector, is an error
// naming the file. detect is const and thread-safe.
#pragma once

#include <Eigen/SVD>

#include <algorithm>
#include <array>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "tsgan/core/error.hpp"
#include "tsgan/io/dlib_serialize.hpp"
#include "tsgan/io/image.hpp"
#include "tsgan/io/model_path.hpp"
#include "tsgan/models/fhog.hpp"
#include "tsgan/models/shape_predictor.hpp"

// dlib's sums are float products rounded before each addition: no fused multiply-add, whatever
// -march says.
#if defined(__clang__)
#pragma float_control(push)
#pragma clang fp contract(off)
#elif defined(__GNUC__)
#pragma GCC push_options
#pragma GCC optimize("fp-contract=off")
#endif

namespace tsgan::models {

struct HogDetection {
  DlibRect rect;
  double score = 0;          // the window's filter sum minus the filter's bias: >= 0 at dlib's threshold
  std::size_t detector = 0;  // which of the 5 filters (0 front, 1 left, 2 right, 3 and 4 rotated)
};

namespace hog_face_detector {

// The name of the exported file in the face model folder (io::face_models_search_dir()).
inline constexpr const char* file_name = "dlib_frontal_face_detector.dat";
// sha256 of the bytes dlib 19.24's get_serialized_frontal_faces() holds.
inline constexpr const char* sha256 = "f3f7aa833fb4a14a46fc48689f45b98d85ef72d6dfaf8bdc012b7d3c522a5426";

// The exported detector in a face model folder (by default the one tsgan searches), when it is there.
inline std::optional<std::filesystem::path> model_path(const std::filesystem::path& dir = io::face_models_search_dir()) {
  if (dir.empty()) return std::nullopt;
  std::error_code ec;
  if (!std::filesystem::is_regular_file(dir / file_name, ec)) return std::nullopt;
  return dir / file_name;
}

namespace detail {

// dlib's rectangle arithmetic on DlibRect: empty when right < left or bottom < top.
inline long area(const DlibRect& r) {
  return r.right < r.left || r.bottom < r.top ? 0 : (r.right - r.left + 1) * (r.bottom - r.top + 1);
}
inline DlibRect intersect(const DlibRect& a, const DlibRect& b) {
  return {std::max(a.left, b.left), std::max(a.top, b.top), std::min(a.right, b.right), std::min(a.bottom, b.bottom)};
}
inline DlibRect bounding(const DlibRect& a, const DlibRect& b) {
  if (area(a) == 0) return b;
  if (area(b) == 0) return a;
  return {std::min(a.left, b.left), std::min(a.top, b.top), std::max(a.right, b.right), std::max(a.bottom, b.bottom)};
}

// pyramid_down<6>'s resize of an 8-bit grey image to rows x cols (both at least 1).
inline io::Image shrink(const io::Image& in, int rows, int cols) {
  io::Image out(cols, rows, 1);
  const auto at = [&](long r, long c) { return float(in.pixels[std::size_t(r) * in.width + std::size_t(c)]); };
  const double x_scale = double(in.width - 1) / double(std::max(cols - 1, 1));
  const double y_scale = double(in.height - 1) / double(std::max(rows - 1, 1));
  double y = -y_scale;
  for (int r = 0; r < rows; ++r) {
    y += y_scale;
    const long top = long(std::floor(y));
    const long bottom = std::min<long>(top + 1, in.height - 1);
    const double tb_frac = y - double(top);
    const float tb = float(tb_frac), inv_tb = float(1 - tb_frac), step = float(4 * x_scale);
    const double x0 = -4 * x_scale;
    std::array<float, 4> lane{float(x0), float(x0 + x_scale), float(x0 + 2 * x_scale), float(x0 + 3 * x_scale)};
    std::uint8_t* row = out.pixels.data() + std::size_t(r) * cols;
    int c = 0;
    // Four columns at a time, the x positions stepping in float, until the fourth one's right
    // neighbour leaves the image.
    for (;; c += 4) {
      std::array<long, 4> left;
      std::array<float, 4> lr;
      for (int k = 0; k < 4; ++k) {
        lane[k] += step;
        left[k] = long(lane[k]);
        lr[k] = lane[k] - float(left[k]);
      }
      if (left[3] + 1 >= in.width) break;
      for (int k = 0; k < 4; ++k) {
        const float inv_lr = 1 - lr[k];
        const float v = inv_tb * inv_lr * at(top, left[k]) + inv_tb * lr[k] * at(top, left[k] + 1) +
                        tb * inv_lr * at(bottom, left[k]) + tb * lr[k] * at(bottom, left[k] + 1);
        row[c + k] = std::uint8_t(double(v) + 0.5);
      }
    }
    double x = -x_scale + c * x_scale;
    for (; c < cols; ++c) {
      x += x_scale;
      const long left = long(std::floor(x));
      const long right = std::min<long>(left + 1, in.width - 1);
      const float lr = float(x - double(left));
      const float v = float((1 - tb_frac) * double((1 - lr) * at(top, left) + lr * at(top, right)) +
                            tb_frac * double((1 - lr) * at(bottom, left) + lr * at(bottom, right)));
      row[c] = v <= 0 ? 0 : v >= 255 ? 255 : std::uint8_t(v);
    }
  }
  return out;
}

// dlib's sum of n products x[i · stride] · f[i] as its 8-wide code forms it: three running sums over
// i = 0, 3, 6, ... / 1, 4, ... / 2, 5, ..., the rest into the first, then first + (second + third).
inline float strided_dot_blocked(const float* x, std::size_t stride, const float* f, long n) {
  float a0 = 0, a1 = 0, a2 = 0;
  long i = 0;
  for (; i < n - 2; i += 3) {
    a0 += x[std::size_t(i) * stride] * f[i];
    a1 += x[std::size_t(i + 1) * stride] * f[i + 1];
    a2 += x[std::size_t(i + 2) * stride] * f[i + 2];
  }
  for (; i < n; ++i) a0 += x[std::size_t(i) * stride] * f[i];
  return a0 + (a1 + a2);
}
// The same sum as dlib's scalar tail forms it, in order.
inline float strided_dot(const float* x, std::size_t stride, const float* f, long n) {
  float a = 0;
  for (long i = 0; i < n; ++i) a += x[std::size_t(i) * stride] * f[i];
  return a;
}

}  // namespace detail

}  // namespace hog_face_detector

class HogFaceDetector {
 public:
  explicit HogFaceDetector(const std::filesystem::path& path) {
    io::DlibReader r(path, "HogFaceDetector", "dlib's serialized frontal face detector",
                     "tools/dlib-hog/export.cpp writes it; scripts/fetch-face-models.sh runs it when Debian's "
                     "libdlib-dev is installed; docs/face-models.md");
    if (const std::int64_t v = r.signed_int("the detector's version"); v != 2)
      r.bad("the detector's version", fmt::format("version {} (dlib 19.24 writes 2)", v));
    if (const std::int64_t v = r.signed_int("the scanner's version"); v != 1)
      r.bad("the scanner's version", fmt::format("version {} (dlib 19.24 writes 1)", v));
    r.count("the scanner's feature array's capacity", UINT64_MAX);
    r.count("the scanner's feature array's size (an unloaded scanner's is 0)", 0);
    cell_size_ = int(r.signed_int("the cell size"));
    padding_ = long(r.count("the padding", 64));
    window_width_ = long(r.count("the window width", 4096));
    window_height_ = long(r.count("the window height", 4096));
    max_levels_ = r.count("the maximum pyramid levels", UINT32_MAX);
    min_level_width_ = long(r.count("the minimum level width", 1 << 20));
    min_level_height_ = long(r.count("the minimum level height", 1 << 20));
    r.real64("the nuclear norm regularization");
    if (cell_size_ < 1 || cell_size_ > 64) r.bad("the cell size", fmt::format("{}", cell_size_));
    // The filter's size in cells: the window's corners in fhog space, grown by the padding.
    const auto to_fhog = [&](long p) { return (p - 1) / cell_size_ - 1; };
    filter_cols_ = to_fhog(window_width_ - window_width_ / 2 - 1) - to_fhog(-window_width_ / 2) + 1 + 2 * padding_;
    filter_rows_ = to_fhog(window_height_ - window_height_ / 2 - 1) - to_fhog(-window_height_ / 2) + 1 + 2 * padding_;
    if (filter_cols_ < 1 || filter_rows_ < 1) r.bad("the window size", "a window smaller than a cell");
    const std::size_t dims = std::size_t(filter_rows_ * filter_cols_) * FhogPlanes::planes;
    if (const std::int64_t d = r.signed_int("the number of dimensions"); d != std::int64_t(dims))
      r.bad("the number of dimensions", fmt::format("{} where the window gives {}", d, dims));
    iou_threshold_ = r.real64("the overlap test's IoU threshold");
    covered_threshold_ = r.real64("the overlap test's covered threshold");
    const std::size_t filters = r.count("the number of filters", 1000);
    if (filters == 0) r.bad("the number of filters", "0");
    filters_.resize(filters);
    for (Filter& f : filters_) {
      const std::vector<double> w = r.column64("a filter's weights");
      if (w.size() != dims + 1) r.bad("a filter's weights", fmt::format("{} numbers for {} + 1", w.size(), dims));
      build(f, w);
    }
    if (r.offset() != r.size())
      r.bad("the end", fmt::format("{} more bytes after the detector", r.size() - r.offset()));
  }

  std::size_t filter_count() const { return filters_.size(); }

  // The faces, best first; adjust_threshold > 0 keeps fewer, < 0 more (dlib's adjust_threshold).
  std::vector<HogDetection> detect(const io::Image& image, double adjust_threshold = 0) const {
    std::vector<HogDetection> all;
    std::vector<io::Image> levels = pyramid(grey(image));
    for (std::size_t l = 0; l < levels.size(); ++l) {
      const FhogPlanes feats = extract_fhog(levels[l], cell_size_, int(filter_rows_), int(filter_cols_));
      for (std::size_t f = 0; f < filters_.size(); ++f) scan(feats, l, f, adjust_threshold, all);
    }
    std::stable_sort(all.begin(), all.end(), [](const HogDetection& a, const HogDetection& b) { return a.score > b.score; });
    std::vector<HogDetection> kept;
    for (const HogDetection& d : all)
      if (std::none_of(kept.begin(), kept.end(), [&](const HogDetection& k) { return overlaps(k.rect, d.rect); }))
        kept.push_back(d);
    return kept;
  }

  // The detection whose box centre is nearest the image centre (dlib's pipeline for LFW's centred
  // faces), if any.
  static std::optional<HogDetection> nearest_centre(std::span<const HogDetection> faces, int width, int height) {
    std::optional<HogDetection> best;
    double best_d = 0;
    for (const HogDetection& f : faces) {
      const double dx = 0.5 * double(f.rect.left + f.rect.right + 1) - 0.5 * width;
      const double dy = 0.5 * double(f.rect.top + f.rect.bottom + 1) - 0.5 * height;
      const double d = dx * dx + dy * dy;
      if (!best || d < best_d) best = f, best_d = d;
    }
    return best;
  }

  // dlib's test_box_overlap with the serialized thresholds.
  bool overlaps(const DlibRect& a, const DlibRect& b) const {
    namespace d = hog_face_detector::detail;
    const double inner = double(d::area(d::intersect(a, b)));
    if (inner == 0) return false;
    const double outer = double(d::area(d::bounding(a, b)));
    return inner / outer > iou_threshold_ || inner / double(d::area(a)) > covered_threshold_ ||
           inner / double(d::area(b)) > covered_threshold_;
  }

 private:
  struct Filter {
    double bias = 0;
    std::vector<std::vector<float>> full;  // per plane, rows x cols
    // per plane, the rank-one terms: column (rows) and row (cols) vectors
    std::vector<std::vector<std::pair<std::vector<float>, std::vector<float>>>> separable;
    bool use_separable = true;
  };

  void build(Filter& f, const std::vector<double>& w) const {
    const long rows = filter_rows_, cols = filter_cols_, size = rows * cols;
    f.bias = w.back();
    f.full.resize(FhogPlanes::planes);
    f.separable.resize(FhogPlanes::planes);
    std::size_t terms = 0;
    for (int p = 0; p < FhogPlanes::planes; ++p) {
      Eigen::MatrixXd m(rows, cols);
      for (long r = 0; r < rows; ++r)
        for (long c = 0; c < cols; ++c) m(r, c) = w[std::size_t(p * size + r * cols + c)];
      f.full[std::size_t(p)].resize(std::size_t(size));
      for (long i = 0; i < size; ++i) f.full[std::size_t(p)][std::size_t(i)] = float(w[std::size_t(p * size + i)]);
      const Eigen::JacobiSVD<Eigen::MatrixXd> svd(m, Eigen::ComputeFullU | Eigen::ComputeFullV);
      const Eigen::VectorXd& s = svd.singularValues();  // descending, as dlib sorts them
      const double threshold = std::max(1e-4, s.maxCoeff() * 0.001);
      for (Eigen::Index j = 0; j < s.size(); ++j) {
        if (std::abs(s(j)) < threshold) continue;
        std::vector<float> column(static_cast<std::size_t>(rows)), row(static_cast<std::size_t>(cols));
        for (long r = 0; r < rows; ++r) column[std::size_t(r)] = float(svd.matrixU()(r, j) * std::sqrt(s(j)));
        for (long c = 0; c < cols; ++c) row[std::size_t(c)] = float(svd.matrixV()(c, j) * std::sqrt(s(j)));
        f.separable[std::size_t(p)].emplace_back(std::move(column), std::move(row));
        ++terms;
      }
    }
    f.use_separable = double(terms) <= double(FhogPlanes::planes) * double(std::min(rows, cols)) / 3.0;
  }

  io::Image grey(const io::Image& image) const {
    if (image.width <= 0 || image.height <= 0 ||
        image.pixels.size() != std::size_t(image.width) * std::size_t(image.height) * std::size_t(image.channels))
      fail("tsgan: HogFaceDetector::detect: an image of {}x{}x{} with {} bytes", image.width, image.height,
           image.channels, image.pixels.size());
    if (image.channels == 1) return image;
    io::Image g(image.width, image.height, 1);
    for (std::size_t i = 0; i < g.pixels.size(); ++i) {
      const std::uint8_t* p = image.pixels.data() + i * std::size_t(image.channels);
      g.pixels[i] = std::uint8_t((unsigned(p[0]) + unsigned(p[1]) + unsigned(p[2])) / 3);
    }
    return g;
  }

  // dlib's pyramid_down<6>: rect_down of a point p is (p - 0.3) · 5/6, rect_up is p · 1.2 + 0.3.
  static long round_half_up(double v) { return long(std::floor(v + 0.5)); }
  std::vector<io::Image> pyramid(io::Image image) const {
    std::size_t count = 0;
    double l = 0, t = 0, r = image.width - 1, b = image.height - 1;
    do {
      const auto down = [](double v) { return double(round_half_up((v - 0.3) * (5.0 / 6.0))); };
      l = down(l), t = down(t), r = down(r), b = down(b);
      ++count;
    } while (r - l + 1 >= double(min_level_width_) && b - t + 1 >= double(min_level_height_) && count < max_levels_);
    std::vector<io::Image> levels;
    levels.push_back(std::move(image));
    while (levels.size() < count) {
      const io::Image& last = levels.back();
      const int rows = 5 * last.height / 6, cols = 5 * last.width / 6;
      if (rows < 1 || cols < 1) break;
      levels.push_back(hog_face_detector::detail::shrink(last, rows, cols));
    }
    return levels;
  }

  // The filter's response over one level, dlib's float sums in its order; false when the level is
  // smaller than the filter.
  bool respond(const FhogPlanes& feats, const Filter& f, std::vector<float>& out) const {
    namespace d = hog_face_detector::detail;
    const long nr = feats.rows, nc = feats.cols, fr = filter_rows_, fc = filter_cols_;
    if (nr == 0 || nc == 0) return false;
    const long first_row = fr / 2, first_col = fc / 2, last_row = nr - (fr - 1) / 2, last_col = nc - (fc - 1) / 2;
    if (last_row <= first_row || last_col <= first_col) return false;
    // dlib handles columns first_col, first_col + 8, ... 8 at a time while c < last_col - 7.
    long blocked_end = first_col;
    while (blocked_end < last_col - 7) blocked_end += 8;
    out.assign(std::size_t(nr * nc), 0.0f);
    bool first = true;
    const auto add = [&](long r, long c, float v) {
      float& o = out[std::size_t(r * nc + c)];
      o = first ? v : v + o;
    };
    if (!f.use_separable) {
      for (int p = 0; p < FhogPlanes::planes; ++p) {
        const float* in = feats.plane(p);
        const float* w = f.full[std::size_t(p)].data();
        for (long r = first_row; r < last_row; ++r)
          for (long c = first_col; c < last_col; ++c) {
            const float* base = in + (r - first_row) * nc + (c - first_col);
            float v;
            if (c < blocked_end) {
              // three running sums over n that carry across the filter's rows
              float a0 = 0, a1 = 0, a2 = 0;
              for (long m = 0; m < fr; ++m) {
                long n = 0;
                for (; n < fc - 2; n += 3) {
                  a0 += base[m * nc + n] * w[m * fc + n];
                  a1 += base[m * nc + n + 1] * w[m * fc + n + 1];
                  a2 += base[m * nc + n + 2] * w[m * fc + n + 2];
                }
                for (; n < fc; ++n) a0 += base[m * nc + n] * w[m * fc + n];
              }
              v = a0 + (a1 + a2);
            } else {
              v = 0;
              for (long m = 0; m < fr; ++m)
                for (long n = 0; n < fc; ++n) v += base[m * nc + n] * w[m * fc + n];
            }
            add(r, c, v);
          }
        first = false;
      }
      return true;
    }
    if (std::all_of(f.separable.begin(), f.separable.end(), [](const auto& terms) { return terms.empty(); }))
      return false;  // dlib scans nothing for an all-zero filter
    std::vector<float> scratch(std::size_t(nr * nc));
    for (int p = 0; p < FhogPlanes::planes; ++p) {
      const float* in = feats.plane(p);
      for (const auto& [column, row] : f.separable[std::size_t(p)]) {
        for (long r = 0; r < nr; ++r)
          for (long c = first_col; c < last_col; ++c) {
            const float* x = in + r * nc + (c - first_col);
            scratch[std::size_t(r * nc + c)] = c < blocked_end ? d::strided_dot_blocked(x, 1, row.data(), fc)
                                                               : d::strided_dot(x, 1, row.data(), fc);
          }
        for (long r = first_row; r < last_row; ++r)
          for (long c = first_col; c < last_col; ++c) {
            const float* x = scratch.data() + (r - first_row) * nc + c;
            add(r, c, c < blocked_end ? d::strided_dot_blocked(x, std::size_t(nc), column.data(), fr)
                                      : d::strided_dot(x, std::size_t(nc), column.data(), fr));
          }
        first = false;
      }
    }
    return true;
  }

  void scan(const FhogPlanes& feats, std::size_t level, std::size_t index, double adjust_threshold,
            std::vector<HogDetection>& found) const {
    const Filter& f = filters_[index];
    std::vector<float> response;
    if (!respond(feats, f, response)) return;
    const long nr = feats.rows, nc = feats.cols, fr = filter_rows_, fc = filter_cols_;
    const long first_row = fr / 2, first_col = fc / 2, last_row = nr - (fr - 1) / 2, last_col = nc - (fc - 1) / 2;
    const double threshold = f.bias + adjust_threshold;
    const long box_w = fc - 2 * padding_, box_h = fr - 2 * padding_;
    // dlib's fhog_to_image: a cell back to the centre of its pixels.
    const auto to_image = [&](long p, long pad) {
      const long v = (p + 1 - (pad - 1) / 2) * cell_size_ + 1;
      return v + (v >= 0 ? cell_size_ / 2 : -(cell_size_ / 2));
    };
    const auto up = [&](long v) {
      double x = double(v);
      for (std::size_t i = 0; i < level; ++i) x = x * (6.0 / 5.0) + 0.3;
      return round_half_up(x);
    };
    for (long r = first_row; r < last_row; ++r)
      for (long c = first_col; c < last_col; ++c) {
        const float v = response[std::size_t(r * nc + c)];
        if (double(v) < threshold) continue;
        const long left = c - box_w / 2, top = r - box_h / 2;
        const DlibRect box{up(to_image(left, fc)), up(to_image(top, fr)), up(to_image(left + box_w - 1, fc)),
                           up(to_image(top + box_h - 1, fr))};
        found.push_back({box, double(v) - f.bias, index});
      }
  }

  int cell_size_ = 8;
  long padding_ = 0, window_width_ = 0, window_height_ = 0, filter_rows_ = 0, filter_cols_ = 0;
  std::size_t max_levels_ = 0;
  long min_level_width_ = 0, min_level_height_ = 0;
  double iou_threshold_ = 0, covered_threshold_ = 0;
  std::vector<Filter> filters_;
};

}  // namespace tsgan::models

#if defined(__clang__)
#pragma float_control(pop)
#elif defined(__GNUC__)
#pragma GCC pop_options
#endif
