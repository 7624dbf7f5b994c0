// TF.js weights: a `*-weights_manifest.json` and the `.bin` files it names, as face-api ships its
// models (docs/face-models.md). WeightsFile reads and checks everything when it is constructed;
// get<S>(name) then dequantises one tensor into a Tensor<float, S> in the file's own layout
// (HWIO filters), and the layout helpers at the end turn filters into tsgan's OIHW.
//
// The format, as tfjs-core 4.22's decodeWeights reads it:
//   - the manifest is a JSON array of groups {paths: [...], weights: [spec, ...]};
//   - a group's bytes are its `paths` files concatenated in order (relative to the manifest);
//   - its specs lie back to back in those bytes, in array order, without padding;
//   - spec = {name, shape, dtype: float32|int32, quantization?: {dtype: uint8|uint16|float16,
//     scale, min}}; a tensor takes prod(shape) x (1, 2 or 4) bytes, little-endian;
//   - uint8/uint16 dequantise as q * scale + min (not (q - zero_point) * scale), rounded with
//     Math.round for int32; float16 is only allowed for float32 tensors.
// Every defect (bad JSON, a missing or mistyped field, an unknown dtype, a short .bin or extra
// bytes after the last tensor, a shape other than the caller's) is an IoError whose message starts
// with the manifest's path and names the tensor at fault.
//
// nlohmann/json makes this header heavy to compile, so the umbrella tsgan.hpp does not include it.
#pragma once

#include <nlohmann/json.hpp>

#include <algorithm>
#include <bit>
#include <cmath>
#include <cstdint>
#include <filesystem>
#include <map>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "tsgan/core/error.hpp"
#include "tsgan/core/half.hpp"
#include "tsgan/core/shape.hpp"
#include "tsgan/core/tensor.hpp"
#include "tsgan/io/file.hpp"

namespace tsgan::io::tfjs {

enum class DType { float32, int32 };
// How a tensor is stored in the .bin: `none` means raw 4-byte values of its dtype.
enum class Quantization { none, uint8, uint16, float16 };

inline const char* to_string(DType d) { return d == DType::float32 ? "float32" : "int32"; }
inline const char* to_string(Quantization q) {
  switch (q) {
    case Quantization::uint8: return "uint8";
    case Quantization::uint16: return "uint16";
    case Quantization::float16: return "float16";
    case Quantization::none: break;
  }
  return "none";
}

// One tensor of the manifest, with where its bytes are.
struct WeightSpec {
  std::string name;
  std::vector<index_t> shape;  // [] for a scalar
  DType dtype = DType::float32;
  Quantization quantization = Quantization::none;
  double scale = 1.0;  // uint8/uint16 only: value = q * scale + min
  double min = 0.0;
  std::size_t group = 0;   // index of its group in the manifest
  std::size_t offset = 0;  // first byte in the group's concatenated files
  std::size_t bytes = 0;

  index_t count() const {
    index_t n = 1;
    for (index_t d : shape) n *= d;
    return n;
  }
};

namespace detail {

inline std::string dims_string(const index_t* dims, std::size_t rank) {
  std::string s = "[";
  for (std::size_t i = 0; i < rank; ++i) s += fmt::format("{}{}", i ? ", " : "", dims[i]);
  return s + "]";
}

inline std::uint16_t load_u16(const unsigned char* p) {
  return static_cast<std::uint16_t>(p[0] | (p[1] << 8));
}
inline std::uint32_t load_u32(const unsigned char* p) {
  return static_cast<std::uint32_t>(p[0]) | (static_cast<std::uint32_t>(p[1]) << 8) |
         (static_cast<std::uint32_t>(p[2]) << 16) | (static_cast<std::uint32_t>(p[3]) << 24);
}

// JavaScript's Math.round: halves go up (towards +infinity), unlike std::round.
inline double js_round(double v) {
  const double f = std::floor(v);
  return v - f >= 0.5 ? f + 1.0 : f;
}

inline std::size_t stored_bytes(const WeightSpec& s) {
  switch (s.quantization) {
    case Quantization::uint8: return 1;
    case Quantization::uint16:
    case Quantization::float16: return 2;
    case Quantization::none: break;
  }
  return 4;
}

}  // namespace detail

class WeightsFile {
 public:
  // Reads the manifest and every file it names, and checks that the bytes fit the specs exactly.
  explicit WeightsFile(std::filesystem::path manifest) : manifest_(std::move(manifest)) {
    const nlohmann::json doc = parse_manifest();
    if (!doc.is_array()) fail_file("the manifest must be a JSON array of weight groups");
    for (std::size_t g = 0; g < doc.size(); ++g) read_group(doc[g], g);
  }

