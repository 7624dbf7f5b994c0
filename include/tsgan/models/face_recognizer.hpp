// FaceRecognizer: dlib's face-recognition ResNet (29 convolutions, 150x150 RGB in, a 128-value
// descriptor out; the same person when two descriptors are less than 0.6 apart), loaded from the
// TF.js weights that face-api ships (docs/face-models.md), as a frozen, differentiable module.
//
//   tsgan::models::FaceRecognizer<> net(*tsgan::io::face_models_dir());
//   auto f = net.features(x);            // x: Var [N, 3, S, S] in [0, 1], RGB, any S
//   f.embedding;                          // Var [N, 128]: φ_fc, the descriptor
//   f.feature_map;                        // Var [N, 128, 8, 8]: φ_p, the output of conv128_2
//   Tensor<float, Shape<N, 128>> d = net.embed(images);                // inference, no tape
//   auto in = tsgan::models::preprocess_face(image, center_crop(...)); // uint8 host path
//
// Contract, copied from face-api 1.7.15 (FaceRecognitionNet) and checked against it to 1e-5:
//  - preprocessing: a centred zero pad to a square (round(d/2) rows or columns after the image,
//    the rest before), a bilinear resize to 150x150 by TF's legacy rule (src = dst·in/out, no
//    half-pixel offset; skipped at 150), the mean RGB (122.782, 117.001, 104.298) subtracted on
//    the 0..255 scale, then a division by 255;
//  - convLayer = conv + bias, then dlib's per-channel affine `scale` (x·w + b), then ReLU or not;
//    'same' padding is TF's (the odd cell at the bottom/right), downsampling convs are 'valid';
//  - residualDown adds a 2x2 average-pooled shortcut: the residual branch, when smaller, is
//    zero-padded at the bottom row and right column, and the shortcut gets zero channels
//    appended when the block doubles the channels;
//  - a global mean over H and W, then `fc` [256, 128] as g·fc, with no bias and no L2 norm.
// Parameters keep the TF.js names, dots for slashes (conv64_down.conv1.conv.weight is
// conv64_down/conv1/conv/filters, transposed from HWIO to OIHW; scale.weight/.bias are
// scale/weights and scale/biases; fc stays [256, 128]). The network is frozen when constructed:
// gradients flow through it to the input, never into its weights.
//
// Includes tsgan/io/tfjs_weights.hpp (nlohmann/json), so it is not in the umbrella header.
#pragma once

#include <algorithm>
#include <array>
#include <cmath>
#include <cstdint>
#include <filesystem>
#include <optional>
#include <set>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "tsgan/autograd/reduce.hpp"
#include "tsgan/core/copy.hpp"
#include "tsgan/io/model_path.hpp"
#include "tsgan/io/tfjs_weights.hpp"
#include "tsgan/models/identity.hpp"
#include "tsgan/nn/module.hpp"
#include "tsgan/ops/conv.hpp"
#include "tsgan/ops/layout.hpp"
#include "tsgan/ops/linear.hpp"
#include "tsgan/ops/pool.hpp"
#include "tsgan/ops/resize.hpp"

namespace tsgan::models {

namespace face {

inline constexpr index_t input_size = 150;      // the network's input side
inline constexpr index_t embedding_size = 128;  // the descriptor
inline constexpr double mean_rgb[3] = {122.782, 117.001, 104.298};  // on the 0..255 scale
inline constexpr double same_person_threshold = 0.6;                // dlib's and face-api's

// TF's padding modes as tsgan's convolution options.
inline constexpr ConvOptions same{.same = true};
inline constexpr ConvOptions valid_stride2{.stride = 2};

// The centred zero pad to a square: d = |H − W|, round(d/2) after the image (face-api's
// Math.round, halves up) and the rest before it.
struct SquarePad {
  index_t before, after;
};
constexpr SquarePad square_pad(index_t d) { return {d - (d + 1) / 2, (d + 1) / 2}; }

// convLayer: a convolution with bias, then the per-channel affine `scale` (x·weight + bias). The
// affine is returned unevaluated so that the caller fuses it with its ReLU or residual sum.
template <index_t In, index_t Out, index_t K, class T, class D>
struct ConvLayer {
  Param<T, Shape<Out, In, K, K>, D> weight;  // conv/filters, OIHW
  Param<T, Shape<Out>, D> bias;              // conv/bias
  Param<T, Shape<Out>, D> scale;             // scale/weights
  Param<T, Shape<Out>, D> shift;             // scale/biases

