// FaceMesh: MediaPipe's 468-point 3-D face landmark network, as @vladmandic/human 3.3.6 ships it
// (models/facemesh.json + facemesh.bin, a TF.js graph model with float16 weights; fetched by
// scripts/fetch-face-mesh.sh), on tsgan's ops, frozen, CPU or GPU.
//
//   tsgan::models::FaceMesh<> net(*tsgan::models::face_mesh_dir());
//   auto box = tsgan::models::mesh::square_box(face);        // a detector's box, enlarged 1.4x
//   tsgan::models::mesh::Result r = net.run(image, box);      // 468 points in image pixels
//   auto map = tsgan::models::mesh::read_landmark_map(dir);   // which point is each of the 68
//
// Contract, copied from human 3.3.6 (src/face/facemesh.ts, facemeshutil.ts) and checked against
// tfjs 4.22 running the same model to 0.5 px (tests/unit/models/face_mesh_test.cpp):
//  - input: the face box cut out of the image and resized to 192x192 by tf.image.cropAndResize
//    (bilinear; the box as fractions of the image, rounded to float; pixels beyond the image are
//    0), divided by 255; RGB (grey replicated);
//  - the network: a 3x3 stride-2 convolution with PReLU, then residual blocks
//    prelu(x + conv1x1(depthwise3x3(x))); the downsampling blocks have a stride-2 depthwise
//    convolution ('same' padding, TF's odd cell at the end) and a 2x2 max-pooled shortcut whose new
//    channels are zeros; two heads on the 6x6 map: the mesh (1404 = 468 x 3 values from a 3x3
//    convolution on the final 3x3 map) and the face score (a sigmoid). The third head of the file
//    (lip and eye contours) is not used and not loaded;
//  - outputs: raw point (x, y, z) in the 192 crop's pixels, z relative depth (smaller is nearer,
//    0 near the face's centre plane), on the same scale as x; in the image, as human maps them
//    (transformRawCoords, without its rounding): x = cx + (x_raw − 96)·w/192, y likewise with h,
//    where (cx, cy) is the box's centre and w, h its size; Result also gives z in image pixels,
//    z·w/192, which is what a renderer needs.
// Parameters are named after the TF.js layers (conv2d_2.weight is conv2d_2/Conv2D_weights, the
// batch norm folded in; p_re_lu_2.alpha is p_re_lu_2/Neg, which tfjs uses as the PReLU slope).
//
// Includes tsgan/io/tfjs_weights.hpp (nlohmann/json), so it is not in the umbrella header.
#pragma once

#include <algorithm>
#include <array>
#include <cmath>
#include <cstdint>
#include <filesystem>
#include <fstream>
#include <limits>
#include <optional>
#include <ranges>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include "tsgan/core/copy.hpp"
#include "tsgan/io/model_path.hpp"
#include "tsgan/io/tfjs_weights.hpp"
#include "tsgan/nn/module.hpp"
#include "tsgan/ops/conv.hpp"
#include "tsgan/ops/layout.hpp"
#include "tsgan/ops/pool.hpp"

