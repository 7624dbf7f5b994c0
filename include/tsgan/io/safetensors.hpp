// safetensors checkpoints: a Writer that collects tensors and writes the file atomically, a Reader
// that validates a whole file before it exposes anything, and a LoadPlan that checks a list of
// destination tensors against a file and then fills all of them or none.
//
// The format: a little-endian u64 N, N bytes of UTF-8 JSON
//   {"name": {"dtype": "F32", "shape": [2, 3], "data_offsets": [begin, end]}, ...,
//    "__metadata__": {"key": "value"}}
// (the JSON may end in spaces that pad it to 8 bytes), then the data buffer. Offsets are relative
// to the buffer; tensors are row-major and little-endian; the tensors cover the buffer exactly, with
// no overlap and no hole (the format forbids holes so that a file cannot hide a second payload).
//
// The Reader loads the whole file into memory instead of mapping it: a mapped file that another
// process truncates kills the reader with SIGBUS, while a copy is a snapshot that cannot change
// between validation and use. A checkpoint of this model is read once and is at most a few hundred
// MB. Every problem in a file is an IoError "<path>: tensor '<name>': <why>"; misuse of the Writer
// or the LoadPlan (a duplicate name) is a tsgan::Error.
#pragma once

#include <fmt/ranges.h>  // fmt::join (moved here from fmt/format.h in fmt 11)
#include <nlohmann/json.hpp>

#include <algorithm>
#include <array>
#include <bit>
#include <cstdint>
#include <cstring>
#include <filesystem>
#include <functional>
#include <map>
#include <optional>
#include <set>
#include <span>
#include <string>
#include <string_view>
#include <type_traits>
#include <utility>
#include <vector>

#include "tsgan/core/error.hpp"
#include "tsgan/core/tensor.hpp"
#include "tsgan/io/file.hpp"

namespace tsgan::io::safetensors {

static_assert(std::endian::native == std::endian::little,
              "tsgan: safetensors data is little-endian and tsgan copies it without swapping bytes");

// The element types tsgan reads and writes (safetensors also defines BOOL, I8, U16, F8_*, ...:
// a file holding those is reported as unsupported).
enum class Dtype : std::uint8_t { F64, F32, F16, BF16, I64, I32, U8 };

inline constexpr std::array<Dtype, 7> all_dtypes{Dtype::F64, Dtype::F32, Dtype::F16, Dtype::BF16,
                                                 Dtype::I64, Dtype::I32, Dtype::U8};

constexpr std::string_view dtype_name(Dtype d) {
  constexpr std::array<std::string_view, 7> names{"F64", "F32", "F16", "BF16", "I64", "I32", "U8"};
  return names[static_cast<std::size_t>(d)];
}
constexpr std::size_t dtype_size(Dtype d) {
  constexpr std::array<std::size_t, 7> sizes{8, 4, 2, 2, 8, 4, 1};
  return sizes[static_cast<std::size_t>(d)];
}
constexpr bool is_floating(Dtype d) {
  return d == Dtype::F64 || d == Dtype::F32 || d == Dtype::F16 || d == Dtype::BF16;
}
constexpr std::optional<Dtype> parse_dtype(std::string_view s) {
  for (Dtype d : all_dtypes)
    if (dtype_name(d) == s) return d;
  return std::nullopt;
}

// The dtype that stores T unchanged.
template <Element T>
inline constexpr Dtype dtype_of = [] {
  if constexpr (std::is_same_v<T, double>) return Dtype::F64;
  else if constexpr (std::is_same_v<T, float>) return Dtype::F32;
  else if constexpr (std::is_same_v<T, half>) return Dtype::F16;
  else if constexpr (std::is_same_v<T, bfloat16>) return Dtype::BF16;
  else if constexpr (std::is_same_v<T, std::int64_t>) return Dtype::I64;
  else if constexpr (std::is_same_v<T, std::int32_t>) return Dtype::I32;
  else return Dtype::U8;
}();

// Whether data stored as `stored` can fill a tensor whose own dtype is `dest`: any floating dtype
// converts into float or double (the types tsgan computes in); everything else must match exactly,
// since narrowing an integer or re-rounding into half would change values silently.
constexpr bool readable_as(Dtype stored, Dtype dest) {
  return stored == dest || (is_floating(stored) && (dest == Dtype::F32 || dest == Dtype::F64));
}

// One tensor as the file describes it; begin and end are byte offsets into the data buffer.
struct TensorInfo {
  Dtype dtype = Dtype::F32;
  std::vector<std::int64_t> shape;
  std::uint64_t begin = 0;
  std::uint64_t end = 0;