  template <class V>
  void visit(V& v) {
    v.param("conv.weight", weight);
    v.param("conv.bias", bias);
    v.param("scale.weight", scale);
    v.param("scale.bias", shift);
  }

  template <ConvOptions O, ShapeType S>
  auto affine(const Var<T, S, D>& x) {
    Graph& g = x.graph();
    const auto y = conv2d<O>(x, g.param(weight), g.param(bias));
    // [C] parameters broadcast over NCHW as [C, 1, 1] (a copy of C values per call).
    const auto s = reshape<Shape<Out, 1, 1>>(g.param(scale));
    const auto b = reshape<Shape<Out, 1, 1>>(g.param(shift));
    return y * s + b;
  }
};

// residual: relu(convNoRelu(conv(x)) + x), 3x3 'same' convolutions.
template <index_t C, class T, class D>
struct Residual {
  ConvLayer<C, C, 3, T, D> conv1;
  ConvLayer<C, C, 3, T, D> conv2;
  static constexpr std::array field_names{"conv1", "conv2"};

  template <ShapeType S>
  Var<T, S, D> operator()(const Var<T, S, D>& x) {
    const Var<T, S, D> a = relu(conv1.template affine<same>(x));
    return relu(conv2.template affine<same>(a) + x);
  }
};

// residualDown: the projection-free dlib downsampling block (see the header comment).
template <index_t In, index_t Out, class T, class D>
struct ResidualDown {
  static_assert(Out == In || Out == 2 * In, "tsgan: residualDown keeps or doubles the channels");
  ConvLayer<In, Out, 3, T, D> conv1;
  ConvLayer<Out, Out, 3, T, D> conv2;
  static constexpr std::array field_names{"conv1", "conv2"};

  template <index_t N, index_t H, index_t W>
  auto operator()(const Var<T, Shape<N, In, H, W>, D>& x) {
    const auto a = eval(relu(conv1.template affine<valid_stride2>(x)));
    const auto r = conv2.template affine<same>(a);
    using R = typename std::remove_cvref_t<decltype(r)>::shape;

    const auto pooled = avg_pool2d<PoolOptions{.kernel = 2, .stride = 2}>(x);
    using P = typename std::remove_cvref_t<decltype(pooled)>::shape;
    constexpr index_t hs = P::dims[2], ws = P::dims[3], hr = R::dims[2], wr = R::dims[3];
    static_assert(hr <= hs && wr <= ws && hs - hr <= 1 && ws - wr <= 1,
                  "tsgan: residualDown expects the residual branch to be at most one cell smaller");
    using Y = Shape<N, Out, hs, ws>;

    auto shortcut = [&] {
      if constexpr (Out == In) {
        return pooled;
      } else {
        Graph& g = x.graph();
        return concat<1>(pooled, g.input(Tensor<T, Shape<N, Out - In, hs, ws>, D>()));
      }
    }();
    if constexpr (hr == hs && wr == ws) {
      return Var<T, Y, D>(relu(r + shortcut));
    } else {
      const auto padded = pad2d<0, hs - hr, 0, ws - wr>(eval(r));
      return Var<T, Y, D>(relu(padded + shortcut));
    }
  }
};

// A face crop of an image: a rectangle in pixels (clipped to the image when used).
struct Crop {
  int x = 0, y = 0, width = 0, height = 0;
};

// The fixed LFW crop of docs/face-models.md, 126x126 at (62, 62) of a 250x250 image, generalised:
// a centred square of side round(min(W, H)·126/250) at (floor((W − side)/2), floor((H − side)/2)).
inline Crop center_crop(int width, int height) {
  const int side = static_cast<int>(std::floor(std::min(width, height) * 126.0 / 250.0 + 0.5));
  return {(width - side) / 2, (height - side) / 2, side, side};
}

}  // namespace face

template <class T = float, class D = cpu>
class FaceRecognizer {
 public:
  using value_type = T;
  using device = D;
  static constexpr index_t input_size = face::input_size;
  static constexpr index_t embedding_size = face::embedding_size;
  template <index_t N>
  using Input = Shape<N, 3, input_size, input_size>;  // preprocessed (normalised) images
  // φ_p: the output of conv128_2. It is the last map that keeps a spatial layout finer than 4x4
  // (8x8 at 150 input) after 12 of the 16 blocks, so it already carries identity (the 4x4 and
  // 2x2 stages only pool it further) while staying small: 8,192 values per face, against 39,200
  // at the 35x35 stage. TSGAN's feature-map loss compares it between generated and real faces.
  using FeatureMap = Shape<128, 8, 8>;

