// FaceDetector: face-api's TinyFaceDetector (a Tiny-YOLOv2 with separable convolutions, one class,
// 5 anchors) on tsgan's ops, from the TF.js weights tiny_face_detector_model (docs/face-models.md).
//
//   tsgan::models::FaceDetector<> detector(*tsgan::io::face_models_dir());
//   std::vector<FaceBox> faces = detector.detect(image);            // best first, image pixels
//   auto per_image = detector.detect(std::span(images), {.input_size = 320});
//
// Contract, copied from face-api 1.7.15 (TinyYolov2Base.detect, checked against it in
// tests/unit/models/face_pipeline_test.cpp):
//  - input: the image padded with zeros at the bottom or right to a square, tfjs's legacy
//    bilinear resize to input_size (none when the square already has that size), minus the mean
//    RGB (117.001, 114.697, 97.404), divided by 255 (tfjs_face_net.hpp). Grey images are read as
//    RGB by replicating the channel; RGBA drops alpha.
//  - network: conv0 3x3 'valid' + leaky(0.1); 2x2 max pools, stride 2 after conv0..conv4 and
//    stride 1 after conv5, TF 'same' (a padded cell never wins); conv1..conv5 are zero-pad-1
//    separable convs + bias + leaky; conv8 1x1 to 25 channels. The grid is input_size / 32.
//  - decoding: channel a·5 + k of cell (row, col) is (tx, ty, tw, th, to) of anchor a; the score
//    sigmoid(to) must exceed the threshold (0 keeps every cell, as in face-api); the centre is ((col, row) + sigmoid(tx, ty)) / grid
//    and the size exp(tw, th)·anchor / grid, in units of the padded square, then scaled by
//    input_size / round(side·input_size / max(W, H)) per axis (face-api's reshaped dimensions)
//    into relative image coordinates, then by the image's width and height into pixels;
//  - greedy non-maximum suppression in score order: a box whose IoU with a kept box exceeds
//    iou_threshold is dropped; IoUs are computed on the relative boxes scaled by input_size.
// Input sizes are compile-time shapes: detect() accepts the sizes in face_detection::input_sizes
// (multiples of 32 from 128 to 608) and names them when given another. Images go through the
// network face_detection::batch at a time, the remainder one by one. Not thread-safe: one
// detector per thread (each call builds its own tape, the weights are shared state).
//
// Needs no image codec: io::Image is only declared here (so nvcc compiles this header); include
// tsgan/io/image.hpp to call detect().
#pragma once

#include <algorithm>
#include <array>
#include <cmath>
#include <cstddef>
#include <filesystem>
#include <limits>
#include <numeric>
#include <span>
#include <string_view>
#include <utility>
#include <vector>

#include "tsgan/models/tfjs_face_net.hpp"
#include "tsgan/ops/layout.hpp"
#include "tsgan/ops/pool.hpp"

namespace tsgan::io {
struct Image;
}