  const std::filesystem::path& manifest() const { return manifest_; }
  // Tensor names in manifest order (which is also their order in the .bin).
  const std::vector<std::string>& names() const { return names_; }
  std::size_t size() const { return specs_.size(); }
  bool contains(std::string_view name) const { return index_.find(name) != index_.end(); }
  // Size of the weight files, all groups together.
  std::size_t total_bytes() const {
    std::size_t n = 0;
    for (const auto& s : streams_) n += s.size();
    return n;
  }

  const WeightSpec& spec(std::string_view name) const {
    const auto it = index_.find(name);
    if (it == index_.end())
      fail<IoError>("{}: no tensor named '{}' in the manifest", manifest_.string(), name);
    return specs_[it->second];
  }

  // The dequantised values of a tensor of any shape, row-major in the file's layout.
  std::vector<float> values(std::string_view name) const {
    const WeightSpec& s = spec(name);
    std::vector<float> out(static_cast<std::size_t>(s.count()));
    decode(s, out.data());
    return out;
  }

  // The tensor as Tensor<float, S>; S must be the shape the manifest gives (the file's layout).
  template <ShapeType S>
  Tensor<float, S> get(std::string_view name) const {
    const WeightSpec& s = spec(name);
    const bool same = s.shape.size() == S::rank &&
                      std::equal(s.shape.begin(), s.shape.end(), S::dims.begin());
    if (!same)
      fail<IoError>("{}: tensor '{}' has shape {} in the manifest, but shape {} was asked for",
                    manifest_.string(), name, detail::dims_string(s.shape.data(), s.shape.size()),
                    detail::dims_string(S::dims.data(), S::rank));
    Tensor<float, S> t(uninitialized);
    decode(s, t.data());
    return t;
  }

 private:
  [[noreturn]] void fail_file(std::string_view what) const {
    fail<IoError>("{}: {}", manifest_.string(), what);
  }
  [[noreturn]] void fail_tensor(std::string_view tensor, std::string_view what) const {
    fail<IoError>("{}: tensor '{}': {}", manifest_.string(), tensor, what);
  }

  // The whole file through io::read_file, whose IoError names the path and the system's reason
  // (an ifstream took a folder's size to be 2^63 bytes: a `paths` entry naming a folder was
  // std::bad_alloc).
  [[noreturn]] void fail_read(std::string_view what, const IoError& e) const {
    fail_file(fmt::format("{} ({})", what, e.what()));
  }
  std::vector<unsigned char> read_bytes(const std::filesystem::path& p, std::string_view what) const {
    try {
      const std::vector<std::byte> bytes = read_file(p);
      const auto* data = reinterpret_cast<const unsigned char*>(bytes.data());
      return std::vector<unsigned char>(data, data + bytes.size());
    } catch (const IoError& e) {
      fail_read(what, e);
    }
  }

  nlohmann::json parse_manifest() const {
    const std::vector<unsigned char> text = read_bytes(manifest_, "cannot read the manifest");
    try {
      return nlohmann::json::parse(text.begin(), text.end());
    } catch (const nlohmann::json::exception& e) {  // parse_error, and out_of_range for 1e400
      fail_file(fmt::format("not valid JSON ({})", e.what()));
    }
  }

