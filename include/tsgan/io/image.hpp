// Images: an 8-bit Image (rows of pixels, channels interleaved), reading PNG, JPEG and binary PGM
// and writing PNG through stb, conversions between images and float tensors [C, H, W] in [0, 1],
// a bilinear resize, and a grid writer for training snapshots.
//
// stb is compiled inside this header, so tsgan stays header-only with no library to build or link:
// STB_IMAGE_STATIC (and its write twin) make every stb function `static`, so each translation unit
// that includes this header owns a private copy and no two copies clash at link time. The inline
// functions below call those private copies; the copies are identical, so whichever definition
// the linker keeps behaves the same. The price is compile time (about a second per translation
// unit), which is why tsgan/tsgan.hpp does not include this header. stb's code is not clean under
// -Wall -Wextra (nor stricter sets) when it is not found in a system directory, so its inclusion
// alone is wrapped in diagnostic push/ignored/pop and the user's warnings stay on for the rest.
// A translation unit that includes this header must not include stb_image(_write).h before it
// or compile another stb implementation. stb is not hardened against hostile files; read images you
// trust (datasets, your own snapshots).
//
// Errors about files are IoError "<path>: <why>"; wrong sizes and channel counts are tsgan::Error.
#pragma once

#include <algorithm>
#include <climits>
#include <cmath>
#include <cstdint>
#include <filesystem>
#include <memory>
#include <optional>
#include <type_traits>
#include <utility>
#include <vector>

#include "tsgan/core/error.hpp"
#include "tsgan/core/format.hpp"
#include "tsgan/core/tensor.hpp"
#include "tsgan/io/file.hpp"

#if defined(STBI_INCLUDE_STB_IMAGE_H) || defined(INCLUDE_STB_IMAGE_WRITE_H)
#error "tsgan/io/image.hpp compiles a private stb: include it before stb_image(_write).h, or not both"
#endif

#if defined(__GNUC__)
#pragma GCC diagnostic push
#if defined(__clang__)
#pragma GCC diagnostic ignored "-Wunknown-warning-option"
#endif
#pragma GCC diagnostic ignored "-Wunused-function"
#pragma GCC diagnostic ignored "-Wmissing-field-initializers"
#pragma GCC diagnostic ignored "-Wsign-compare"
#pragma GCC diagnostic ignored "-Wunused-parameter"
#pragma GCC diagnostic ignored "-Wunused-but-set-variable"
#pragma GCC diagnostic ignored "-Wimplicit-fallthrough"
#pragma GCC diagnostic ignored "-Wconversion"
#pragma GCC diagnostic ignored "-Wsign-conversion"
#pragma GCC diagnostic ignored "-Wdouble-promotion"
#pragma GCC diagnostic ignored "-Wold-style-cast"
#pragma GCC diagnostic ignored "-Wuseless-cast"
#pragma GCC diagnostic ignored "-Wcast-qual"
#pragma GCC diagnostic ignored "-Wcast-align"
#pragma GCC diagnostic ignored "-Wduplicated-branches"
#pragma GCC diagnostic ignored "-Wzero-as-null-pointer-constant"
#pragma GCC diagnostic ignored "-Wshadow"
#endif

// Only the decoders tsgan uses, from memory only (files are read by io/file.hpp, which reports the
// system's reason when a file cannot be opened).
#define STB_IMAGE_STATIC
#define STB_IMAGE_IMPLEMENTATION
#define STBI_NO_STDIO
#define STBI_NO_LINEAR
#define STBI_ONLY_PNG
#define STBI_ONLY_JPEG
#define STBI_ONLY_PNM
#define STB_IMAGE_WRITE_STATIC
#define STB_IMAGE_WRITE_IMPLEMENTATION
#define STBI_WRITE_NO_STDIO
// Debian installs stb under stb/; elsewhere the headers may sit directly on the include path.
#if __has_include(<stb/stb_image.h>)
#include <stb/stb_image.h>
#include <stb/stb_image_write.h>
#elif __has_include(<stb_image.h>)
#include <stb_image.h>
#include <stb_image_write.h>
#else
#error "tsgan/io/image.hpp needs stb_image.h and stb_image_write.h (Debian: apt install libstb-dev)"
#endif
#undef STB_IMAGE_IMPLEMENTATION
#undef STB_IMAGE_WRITE_IMPLEMENTATION

