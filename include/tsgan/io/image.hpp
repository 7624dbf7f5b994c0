// Images: an 8-bit Image (rows of pixels, channels interleaved), reading PNG (libpng), JPEG
// (libjpeg-turbo) and binary PGM/PPM (our own parser) and writing PNG (libpng), conversions between
// images and float tensors [C, H, W] in [0, 1], a bilinear resize, and a grid writer for training
// snapshots.
//
// Reading is meant to survive hostile files: libpng and libjpeg-turbo are fuzzed continuously
// upstream, every failure is an IoError "<name>: cannot decode the image: <why>", and an image
// whose header announces more than a pixel limit (default_max_image_pixels, overridable per call)
// is refused before any pixel is decoded, so a small file cannot make the reader allocate
// gigabytes. Both C libraries report errors by longjmp; the functions that call setjmp hold only
// trivially destructible locals, and the C++ objects (buffers, the libraries' state) live in their
// callers, so a longjmp never skips a destructor. JPEG warnings (corrupt or truncated data, which
// libjpeg would otherwise fill with grey) are errors too.
//
// Errors about files are IoError "<path>: <why>"; wrong sizes and channel counts are tsgan::Error.
#pragma once

#include <algorithm>
#include <array>
#include <climits>
#include <cmath>
#include <csetjmp>
#include <cstddef>
#include <cstdint>
#include <cstdio>  // jpeglib.h uses FILE and size_t without including their headers
#include <cstring>
#include <filesystem>
#include <initializer_list>
#include <span>
#include <string>
#include <string_view>
#include <type_traits>
#include <utility>
#include <vector>

#include <jpeglib.h>
#include <png.h>

#include "tsgan/core/error.hpp"
#include "tsgan/core/format.hpp"
#include "tsgan/core/tensor.hpp"
#include "tsgan/io/file.hpp"

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

// Where a decoder's failure goes: the reason (at most a line) and the jump back to the function
// that called setjmp.
struct DecodeFailure {
  std::jmp_buf jump;
  char reason[JMSG_LENGTH_MAX > 256 ? JMSG_LENGTH_MAX : 256] = {};

  [[noreturn]] void raise(const char* why) {
    std::snprintf(reason, sizeof reason, "%s", why ? why : "corrupt data");
    std::longjmp(jump, 1);
  }
};

[[noreturn]] inline void fail_decode(std::string_view name, std::string_view why) {
  fail<IoError>("{}: cannot decode the image: {}", name, why);
}

inline void check_pixel_limit(std::string_view name, std::uint64_t width, std::uint64_t height,
                              std::uint64_t max_pixels) {
  if (width == 0 || height == 0) fail_decode(name, fmt::format("the header announces {}x{} pixels", width, height));
  if (width > INT_MAX || height > INT_MAX || width * height > max_pixels)
    fail_decode(name, fmt::format("the header announces {}x{} = {} pixels, more than the limit of {} "
                                  "(ReadImageOptions::max_pixels)",
                                  width, height, width * height, max_pixels));
}

// ---- PNM: P5 (grey) and P6 (RGB), 8 or 16 bits per sample, scaled from maxval to 0..255 ----------