  std::uint64_t numel() const {
    std::uint64_t n = 1;
    for (std::int64_t d : shape) n *= static_cast<std::uint64_t>(d);
    return n;
  }
};

// What a destination needs: its name, its own dtype and its shape.
struct Expectation {
  std::string name;
  Dtype dtype = Dtype::F32;
  std::vector<std::int64_t> shape;
};

// Whether tensors in the file that no destination asks for are an error.
enum class Unexpected { error, ignore };

namespace detail {

template <class T>
inline constexpr bool is_float_like = std::is_same_v<T, float> || std::is_same_v<T, double> ||
                                      std::is_same_v<T, half> || std::is_same_v<T, bfloat16>;

// Calls f(std::type_identity<T>{}) with the C++ type stored as dtype d.
template <class F>
decltype(auto) with_type(Dtype d, F&& f) {
  switch (d) {
    case Dtype::F64: return f(std::type_identity<double>{});
    case Dtype::F32: return f(std::type_identity<float>{});
    case Dtype::F16: return f(std::type_identity<half>{});
    case Dtype::BF16: return f(std::type_identity<bfloat16>{});
    case Dtype::I64: return f(std::type_identity<std::int64_t>{});
    case Dtype::I32: return f(std::type_identity<std::int32_t>{});
    case Dtype::U8: break;
  }
  return f(std::type_identity<std::uint8_t>{});
}

// Floating conversions go through double, and into half and bfloat16 through float, as PyTorch's do.
template <class T>
double to_double(T v) {
  if constexpr (std::is_same_v<T, half> || std::is_same_v<T, bfloat16>) return static_cast<float>(v);
  else return static_cast<double>(v);
}
template <class T>
T from_double(double v) {
  if constexpr (std::is_same_v<T, half> || std::is_same_v<T, bfloat16>) return T(static_cast<float>(v));
  else return static_cast<T>(v);
}

// n floating values of type From, stored into `out` as dtype `to` (unaligned, so through memcpy).
template <class From>
void store_converted(const From* src, std::size_t n, Dtype to, std::byte* out) {
  with_type(to, [&]<class To>(std::type_identity<To>) {
    if constexpr (is_float_like<To>) {
      for (std::size_t i = 0; i < n; ++i) {
        const To v = from_double<To>(to_double(src[i]));
        std::memcpy(out + i * sizeof(To), &v, sizeof(To));
      }
    }
  });
}

template <class S>
std::vector<std::int64_t> dims_of() {
  return std::vector<std::int64_t>(S::dims.begin(), S::dims.end());
}

inline std::string shape_string(std::span<const std::int64_t> shape) {
  std::string s = "[";
  for (std::size_t i = 0; i < shape.size(); ++i) s += fmt::format("{}{}", i ? ", " : "", shape[i]);
  return s + "]";
}

// The problems, one line each, that keep `stored` from filling a destination `want`.
inline std::vector<std::string> entry_problems(const TensorInfo& stored, const Expectation& want) {
  std::vector<std::string> out;
  if (!std::ranges::equal(stored.shape, want.shape))
    out.push_back(fmt::format("tensor '{}': shape {} in the file, {} expected", want.name,
                              shape_string(stored.shape), shape_string(want.shape)));
  if (!readable_as(stored.dtype, want.dtype))
    out.push_back(fmt::format("tensor '{}': dtype {} in the file cannot be read into a tensor of {}",
                              want.name, dtype_name(stored.dtype), dtype_name(want.dtype)));
  return out;
}

inline void put_u64_le(std::byte* out, std::uint64_t v) {
  for (int i = 0; i < 8; ++i) out[i] = static_cast<std::byte>(v >> (8 * i));
}
inline std::uint64_t get_u64_le(const std::byte* in) {
  std::uint64_t v = 0;
  for (int i = 0; i < 8; ++i) v |= static_cast<std::uint64_t>(in[i]) << (8 * i);
  return v;
}

}  // namespace detail

// Collects tensors (copied when added, so the sources may change or die afterwards) and metadata,
// then writes them as one safetensors file. The data buffer holds wider elements first (in the
// order they were added within one width), so every tensor starts at a multiple of its element
// size and readers that map the file can use it in place.
class Writer {
 public:
  // Stores the tensor as its own dtype.
  template <Element T, ShapeType S>
  Writer& add(std::string name, const Tensor<T, S, cpu>& t) {
    return add(std::move(name), t, dtype_of<T>);
  }