#if defined(__GNUC__)
#pragma GCC diagnostic pop
#endif

namespace tsgan::io {

// An 8-bit image: `channels` is 1 (grey), 3 (RGB) or 4 (RGBA); pixel (y, x) channel c is
// pixels[(y * width + x) * channels + c].
struct Image {
  int width = 0;
  int height = 0;
  int channels = 0;
  std::vector<std::uint8_t> pixels;

  Image() = default;
  Image(int width_, int height_, int channels_, std::uint8_t value = 0)
      : width(width_), height(height_), channels(channels_) {
    if (width <= 0 || height <= 0 || (channels != 1 && channels != 3 && channels != 4))
      fail("tsgan: an Image is at least 1x1 with 1, 3 or 4 channels, not {}x{}x{}", width, height, channels);
    pixels.assign(static_cast<std::size_t>(width) * height * channels, value);
  }

  std::uint8_t& at(int y, int x, int c) { return pixels[index(y, x, c)]; }
  std::uint8_t at(int y, int x, int c) const { return pixels[index(y, x, c)]; }

 private:
  std::size_t index(int y, int x, int c) const {
    return (static_cast<std::size_t>(y) * width + x) * channels + c;
  }
};

namespace detail {

// An Image's fields are public, so the functions that consume one check that they agree.
inline void check_image(const Image& im, const char* what) {
  if (im.width <= 0 || im.height <= 0 || (im.channels != 1 && im.channels != 3 && im.channels != 4) ||
      im.pixels.size() != static_cast<std::size_t>(im.width) * im.height * im.channels)
    fail("tsgan: {}: the image is {}x{}x{} with {} bytes of pixels (1, 3 or 4 channels and width * "
         "height * channels bytes expected)",
         what, im.width, im.height, im.channels, im.pixels.size());
}

// [0, 1] to 0..255, rounding to nearest; out-of-range values clamp, nan becomes 0.
inline std::uint8_t to_byte(double v) {
  if (!(v > 0.0)) return 0;
  if (v >= 1.0) return 255;
  return static_cast<std::uint8_t>(std::lround(v * 255.0));
}

template <class X>
concept HostFloatTensor = (is_tensor<X>::value || is_tensor_view<X>::value) &&
                          std::is_same_v<typename X::device, cpu> &&
                          std::is_floating_point_v<typename X::value_type>;

// A [.., C, H, W] tensor an image can come from: 1, 3 or 4 channels.
template <class S, std::size_t Rank>
struct CheckImageTensor {
  static constexpr bool rank_ok = S::rank == Rank;
  static_assert(rank_ok, "tsgan: this image conversion needs a tensor of the rank in its name: "
                         "[C, H, W] for one image, [N, C, H, W] for a batch");
  static constexpr bool channels_ok = [] {
    if constexpr (rank_ok) {
      constexpr index_t c = S::dims[Rank - 3];
      return c == 1 || c == 3 || c == 4;
    } else {
      return true;
    }
  }();
  static_assert(channels_ok,
                "tsgan: an image has 1 (grey), 3 (RGB) or 4 (RGBA) channels; this tensor's C is none of them");
  static constexpr bool value = true;
};

// The columns of a grid: [N, C, H, W] each, C 1 or 3, all with the same N, H and W.
template <class... S>
struct CheckGridColumns {
  static_assert(sizeof...(S) >= 1, "tsgan: write_grid needs at least one column");
  static constexpr bool rank_ok = ((S::rank == 4) && ...);
  static_assert(rank_ok, "tsgan: write_grid: every column is a [N, C, H, W] tensor");
  static constexpr bool same_nhw = [] {
    if constexpr (rank_ok) {
      using F = std::tuple_element_t<0, std::tuple<S...>>;
      return ((S::dims[0] == F::dims[0] && S::dims[2] == F::dims[2] && S::dims[3] == F::dims[3]) && ...);
    } else {
      return true;
    }
  }();
  static_assert(same_nhw, "tsgan: write_grid: every column must have the same N (one row per item), H and W; "
                          "only C may differ");
  static constexpr bool channels_ok = [] {
    if constexpr (rank_ok) return ((S::dims[1] == 1 || S::dims[1] == 3) && ...);
    else return true;
  }();
  static_assert(channels_ok, "tsgan: write_grid: a column has 1 (grey) or 3 (RGB) channels");
  static constexpr bool value = true;
};

// stb decodes a binary PNM (P5 grey, P6 RGB) whose raster is cut short without complaint, leaving
// the missing pixels uninitialised; its PNG and JPEG decoders do report truncation. So a PNM's
// raster size is checked here first. Returns (bytes the header asks for, bytes present), or
// nothing when the data is not a PNM header this can parse (stb then gives the reason).
inline std::optional<std::pair<std::uint64_t, std::uint64_t>> pnm_raster_sizes(
    const std::vector<std::byte>& b) {
  if (b.size() < 2 || b[0] != std::byte{'P'} || (b[1] != std::byte{'5'} && b[1] != std::byte{'6'}))
    return std::nullopt;
  const std::uint64_t channels = b[1] == std::byte{'5'} ? 1 : 3;
  std::size_t pos = 2;
  auto is_space = [](std::byte c) {
    return c == std::byte{' '} || (c >= std::byte{'\t'} && c <= std::byte{'\r'});
  };
  std::uint64_t fields[3] = {};  // width, height, maxval
  for (std::uint64_t& field : fields) {
    for (;;) {  // whitespace and comments, which run to the end of the line
      while (pos < b.size() && is_space(b[pos])) ++pos;
      if (pos >= b.size() || b[pos] != std::byte{'#'}) break;
      while (pos < b.size() && b[pos] != std::byte{'\n'}) ++pos;
    }
    const std::size_t start = pos;
    while (pos < b.size() && b[pos] >= std::byte{'0'} && b[pos] <= std::byte{'9'}) {
      if (field > 100'000'000) return std::nullopt;  // far beyond what stb accepts
      field = field * 10 + static_cast<std::uint64_t>(b[pos++]) - '0';
    }
    if (pos == start) return std::nullopt;
  }
  if (pos >= b.size() || !is_space(b[pos])) return std::nullopt;
  ++pos;  // exactly one whitespace byte separates the header from the raster
  const std::uint64_t sample = fields[2] > 255 ? 2 : 1;
  return std::pair(fields[0] * fields[1] * channels * sample, static_cast<std::uint64_t>(b.size() - pos));
}

}  // namespace detail

// Reads a PNG, JPEG or binary PNM (P5 PGM, P6 PPM) file. A grey image with alpha becomes RGBA;
// 16-bit samples are reduced to 8 bits.
inline Image read_image(const std::filesystem::path& path) {
  const std::vector<std::byte> bytes = read_file(path);
  if (bytes.empty()) fail<IoError>("{}: cannot decode the image: the file is empty", path.string());
  if (bytes.size() > static_cast<std::size_t>(INT_MAX))
    fail<IoError>("{}: cannot decode the image: {} bytes is more than stb reads", path.string(),
                  bytes.size());
  if (const auto pnm = detail::pnm_raster_sizes(bytes); pnm && pnm->second < pnm->first)
    fail<IoError>("{}: cannot decode the image: truncated PNM, {} bytes of pixels where the header "
                  "announces {}", path.string(), pnm->second, pnm->first);
  int w = 0, h = 0, c = 0;
  std::unique_ptr<stbi_uc, void (*)(void*)> data(
      stbi_load_from_memory(reinterpret_cast<const stbi_uc*>(bytes.data()), static_cast<int>(bytes.size()),
                            &w, &h, &c, 0),
      stbi_image_free);
  if (!data) {
    const char* reason = stbi_failure_reason();  // NULL for some corrupt PNGs
    fail<IoError>("{}: cannot decode the image: {}", path.string(), reason ? reason : "corrupt or unsupported data");
  }

  Image im(w, h, c == 2 ? 4 : c);
  const std::size_t n = static_cast<std::size_t>(w) * h;
  if (c == 2) {
    for (std::size_t i = 0; i < n; ++i) {
      const stbi_uc g = data.get()[2 * i];
      im.pixels[4 * i] = im.pixels[4 * i + 1] = im.pixels[4 * i + 2] = g;
      im.pixels[4 * i + 3] = data.get()[2 * i + 1];
    }
  } else {
    std::copy_n(data.get(), n * c, im.pixels.begin());
  }
  return im;
}

// Writes a PNG, atomically (io/file.hpp).
inline void write_png(const std::filesystem::path& path, const Image& image) {
  detail::check_image(image, "write_png");
  std::vector<std::byte> out;
  auto append = [](void* context, void* data, int size) {
    auto* o = static_cast<std::vector<std::byte>*>(context);
    const auto* p = static_cast<const std::byte*>(data);
    o->insert(o->end(), p, p + size);
  };
  if (!stbi_write_png_to_func(append, &out, image.width, image.height, image.channels, image.pixels.data(),
                              image.width * image.channels))
    fail<IoError>("{}: cannot encode the image as PNG", path.string());
  write_file_atomic(path, out);
}

// Three channels: grey is replicated, alpha dropped, RGB returned as it is.
inline Image to_rgb(const Image& image) {
  detail::check_image(image, "to_rgb");
  if (image.channels == 3) return image;
  Image out(image.width, image.height, 3);
  const std::size_t n = static_cast<std::size_t>(image.width) * image.height;
  for (std::size_t i = 0; i < n; ++i)
    for (std::size_t c = 0; c < 3; ++c)
      out.pixels[3 * i + c] = image.pixels[i * image.channels + (image.channels == 1 ? 0 : c)];
  return out;
}

// Enlarges an image `factor` times by repeating pixels (to look at small training snapshots).
inline Image enlarge(const Image& image, int factor) {
  detail::check_image(image, "enlarge");
  if (factor < 1) fail<IoError>("tsgan: enlarge: the factor must be at least 1 (got {})", factor);
  Image out(image.width * factor, image.height * factor, image.channels);
  for (int y = 0; y < out.height; ++y)
    for (int x = 0; x < out.width; ++x)
      for (int c = 0; c < image.channels; ++c) out.at(y, x, c) = image.at(y / factor, x / factor, c);
  return out;
}

// Bilinear resize to height x width. Pixel centres sit at half-integer coordinates, as in
// PyTorch's interpolate(mode="bilinear", align_corners=False) and OpenCV's INTER_LINEAR: output
// pixel x samples the input at (x + 0.5) * in_width / width - 0.5, clamped to [0, in_width - 1].
// There is no antialiasing filter, so shrinking by more than 2x aliases. Results round to nearest.
inline Image resize(const Image& image, int height, int width) {
  detail::check_image(image, "resize");
  Image out(width, height, image.channels);
  // Per output column (row): the two input columns (rows) it blends and the weight of the second.
  struct Tap {
    int i0, i1;
    double w1;
  };
  auto taps = [](int in, int n) {
    std::vector<Tap> t(static_cast<std::size_t>(n));
    const double scale = static_cast<double>(in) / n;
    for (int o = 0; o < n; ++o) {
      const double src = std::max(0.0, (o + 0.5) * scale - 0.5);
      const int i0 = std::min(static_cast<int>(src), in - 1);
      t[o] = {i0, std::min(i0 + 1, in - 1), src - i0};
    }
    return t;
  };
  const std::vector<Tap> tx = taps(image.width, width), ty = taps(image.height, height);
  for (int y = 0; y < height; ++y)
    for (int x = 0; x < width; ++x)
      for (int c = 0; c < image.channels; ++c) {
        const Tap& a = ty[y];
        const Tap& b = tx[x];
        const double top = image.at(a.i0, b.i0, c) * (1 - b.w1) + image.at(a.i0, b.i1, c) * b.w1;
        const double bottom = image.at(a.i1, b.i0, c) * (1 - b.w1) + image.at(a.i1, b.i1, c) * b.w1;
        out.at(y, x, c) = static_cast<std::uint8_t>(std::lround(top * (1 - a.w1) + bottom * a.w1));
      }
  return out;
}

// The image as a float tensor [C, H, W] with values byte / 255. S must equal the image's channels,
// height and width (convert with to_rgb and resize first).
template <ShapeType S>
Tensor<float, S> to_tensor(const Image& image) {
  static_assert(detail::CheckImageTensor<S, 3>::value);
  detail::check_image(image, "to_tensor");
  constexpr index_t C = S::dims[0], H = S::dims[1], W = S::dims[2];
  if (image.channels != C || image.height != H || image.width != W)
    fail("tsgan: to_tensor: the image is {}x{} with {} channel(s) (W x H, C), the tensor {} needs "
         "{}x{} with {}",
         image.width, image.height, image.channels, shape_string<S>(), W, H, C);
  Tensor<float, S> out(uninitialized);
  for (index_t c = 0; c < C; ++c)
    for (index_t y = 0; y < H; ++y)
      for (index_t x = 0; x < W; ++x)
        out(c, y, x) = image.at(static_cast<int>(y), static_cast<int>(x), static_cast<int>(c)) / 255.f;
  return out;
}

// A [C, H, W] float tensor or view as an image: values clamp to [0, 1] and round to 0..255.
template <detail::HostFloatTensor X>
Image from_tensor(const X& t) {
  using S = typename X::shape;
  static_assert(detail::CheckImageTensor<S, 3>::value);
  Image out(static_cast<int>(S::dims[2]), static_cast<int>(S::dims[1]), static_cast<int>(S::dims[0]));
  for (int y = 0; y < out.height; ++y)
    for (int x = 0; x < out.width; ++x)
      for (int c = 0; c < out.channels; ++c) out.at(y, x, c) = detail::to_byte(t(c, y, x));
  return out;
}

// Item `item` of a [N, C, H, W] float tensor or view, as from_tensor makes it.
template <detail::HostFloatTensor X>
Image from_tensor(const X& t, index_t item) {
  using S = typename X::shape;
  static_assert(detail::CheckImageTensor<S, 4>::value);
  if (item < 0 || item >= S::dims[0])
    fail("tsgan: from_tensor: item {} of a batch of {} does not exist", item, S::dims[0]);
  Image out(static_cast<int>(S::dims[3]), static_cast<int>(S::dims[2]), static_cast<int>(S::dims[1]));
  for (int y = 0; y < out.height; ++y)
    for (int x = 0; x < out.width; ++x)
      for (int c = 0; c < out.channels; ++c) out.at(y, x, c) = detail::to_byte(t(item, c, y, x));
  return out;
}

// Pixels between grid tiles; the gap is white so that dark tiles (masks) stay distinguishable.
inline constexpr int grid_gap = 2;

// An RGB grid with one column per tensor and one row per batch item: tile (row n, column k) is
// item n of column k, at x = k * (W + grid_gap), y = n * (H + grid_gap). Grey columns are shown
// as grey. The image is K * W + (K - 1) * grid_gap wide and N * H + (N - 1) * grid_gap high.
template <detail::HostFloatTensor... Cols>
Image make_grid(const Cols&... cols) {
  static_assert(detail::CheckGridColumns<typename Cols::shape...>::value);
  using F = typename std::tuple_element_t<0, std::tuple<Cols...>>::shape;
  constexpr int N = static_cast<int>(F::dims[0]), H = static_cast<int>(F::dims[2]),
                W = static_cast<int>(F::dims[3]), K = static_cast<int>(sizeof...(Cols));
  Image grid(K * W + (K - 1) * grid_gap, N * H + (N - 1) * grid_gap, 3, 255);
  int k = 0;
  auto place = [&](const auto& col) {
    constexpr index_t C = std::remove_cvref_t<decltype(col)>::shape::dims[1];
    for (int n = 0; n < N; ++n)
      for (int y = 0; y < H; ++y)
        for (int x = 0; x < W; ++x)
          for (int c = 0; c < 3; ++c)
            grid.at(n * (H + grid_gap) + y, k * (W + grid_gap) + x, c) =
                detail::to_byte(col(n, C == 1 ? 0 : c, y, x));
    ++k;
  };
  (place(cols), ...);
  return grid;
}

// Writes make_grid(cols...) as a PNG, e.g. write_grid(path, occluded, mask, deoccluded,
// frontal, target) for a training snapshot.
template <detail::HostFloatTensor... Cols>
void write_grid(const std::filesystem::path& path, const Cols&... cols) {
  write_png(path, make_grid(cols...));
}

}  // namespace tsgan::io