namespace tsgan::models {

// A face's box in input-image pixels (x, y: the top-left corner) and its detector score in (0, 1).
struct FaceBox {
  double x, y, width, height, score;
};

struct DetectorOptions {
  index_t input_size = 416;       // one of face_detection::input_sizes
  double score_threshold = 0.5;   // keep boxes whose score is above this
  double iou_threshold = 0.4;     // drop boxes that overlap a better one by more than this
};

namespace face_detection {

inline constexpr std::string_view model_name = "tiny_face_detector_model";
inline constexpr double mean_rgb[3] = {117.001, 114.697, 97.404};  // on the 0..255 scale
inline constexpr index_t anchor_count = 5;
inline constexpr index_t output_channels = anchor_count * 5;
// Anchor widths and heights in grid cells (face-api's TinyFaceDetector config).
inline constexpr double anchors[anchor_count][2] = {
    {1.603231, 2.094468}, {6.041143, 7.080126}, {2.882459, 3.518061}, {4.266906, 5.178857}, {9.041765, 10.66308}};
// The input sizes detect() dispatches to: face-api's usual ones plus 128 and 256. Each one costs
// two instantiations of the network (batches of `batch` and of 1) in every translation unit that
// calls detect(): compile time, measured in docs/face-models.md.
inline constexpr std::array<index_t, 8> input_sizes = {128, 160, 224, 256, 320, 416, 512, 608};
inline constexpr index_t batch = 4;

constexpr index_t grid_size(index_t input_size) { return input_size / 32; }

// A relative box (fractions of the image's width and height).
struct RelativeBox {
  double x, y, width, height, score;
};

inline double sigmoid(double v) { return 1.0 / (1.0 + std::exp(-v)); }

// face-api's Math.round (halves up) of a non-negative value.
inline double round_half_up(double v) { return std::floor(v + 0.5); }

// Decodes the raw output of one image, laid out as tfjs has it: [grid, grid, 25] (row, column,
// anchor·5 + k). width and height are the image's.
inline std::vector<RelativeBox> decode(std::span<const float> grid_values, index_t input_size, int width, int height,
                                       double score_threshold) {
  const index_t g = grid_size(input_size);
  const double scale = static_cast<double>(input_size) / static_cast<double>(std::max(width, height));
  const double correction_x = static_cast<double>(input_size) / round_half_up(width * scale);
  const double correction_y = static_cast<double>(input_size) / round_half_up(height * scale);
  std::vector<RelativeBox> boxes;
  for (index_t row = 0; row < g; ++row)
    for (index_t col = 0; col < g; ++col)
      for (index_t a = 0; a < anchor_count; ++a) {
        const float* v = grid_values.data() + (row * g + col) * output_channels + a * 5;
        const double score = sigmoid(v[4]);
        if (score_threshold != 0 && !(score > score_threshold)) continue;
        const double cx = (static_cast<double>(col) + sigmoid(v[0])) / static_cast<double>(g) * correction_x;
        const double cy = (static_cast<double>(row) + sigmoid(v[1])) / static_cast<double>(g) * correction_y;
        const double w = std::exp(static_cast<double>(v[2])) * anchors[a][0] / static_cast<double>(g) * correction_x;
        const double h = std::exp(static_cast<double>(v[3])) * anchors[a][1] / static_cast<double>(g) * correction_y;
        const double x = cx - w / 2, y = cy - h / 2;
        // face-api stores (left, top, right, bottom) and derives the width back from them.
        boxes.push_back({x, y, (x + w) - x, (y + h) - y, score});
      }
  return boxes;
}

inline double iou(const RelativeBox& a, const RelativeBox& b) {
  const double w = std::max(0.0, std::min(a.x + a.width, b.x + b.width) - std::max(a.x, b.x));
  const double h = std::max(0.0, std::min(a.y + a.height, b.y + b.height) - std::max(a.y, b.y));
  const double inter = w * h;
  return inter / (a.width * a.height + b.width * b.height - inter);
}

// Greedy non-maximum suppression as face-api's nonMaxSuppression: the best remaining box is kept
// (of equal scores, the later one), the boxes overlapping it by more than iou_threshold go. The
// IoUs are taken on the boxes scaled by input_size. Returns the kept boxes, best first.
inline std::vector<RelativeBox> suppress(const std::vector<RelativeBox>& boxes, index_t input_size,
                                         double iou_threshold) {
  std::vector<std::size_t> order(boxes.size());
  std::iota(order.begin(), order.end(), std::size_t{0});
  std::stable_sort(order.begin(), order.end(),
                   [&](std::size_t a, std::size_t b) { return boxes[a].score < boxes[b].score; });
  const auto s = static_cast<double>(input_size);
  auto scaled = [&](const RelativeBox& b) { return RelativeBox{b.x * s, b.y * s, b.width * s, b.height * s, b.score}; };
  std::vector<RelativeBox> kept;
  while (!order.empty()) {
    const RelativeBox best = boxes[order.back()];
    order.pop_back();
    kept.push_back(best);
    const RelativeBox best_scaled = scaled(best);
    std::erase_if(order, [&](std::size_t i) { return iou(best_scaled, scaled(boxes[i])) > iou_threshold; });
  }
  return kept;
}

// TF's 2x2 max pool with 'same' padding: the padding (at most one cell, at the bottom/right) is
// filled with the lowest value, so it never wins, as TF ignores it.
template <index_t Stride, class T, index_t N, index_t C, index_t H, index_t W, class D>
auto max_pool_same(const Var<T, Shape<N, C, H, W>, D>& x) {
  constexpr index_t ho = (H + Stride - 1) / Stride, wo = (W + Stride - 1) / Stride;
  constexpr index_t ph = std::max<index_t>((ho - 1) * Stride + 2 - H, 0);
  constexpr index_t pw = std::max<index_t>((wo - 1) * Stride + 2 - W, 0);
  static_assert(ph <= 1 && pw <= 1);
  constexpr PoolOptions pool{.kernel = 2, .stride = Stride};
  if constexpr (ph == 0 && pw == 0) return max_pool2d<pool>(x);
  else return max_pool2d<pool>(pad2d<0, ph, 0, pw>(x, std::numeric_limits<T>::lowest()));
}

}  // namespace face_detection

// The network alone: [N, 3, S, S] normalised input to the raw grid [N, 25, S/32, S/32].
template <class T = float, class D = cpu>
class TinyFaceDetectorNet {
 public:
  using value_type = T;
  using device = D;