  void read_group(const nlohmann::json& group, std::size_t g) {
    const std::string where = fmt::format("weight group {}", g);
    if (!group.is_object()) fail_file(where + " is not a JSON object");
    const auto paths = group.find("paths");
    if (paths == group.end() || !paths->is_array() || paths->empty())
      fail_file(where + " has no \"paths\" array naming its .bin files");
    const auto weights = group.find("weights");
    if (weights == group.end() || !weights->is_array())
      fail_file(where + " has no \"weights\" array");

    std::size_t offset = 0;
    const std::size_t first = specs_.size();
    for (std::size_t i = 0; i < weights->size(); ++i) {
      WeightSpec s = read_spec((*weights)[i], fmt::format("{}, weight {}", where, i));
      s.group = g;
      s.offset = offset;
      offset += s.bytes;
      if (!index_.emplace(s.name, specs_.size()).second)
        fail_tensor(s.name, "the name appears twice in the manifest");
      names_.push_back(s.name);
      specs_.push_back(std::move(s));
    }

    // The group's byte stream: its files, concatenated in order.
    std::vector<unsigned char> stream;
    for (const nlohmann::json& p : *paths) {
      if (!p.is_string() || p.get<std::string>().empty())
        fail_file(where + ": every entry of \"paths\" must be a file name");
      const std::filesystem::path file = manifest_.parent_path() / p.get<std::string>();
      const std::vector<unsigned char> bytes =
          read_bytes(file, fmt::format("{}: cannot read weights file {}", where, file.string()));
      stream.insert(stream.end(), bytes.begin(), bytes.end());
    }

    const std::string files = fmt::format("{} ({})", where, paths->dump());
    if (stream.size() < offset) {
      std::size_t k = first;  // the first tensor that does not fit
      while (specs_[k].offset + specs_[k].bytes <= stream.size()) ++k;
      fail_tensor(specs_[k].name,
                  fmt::format("the .bin is short: {} holds {} bytes, but this tensor needs bytes "
                              "[{}, {}) and the group {} bytes in all",
                              files, stream.size(), specs_[k].offset,
                              specs_[k].offset + specs_[k].bytes, offset));
    }
    if (stream.size() > offset) {
      const std::string what = fmt::format("the .bin has {} extra bytes: {} holds {} bytes, but "
                                           "its tensors end at byte {}",
                                           stream.size() - offset, files, stream.size(), offset);
      if (specs_.size() == first) fail_file(what + " (it has none)");
      fail_tensor(specs_.back().name, what + ", after this one");
    }
    streams_.push_back(std::move(stream));
  }

  WeightSpec read_spec(const nlohmann::json& j, const std::string& where) const {
    if (!j.is_object()) fail_file(where + " is not a JSON object");
    const auto name = j.find("name");
    if (name == j.end() || !name->is_string() || name->get<std::string>().empty())
      fail_file(where + " has no \"name\" string");
    WeightSpec s;
    s.name = name->get<std::string>();

    const auto shape = j.find("shape");
    if (shape == j.end() || !shape->is_array())
      fail_tensor(s.name, "no \"shape\" array");
    std::uint64_t count = 1;
    for (const nlohmann::json& d : *shape) {
      if (!d.is_number_integer() || d.get<std::int64_t>() < 0)
        fail_tensor(s.name, fmt::format("shape {} has an entry that is not a non-negative integer",
                                        shape->dump()));
      const auto dim = d.get<std::uint64_t>();
      // A size beyond what a file can hold is as wrong as a short file; refuse it before it wraps.
      if (dim != 0 && count > (std::uint64_t{1} << 40) / dim)
        fail_tensor(s.name, fmt::format("shape {} is impossibly large", shape->dump()));
      count *= dim;
      s.shape.push_back(static_cast<index_t>(dim));
    }

    const auto dtype = j.find("dtype");
    if (dtype == j.end() || !dtype->is_string()) fail_tensor(s.name, "no \"dtype\" string");
    const std::string dt = dtype->get<std::string>();
    if (dt == "float32") s.dtype = DType::float32;
    else if (dt == "int32") s.dtype = DType::int32;
    else fail_tensor(s.name, fmt::format("unsupported dtype '{}' (float32 or int32)", dt));

    if (const auto q = j.find("quantization"); q != j.end()) read_quantization(*q, s);
    s.bytes = static_cast<std::size_t>(count) * detail::stored_bytes(s);
    return s;
  }