inline Image decode_pnm(std::span<const std::byte> b, std::string_view name, std::uint64_t max_pixels) {
  const int channels = b[1] == std::byte{'5'} ? 1 : 3;
  std::size_t pos = 2;
  auto is_space = [](std::byte c) { return c == std::byte{' '} || (c >= std::byte{'\t'} && c <= std::byte{'\r'}); };
  std::uint64_t fields[3] = {};  // width, height, maxval
  const char* field_names[3] = {"width", "height", "maxval"};
  for (int f = 0; f < 3; ++f) {
    for (;;) {  // whitespace and comments, which run to the end of the line
      while (pos < b.size() && is_space(b[pos])) ++pos;
      if (pos >= b.size() || b[pos] != std::byte{'#'}) break;
      while (pos < b.size() && b[pos] != std::byte{'\n'}) ++pos;
    }
    const std::size_t start = pos;
    while (pos < b.size() && b[pos] >= std::byte{'0'} && b[pos] <= std::byte{'9'}) {
      fields[f] = fields[f] * 10 + (static_cast<std::uint64_t>(b[pos++]) - '0');
      if (fields[f] > INT_MAX) fail_decode(name, fmt::format("PNM {} is too large", field_names[f]));
    }
    if (pos == start) fail_decode(name, fmt::format("PNM header: no {} where a number is expected", field_names[f]));
  }
  if (pos >= b.size() || !is_space(b[pos])) fail_decode(name, "PNM header: no whitespace after maxval");
  ++pos;  // exactly one whitespace byte separates the header from the raster
  const std::uint64_t maxval = fields[2];
  if (maxval == 0 || maxval > 65535) fail_decode(name, fmt::format("PNM maxval {} is not in 1..65535", maxval));
  check_pixel_limit(name, fields[0], fields[1], max_pixels);

  const std::uint64_t sample_bytes = maxval > 255 ? 2 : 1;
  const std::uint64_t samples = fields[0] * fields[1] * static_cast<std::uint64_t>(channels);
  if (b.size() - pos < samples * sample_bytes)
    fail_decode(name, fmt::format("truncated PNM, {} bytes of pixels where the header announces {}",
                                  b.size() - pos, samples * sample_bytes));
  Image im(static_cast<int>(fields[0]), static_cast<int>(fields[1]), channels);
  for (std::uint64_t i = 0; i < samples; ++i) {
    const std::byte* s = b.data() + pos + i * sample_bytes;
    const std::uint64_t v = sample_bytes == 1 ? static_cast<std::uint64_t>(s[0])
                                              : (static_cast<std::uint64_t>(s[0]) << 8) | static_cast<std::uint64_t>(s[1]);
    if (v > maxval) fail_decode(name, fmt::format("PNM sample {} is {}, above maxval {}", i, v, maxval));
    im.pixels[i] = static_cast<std::uint8_t>((v * 255 + maxval / 2) / maxval);
  }
  return im;
}

// ---- PNG: libpng ----------------------------------------------------------------------------------

struct PngInput {
  std::span<const std::byte> bytes;
  std::size_t pos = 0;
  DecodeFailure failure;
};

inline void png_on_error(png_structp png, png_const_charp message) {
  static_cast<PngInput*>(png_get_error_ptr(png))->failure.raise(message);
}
inline void png_on_warning(png_structp, png_const_charp) {}  // ancillary trouble; the pixels are fine
inline void png_on_read(png_structp png, png_bytep out, std::size_t size) {
  auto* in = static_cast<PngInput*>(png_get_io_ptr(png));
  if (in->bytes.size() - in->pos < size) in->failure.raise("the file ends inside the PNG data (truncated)");
  std::memcpy(out, in->bytes.data() + in->pos, size);
  in->pos += size;
}

struct PngHeader {
  png_uint_32 width = 0, height = 0;
  int color_type = 0, bit_depth = 0, channels = 0;
};

// setjmp callers: only trivially destructible locals (see the top of this header).
inline bool png_read_header(png_structp png, png_infop info, PngInput& in, PngHeader& h) {
  if (setjmp(in.failure.jump)) return false;
  png_read_info(png, info);
  h.width = png_get_image_width(png, info);
  h.height = png_get_image_height(png, info);
  h.color_type = png_get_color_type(png, info);
  h.bit_depth = png_get_bit_depth(png, info);
  return true;
}

// Every colour type becomes 8-bit grey, RGB or RGBA: palettes expand, transparency becomes alpha
// (grey with alpha becomes RGBA), 16-bit samples are scaled to 8 bits rounding to nearest.
inline bool png_set_transforms(png_structp png, png_infop info, PngInput& in, PngHeader& h) {
  if (setjmp(in.failure.jump)) return false;
  const bool transparency = png_get_valid(png, info, PNG_INFO_tRNS) != 0;
  png_set_expand(png);  // palette to RGB, grey below 8 bits to 8, tRNS to alpha
  png_set_scale_16(png);
  if ((h.color_type & PNG_COLOR_MASK_COLOR) == 0 && ((h.color_type & PNG_COLOR_MASK_ALPHA) != 0 || transparency))
    png_set_gray_to_rgb(png);
  png_set_interlace_handling(png);
  png_read_update_info(png, info);
  h.channels = png_get_channels(png, info);
  return true;
}

inline bool png_read_rows(png_structp png, png_infop info, PngInput& in, png_bytepp rows) {
  if (setjmp(in.failure.jump)) return false;
  png_read_image(png, rows);
  png_read_end(png, info);
  return true;
}