  tfjs_face::Conv<3, 16, 3, T, D> conv0;
  tfjs_face::SeparableConv<16, 32, T, D> conv1;
  tfjs_face::SeparableConv<32, 64, T, D> conv2;
  tfjs_face::SeparableConv<64, 128, T, D> conv3;
  tfjs_face::SeparableConv<128, 256, T, D> conv4;
  tfjs_face::SeparableConv<256, 512, T, D> conv5;
  tfjs_face::Conv<512, face_detection::output_channels, 1, T, D> conv8;

  TinyFaceDetectorNet() {
    nn::name_parameters(*this);
    nn::freeze(*this);
  }
  explicit TinyFaceDetectorNet(const std::filesystem::path& models_dir) : TinyFaceDetectorNet() { load(models_dir); }

  template <class V>
  void visit(V& v) {
    v.child("conv0", conv0);
    v.child("conv1", conv1);
    v.child("conv2", conv2);
    v.child("conv3", conv3);
    v.child("conv4", conv4);
    v.child("conv5", conv5);
    v.child("conv8", conv8);
  }

  void load(const std::filesystem::path& models_dir) {
    load(io::tfjs::WeightsFile(io::face_model_manifest(models_dir, face_detection::model_name)));
  }
  void load(const io::tfjs::WeightsFile& file) { tfjs_face::load(*this, file, "tiny face detector"); }

  template <index_t N, index_t S>
  auto forward(const Var<T, Shape<N, 3, S, S>, D>& x) {
    static_assert(S % 32 == 0 && S >= 32, "tsgan: the tiny face detector's input size is a multiple of 32");
    constexpr ConvOptions pad1{.padding = 1};
    auto leaky = [](auto&& e) { return leaky_relu(std::forward<decltype(e)>(e), 0.1); };
    using face_detection::max_pool_same;
    const Var<T, Shape<N, 16, S - 2, S - 2>, D> c0 = leaky(conv0.template apply<ConvOptions{}>(x));
    auto h = max_pool_same<2>(c0);
    auto h1 = max_pool_same<2>(eval(leaky(conv1.template apply<pad1>(h))));
    auto h2 = max_pool_same<2>(eval(leaky(conv2.template apply<pad1>(h1))));
    auto h3 = max_pool_same<2>(eval(leaky(conv3.template apply<pad1>(h2))));
    auto h4 = max_pool_same<2>(eval(leaky(conv4.template apply<pad1>(h3))));
    auto h5 = max_pool_same<1>(eval(leaky(conv5.template apply<pad1>(h4))));
    constexpr index_t g = face_detection::grid_size(S);
    return Var<T, Shape<N, face_detection::output_channels, g, g>, D>(conv8.template apply<ConvOptions{}>(h5));
  }

  // The raw grid of preprocessed input, without a tape.
  template <index_t N, index_t S>
  Tensor<T, Shape<N, face_detection::output_channels, S / 32, S / 32>, D> run(const Tensor<T, Shape<N, 3, S, S>, D>& input) {
    NoGrad guard;
    Graph g;
    return forward(g.input(input)).value().clone();
  }
};

template <class Device = cpu>
class FaceDetector {
 public:
  using Net = TinyFaceDetectorNet<float, Device>;

  // Loads tiny_face_detector_model from `model_dir` (see io::face_models_dir()).
  explicit FaceDetector(const std::filesystem::path& model_dir) : net_(model_dir) {}