  // Stores the tensor as `stored_as`: a floating tensor as any floating dtype (a float tensor as
  // F16 or BF16 rounds to nearest even), an integer tensor only as its own dtype.
  template <Element T, ShapeType S>
  Writer& add(std::string name, const Tensor<T, S, cpu>& t, Dtype stored_as) {
    if (stored_as != dtype_of<T> && !(detail::is_float_like<T> && is_floating(stored_as)))
      fail("tsgan: safetensors: tensor '{}' holds {} values, which can only be stored as {}", name,
           dtype_name(dtype_of<T>), dtype_name(dtype_of<T>));
    Entry& e = new_entry(std::move(name), stored_as, detail::dims_of<S>());
    e.data.resize(static_cast<std::size_t>(S::size) * dtype_size(stored_as));
    if (stored_as == dtype_of<T>) {
      std::memcpy(e.data.data(), t.data(), e.data.size());
    } else if constexpr (detail::is_float_like<T>) {
      detail::store_converted(t.data(), static_cast<std::size_t>(S::size), stored_as, e.data.data());
    }
    return *this;
  }

  // Stores bytes that already are the little-endian row-major data of a `dtype` tensor of `shape`.
  Writer& add_bytes(std::string name, Dtype dtype, std::vector<std::int64_t> shape,
                    std::span<const std::byte> bytes) {
    std::uint64_t numel = 1;
    for (std::int64_t d : shape) {
      if (d < 0)
        fail("tsgan: safetensors: tensor '{}' has a negative dimension in {}", name,
             detail::shape_string(shape));
      numel *= static_cast<std::uint64_t>(d);
    }
    if (bytes.size() != numel * dtype_size(dtype))
      fail("tsgan: safetensors: tensor '{}' ({} {}) needs {} bytes, {} given", name, dtype_name(dtype),
           detail::shape_string(shape), numel * dtype_size(dtype), bytes.size());
    Entry& e = new_entry(std::move(name), dtype, std::move(shape));
    e.data.assign(bytes.begin(), bytes.end());
    return *this;
  }

  // Sets (or replaces) a metadata entry.
  Writer& set_metadata(std::string key, std::string value) {
    check_utf8(key, "metadata key");
    check_utf8(value, "metadata value");
    metadata_[std::move(key)] = std::move(value);
    return *this;
  }

  // The complete file contents.
  std::vector<std::byte> bytes() const {
    std::vector<const Entry*> order;
    for (const Entry& e : entries_) order.push_back(&e);
    std::ranges::stable_sort(order, std::greater<>{}, [](const Entry* e) { return dtype_size(e->dtype); });

    nlohmann::json header = nlohmann::json::object();
    std::uint64_t offset = 0;
    for (const Entry* e : order) {
      header[e->name] = {{"dtype", dtype_name(e->dtype)},
                         {"shape", e->shape},
                         {"data_offsets", {offset, offset + e->data.size()}}};
      offset += e->data.size();
    }
    if (!metadata_.empty()) header["__metadata__"] = metadata_;
    std::string text = header.dump();
    text.append((8 - text.size() % 8) % 8, ' ');  // keeps the data buffer 8-byte aligned in the file

    std::vector<std::byte> out(8 + text.size() + offset);
    detail::put_u64_le(out.data(), text.size());
    std::memcpy(out.data() + 8, text.data(), text.size());
    std::byte* data = out.data() + 8 + text.size();
    for (const Entry* e : order) {
      // A tensor with no elements (a checkpoint's empty list of running centres) has no buffer:
      // its data() may be null, which memcpy must not be given even for 0 bytes.
      if (e->data.empty()) continue;
      std::memcpy(data, e->data.data(), e->data.size());
      data += e->data.size();
    }
    return out;
  }