inline Image decode_png(std::span<const std::byte> bytes, std::string_view name, std::uint64_t max_pixels) {
  PngInput in;
  in.bytes = bytes;
  struct State {
    png_structp png = nullptr;
    png_infop info = nullptr;
    ~State() { png_destroy_read_struct(&png, info ? &info : nullptr, nullptr); }
  } state;
  state.png = png_create_read_struct(PNG_LIBPNG_VER_STRING, &in, png_on_error, png_on_warning);
  if (!state.png) fail_decode(name, "libpng cannot start (out of memory?)");
  state.info = png_create_info_struct(state.png);
  if (!state.info) fail_decode(name, "libpng cannot start (out of memory?)");
  png_set_read_fn(state.png, &in, png_on_read);

  PngHeader h;
  if (!png_read_header(state.png, state.info, in, h)) fail_decode(name, in.failure.reason);
  check_pixel_limit(name, h.width, h.height, max_pixels);
  if (!png_set_transforms(state.png, state.info, in, h)) fail_decode(name, in.failure.reason);
  if (h.channels != 1 && h.channels != 3 && h.channels != 4)
    fail_decode(name, fmt::format("PNG decodes to {} channels (1, 3 or 4 expected)", h.channels));

  Image im(static_cast<int>(h.width), static_cast<int>(h.height), h.channels);
  std::vector<png_bytep> rows(h.height);
  const std::size_t stride = static_cast<std::size_t>(h.width) * static_cast<std::size_t>(h.channels);
  for (std::size_t y = 0; y < rows.size(); ++y) rows[y] = im.pixels.data() + y * stride;
  if (!png_read_rows(state.png, state.info, in, rows.data())) fail_decode(name, in.failure.reason);
  return im;
}

// ---- JPEG: libjpeg-turbo --------------------------------------------------------------------------

// A progressive JPEG may hold any number of scans, each a pass over the whole image: a few KB
// could keep the decoder busy for minutes. libjpeg-turbo's own fuzzers stop at 500 scans too.
inline constexpr int jpeg_max_scans = 500;

struct JpegInput {
  jpeg_decompress_struct info{};
  jpeg_error_mgr errors{};
  jpeg_progress_mgr progress{};
  DecodeFailure failure;
};

inline JpegInput& jpeg_input(j_common_ptr cinfo) { return *static_cast<JpegInput*>(cinfo->client_data); }

inline void jpeg_on_error(j_common_ptr cinfo) {
  char message[JMSG_LENGTH_MAX];
  cinfo->err->format_message(cinfo, message);
  jpeg_input(cinfo).failure.raise(message);
}
// Level -1 is a warning about corrupt data (libjpeg decodes on, filling with grey): an error here.
// Higher levels are trace messages.
inline void jpeg_on_message(j_common_ptr cinfo, int level) {
  if (level < 0) jpeg_on_error(cinfo);
}
inline void jpeg_on_progress(j_common_ptr cinfo) {
  auto* d = reinterpret_cast<j_decompress_ptr>(cinfo);
  if (d->is_decompressor && d->input_scan_number > jpeg_max_scans)
    jpeg_input(cinfo).failure.raise("a progressive JPEG with more than 500 scans");
}

// setjmp callers: only trivially destructible locals (see the top of this header).
inline bool jpeg_read_header_from(JpegInput& in, std::span<const std::byte> bytes) {
  if (setjmp(in.failure.jump)) return false;
  jpeg_create_decompress(&in.info);
  in.info.client_data = &in;
  in.info.progress = &in.progress;
  jpeg_mem_src(&in.info, reinterpret_cast<const unsigned char*>(bytes.data()),
               static_cast<unsigned long>(bytes.size()));
  jpeg_read_header(&in.info, TRUE);
  return true;
}

inline bool jpeg_read_pixels(JpegInput& in, std::uint8_t* pixels, int channels) {
  if (setjmp(in.failure.jump)) return false;
  in.info.out_color_space = channels == 1 ? JCS_GRAYSCALE : JCS_RGB;
  jpeg_start_decompress(&in.info);
  if (in.info.output_components != channels || in.info.output_width != in.info.image_width ||
      in.info.output_height != in.info.image_height)
    in.failure.raise("libjpeg's output is not the size its header announced");
  const std::size_t stride = static_cast<std::size_t>(in.info.output_width) * static_cast<std::size_t>(in.info.output_components);
  while (in.info.output_scanline < in.info.output_height) {
    JSAMPROW row = pixels + in.info.output_scanline * stride;
    jpeg_read_scanlines(&in.info, &row, 1);
  }
  jpeg_finish_decompress(&in.info);
  return true;
}