  // The faces in the image, best first.
  std::vector<FaceBox> detect(const io::Image& image, const DetectorOptions& options = {}) const {
    return detect_all(&image, 1, options).front();
  }
  // The faces in each image, best first; the images go through the network in batches.
  std::vector<std::vector<FaceBox>> detect(std::span<const io::Image> images, const DetectorOptions& options = {}) const {
    return detect_all(images.data(), images.size(), options);
  }

  // The network's raw output for one image at `input_size`, laid out as face-api's tensor
  // [grid, grid, 25] (row, column, anchor·5 + k): for golden tests and debugging.
  std::vector<float> raw_output(const io::Image& image, index_t input_size) const {
    return std::move(grids(&image, 1, input_size).front());
  }

  Net& network() { return net_; }

 private:
  template <class Image>
  std::vector<std::vector<FaceBox>> detect_all(const Image* images, std::size_t count,
                                               const DetectorOptions& options) const {
    const std::vector<std::vector<float>> raw = grids(images, count, options.input_size);
    std::vector<std::vector<FaceBox>> out(count);
    for (std::size_t i = 0; i < count; ++i) {
      const Image& im = images[i];
      const auto boxes = face_detection::decode(raw[i], options.input_size, im.width, im.height, options.score_threshold);
      for (const auto& b : face_detection::suppress(boxes, options.input_size, options.iou_threshold))
        out[i].push_back({b.x * im.width, b.y * im.height, b.width * im.width, b.height * im.height, b.score});
    }
    return out;
  }

  template <class Image>
  std::vector<std::vector<float>> grids(const Image* images, std::size_t count, index_t input_size) const {
    for (std::size_t i = 0; i < count; ++i) tfjs_face::check_image(images[i], "FaceDetector::detect");
    std::vector<std::vector<float>> out;
    bool supported = false;
    [&]<std::size_t... I>(std::index_sequence<I...>) {
      ((face_detection::input_sizes[I] == input_size
            ? (out = grids_at<face_detection::input_sizes[I]>(images, count), supported = true)
            : false),
       ...);
    }(std::make_index_sequence<face_detection::input_sizes.size()>{});
    if (!supported)
      fail("tsgan: FaceDetector: input size {} is not one of the supported sizes {} (multiples of 32 compiled in; "
           "see face_detection::input_sizes)",
           input_size, fmt::join(face_detection::input_sizes, ", "));
    return out;
  }

  template <index_t S, class Image>
  std::vector<std::vector<float>> grids_at(const Image* images, std::size_t count) const {
    constexpr index_t g = face_detection::grid_size(S), C = face_detection::output_channels;
    std::vector<std::vector<float>> out;
    out.reserve(count);
    std::size_t i = 0;
    auto run = [&]<index_t B>(std::integral_constant<index_t, B>) {
      Tensor<float, Shape<B, 3, S, S>, cpu> host(uninitialized);
      for (index_t b = 0; b < B; ++b) {
        const Image& im = images[i + static_cast<std::size_t>(b)];
        tfjs_face::network_input(im, {0, 0, im.width, im.height}, S, tfjs_face::Placement::top_left,
                                 face_detection::mean_rgb, host.data() + b * 3 * S * S);
      }
      Tensor<float, Shape<B, 3, S, S>, Device> input(uninitialized);
      copy_from_host<Device>(input.data(), host.data(), host.size);
      const auto grid = net_.run(input);
      std::vector<float> values(static_cast<std::size_t>(grid.size));
      copy_to_host<Device>(values.data(), grid.data(), grid.size);
      for (index_t b = 0; b < B; ++b) {  // NCHW to face-api's HWC
        std::vector<float>& v = out.emplace_back(static_cast<std::size_t>(g * g * C));
        for (index_t c = 0; c < C; ++c)
          for (index_t p = 0; p < g * g; ++p)
            v[static_cast<std::size_t>(p * C + c)] = values[static_cast<std::size_t>((b * C + c) * g * g + p)];
      }
      i += static_cast<std::size_t>(B);
    };
    while (count - i >= static_cast<std::size_t>(face_detection::batch))
      run(std::integral_constant<index_t, face_detection::batch>{});
    while (i < count) run(std::integral_constant<index_t, 1>{});
    return out;
  }

  mutable Net net_;
};

}  // namespace tsgan::models