  // Writes the file atomically (io/file.hpp): `path` is replaced only once the new file is complete.
  void write(const std::filesystem::path& path) const { write_file_atomic(path, bytes()); }

 private:
  struct Entry {
    std::string name;
    Dtype dtype;
    std::vector<std::int64_t> shape;
    std::vector<std::byte> data;
  };

  static void check_utf8(const std::string& s, const char* what) {
    try {
      (void)nlohmann::json(s).dump();
    } catch (const nlohmann::json::type_error&) {
      fail("tsgan: safetensors: {} '{}' is not valid UTF-8", what, s);
    }
  }

  Entry& new_entry(std::string name, Dtype dtype, std::vector<std::int64_t> shape) {
    if (name == "__metadata__")
      fail("tsgan: safetensors: '__metadata__' is reserved and cannot name a tensor");
    check_utf8(name, "tensor name");
    if (!names_.insert(name).second) fail("tsgan: safetensors: tensor '{}' was added twice", name);
    return entries_.emplace_back(Entry{std::move(name), dtype, std::move(shape), {}});
  }

  std::vector<Entry> entries_;
  std::set<std::string, std::less<>> names_;
  std::map<std::string, std::string> metadata_;
};

namespace detail {

// A first pass over a safetensors header, before nlohmann builds it: records the first top-level
// key that repeats (nlohmann keeps only the last value of a repeated key, which would drop a tensor
// silently) and stops at arrays or objects nested deeper than a header ever needs (3), so that
// neither the DOM nor an error message that prints part of it recurses 200 000 frames deep.
// Its work is one step per JSON event (`events` counts them). It replaces a parse callback:
// nlohmann's callback parser scans every member of the enclosing object at each object's end,
// which made a header of n tensors cost n^2 (20 000 tensors took 49 s).
class HeaderScan : public nlohmann::json_sax<nlohmann::json> {
 public:
  static constexpr int max_depth = 16;

  std::uint64_t events = 0;
  bool too_deep = false;
  std::optional<std::string> repeated;
  std::string error;  // nlohmann's message when the text is not JSON

  bool null() override { return step(); }
  bool boolean(bool) override { return step(); }
  bool number_integer(number_integer_t) override { return step(); }
  bool number_unsigned(number_unsigned_t) override { return step(); }
  bool number_float(number_float_t, const string_t&) override { return step(); }
  bool string(string_t&) override { return step(); }
  bool binary(binary_t&) override { return step(); }
  bool start_object(std::size_t) override { return open(); }
  bool end_object() override { return close(); }
  bool start_array(std::size_t) override { return open(); }
  bool end_array() override { return close(); }
  bool key(string_t& k) override {
    if (depth_ == 1 && !repeated && !seen_.insert(k).second) repeated = k;
    return step();
  }
  bool parse_error(std::size_t, const std::string&, const nlohmann::json::exception& e) override {
    error = e.what();
    return false;
  }

 private:
  bool step() {
    ++events;
    return true;
  }
  bool open() {
    ++events;
    if (++depth_ > max_depth) too_deep = true;
    return !too_deep;
  }
  bool close() {
    ++events;
    --depth_;
    return true;
  }

  int depth_ = 0;
  std::set<std::string, std::less<>> seen_;
};

}  // namespace detail

// A validated safetensors file held in memory. Construction checks the whole file (header length,
// JSON, every entry, that the tensors tile the data buffer, metadata types) and throws IoError on
// the first problem; a Reader that exists is consistent.
class Reader {
 public:
  explicit Reader(std::filesystem::path path) : path_(std::move(path)), file_(read_file(path_)) { parse(); }
  // The file's bytes already in memory; `name` stands for the path in messages.
  Reader(std::filesystem::path name, std::vector<std::byte> bytes) : path_(std::move(name)), file_(std::move(bytes)) {
    parse();
  }

  const std::filesystem::path& path() const { return path_; }

  // Tensor names in sorted order.
  std::vector<std::string> names() const {
    std::vector<std::string> out;
    out.reserve(tensors_.size());
    for (const auto& [name, info] : tensors_) out.push_back(name);
    return out;
  }
  bool contains(std::string_view name) const { return tensors_.find(name) != tensors_.end(); }