namespace tsgan::models {

namespace mesh {

inline constexpr index_t input_size = 192;
inline constexpr index_t point_count = 468;
inline constexpr std::string_view model_file = "facemesh.json";  // and facemesh.bin beside it
inline constexpr std::string_view tfjs_prefix = "StatefulPartitionedCall/model_1/";

// A face box in image pixels: the corners (x0, y0) and (x1, y1), x1 > x0, y1 > y0.
struct Box {
  double x0 = 0, y0 = 0, x1 = 0, y1 = 0;
  double width() const { return x1 - x0; }
  double height() const { return y1 - y0; }
};

// human's box from a detector's (blazeface.ts → facemeshutil.ts): enlarged `scale` times about
// its centre (enlargeBox), then made square on its longer side with the corners rounded
// (squarifyBox, Math.round: halves up).
inline Box square_box(const Box& face, double scale = 1.4) {
  const double cx = face.x0 + face.width() / 2, cy = face.y0 + face.height() / 2;
  const double half = std::max(scale * face.width(), scale * face.height()) / 2;
  const auto js_round = [](double v) { return std::floor(v + 0.5); };
  return {js_round(cx - half), js_round(cy - half), js_round(cx + half), js_round(cy + half)};
}

struct Point3 {
  double x = 0, y = 0, z = 0;
};

// The box of FaceMesh's next run from its last one's points, as MediaPipe's face-mesh graph and
// human (facemesh.ts) track a face: the points' bounding box in x and y, enlarged `scale` times
// about its centre, made square on its longer side and rounded (square_box). Unlike a detector's
// box, it is centred on the face that FaceMesh found, however far that face is turned.
template <class Points>
Box landmarks_box(const Points& points, double scale = 1.5) {
  if (std::ranges::empty(points)) fail("tsgan: FaceMesh: a box around no points");
  Box bounds{std::numeric_limits<double>::infinity(), std::numeric_limits<double>::infinity(),
             -std::numeric_limits<double>::infinity(), -std::numeric_limits<double>::infinity()};
  for (const auto& p : points) {
    bounds.x0 = std::min(bounds.x0, double(p.x));
    bounds.y0 = std::min(bounds.y0, double(p.y));
    bounds.x1 = std::max(bounds.x1, double(p.x));
    bounds.y1 = std::max(bounds.y1, double(p.y));
  }
  return square_box(bounds, scale);
}

struct Result {
  std::array<Point3, point_count> raw;     // in the 192 crop, as the network gives them
  std::array<Point3, point_count> points;  // in the image: x, y as human maps them, z·w/192
  double face_score = 0;                   // the network's face presence, 0..1
};

// The raw points mapped to the image (see the header comment).
inline Result to_image(const Box& box, const float* raw, float score) {
  Result r;
  const double cx = box.x0 + box.width() / 2, cy = box.y0 + box.height() / 2;
  const double sx = box.width() / double(input_size), sy = box.height() / double(input_size);
  for (index_t i = 0; i < point_count; ++i) {
    const double x = raw[3 * i], y = raw[3 * i + 1], z = raw[3 * i + 2];
    r.raw[static_cast<std::size_t>(i)] = {x, y, z};
    r.points[static_cast<std::size_t>(i)] = {cx + (x - input_size / 2.0) * sx, cy + (y - input_size / 2.0) * sy, z * sx};
  }
  r.face_score = score;
  return r;
}

template <index_t C, class T, class D>
struct PRelu {
  Param<T, Shape<C>, D> alpha;
  template <class V>
  void visit(V& v) {
    v.param("alpha", alpha);
  }
  // max(x, 0) + alpha·min(x, 0), with alpha per channel.
  template <class X>
  auto operator()(Graph& g, X&& x) {
    const auto a = reshape<Shape<C, 1, 1>>(g.param(alpha));
    return relu(x) - a * relu(-x);
  }
};

// A 1x1 convolution with bias (the batch norm folded in), or any K with valid padding.
template <index_t In, index_t Out, index_t K, class T, class D>
struct Conv {
  Param<T, Shape<Out, In, K, K>, D> weight;
  Param<T, Shape<Out>, D> bias;
  template <class V>
  void visit(V& v) {
    v.param("weight", weight);
    v.param("bias", bias);
  }
  template <ShapeType S>
  auto operator()(const Var<T, S, D>& x) {
    Graph& g = x.graph();
    return conv2d<ConvOptions{.stride = K}>(x, g.param(weight), g.param(bias));
  }
};

template <index_t C, index_t Stride, class T, class D>
struct Depthwise {
  Param<T, Shape<C, 1, 3, 3>, D> weight;
  template <class V>
  void visit(V& v) {
    v.param("weight", weight);
  }
  template <ShapeType S>
  auto operator()(const Var<T, S, D>& x) {
    return conv2d<ConvOptions{.stride = Stride, .same = true, .groups = C}>(x, x.graph().param(weight));
  }
};

// prelu(shortcut(x) + conv1x1(depthwise(x))): the identity shortcut at stride 1; at stride 2 a
// 2x2 max pool, with zero channels appended when the block widens.
template <index_t In, index_t Out, index_t Stride, class T, class D>
struct Block {
  static_assert(Stride == 2 || In == Out, "tsgan: a stride-1 face mesh block keeps its channels");
  Depthwise<In, Stride, T, D> depthwise;
  Conv<In, Out, 1, T, D> conv;
  PRelu<Out, T, D> prelu;
  int depthwise_id, conv_id, prelu_id;  // the TF.js layer numbers