  face::ConvLayer<3, 32, 7, T, D> conv32_down;
  face::Residual<32, T, D> conv32_1, conv32_2, conv32_3;
  face::ResidualDown<32, 64, T, D> conv64_down;
  face::Residual<64, T, D> conv64_1, conv64_2, conv64_3;
  face::ResidualDown<64, 128, T, D> conv128_down;
  face::Residual<128, T, D> conv128_1, conv128_2;
  face::ResidualDown<128, 256, T, D> conv256_down;
  face::Residual<256, T, D> conv256_1, conv256_2;
  face::ResidualDown<256, 256, T, D> conv256_down_out;
  Param<T, Shape<256, embedding_size>, D> fc;  // [in, out] as stored: out = g·fc

  // Zero weights, frozen; load() fills them.
  FaceRecognizer() {
    nn::name_parameters(*this);
    nn::freeze(*this);
  }
  // Loads face_recognition_model from `models_dir` (see io::face_models_dir()).
  explicit FaceRecognizer(const std::filesystem::path& models_dir) : FaceRecognizer() { load(models_dir); }
  FaceRecognizer(FaceRecognizer&&) noexcept = default;
  FaceRecognizer& operator=(FaceRecognizer&&) noexcept = default;

  template <class V>
  void visit(V& v) {
    v.child("conv32_down", conv32_down);
    v.child("conv32_1", conv32_1);
    v.child("conv32_2", conv32_2);
    v.child("conv32_3", conv32_3);
    v.child("conv64_down", conv64_down);
    v.child("conv64_1", conv64_1);
    v.child("conv64_2", conv64_2);
    v.child("conv64_3", conv64_3);
    v.child("conv128_down", conv128_down);
    v.child("conv128_1", conv128_1);
    v.child("conv128_2", conv128_2);
    v.child("conv256_down", conv256_down);
    v.child("conv256_1", conv256_1);
    v.child("conv256_2", conv256_2);
    v.child("conv256_down_out", conv256_down_out);
    v.param("fc", fc);
  }

  // ---- loading ------------------------------------------------------------------------------
  // Whether the network has weights (from load() or a checkpoint): a constructed one is all
  // zeros, and no trained recognizer has an all-zero embedding layer.
  bool has_weights() const {
    std::vector<T> host(static_cast<std::size_t>(fc.value().size));
    copy_to_host<D>(host.data(), fc.value().data(), fc.value().size);
    return std::any_of(host.begin(), host.end(), [](T v) { return v != T(0); });
  }

  void load(const std::filesystem::path& models_dir) {
    load(io::tfjs::WeightsFile(io::face_model_manifest(models_dir, io::face_recognition_model)));
  }