  const TensorInfo& info(std::string_view name) const {
    auto it = tensors_.find(name);
    if (it == tensors_.end()) fail<IoError>("{}: no tensor '{}' in the file", path_.string(), name);
    return it->second;
  }

  const std::map<std::string, std::string, std::less<>>& metadata() const { return metadata_; }
  std::optional<std::string> metadata(std::string_view key) const {
    auto it = metadata_.find(key);
    if (it == metadata_.end()) return std::nullopt;
    return it->second;
  }

  // The stored bytes of one tensor (little-endian, row-major, not necessarily aligned).
  std::span<const std::byte> bytes(std::string_view name) const {
    const TensorInfo& ti = info(name);
    return {file_.data() + data_start_ + ti.begin, static_cast<std::size_t>(ti.end - ti.begin)};
  }

  // Fills `out` from the tensor `name`. The shape must match exactly; the dtype must be readable
  // as T (see readable_as). Either error names the tensor and both shapes or dtypes.
  template <Element T, ShapeType S>
  void read(std::string_view name, Tensor<T, S, cpu>& out) const {
    const Expectation want{std::string(name), dtype_of<T>, detail::dims_of<S>()};
    const std::vector<std::string> problems = detail::entry_problems(info(name), want);
    if (!problems.empty())
      fail<IoError>("{}: {}", path_.string(), fmt::join(problems, "; "));
    decode(info(name), out.data());
  }
  template <Element T, ShapeType S>
  Tensor<T, S, cpu> read(std::string_view name) const {
    Tensor<T, S, cpu> out(uninitialized);
    read(name, out);
    return out;
  }

 private:
  friend class LoadPlan;

  // Copies or converts a tensor whose compatibility has been checked.
  template <class T>
  void decode(const TensorInfo& ti, T* out) const {
    const std::byte* src = file_.data() + data_start_ + ti.begin;
    const std::size_t n = static_cast<std::size_t>(ti.numel());
    if (ti.dtype == dtype_of<T>) {
      std::memcpy(out, src, n * sizeof(T));
      return;
    }
    detail::with_type(ti.dtype, [&]<class U>(std::type_identity<U>) {
      if constexpr (std::is_floating_point_v<T> && detail::is_float_like<U>) {
        for (std::size_t i = 0; i < n; ++i) {
          U v;
          std::memcpy(&v, src + i * sizeof(U), sizeof(U));
          out[i] = static_cast<T>(detail::to_double(v));
        }
      }
    });
  }

  template <class... Args>
  [[noreturn]] void bad(fmt::format_string<Args...> format, Args&&... args) const {
    fail<IoError>("{}: {}", path_.string(), fmt::format(format, std::forward<Args>(args)...));
  }

  static const char* kind(const nlohmann::json& j) { return j.type_name(); }

  // A JSON value that is an unsigned integer fitting in int64 (sizes and offsets).
  static std::optional<std::uint64_t> as_size(const nlohmann::json& j) {
    if (!j.is_number_unsigned()) return std::nullopt;
    const auto v = j.get<std::uint64_t>();
    if (v > static_cast<std::uint64_t>(INT64_MAX)) return std::nullopt;
    return v;
  }

  void parse() {
    if (file_.size() < 8)
      bad("file is {} bytes, shorter than the 8-byte header length that starts a safetensors file",
          file_.size());
    const std::uint64_t n = detail::get_u64_le(file_.data());
    if (n > file_.size() - 8)
      bad("header length {} runs past the end of the file ({} bytes follow the length field)", n,
          file_.size() - 8);
    data_start_ = 8 + static_cast<std::size_t>(n);
    const std::uint64_t data_size = file_.size() - data_start_;

    const auto* text = reinterpret_cast<const char*>(file_.data() + 8);
    detail::HeaderScan scan;
    if (!nlohmann::json::sax_parse(text, text + n, &scan)) {
      if (scan.too_deep)
        bad("header nests arrays or objects more than {} deep (a safetensors header needs 3)",
            detail::HeaderScan::max_depth);
      bad("header is not valid JSON ({})", scan.error);
    }
    // The same lexer and grammar as the scan, which accepted the text: this parse does not throw.
    const nlohmann::json header = nlohmann::json::parse(text, text + n);
    if (!header.is_object()) bad("header is a JSON {}, not an object", kind(header));
    if (scan.repeated) bad("tensor '{}': the header names it twice", *scan.repeated);

    for (const auto& [name, entry] : header.items()) {
      if (name == "__metadata__") {
        if (!entry.is_object()) bad("__metadata__ is a JSON {}, not an object", kind(entry));
        for (const auto& [key, value] : entry.items()) {
          if (!value.is_string()) bad("metadata '{}' is a JSON {}, not a string", key, kind(value));
          metadata_.emplace(key, value.get<std::string>());
        }
        continue;
      }
      tensors_.emplace(name, parse_entry(name, entry, data_size));
    }
    check_tiling(data_size);
  }