  Block(int d, int c, int p) : depthwise_id(d), conv_id(c), prelu_id(p) {}

  template <class V>
  void visit(V& v) {
    v.child(fmt::format("depthwise_conv2d_{}", depthwise_id), depthwise);
    v.child(fmt::format("conv2d_{}", conv_id), conv);
    v.child(fmt::format("p_re_lu_{}", prelu_id), prelu);
  }

  template <index_t N, index_t H, index_t W>
  auto operator()(const Var<T, Shape<N, In, H, W>, D>& x) {
    Graph& g = x.graph();
    const auto branch = conv(depthwise(x));
    using Y = typename std::remove_cvref_t<decltype(branch)>::shape;
    if constexpr (Stride == 1) {
      return Var<T, Y, D>(prelu(g, x + branch));
    } else {
      const auto pooled = max_pool2d<PoolOptions{.kernel = 2, .stride = 2}>(x);
      using P = typename std::remove_cvref_t<decltype(pooled)>::shape;
      static_assert(std::is_same_v<P, Shape<N, In, Y::dims[2], Y::dims[3]>>, "tsgan: face mesh block sizes disagree");
      if constexpr (Out == In) {
        return Var<T, Y, D>(prelu(g, pooled + branch));
      } else {
        const auto widened = concat<1>(pooled, g.input(Tensor<T, Shape<N, Out - In, Y::dims[2], Y::dims[3]>, D>()));
        return Var<T, Y, D>(prelu(g, widened + branch));
      }
    }
  }
};

// A 1x1 convolution followed by PReLU (a fused TF.js layer).
template <index_t In, index_t Out, class T, class D>
struct Projection {
  Conv<In, Out, 1, T, D> conv;
  PRelu<Out, T, D> prelu;
  int conv_id, prelu_id;
  Projection(int c, int p) : conv_id(c), prelu_id(p) {}
  template <class V>
  void visit(V& v) {
    v.child(fmt::format("conv2d_{}", conv_id), conv);
    v.child(fmt::format("p_re_lu_{}", prelu_id), prelu);
  }
  template <ShapeType S>
  auto operator()(const Var<T, S, D>& x) {
    const auto y = conv(x);
    return Var<T, typename std::remove_cvref_t<decltype(y)>::shape, D>(prelu(x.graph(), y));
  }
};

// The layers of the file's third head (lip and eye contours), which FaceMesh does not use.
inline bool contour_layer(std::string_view tf) {
  static const std::set<std::string, std::less<>> layers = [] {
    std::set<std::string, std::less<>> s;
    for (int i : {19, 20, 21, 22}) s.insert(fmt::format("depthwise_conv2d_{}", i));
    for (int i : {22, 23, 24, 25, 26, 27}) s.insert(fmt::format("conv2d_{}", i));
    for (int i : {21, 22, 23, 24, 25}) s.insert(fmt::format("p_re_lu_{}", i));
    s.insert("output_contours");
    return s;
  }();
  if (!tf.starts_with(tfjs_prefix)) return false;
  tf.remove_prefix(tfjs_prefix.size());
  return layers.contains(tf.substr(0, tf.find('/')));
}

// Which of the 468 points stands for each of the 68 iBUG points (0-16 jaw, 17-26 brows, 27-35
// nose, 36-47 eyes, 48-67 lips), human's VTX68, which scripts/fetch-face-mesh.sh writes into
// face_mesh_68.txt beside the model: "tsgan-face-mesh-68 1", then 68 indices, one a line.
inline constexpr std::string_view landmark_map_file = "face_mesh_68.txt";
using LandmarkMap = std::array<int, 68>;

inline LandmarkMap read_landmark_map(const std::filesystem::path& models_dir) {
  const std::filesystem::path file = models_dir / landmark_map_file;
  std::ifstream in(file);
  if (!in) fail<IoError>("{}: cannot read the 468-to-68 point map (run scripts/fetch-face-mesh.sh)", file.string());
  std::string header;
  std::getline(in, header);
  if (!header.empty() && header.back() == '\r') header.pop_back();
  if (header != "tsgan-face-mesh-68 1") fail<IoError>("{}: the first line is '{}', not 'tsgan-face-mesh-68 1'", file.string(), header);
  LandmarkMap map{};
  for (std::size_t i = 0; i < map.size(); ++i) {
    if (!(in >> map[i])) fail<IoError>("{}: {} vertex indices, 68 expected", file.string(), i);
    if (map[i] < 0 || map[i] >= point_count)
      fail<IoError>("{}: entry {} is vertex {}, outside 0..{}", file.string(), i, map[i], point_count - 1);
  }
  if (int extra = 0; in >> extra) fail<IoError>("{}: more than 68 vertex indices", file.string());
  return map;
}

}  // namespace mesh

// The folder of facemesh.json (see io::face_models_search_dir()), or empty when it is absent.
inline std::optional<std::filesystem::path> face_mesh_dir() {
  const std::filesystem::path dir = io::face_models_search_dir();
  std::error_code ec;
  if (dir.empty() || !std::filesystem::is_regular_file(dir / mesh::model_file, ec) ||
      !std::filesystem::is_regular_file(dir / "facemesh.bin", ec))
    return std::nullopt;
  return dir;
}

template <class T = float, class D = cpu>
class FaceMesh {
 public:
  using value_type = T;
  using device = D;
  static constexpr index_t input_size = mesh::input_size;
  template <index_t N>
  using Input = Shape<N, 3, input_size, input_size>;  // RGB in [0, 1]

