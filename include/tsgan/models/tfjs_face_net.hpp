// What the ports of face-api's small networks (face_detector.hpp: TinyFaceDetector,
// face_landmarks.hpp: FaceLandmark68Net) share: their layers on tsgan's ops, the loader of their
// TF.js weights, and face-api's input pipeline on 8-bit host images, computed as tfjs computes it.
//
//  - Conv: a regular convolution with bias, filters HWIO in the file, OIHW here.
//  - SeparableConv: TF's separableConv2d + bias: a 3x3 depthwise convolution (filter [3, 3, C, 1]
//    in the file, a grouped conv [C, 1, 3, 3] here) and a 1x1 pointwise one ([1, 1, C, Out] in the
//    file, [Out, C, 1, 1] here), with the bias after the pointwise convolution.
//  - load(): every parameter from the tensor of the same name (dots become slashes), all or
//    nothing, every problem in one IoError that starts with the manifest's path.
//  - network_input(): face-api's NetInput.toBatchTensor on a rectangle of the image: a zero pad to
//    a square (at the bottom/right for the detector, centred for the landmark net), tfjs's
//    resizeBilinear (alignCorners = halfPixelCenters = false: src = dst·in/out) evaluated in
//    double and rounded once to float as tfjs's CPU backend does, skipped when the square already
//    has the network's size; then (v − mean RGB) / 255 in float.
//
// Images are any type with width, height, channels and pixels (io::Image): grey (1 channel, CMU
// PGM) is read as RGB by replicating the channel, RGBA drops alpha. No image codec here, so nvcc
// can compile the networks.
#pragma once

#include <cmath>
#include <cstdint>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include "tsgan/core/copy.hpp"
#include "tsgan/io/model_path.hpp"
#include "tsgan/io/tfjs_weights.hpp"
#include "tsgan/nn/module.hpp"
#include "tsgan/ops/conv.hpp"

namespace tsgan::models::tfjs_face {

// A convolution with bias (TF.js names filters, bias).
template <index_t In, index_t Out, index_t K, class T, class D>
struct Conv {
  Param<T, Shape<Out, In, K, K>, D> filters;
  Param<T, Shape<Out>, D> bias;

  template <class V>
  void visit(V& v) {
    v.param("filters", filters);
    v.param("bias", bias);
  }

  template <ConvOptions O, ShapeType S>
  auto apply(const Var<T, S, D>& x) {
    Graph& g = x.graph();
    return conv2d<O>(x, g.param(filters), g.param(bias));
  }
};

// TF's separableConv2d (depthwise 3x3, then pointwise 1x1) + bias. The stride and padding of O
// apply to the depthwise convolution, as in TF.
template <index_t In, index_t Out, class T, class D>
struct SeparableConv {
  Param<T, Shape<In, 1, 3, 3>, D> depthwise;
  Param<T, Shape<Out, In, 1, 1>, D> pointwise;
  Param<T, Shape<Out>, D> bias;

  template <class V>
  void visit(V& v) {
    v.param("depthwise_filter", depthwise);
    v.param("pointwise_filter", pointwise);
    v.param("bias", bias);
  }