inline Image decode_jpeg(std::span<const std::byte> bytes, std::string_view name, std::uint64_t max_pixels) {
  if (bytes.size() > ULONG_MAX) fail_decode(name, "more bytes than libjpeg reads");
  struct State {
    JpegInput in;
    ~State() { jpeg_destroy_decompress(&in.info); }  // safe on a struct jpeg_create never touched
  } state;
  JpegInput& in = state.in;
  in.info.err = jpeg_std_error(&in.errors);
  in.errors.error_exit = jpeg_on_error;
  in.errors.emit_message = jpeg_on_message;
  in.progress.progress_monitor = jpeg_on_progress;
  if (!jpeg_read_header_from(in, bytes)) fail_decode(name, in.failure.reason);
  check_pixel_limit(name, in.info.image_width, in.info.image_height, max_pixels);
  // Only grey stays grey; libjpeg converts YCbCr and RGB to RGB and refuses CMYK and YCCK.
  Image im(static_cast<int>(in.info.image_width), static_cast<int>(in.info.image_height),
           in.info.jpeg_color_space == JCS_GRAYSCALE ? 1 : 3);
  if (!jpeg_read_pixels(in, im.pixels.data(), im.channels)) fail_decode(name, in.failure.reason);
  return im;
}

}  // namespace detail

// The most pixels read_image decodes unless told otherwise: 8192 x 8192, at most 256 MiB as RGBA.
// Face datasets are far below it; a file announcing more is refused before decoding.
inline constexpr std::uint64_t default_max_image_pixels = std::uint64_t{1} << 26;

struct ReadImageOptions {
  std::uint64_t max_pixels = default_max_image_pixels;  // width * height
};

// Decodes a PNG, JPEG or binary PNM (P5 PGM, P6 PPM) held in memory; `name` (the file's path, or
// any label) starts every error message. Grey stays grey (1 channel); grey with alpha or with a
// transparent colour becomes RGBA; palettes become RGB or RGBA; 16-bit samples and PNM maxvals
// other than 255 are scaled to 0..255, rounding to nearest. No gamma or colour profile is applied.
inline Image decode_image(std::span<const std::byte> bytes, std::string_view name, ReadImageOptions options = {}) {
  auto starts_with = [&](std::initializer_list<unsigned char> magic) {
    if (bytes.size() < magic.size()) return false;
    std::size_t i = 0;
    for (unsigned char m : magic)
      if (bytes[i++] != std::byte{m}) return false;
    return true;
  };
  if (bytes.empty()) fail<IoError>("{}: cannot decode the image: the file is empty", name);
  if (starts_with({0x89, 'P', 'N', 'G', '\r', '\n', 0x1a, '\n'})) return detail::decode_png(bytes, name, options.max_pixels);
  if (starts_with({0xff, 0xd8, 0xff})) return detail::decode_jpeg(bytes, name, options.max_pixels);
  if (starts_with({'P', '5'}) || starts_with({'P', '6'})) return detail::decode_pnm(bytes, name, options.max_pixels);
  detail::fail_decode(name, "not a PNG, JPEG or binary PNM (P5, P6) file");
}

// Reads a PNG, JPEG or binary PNM file as decode_image does.
inline Image read_image(const std::filesystem::path& path, ReadImageOptions options = {}) {
  const std::vector<std::byte> bytes = read_file(path);
  return decode_image(bytes, path.string(), options);
}

// The image encoded as PNG, 8 bits per sample, grey, RGB or RGBA as the image is.
inline std::vector<std::byte> encode_png(const Image& image) {
  detail::check_image(image, "encode_png");
  png_image png{};
  png.version = PNG_IMAGE_VERSION;
  png.width = static_cast<png_uint_32>(image.width);
  png.height = static_cast<png_uint_32>(image.height);
  png.format = image.channels == 1 ? PNG_FORMAT_GRAY : image.channels == 3 ? PNG_FORMAT_RGB : PNG_FORMAT_RGBA;
  std::vector<std::byte> out(PNG_IMAGE_PNG_SIZE_MAX(png));
  png_alloc_size_t size = out.size();
  if (!png_image_write_to_memory(&png, out.data(), &size, 0, image.pixels.data(), 0, nullptr))
    fail<IoError>("tsgan: cannot encode a {}x{}x{} image as PNG: {}", image.width, image.height,
                  image.channels, png.message);
  out.resize(size);
  return out;
}

// Writes a PNG, atomically (io/file.hpp).
inline void write_png(const std::filesystem::path& path, const Image& image) {
  write_file_atomic(path, encode_png(image));
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