  TensorInfo parse_entry(const std::string& name, const nlohmann::json& entry,
                         std::uint64_t data_size) const {
    if (!entry.is_object()) bad("tensor '{}': entry is a JSON {}, not an object", name, kind(entry));
    for (const char* field : {"dtype", "shape", "data_offsets"})
      if (!entry.contains(field)) bad("tensor '{}': entry has no \"{}\"", name, field);

    TensorInfo ti;
    const nlohmann::json& dtype = entry["dtype"];
    if (!dtype.is_string()) bad("tensor '{}': \"dtype\" is a JSON {}, not a string", name, kind(dtype));
    const auto parsed = parse_dtype(dtype.get<std::string>());
    if (!parsed)
      bad("tensor '{}': dtype '{}' is not supported (tsgan reads F64, F32, F16, BF16, I64, I32, U8)",
          name, dtype.get<std::string>());
    ti.dtype = *parsed;

    const nlohmann::json& shape = entry["shape"];
    if (!shape.is_array()) bad("tensor '{}': \"shape\" is a JSON {}, not an array", name, kind(shape));
    std::uint64_t numel = 1;
    bool overflow = false;
    for (const nlohmann::json& d : shape) {
      const auto v = as_size(d);
      if (!v)
        bad("tensor '{}': \"shape\" {} holds something other than a non-negative integer", name,
            shape.dump());
      ti.shape.push_back(static_cast<std::int64_t>(*v));
      if (*v != 0 && numel > UINT64_MAX / *v) overflow = true;
      numel *= *v;
    }

    const nlohmann::json& offsets = entry["data_offsets"];
    if (!offsets.is_array() || offsets.size() != 2 || !as_size(offsets[0]) || !as_size(offsets[1]))
      bad("tensor '{}': \"data_offsets\" {} is not a pair of non-negative integers", name, offsets.dump());
    ti.begin = *as_size(offsets[0]);
    ti.end = *as_size(offsets[1]);
    if (ti.begin > ti.end)
      bad("tensor '{}': data_offsets [{}, {}] end before they begin", name, ti.begin, ti.end);
    if (ti.end > data_size)
      bad("tensor '{}': data_offsets [{}, {}] run past the end of the {}-byte data buffer", name, ti.begin,
          ti.end, data_size);
    const std::uint64_t size = dtype_size(ti.dtype);
    if (overflow || numel > UINT64_MAX / size || ti.end - ti.begin != numel * size)
      bad("tensor '{}': data_offsets [{}, {}] hold {} bytes, but a {} tensor of shape {} needs {}", name,
          ti.begin, ti.end, ti.end - ti.begin, dtype_name(ti.dtype), detail::shape_string(ti.shape),
          overflow ? std::string("more than 2^64") : std::to_string(numel * size));
    return ti;
  }

  // The tensors must cover [0, data_size) exactly once, in some order.
  void check_tiling(std::uint64_t data_size) const {
    std::vector<std::pair<const std::string*, const TensorInfo*>> order;
    for (const auto& [name, ti] : tensors_) order.emplace_back(&name, &ti);
    std::ranges::sort(order, [](const auto& a, const auto& b) {
      return std::pair(a.second->begin, a.second->end) < std::pair(b.second->begin, b.second->end);
    });
    std::uint64_t covered = 0;
    const std::string* last = nullptr;
    for (const auto& [name, ti] : order) {
      if (ti->begin < covered)
        bad("tensor '{}': data_offsets [{}, {}] overlap those of tensor '{}'", *name, ti->begin,
            ti->end, *last);
      if (ti->begin > covered)
        bad("tensor '{}': bytes [{}, {}) of the data buffer before it belong to no tensor", *name,
            covered, ti->begin);
      if (ti->end > covered) last = name;
      covered = std::max(covered, ti->end);
    }
    if (covered != data_size)
      bad("the last {} bytes of the data buffer belong to no tensor", data_size - covered);
  }