  template <ConvOptions O, ShapeType S>
  auto apply(const Var<T, S, D>& x) {
    Graph& g = x.graph();
    constexpr ConvOptions per_channel{.stride = O.stride, .padding = O.padding, .same = O.same, .groups = In};
    return conv2d(conv2d<per_channel>(x, g.param(depthwise)), g.param(pointwise), g.param(bias));
  }
};

namespace detail {

inline bool is_depthwise(std::string_view name) { return name.ends_with("depthwise_filter"); }

// The shape the manifest gives a parameter of shape S: filters HWIO, depthwise [kh, kw, C, 1].
template <ShapeType S>
std::vector<index_t> file_shape(std::string_view name) {
  if constexpr (S::rank == 4) {
    if (is_depthwise(name)) return {S::dims[2], S::dims[3], S::dims[0], 1};
    return {S::dims[2], S::dims[3], S::dims[1], S::dims[0]};
  } else {
    return std::vector<index_t>(S::dims.begin(), S::dims.end());
  }
}

inline std::string tfjs_name(std::string_view name) {
  std::string out(name);
  for (char& c : out)
    if (c == '.') c = '/';
  return out;
}

inline std::string dims(const std::vector<index_t>& d) { return io::tfjs::detail::dims_string(d.data(), d.size()); }

}  // namespace detail

// Fills every parameter of `module` (named by nn::name_parameters) from `file`; `what` names the
// network in the error message.
template <class Module>
void load(Module& module, const io::tfjs::WeightsFile& file, std::string_view what) {
  std::vector<std::string> problems;
  std::set<std::string, std::less<>> used;
  nn::for_each_parameter(module, [&](const std::string& name, auto& p) {
    using P = std::remove_cvref_t<decltype(p)>;
    const std::string tf = detail::tfjs_name(name);
    const std::vector<index_t> want = detail::file_shape<typename P::shape>(name);
    used.insert(tf);
    if (!file.contains(tf)) {
      problems.push_back(fmt::format("missing tensor '{}' (shape {})", tf, detail::dims(want)));
      return;
    }
    const io::tfjs::WeightSpec& s = file.spec(tf);
    if (s.shape != want)
      problems.push_back(fmt::format("tensor '{}' has shape {} in the manifest, {} expected", tf, detail::dims(s.shape),
                                     detail::dims(want)));
    else if (s.dtype != io::tfjs::DType::float32)
      problems.push_back(fmt::format("tensor '{}' has dtype {}, float32 expected", tf, io::tfjs::to_string(s.dtype)));
  });
  for (const std::string& n : file.names())
    if (!used.contains(n))
      problems.push_back(fmt::format("unexpected tensor '{}' (shape {}): not part of the {}", n,
                                     detail::dims(file.spec(n).shape), what));
  if (!problems.empty()) {
    std::string msg = fmt::format("{}: {} problem{} loading the {}:", file.manifest().string(), problems.size(),
                                  problems.size() == 1 ? "" : "s", what);
    for (const std::string& p : problems) msg += "\n  " + p;
    fail<IoError>("{}", msg);
  }
  nn::for_each_parameter(module, [&](const std::string& name, auto& p) {
    using S = typename std::remove_cvref_t<decltype(p)>::shape;
    const std::vector<float> v = file.values(detail::tfjs_name(name));
    Tensor<typename std::remove_cvref_t<decltype(p)>::value_type, S, cpu> host(uninitialized);
    if constexpr (S::rank == 4) {
      // HWIO to OIHW; a depthwise [kh, kw, C, 1] is HWIO with I and O swapped, which the grouped
      // [C, 1, kh, kw] reads at the same flat index ((y·kw + x)·C + c).
      constexpr index_t O = S::dims[0], I = S::dims[1], KH = S::dims[2], KW = S::dims[3];
      for (index_t o = 0; o < O; ++o)
        for (index_t i = 0; i < I; ++i)
          for (index_t y = 0; y < KH; ++y)
            for (index_t x = 0; x < KW; ++x) host(o, i, y, x) = v[static_cast<std::size_t>(((y * KW + x) * I + i) * O + o)];
    } else {
      for (index_t i = 0; i < S::size; ++i) host[i] = v[static_cast<std::size_t>(i)];
    }
    using Dev = typename std::remove_cvref_t<decltype(p)>::device;
    copy_from_host<Dev>(p.value().data(), host.data(), S::size);
  });
}

// An integer rectangle of an image, already clipped to it and not empty.
struct Rect {
  index_t x = 0, y = 0, width = 0, height = 0;
};

// Where the padding to a square goes: after the image (the detector) or on both sides, with
// round(d/2) after and the rest before (the landmark net and the recognizer).
enum class Placement { top_left, centred };

template <class Image>
concept HostImage = requires(const Image& im) {
  im.width;
  im.height;
  im.channels;
  im.pixels.data();
};

template <HostImage Image>
void check_image(const Image& im, std::string_view what) {
  if (im.width <= 0 || im.height <= 0 || (im.channels != 1 && im.channels != 3 && im.channels != 4) ||
      im.pixels.size() != static_cast<std::size_t>(im.width) * static_cast<std::size_t>(im.height) *
                              static_cast<std::size_t>(im.channels))
    fail("tsgan: {}: the image is {}x{}x{} with {} bytes of pixels (1, 3 or 4 channels and width * height * "
         "channels bytes expected)",
         what, im.width, im.height, im.channels, im.pixels.size());
}

// Writes the network input [3, size, size] (RGB planes) for rectangle r of the image to out.
template <class T, HostImage Image>
void network_input(const Image& im, Rect r, index_t size, Placement placement, const double (&mean_rgb)[3], T* out) {
  const index_t side = std::max(r.width, r.height);
  const index_t d = side - std::min(r.width, r.height);
  const index_t before = placement == Placement::centred ? d - (d + 1) / 2 : 0;  // Math.round: halves up
  const index_t top = r.height < r.width ? before : 0, left = r.width < r.height ? before : 0;
  const auto channels = static_cast<std::size_t>(im.channels);
  // Pixel (y, x) channel c of the padded square on the 0..255 scale.
  auto at = [&](index_t y, index_t x, index_t c) -> double {
    y -= top;
    x -= left;
    if (y < 0 || y >= r.height || x < 0 || x >= r.width) return 0.0;
    const std::size_t p =
        (static_cast<std::size_t>(r.y + y) * static_cast<std::size_t>(im.width) + static_cast<std::size_t>(r.x + x)) *
        channels;
    return im.pixels[p + (channels == 1 ? 0 : static_cast<std::size_t>(c))];
  };
  const double ratio = static_cast<double>(side) / static_cast<double>(size);
  for (index_t c = 0; c < 3; ++c) {
    const auto mean = static_cast<T>(static_cast<float>(mean_rgb[c]));
    T* plane = out + c * size * size;
    for (index_t oy = 0; oy < size; ++oy)
      for (index_t ox = 0; ox < size; ++ox) {
        float v;
        if (side == size) {
          v = static_cast<float>(at(oy, ox, c));
        } else {
          const double sy = ratio * static_cast<double>(oy), sx = ratio * static_cast<double>(ox);
          const auto fy = static_cast<index_t>(std::floor(sy)), fx = static_cast<index_t>(std::floor(sx));
          const index_t cy = std::min(side - 1, static_cast<index_t>(std::ceil(sy)));
          const index_t cx = std::min(side - 1, static_cast<index_t>(std::ceil(sx)));
          const double ly = sy - static_cast<double>(fy), lx = sx - static_cast<double>(fx);
          const double tl = at(fy, fx, c), tr = at(fy, cx, c), bl = at(cy, fx, c), br = at(cy, cx, c);
          const double t = tl + (tr - tl) * lx, b = bl + (br - bl) * lx;
          v = static_cast<float>(t + (b - t) * ly);
        }
        plane[oy * size + ox] = (static_cast<T>(v) - mean) / T(255);
      }
  }
}

}  // namespace tsgan::models::tfjs_face