  // Every parameter from the tensor of the same name; all or nothing. Checks that each tensor is
  // there, float32 and of the expected shape (filters HWIO), and that the file has no other
  // tensor; all problems are reported in one IoError that starts with the manifest's path.
  void load(const io::tfjs::WeightsFile& file) {
    std::vector<std::string> problems;
    std::set<std::string, std::less<>> used;
    nn::for_each_parameter(*this, [&](const std::string& name, auto& p) {
      using P = std::remove_cvref_t<decltype(p)>;
      const std::string tf = tfjs_name(name);
      const std::vector<index_t> want = file_shape<typename P::shape>();
      used.insert(tf);
      if (!file.contains(tf)) {
        problems.push_back(fmt::format("missing tensor '{}' (parameter '{}', shape {})", tf, name,
                                       dims(want)));
        return;
      }
      const io::tfjs::WeightSpec& s = file.spec(tf);
      if (s.shape != want)
        problems.push_back(fmt::format("tensor '{}' has shape {} in the manifest, {} expected (parameter '{}')",
                                       tf, dims(s.shape), dims(want), name));
      else if (s.dtype != io::tfjs::DType::float32)
        problems.push_back(fmt::format("tensor '{}' has dtype {}, float32 expected (parameter '{}')", tf,
                                       io::tfjs::to_string(s.dtype), name));
    });
    for (const std::string& n : file.names())
      if (!used.contains(n))
        problems.push_back(fmt::format("unexpected tensor '{}' (shape {}): not part of the recognizer", n,
                                       dims(file.spec(n).shape)));
    if (!problems.empty()) {
      std::string msg = fmt::format("{}: {} problem{} loading the face recognizer:", file.manifest().string(),
                                    problems.size(), problems.size() == 1 ? "" : "s");
      for (const std::string& p : problems) msg += "\n  " + p;
      fail<IoError>("{}", msg);
    }
    nn::for_each_parameter(*this, [&](const std::string& name, auto& p) {
      using S = typename std::remove_cvref_t<decltype(p)>::shape;
      const std::vector<float> v = file.values(tfjs_name(name));
      Tensor<T, S, cpu> host(uninitialized);
      if constexpr (S::rank == 4) {  // HWIO -> OIHW
        constexpr index_t O = S::dims[0], I = S::dims[1], KH = S::dims[2], KW = S::dims[3];
        for (index_t o = 0; o < O; ++o)
          for (index_t i = 0; i < I; ++i)
            for (index_t y = 0; y < KH; ++y)
              for (index_t x = 0; x < KW; ++x)
                host(o, i, y, x) = static_cast<T>(v[static_cast<std::size_t>(((y * KW + x) * I + i) * O + o)]);
      } else {
        for (index_t i = 0; i < S::size; ++i) host[i] = static_cast<T>(v[static_cast<std::size_t>(i)]);
      }
      copy_from_host<D>(p.value().data(), host.data(), S::size);
    });
  }

  // The TF.js name of a parameter: dots become slashes, and a ConvLayer's conv.weight, conv.bias,
  // scale.weight, scale.bias are conv/filters, conv/bias, scale/weights, scale/biases.
  static std::string tfjs_name(std::string_view name) {
    static constexpr std::pair<std::string_view, std::string_view> renames[] = {
        {"conv.weight", "conv/filters"},
        {"conv.bias", "conv/bias"},
        {"scale.weight", "scale/weights"},
        {"scale.bias", "scale/biases"}};
    std::string out(name);
    for (const auto& [from, to] : renames)
      if (name.ends_with(from)) out = std::string(name.substr(0, name.size() - from.size())) + std::string(to);
    for (char& c : out)
      if (c == '.') c = '/';
    return out;
  }

  // ---- the network ----------------------------------------------------------------------------
  template <class Embedding, class Map>
  using Features = IdentityFeatures<Embedding, Map>;

  // The network on preprocessed input (preprocess() or preprocess_face()).
  template <index_t N>
  auto forward(const Var<T, Input<N>, D>& x) {
    Graph& g = x.graph();
    const Var<T, Shape<N, 32, 72, 72>, D> c1 = relu(conv32_down.template affine<face::valid_stride2>(x));
    auto h = max_pool2d<PoolOptions{.kernel = 3, .stride = 2}>(c1);
    h = conv32_3(conv32_2(conv32_1(h)));
    auto h64 = conv64_3(conv64_2(conv64_1(conv64_down(h))));
    const auto map = conv128_2(conv128_1(conv128_down(h64)));
    static_assert(std::is_same_v<typename decltype(map)::shape, Shape<N, 128, 8, 8>>);
    auto h256 = conv256_down_out(conv256_2(conv256_1(conv256_down(map))));
    auto pooled = mean<Axes<2, 3>>(h256);  // [N, 256]
    auto embedding = matmul(pooled, g.param(fc));
    return Features<decltype(embedding), std::remove_cvref_t<decltype(map)>>{embedding, map};
  }

  // The preprocessing of face-api on images in [0, 1] ([N, 3, H, W], RGB), differentiable:
  // centred zero pad to a square, bilinear resize to 150 by TF's legacy rule (none at 150),
  // (x·255 − mean RGB) / 255.
  template <index_t N, index_t H, index_t W>
  static Var<T, Input<N>, D> preprocess(const Var<T, Shape<N, 3, H, W>, D>& x) {
    if constexpr (H != W) {
      constexpr auto p = face::square_pad(H > W ? H - W : W - H);
      if constexpr (H > W) return preprocess(pad2d<0, 0, p.before, p.after>(x));
      else return preprocess(pad2d<p.before, p.after, 0, 0>(x));
    } else if constexpr (H != input_size) {
      return normalise(resize_bilinear<input_size, input_size, ResizeMode::asymmetric>(x));
    } else {
      return normalise(x);
    }
  }