  std::filesystem::path path_;
  std::vector<std::byte> file_;
  std::size_t data_start_ = 0;
  std::map<std::string, TensorInfo, std::less<>> tensors_;
  std::map<std::string, std::string, std::less<>> metadata_;
};

// Every way the file differs from what the destinations need, one line per problem, sorted by
// tensor name: missing tensors, unexpected ones (unless ignored), shapes, dtypes.
inline std::vector<std::string> mismatches(const Reader& file, std::span<const Expectation> expected,
                                           Unexpected unexpected = Unexpected::error) {
  std::vector<std::pair<std::string, std::string>> found;  // (name, line)
  std::set<std::string_view> wanted;
  for (const Expectation& e : expected) {
    wanted.insert(e.name);
    if (!file.contains(e.name)) {
      found.emplace_back(e.name, fmt::format("missing tensor '{}' ({} {} expected)", e.name,
                                             dtype_name(e.dtype), detail::shape_string(e.shape)));
      continue;
    }
    for (std::string& line : detail::entry_problems(file.info(e.name), e))
      found.emplace_back(e.name, std::move(line));
  }
  if (unexpected == Unexpected::error)
    for (const std::string& name : file.names())
      if (!wanted.contains(name)) {
        const TensorInfo& ti = file.info(name);
        found.emplace_back(name, fmt::format("unexpected tensor '{}' ({} {} in the file)", name,
                                             dtype_name(ti.dtype), detail::shape_string(ti.shape)));
      }
  std::ranges::stable_sort(found, {}, &std::pair<std::string, std::string>::first);
  std::vector<std::string> lines;
  for (auto& [name, line] : found) lines.push_back(std::move(line));
  return lines;
}

// Destinations to fill from one file, for checkpoint loading: add (name, tensor) pairs, then
// apply(). apply() checks every destination first and reports every mismatch in one IoError; only
// when there is none does it write, so a failed load leaves every destination as it was. The
// destination tensors must outlive the plan's use.
class LoadPlan {
 public:
  explicit LoadPlan(Unexpected unexpected = Unexpected::error) : unexpected_(unexpected) {}

  template <Element T, ShapeType S>
  LoadPlan& add(std::string name, Tensor<T, S, cpu>& dest) {
    if (!names_.insert(name).second) fail("tsgan: LoadPlan: tensor '{}' was added twice", name);
    expected_.push_back(Expectation{std::move(name), dtype_of<T>, detail::dims_of<S>()});
    targets_.push_back(Target{&dest, [](const Reader& r, const TensorInfo& ti, void* d) {
                                r.decode(ti, static_cast<Tensor<T, S, cpu>*>(d)->data());
                              }});
    return *this;
  }

  std::span<const Expectation> expectations() const { return expected_; }

  std::vector<std::string> mismatches(const Reader& file) const {
    return safetensors::mismatches(file, expected_, unexpected_);
  }

  void apply(const Reader& file) const {
    const std::vector<std::string> problems = mismatches(file);
    if (!problems.empty())
      fail<IoError>("{}: {} problem{} loading {} tensor{}:\n  {}", file.path().string(), problems.size(),
                    problems.size() == 1 ? "" : "s", expected_.size(), expected_.size() == 1 ? "" : "s",
                    fmt::join(problems, "\n  "));
    for (std::size_t i = 0; i < expected_.size(); ++i)
      targets_[i].fill(file, file.info(expected_[i].name), targets_[i].dest);
  }

 private:
  struct Target {
    void* dest;
    void (*fill)(const Reader&, const TensorInfo&, void*);
  };
  Unexpected unexpected_;
  std::vector<Expectation> expected_;
  std::vector<Target> targets_;
  std::set<std::string, std::less<>> names_;
};

}  // namespace tsgan::io::safetensors