  // The trunk: 192 → 96 (stem) → 48 → 24 → 12 → 6.
  Param<T, Shape<16, 3, 3, 3>, D> stem_weight;  // conv2d_1, 3x3 stride 2 'same'
  Param<T, Shape<16>, D> stem_bias;
  mesh::PRelu<16, T, D> stem_prelu;
  mesh::Block<16, 16, 1, T, D> b1{1, 2, 2}, b2{2, 3, 3};
  mesh::Block<16, 32, 2, T, D> b3{3, 4, 4};
  mesh::Block<32, 32, 1, T, D> b4{4, 5, 5}, b5{5, 6, 6};
  mesh::Block<32, 64, 2, T, D> b6{6, 7, 7};
  mesh::Block<64, 64, 1, T, D> b7{7, 8, 8}, b8{8, 9, 9};
  mesh::Block<64, 128, 2, T, D> b9{9, 10, 10};
  mesh::Block<128, 128, 1, T, D> b10{10, 11, 11}, b11{11, 12, 12};
  mesh::Block<128, 128, 2, T, D> b12{12, 13, 13};
  mesh::Block<128, 128, 1, T, D> b13{13, 14, 14}, b14{14, 15, 15};
  // The mesh head: 6 → 3, then a 3x3 convolution to 1404 values.
  mesh::Block<128, 128, 2, T, D> m1{15, 16, 16};
  mesh::Block<128, 128, 1, T, D> m2{16, 17, 17}, m3{17, 18, 18};
  mesh::Projection<128, 32, T, D> m4{19, 19};
  mesh::Block<32, 32, 1, T, D> m5{18, 20, 20};
  mesh::Conv<32, 3 * mesh::point_count, 3, T, D> mesh_out;  // conv2d_21
  // The face-score head, the same shape with one output and a sigmoid.
  mesh::Block<128, 128, 2, T, D> f1{23, 28, 26};
  mesh::Projection<128, 32, T, D> f2{29, 27};
  mesh::Block<32, 32, 1, T, D> f3{24, 30, 28};
  mesh::Conv<32, 1, 3, T, D> score_out;  // conv2d_31

  // Zero weights, frozen; load() fills them.
  FaceMesh() {
    nn::name_parameters(*this);
    nn::freeze(*this);
  }
  // Loads facemesh.json from `models_dir` (see face_mesh_dir()).
  explicit FaceMesh(const std::filesystem::path& models_dir) : FaceMesh() { load(models_dir); }
  FaceMesh(FaceMesh&&) noexcept = default;
  FaceMesh& operator=(FaceMesh&&) noexcept = default;

