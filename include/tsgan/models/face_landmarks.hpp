// FaceLandmarker: face-api's FaceLandmark68Net (four dense blocks of separable convolutions and a
// fully connected layer: 68 iBUG points) on tsgan's ops, from the TF.js weights
// face_landmark_68_model (docs/face-models.md).
//
//   tsgan::models::FaceLandmarker<> landmarker(*tsgan::io::face_models_dir());
//   Landmarks68 points = landmarker.detect(image, detector.detect(image).front());
//
// Contract, copied from face-api 1.7.15 (`detectSingleFace(...).withFaceLandmarks()`, checked
// against it in tests/unit/models/face_pipeline_test.cpp):
//  - the crop: the box clipped to the image, then x, y, width and height each floored
//    (Box.clipAtImageBorders); an empty crop is an error naming the box;
//  - input: the crop padded with zeros to a centred square (round(d/2) after, the rest before),
//    tfjs's legacy bilinear resize to 112, minus the mean RGB (122.782, 117.001, 104.298), divided
//    by 255 (tfjs_face_net.hpp); grey images are read as RGB, RGBA drops alpha;
//  - network: dense blocks of 32, 64, 128, 256 channels, each starting with a stride-2 'same'
//    convolution (regular in dense0, separable after) + bias + ReLU, then three separable 'same'
//    convolutions wired densely (o2 = c1(o1), o3 = c2(relu(o1 + o2)), o4 = c3(relu(o1 + o2 + o3)),
//    out = relu(o1 + o2 + o3 + o4)); a 7x7 average pool, then fc [256, 136] + bias: x0, y0, x1, ...
//    relative to the padded 112 square;
//  - un-mapping, in float as tfjs does: (v·112 − pad) / scaled size, where the crop scaled to fit
//    112 has the scaled size and pad is half the difference on its shorter side; then times the
//    crop's width or height and plus the box's own (unclipped, unfloored) x or y, as face-api
//    shifts the landmarks by the detection box, not by the crop.
// Coordinates are face-api's as it returns them, with no half-pixel shift added or removed.
// Several boxes go through the network face_landmarks::batch at a time. Not thread-safe: one landmarker per thread.
//
// Needs no image codec: io::Image is only declared here (so nvcc compiles this header); include
// tsgan/io/image.hpp to call detect().
#pragma once

#include <array>
#include <cmath>
#include <cstddef>
#include <filesystem>
#include <span>
#include <string_view>
#include <type_traits>
#include <vector>

#include "tsgan/align/point.hpp"
#include "tsgan/models/face_detector.hpp"
#include "tsgan/ops/linear.hpp"

namespace tsgan::models {

using Landmarks68 = std::array<align::Point, 68>;

namespace face_landmarks {

inline constexpr std::string_view model_name = "face_landmark_68_model";
inline constexpr index_t input_size = 112;
inline constexpr index_t point_count = 68;
inline constexpr index_t output_size = 2 * point_count;
inline constexpr double mean_rgb[3] = {122.782, 117.001, 104.298};  // on the 0..255 scale
inline constexpr index_t batch = 4;

// The crop of a box as face-api's Box.clipAtImageBorders: clipped to the image, then floored.
inline tfjs_face::Rect crop_of(const FaceBox& box, int width, int height) {
  const double x = std::max(box.x, 0.0), y = std::max(box.y, 0.0);
  const double w = std::min(box.x + box.width - x, width - x), h = std::min(box.y + box.height - y, height - y);
  const tfjs_face::Rect r{static_cast<index_t>(std::floor(x)), static_cast<index_t>(std::floor(y)),
                          static_cast<index_t>(std::floor(w)), static_cast<index_t>(std::floor(h))};
  if (!(r.width > 0 && r.height > 0))
    fail("tsgan: FaceLandmarker: the box (x {}, y {}, width {}, height {}) leaves no pixel of the {}x{} image", box.x,
         box.y, box.width, box.height, width, height);
  return r;
}

// face-api's postProcess and shift: the raw fc output of a crop to image pixels.
inline Landmarks68 unmap(std::span<const float, output_size> raw, const tfjs_face::Rect& crop, const FaceBox& box) {
  const double scale = static_cast<double>(input_size) / static_cast<double>(std::max(crop.width, crop.height));
  const double scaled_w = static_cast<double>(crop.width) * scale, scaled_h = static_cast<double>(crop.height) * scale;
  const auto pad_x = static_cast<float>(scaled_w < scaled_h ? std::abs(scaled_w - scaled_h) / 2 : 0.0);
  const auto pad_y = static_cast<float>(scaled_h < scaled_w ? std::abs(scaled_w - scaled_h) / 2 : 0.0);
  const auto size = static_cast<float>(input_size);
  Landmarks68 points;
  for (index_t i = 0; i < point_count; ++i) {
    const float rx = (raw[static_cast<std::size_t>(2 * i)] * size - pad_x) / static_cast<float>(scaled_w);
    const float ry = (raw[static_cast<std::size_t>(2 * i + 1)] * size - pad_y) / static_cast<float>(scaled_h);
    points[static_cast<std::size_t>(i)] = {static_cast<double>(rx) * static_cast<double>(crop.width) + box.x,
                                           static_cast<double>(ry) * static_cast<double>(crop.height) + box.y};
  }
  return points;
}

// One dense block (denseBlock4 of face-api); the first block's entry convolution is a regular one.
template <index_t In, index_t Out, bool First, class T, class D>
struct DenseBlock {
  std::conditional_t<First, tfjs_face::Conv<In, Out, 3, T, D>, tfjs_face::SeparableConv<In, Out, T, D>> conv0;
  tfjs_face::SeparableConv<Out, Out, T, D> conv1, conv2, conv3;
  static constexpr std::array field_names{"conv0", "conv1", "conv2", "conv3"};