  // φ for TSGAN's losses: x is [N, 3, S, S] (any H x W works) in [0, 1], RGB.
  template <index_t N, index_t H, index_t W>
  auto features(const Var<T, Shape<N, 3, H, W>, D>& x) {
    return forward(preprocess(x));
  }

  // Descriptors of images in [0, 1] ([N, 3, H, W]), without a tape.
  template <index_t N, index_t H, index_t W>
  Tensor<T, Shape<N, embedding_size>, D> embed(const Tensor<T, Shape<N, 3, H, W>, D>& images) {
    NoGrad guard;
    Graph g;
    return features(g.input(images)).embedding.value().clone();
  }

  // Descriptors of preprocessed input (preprocess_face), without a tape.
  template <index_t N>
  Tensor<T, Shape<N, embedding_size>, D> embed_preprocessed(const Tensor<T, Input<N>, D>& input) {
    NoGrad guard;
    Graph g;
    return forward(g.input(input)).embedding.value().clone();
  }

  // Descriptors of any number of preprocessed faces (host tensors), Batch at a time; the
  // remainder goes one by one. Results do not depend on the batching.
  template <index_t Batch = 16>
  std::vector<std::array<T, embedding_size>> embed_all(std::span<const Tensor<T, Shape<3, input_size, input_size>>> faces) {
    std::vector<std::array<T, embedding_size>> out(faces.size());
    std::size_t i = 0;
    auto run = [&]<index_t B>(std::integral_constant<index_t, B>) {
      constexpr index_t item = 3 * input_size * input_size;
      Tensor<T, Input<B>, cpu> host(uninitialized);
      for (index_t b = 0; b < B; ++b)
        std::copy_n(faces[i + static_cast<std::size_t>(b)].data(), item, host.data() + b * item);
      Tensor<T, Input<B>, D> dev(uninitialized);
      copy_from_host<D>(dev.data(), host.data(), Input<B>::size);
      const auto e = embed_preprocessed(dev);
      std::vector<T> values(static_cast<std::size_t>(B * embedding_size));
      copy_to_host<D>(values.data(), e.data(), B * embedding_size);
      for (index_t b = 0; b < B; ++b)
        std::copy_n(values.data() + b * embedding_size, embedding_size, out[i + static_cast<std::size_t>(b)].begin());
      i += static_cast<std::size_t>(B);
    };
    while (faces.size() - i >= static_cast<std::size_t>(Batch)) run(std::integral_constant<index_t, Batch>{});
    while (i < faces.size()) run(std::integral_constant<index_t, 1>{});
    return out;
  }

 private:
  template <index_t N>
  static Var<T, Input<N>, D> normalise(const Var<T, Input<N>, D>& x) {
    Tensor<T, Shape<3, 1, 1>, cpu> host(uninitialized);
    for (index_t c = 0; c < 3; ++c) host[c] = static_cast<T>(face::mean_rgb[c]);
    Tensor<T, Shape<3, 1, 1>, D> mean(uninitialized);
    copy_from_host<D>(mean.data(), host.data(), 3);
    return (x * T(255) - std::move(mean)) / T(255);
  }