  void read_quantization(const nlohmann::json& q, WeightSpec& s) const {
    if (!q.is_object()) fail_tensor(s.name, "\"quantization\" is not a JSON object");
    const auto dtype = q.find("dtype");
    if (dtype == q.end() || !dtype->is_string())
      fail_tensor(s.name, "\"quantization\" has no \"dtype\" string");
    const std::string qt = dtype->get<std::string>();
    if (qt == "uint8") s.quantization = Quantization::uint8;
    else if (qt == "uint16") s.quantization = Quantization::uint16;
    else if (qt == "float16") s.quantization = Quantization::float16;
    else
      fail_tensor(s.name, fmt::format("unknown quantization dtype '{}' (uint8, uint16 or float16)", qt));

    if (s.quantization == Quantization::float16) {
      if (s.dtype != DType::float32)
        fail_tensor(s.name, fmt::format("float16 quantization needs dtype float32, not {}",
                                        to_string(s.dtype)));
      return;
    }
    const auto scale = q.find("scale");
    const auto min = q.find("min");
    if (scale == q.end() || !scale->is_number() || min == q.end() || !min->is_number())
      fail_tensor(s.name, fmt::format("{} quantization needs numbers \"scale\" and \"min\"", qt));
    s.scale = scale->get<double>();
    s.min = min->get<double>();
  }

  // Values are computed in double and rounded once to float, as tfjs fills a Float32Array.
  void decode(const WeightSpec& s, float* out) const {
    const unsigned char* p = streams_[s.group].data() + s.offset;
    const index_t n = s.count();
    const bool integer = s.dtype == DType::int32;
    auto affine = [&](double q) {
      const double v = q * s.scale + s.min;
      return static_cast<float>(integer ? detail::js_round(v) : v);
    };
    switch (s.quantization) {
      case Quantization::uint8:
        for (index_t i = 0; i < n; ++i) out[i] = affine(p[i]);
        return;
      case Quantization::uint16:
        for (index_t i = 0; i < n; ++i) out[i] = affine(detail::load_u16(p + 2 * i));
        return;
      case Quantization::float16:
        for (index_t i = 0; i < n; ++i) out[i] = half::to_float(detail::load_u16(p + 2 * i));
        return;
      case Quantization::none:
        for (index_t i = 0; i < n; ++i) {
          const std::uint32_t bits = detail::load_u32(p + 4 * i);
          out[i] = integer ? static_cast<float>(std::bit_cast<std::int32_t>(bits))
                           : std::bit_cast<float>(bits);
        }
        return;
    }
  }

  std::filesystem::path manifest_;
  std::vector<WeightSpec> specs_;
  std::vector<std::string> names_;
  std::map<std::string, std::size_t, std::less<>> index_;
  std::vector<std::vector<unsigned char>> streams_;
};

// ---- layouts ---------------------------------------------------------------------------------
// TF.js convolutions are NHWC with HWIO filters; tsgan's are NCHW with OIHW filters.

// A regular filter [kh, kw, in, out] as [out, in, kh, kw]: W[o][i][y][x] = H[y][x][i][o].
template <index_t KH, index_t KW, index_t I, index_t O>
Tensor<float, Shape<O, I, KH, KW>> hwio_to_oihw(const Tensor<float, Shape<KH, KW, I, O>>& h) {
  Tensor<float, Shape<O, I, KH, KW>> w(uninitialized);
  for (index_t o = 0; o < O; ++o)
    for (index_t i = 0; i < I; ++i)
      for (index_t y = 0; y < KH; ++y)
        for (index_t x = 0; x < KW; ++x) w(o, i, y, x) = h(y, x, i, o);
  return w;
}

// A depthwise filter [kh, kw, C, 1] (channel multiplier 1: filter c reads channel c only) as the
// filter of a grouped convolution with groups = C, [C, 1, kh, kw]: W[c][0][y][x] = D[y][x][c][0].
// With one output per group, [1, C, kh, kw] and [C, 1, kh, kw] are the same bytes.
template <index_t KH, index_t KW, index_t C>
Tensor<float, Shape<C, 1, KH, KW>> depthwise_to_oihw(const Tensor<float, Shape<KH, KW, C, 1>>& d) {
  return hwio_to_oihw(d).template reshape<Shape<C, 1, KH, KW>>();
}

// Fully connected weights need no helper: the recognizer's `fc` is [256, 128] (in, out) and is
// used as stored, out[j] = sum_c g[c] * fc[c][j] (tf.matMul(g, fc)), with no bias.

}  // namespace tsgan::io::tfjs