  template <index_t N, index_t H, index_t W>
  auto operator()(const Var<T, Shape<N, In, H, W>, D>& x) {
    constexpr ConvOptions down{.stride = 2, .same = true}, same{.same = true};
    using Y = Shape<N, Out, (H + 1) / 2, (W + 1) / 2>;
    const Var<T, Y, D> o1 = relu(conv0.template apply<down>(x));
    const Var<T, Y, D> o2 = conv1.template apply<same>(o1);
    const Var<T, Y, D> o3 = conv2.template apply<same>(Var<T, Y, D>(relu(o1 + o2)));
    const Var<T, Y, D> o4 = conv3.template apply<same>(Var<T, Y, D>(relu(o1 + (o2 + o3))));
    return Var<T, Y, D>(relu(o1 + (o2 + (o3 + o4))));
  }
};

template <class T, class D>
struct FullyConnected {
  Param<T, Shape<256, output_size>, D> weights;  // [in, out] as stored
  Param<T, Shape<output_size>, D> bias;

  template <class V>
  void visit(V& v) {
    v.param("weights", weights);
    v.param("bias", bias);
  }
};

}  // namespace face_landmarks

// The network alone: [N, 3, 112, 112] normalised input to the raw fc output [N, 136].
template <class T = float, class D = cpu>
class FaceLandmark68Net {
 public:
  using value_type = T;
  using device = D;
  static constexpr index_t input_size = face_landmarks::input_size;

  face_landmarks::DenseBlock<3, 32, true, T, D> dense0;
  face_landmarks::DenseBlock<32, 64, false, T, D> dense1;
  face_landmarks::DenseBlock<64, 128, false, T, D> dense2;
  face_landmarks::DenseBlock<128, 256, false, T, D> dense3;
  face_landmarks::FullyConnected<T, D> fc;

  FaceLandmark68Net() {
    nn::name_parameters(*this);
    nn::freeze(*this);
  }
  explicit FaceLandmark68Net(const std::filesystem::path& models_dir) : FaceLandmark68Net() { load(models_dir); }

  template <class V>
  void visit(V& v) {
    v.child("dense0", dense0);
    v.child("dense1", dense1);
    v.child("dense2", dense2);
    v.child("dense3", dense3);
    v.child("fc", fc);
  }

  void load(const std::filesystem::path& models_dir) {
    load(io::tfjs::WeightsFile(io::face_model_manifest(models_dir, face_landmarks::model_name)));
  }
  void load(const io::tfjs::WeightsFile& file) { tfjs_face::load(*this, file, "68-point landmark net"); }