  template <ShapeType S>
  static std::vector<index_t> file_shape() {
    if constexpr (S::rank == 4) return {S::dims[2], S::dims[3], S::dims[1], S::dims[0]};  // HWIO
    else return std::vector<index_t>(S::dims.begin(), S::dims.end());
  }
  static std::string dims(const std::vector<index_t>& d) { return io::tfjs::detail::dims_string(d.data(), d.size()); }
};

// ---- host preprocessing of 8-bit images -------------------------------------------------------

// face-api's preprocessing of a face crop of an 8-bit image, exactly as tfjs computes it (the
// resize in double, rounded once to float; the mean subtracted and the division by 255 in T):
// the network input [3, 150, 150]. `pixels` is row-major HWC with 1 (grey, replicated), 3 (RGB)
// or 4 (RGBA, alpha dropped) channels; the crop is clipped to the image and must not be empty.
template <class T = float>
Tensor<T, Shape<3, face::input_size, face::input_size>> preprocess_face(const std::uint8_t* pixels, int width,
                                                                        int height, int channels, face::Crop crop) {
  if (width <= 0 || height <= 0 || (channels != 1 && channels != 3 && channels != 4))
    fail("tsgan: preprocess_face: a {}x{} image with {} channels (1, 3 or 4 expected)", width, height, channels);
  const int x0 = std::max(0, crop.x), y0 = std::max(0, crop.y);
  const int x1 = std::min(width, crop.x + crop.width), y1 = std::min(height, crop.y + crop.height);
  if (x1 <= x0 || y1 <= y0)
    fail("tsgan: preprocess_face: the crop {},{},{},{} lies outside the {}x{} image", crop.x, crop.y, crop.width,
         crop.height, width, height);
  const index_t w = x1 - x0, h = y1 - y0;
  const index_t side = std::max(w, h);
  const face::SquarePad pad = face::square_pad(side - std::min(w, h));
  const index_t top = h < w ? pad.before : 0, left = w < h ? pad.before : 0;
  // Pixel (y, x) channel c of the padded square, on the 0..255 scale.
  auto at = [&](index_t y, index_t x, index_t c) -> double {
    y -= top;
    x -= left;
    if (y < 0 || y >= h || x < 0 || x >= w) return 0.0;
    const std::size_t p = (static_cast<std::size_t>(y0 + y) * static_cast<std::size_t>(width) + static_cast<std::size_t>(x0 + x)) *
                          static_cast<std::size_t>(channels);
    return pixels[p + (channels == 1 ? 0 : static_cast<std::size_t>(c))];
  };
  constexpr index_t S = face::input_size;
  Tensor<T, Shape<3, S, S>> out(uninitialized);
  const double ratio = static_cast<double>(side) / static_cast<double>(S);
  for (index_t c = 0; c < 3; ++c) {
    const T mean = static_cast<T>(face::mean_rgb[c]);
    for (index_t oy = 0; oy < S; ++oy)
      for (index_t ox = 0; ox < S; ++ox) {
        float v;
        if (side == S) {
          v = static_cast<float>(at(oy, ox, c));
        } else {  // tfjs's resizeBilinear, alignCorners = halfPixelCenters = false
          const double sy = ratio * static_cast<double>(oy), sx = ratio * static_cast<double>(ox);
          const auto fy = static_cast<index_t>(std::floor(sy)), fx = static_cast<index_t>(std::floor(sx));
          const index_t cy = std::min(side - 1, static_cast<index_t>(std::ceil(sy)));
          const index_t cx = std::min(side - 1, static_cast<index_t>(std::ceil(sx)));
          const double ly = sy - static_cast<double>(fy), lx = sx - static_cast<double>(fx);
          const double tl = at(fy, fx, c), tr = at(fy, cx, c), bl = at(cy, fx, c), br = at(cy, cx, c);
          const double t = tl + (tr - tl) * lx, b = bl + (br - bl) * lx;
          v = static_cast<float>(t + (b - t) * ly);
        }
        out(c, oy, ox) = (static_cast<T>(v) - mean) / T(255);
      }
  }
  return out;
}

// The same for any image type with width, height, channels and pixels (io::Image); without a crop
// the whole image is the face.
template <class T = float, class Image>
  requires requires(const Image& im) {
    im.width;
    im.height;
    im.channels;
    im.pixels.data();
  }
Tensor<T, Shape<3, face::input_size, face::input_size>> preprocess_face(const Image& image,
                                                                        std::optional<face::Crop> crop = std::nullopt) {
  return preprocess_face<T>(image.pixels.data(), image.width, image.height, image.channels,
                            crop.value_or(face::Crop{0, 0, image.width, image.height}));
}

// The Euclidean distance between two descriptors (same person below face::same_person_threshold).
template <class A, class B>
double face_distance(const A& a, const B& b) {
  double s = 0;
  for (std::size_t i = 0; i < static_cast<std::size_t>(face::embedding_size); ++i) {
    const double d = static_cast<double>(a[i]) - static_cast<double>(b[i]);
    s += d * d;
  }
  return std::sqrt(s);
}

}  // namespace tsgan::models