  template <class V>
  void visit(V& v) {
    v.param("conv2d_1.weight", stem_weight);
    v.param("conv2d_1.bias", stem_bias);
    v.child("p_re_lu_1", stem_prelu);
    v.child("", b1);
    v.child("", b2);
    v.child("", b3);
    v.child("", b4);
    v.child("", b5);
    v.child("", b6);
    v.child("", b7);
    v.child("", b8);
    v.child("", b9);
    v.child("", b10);
    v.child("", b11);
    v.child("", b12);
    v.child("", b13);
    v.child("", b14);
    v.child("", m1);
    v.child("", m2);
    v.child("", m3);
    v.child("", m4);
    v.child("", m5);
    v.child("conv2d_21", mesh_out);
    v.child("", f1);
    v.child("", f2);
    v.child("", f3);
    v.child("conv2d_31", score_out);
  }

  // ---- loading ------------------------------------------------------------------------------
  void load(const std::filesystem::path& models_dir) { load(io::tfjs::WeightsFile(models_dir / mesh::model_file)); }

  // Every parameter from its TF.js tensor; all or nothing. Checks names, shapes and dtypes, that
  // the channel paddings are the zero channels appended at the end that the blocks assume, and
  // that the file has no tensor besides those, the contour head and the output shapes; all
  // problems are reported in one IoError that starts with the file's path.
  void load(const io::tfjs::WeightsFile& file) {
    std::vector<std::string> problems;
    std::set<std::string, std::less<>> used;
    nn::for_each_parameter(*this, [&](const std::string& name, auto& p) {
      using P = std::remove_cvref_t<decltype(p)>;
      const std::string tf = tfjs_name(name);
      const std::vector<index_t> want = file_shape<typename P::shape>(name);
      used.insert(tf);
      if (!file.contains(tf)) {
        problems.push_back(fmt::format("missing tensor '{}' (parameter '{}', shape {})", tf, name, dims(want)));
        return;
      }
      const io::tfjs::WeightSpec& s = file.spec(tf);
      if (s.shape != want)
        problems.push_back(fmt::format("tensor '{}' has shape {} in the manifest, {} expected (parameter '{}')", tf,
                                       dims(s.shape), dims(want), name));
      else if (s.dtype != io::tfjs::DType::float32)
        problems.push_back(fmt::format("tensor '{}' has dtype {}, float32 expected (parameter '{}')", tf,
                                       io::tfjs::to_string(s.dtype), name));
    });
    // channel_padding_k widens block b3, b6, b9 from C to 2C channels.
    for (const auto& [k, c] : {std::pair{1, 16}, std::pair{2, 32}, std::pair{3, 64}}) {
      const std::string tf = fmt::format("{}channel_padding_{}/Pad/paddings", mesh::tfjs_prefix, k);
      used.insert(tf);
      const std::vector<float> want = {0, 0, 0, 0, 0, 0, 0, float(c)};
      if (!file.contains(tf) || file.values(tf) != want)
        problems.push_back(fmt::format("tensor '{}' is missing or is not [[0, 0], [0, 0], [0, 0], [0, {}]] (zero "
                                       "channels appended at the end)",
                                       tf, c));
    }
    for (const std::string& n : file.names())
      if (!used.contains(n) && !mesh::contour_layer(n) && !n.ends_with("/Const"))
        problems.push_back(fmt::format("unexpected tensor '{}' (shape {}): not part of the face mesh network", n,
                                       dims(file.spec(n).shape)));
    if (!problems.empty()) {
      std::string msg = fmt::format("{}: {} problem{} loading the face mesh network:", file.manifest().string(),
                                    problems.size(), problems.size() == 1 ? "" : "s");
      for (const std::string& p : problems) msg += "\n  " + p;
      fail<IoError>("{}", msg);
    }
    nn::for_each_parameter(*this, [&](const std::string& name, auto& p) {
      using S = typename std::remove_cvref_t<decltype(p)>::shape;
      const std::vector<float> v = file.values(tfjs_name(name));
      Tensor<T, S, cpu> host(uninitialized);
      if constexpr (S::rank == 4) {  // HWIO (depthwise: [kh, kw, C, 1]) -> OIHW
        constexpr index_t O = S::dims[0], I = S::dims[1], KH = S::dims[2], KW = S::dims[3];
        const bool depthwise = name.starts_with("depthwise");
        for (index_t o = 0; o < O; ++o)
          for (index_t i = 0; i < I; ++i)
            for (index_t y = 0; y < KH; ++y)
              for (index_t x = 0; x < KW; ++x) {
                const index_t at = depthwise ? (y * KW + x) * O + o : ((y * KW + x) * I + i) * O + o;
                host(o, i, y, x) = static_cast<T>(v[static_cast<std::size_t>(at)]);
              }
      } else {
        for (index_t i = 0; i < S::size; ++i) host[i] = static_cast<T>(v[static_cast<std::size_t>(i)]);
      }
      copy_from_host<D>(p.value().data(), host.data(), S::size);
    });
  }