  template <index_t N>
  auto forward(const Var<T, Shape<N, 3, input_size, input_size>, D>& x) {
    Graph& g = x.graph();
    const auto features = dense3(dense2(dense1(dense0(x))));
    static_assert(std::is_same_v<typename std::remove_cvref_t<decltype(features)>::shape, Shape<N, 256, 7, 7>>);
    const auto pooled = reshape<Shape<N, 256>>(avg_pool2d<PoolOptions{.kernel = 7, .stride = 2}>(features));
    return Var<T, Shape<N, face_landmarks::output_size>, D>(matmul(pooled, g.param(fc.weights)) + g.param(fc.bias));
  }

  template <index_t N>
  Tensor<T, Shape<N, face_landmarks::output_size>, D> run(const Tensor<T, Shape<N, 3, input_size, input_size>, D>& input) {
    NoGrad guard;
    Graph g;
    return forward(g.input(input)).value().clone();
  }
};

template <class Device = cpu>
class FaceLandmarker {
 public:
  using Net = FaceLandmark68Net<float, Device>;
  using Raw = std::array<float, face_landmarks::output_size>;

  // Loads face_landmark_68_model from `model_dir` (see io::face_models_dir()).
  explicit FaceLandmarker(const std::filesystem::path& model_dir) : net_(model_dir) {}

  // The 68 points of the face in `box`, in image pixels.
  Landmarks68 detect(const io::Image& image, const FaceBox& box) const { return detect_all(image, &box, 1).front(); }
  // The whole image as the box (a face that is already cropped).
  Landmarks68 detect(const io::Image& image) const { return detect_whole(image); }
  // The points of several faces of one image, batched.
  std::vector<Landmarks68> detect(const io::Image& image, std::span<const FaceBox> boxes) const {
    return detect_all(image, boxes.data(), boxes.size());
  }

  // The network's raw output (x0, y0, x1, ... relative to the padded 112 square) for the crop of
  // `box`: for golden tests and debugging.
  Raw raw_output(const io::Image& image, const FaceBox& box) const { return raws(image, &box, 1).front(); }

  Net& network() { return net_; }

 private:
  template <class Image>
  Landmarks68 detect_whole(const Image& image) const {
    const FaceBox whole{0, 0, static_cast<double>(image.width), static_cast<double>(image.height), 1};
    return detect_all(image, &whole, 1).front();
  }

  template <class Image>
  std::vector<Landmarks68> detect_all(const Image& image, const FaceBox* boxes, std::size_t count) const {
    const std::vector<Raw> raw = raws(image, boxes, count);
    std::vector<Landmarks68> out;
    out.reserve(count);
    for (std::size_t i = 0; i < count; ++i)
      out.push_back(face_landmarks::unmap(raw[i], face_landmarks::crop_of(boxes[i], image.width, image.height), boxes[i]));
    return out;
  }

  template <class Image>
  std::vector<Raw> raws(const Image& image, const FaceBox* boxes, std::size_t count) const {
    tfjs_face::check_image(image, "FaceLandmarker::detect");
    constexpr index_t S = face_landmarks::input_size, C = face_landmarks::output_size;
    std::vector<Raw> out(count);
    std::size_t i = 0;
    auto run = [&]<index_t B>(std::integral_constant<index_t, B>) {
      Tensor<float, Shape<B, 3, S, S>, cpu> host(uninitialized);
      for (index_t b = 0; b < B; ++b)
        tfjs_face::network_input(image,
                                 face_landmarks::crop_of(boxes[i + static_cast<std::size_t>(b)], image.width, image.height),
                                 S, tfjs_face::Placement::centred, face_landmarks::mean_rgb, host.data() + b * 3 * S * S);
      Tensor<float, Shape<B, 3, S, S>, Device> input(uninitialized);
      copy_from_host<Device>(input.data(), host.data(), host.size);
      const auto result = net_.run(input);
      std::vector<float> values(static_cast<std::size_t>(B * C));
      copy_to_host<Device>(values.data(), result.data(), B * C);
      for (index_t b = 0; b < B; ++b)
        std::copy_n(values.data() + b * C, C, out[i + static_cast<std::size_t>(b)].begin());
      i += static_cast<std::size_t>(B);
    };
    while (count - i >= static_cast<std::size_t>(face_landmarks::batch))
      run(std::integral_constant<index_t, face_landmarks::batch>{});
    while (i < count) run(std::integral_constant<index_t, 1>{});
    return out;
  }

  mutable Net net_;
};

}  // namespace tsgan::models