  // The TF.js name of a parameter: conv2d_k.weight/.bias are conv2d_k/Conv2D_weights and
  // /Conv2D_bn_offset (batch norm folded), or /Conv2D/ReadVariableOp and /BiasAdd/ReadVariableOp
  // for the heads' last convolutions; depthwise_conv2d_k.weight is .../depthwise/ReadVariableOp;
  // p_re_lu_k.alpha is p_re_lu_k/Neg.
  static std::string tfjs_name(std::string_view name) {
    const std::string_view layer = name.substr(0, name.find('.'));
    const std::string_view field = name.substr(name.find('.') + 1);
    const bool head = layer == "conv2d_21" || layer == "conv2d_27" || layer == "conv2d_31";
    std::string_view tf;
    if (layer.starts_with("depthwise")) tf = "depthwise/ReadVariableOp";
    else if (layer.starts_with("p_re_lu")) tf = "Neg";
    else if (field == "weight") tf = head ? "Conv2D/ReadVariableOp" : "Conv2D_weights";
    else tf = head ? "BiasAdd/ReadVariableOp" : "Conv2D_bn_offset";
    return fmt::format("{}{}/{}", mesh::tfjs_prefix, layer, tf);
  }

  // ---- the network ----------------------------------------------------------------------------
  template <class Mesh, class Score>
  struct Outputs {
    Mesh mesh;    // Var [N, 1404]: x, y, z of each point in the 192 crop
    Score score;  // Var [N, 1]: the face score, 0..1
  };

  template <index_t N>
  auto forward(const Var<T, Input<N>, D>& x) {
    Graph& g = x.graph();
    const auto stem = conv2d<ConvOptions{.stride = 2, .same = true}>(x, g.param(stem_weight), g.param(stem_bias));
    const Var<T, Shape<N, 16, 96, 96>, D> s = stem_prelu(g, stem);
    const auto trunk = b14(b13(b12(b11(b10(b9(b8(b7(b6(b5(b4(b3(b2(b1(s))))))))))))));
    static_assert(std::is_same_v<typename decltype(trunk)::shape, Shape<N, 128, 6, 6>>);
    const auto m = m5(m4(m3(m2(m1(trunk)))));
    const auto points = reshape<Shape<N, 3 * mesh::point_count>>(mesh_out(m));
    const auto f = f3(f2(f1(trunk)));
    const auto score = reshape<Shape<N, 1>>(Var<T, Shape<N, 1, 1, 1>, D>(sigmoid(score_out(f))));
    return Outputs<std::remove_cvref_t<decltype(points)>, std::remove_cvref_t<decltype(score)>>{points, score};
  }

  // The points and score of one face: `box` cut out of an 8-bit image (HWC, 1, 3 or 4 channels)
  // as human does it, the network, and the mapping back to the image.
  mesh::Result run(const std::uint8_t* pixels, int width, int height, int channels, const mesh::Box& box) {
    const Tensor<T, Input<1>, cpu> host = preprocess(pixels, width, height, channels, box);
    Tensor<T, Input<1>, D> input(uninitialized);
    copy_from_host<D>(input.data(), host.data(), Input<1>::size);
    NoGrad guard;
    Graph g;
    const auto out = forward(g.input(input));
    std::vector<T> values(3 * mesh::point_count + 1);
    copy_to_host<D>(values.data(), out.mesh.value().data(), 3 * mesh::point_count);
    copy_to_host<D>(values.data() + 3 * mesh::point_count, out.score.value().data(), 1);
    std::vector<float> raw(values.begin(), values.end() - 1);
    return mesh::to_image(box, raw.data(), static_cast<float>(values.back()));
  }
  template <class Image>
    requires requires(const Image& im) {
      im.width;
      im.height;
      im.channels;
      im.pixels.data();
    }
  mesh::Result run(const Image& image, const mesh::Box& box) {
    return run(image.pixels.data(), image.width, image.height, image.channels, box);
  }

  // tf.image.cropAndResize(image, [box / size], [0], [192, 192]) / 255, as tfjs computes it: the
  // box's fractions rounded to float, source positions y1·(H − 1) + i·(y2 − y1)·(H − 1)/191 in
  // double, 0 outside the image, the bilinear blend in double rounded once to float.
  static Tensor<T, Input<1>, cpu> preprocess(const std::uint8_t* pixels, int width, int height, int channels,
                                             const mesh::Box& box) {
    if (width <= 0 || height <= 0 || (channels != 1 && channels != 3 && channels != 4))
      fail("tsgan: FaceMesh: a {}x{} image with {} channels (1, 3 or 4 expected)", width, height, channels);
    if (!(box.width() > 0 && box.height() > 0))
      fail("tsgan: FaceMesh: the face box ({}, {})-({}, {}) is empty", box.x0, box.y0, box.x1, box.y1);
    const double y1 = static_cast<float>(box.y0 / height), x1 = static_cast<float>(box.x0 / width);
    const double y2 = static_cast<float>(box.y1 / height), x2 = static_cast<float>(box.x1 / width);
    constexpr index_t S = input_size;
    const double hs = (y2 - y1) * (height - 1) / double(S - 1), ws = (x2 - x1) * (width - 1) / double(S - 1);
    const auto at = [&](index_t y, index_t x, index_t c) -> double {
      const std::size_t p = (static_cast<std::size_t>(y) * static_cast<std::size_t>(width) + static_cast<std::size_t>(x)) *
                            static_cast<std::size_t>(channels);
      return pixels[p + (channels == 1 ? 0 : static_cast<std::size_t>(c))];
    };
    Tensor<T, Input<1>, cpu> out(uninitialized);
    for (index_t oy = 0; oy < S; ++oy) {
      const double in_y = y1 * (height - 1) + double(oy) * hs;
      for (index_t ox = 0; ox < S; ++ox) {
        const double in_x = x1 * (width - 1) + double(ox) * ws;
        if (in_y < 0 || in_y > height - 1 || in_x < 0 || in_x > width - 1) {
          for (index_t c = 0; c < 3; ++c) out(0, c, oy, ox) = T(0);
          continue;
        }
        const auto top = static_cast<index_t>(std::floor(in_y)), bottom = static_cast<index_t>(std::ceil(in_y));
        const auto left = static_cast<index_t>(std::floor(in_x)), right = static_cast<index_t>(std::ceil(in_x));
        const double ly = in_y - double(top), lx = in_x - double(left);
        for (index_t c = 0; c < 3; ++c) {
          const double tl = at(top, left, c), tr = at(top, right, c), bl = at(bottom, left, c), br = at(bottom, right, c);
          const double t = tl + (tr - tl) * lx, b = bl + (br - bl) * lx;
          out(0, c, oy, ox) = static_cast<T>(static_cast<float>(t + (b - t) * ly) / 255.0f);
        }
      }
    }
    return out;
  }

 private:
  template <ShapeType S>
  static std::vector<index_t> file_shape(std::string_view name) {
    if constexpr (S::rank == 4) {
      if (name.starts_with("depthwise")) return {S::dims[2], S::dims[3], S::dims[0], 1};  // [kh, kw, C, 1]
      return {S::dims[2], S::dims[3], S::dims[1], S::dims[0]};                            // HWIO
    } else {
      if (name.ends_with(".alpha")) return {1, 1, S::dims[0]};
      return std::vector<index_t>(S::dims.begin(), S::dims.end());
    }
  }
  static std::string dims(const std::vector<index_t>& d) { return io::tfjs::detail::dims_string(d.data(), d.size()); }
};

}  // namespace tsgan::models
