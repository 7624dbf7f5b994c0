#include "tsgan/io/image.hpp"

#include <doctest/doctest.h>

#include <cctype>
#include <cmath>
#include <cstdint>
#include <filesystem>
#include <span>
#include <string>
#include <vector>

#include "support.hpp"

using namespace tsgan;
using tsgan::io::Image;
using tsgan::test::check_io_error;
using tsgan::test::TempDir;

namespace {

// A binary PGM (P5, maxval < 256) parsed by hand: the header is four whitespace-separated tokens
// (comments start with '#'), then one whitespace byte, then width * height bytes.
struct Pgm {
  int width = 0, height = 0, maxval = 0;
  std::vector<unsigned char> pixels;
};

Pgm parse_pgm(const std::vector<unsigned char>& bytes) {
  std::size_t pos = 0;
  auto token = [&] {
    for (;;) {
      while (pos < bytes.size() && std::isspace(bytes[pos])) ++pos;
      if (pos < bytes.size() && bytes[pos] == '#')
        while (pos < bytes.size() && bytes[pos] != '\n') ++pos;
      else
        break;
    }
    std::string t;
    while (pos < bytes.size() && !std::isspace(bytes[pos])) t += static_cast<char>(bytes[pos++]);
    return t;
  };
  Pgm p;
  REQUIRE(token() == "P5");
  p.width = std::stoi(token());
  p.height = std::stoi(token());
  p.maxval = std::stoi(token());
  ++pos;  // the single whitespace byte before the raster
  REQUIRE(bytes.size() - pos == static_cast<std::size_t>(p.width) * p.height);
  p.pixels.assign(bytes.begin() + static_cast<std::ptrdiff_t>(pos), bytes.end());
  return p;
}

Image pattern_image(int w, int h, int c) {
  Image im(w, h, c);
  for (std::size_t i = 0; i < im.pixels.size(); ++i)
    im.pixels[i] = static_cast<std::uint8_t>((i * 37 + i / 7) % 256);
  return im;
}

// An exact multiple of 1/255, so that converting to bytes gives k back.
float level(index_t k) { return static_cast<float>(k % 256) / 255.f; }

// The reference decoder's output for a fixture of tests/fixtures/images (made by make.sh there).
std::filesystem::path image_fixture(const std::string& name) {
  return std::filesystem::path(test::source_dir) / "tests/fixtures/images" / name;
}

// A PNG built by hand, so that the test does not depend on the encoder it checks: chunks with
// their CRC-32, the pixels in one stored (uncompressed) deflate block of a zlib stream.
using Bytes = std::vector<unsigned char>;

std::uint32_t crc32(const Bytes& data, std::size_t from) {
  std::uint32_t c = 0xffffffffu;
  for (std::size_t i = from; i < data.size(); ++i) {
    c ^= data[i];
    for (int k = 0; k < 8; ++k) c = (c >> 1) ^ (0xedb88320u & (0u - (c & 1u)));
  }
  return ~c;
}

void put_be32(Bytes& out, std::uint32_t v) {
  for (int s = 24; s >= 0; s -= 8) out.push_back(static_cast<unsigned char>(v >> s));
}

void put_chunk(Bytes& png, const char* type, const Bytes& data) {
  put_be32(png, static_cast<std::uint32_t>(data.size()));
  const std::size_t start = png.size();
  png.insert(png.end(), type, type + 4);
  png.insert(png.end(), data.begin(), data.end());
  put_be32(png, crc32(png, start));
}

// `rows`: the scanlines, each starting with its filter byte (0 here). Optional PLTE and tRNS.
Bytes make_png(std::uint32_t width, std::uint32_t height, int depth, int color_type, const Bytes& rows,
               const Bytes& plte = {}, const Bytes& trns = {}) {
  Bytes png = {0x89, 'P', 'N', 'G', '\r', '\n', 0x1a, '\n'};
  Bytes ihdr;
  put_be32(ihdr, width);
  put_be32(ihdr, height);
  ihdr.insert(ihdr.end(), {static_cast<unsigned char>(depth), static_cast<unsigned char>(color_type), 0, 0, 0});
  put_chunk(png, "IHDR", ihdr);
  if (!plte.empty()) put_chunk(png, "PLTE", plte);
  if (!trns.empty()) put_chunk(png, "tRNS", trns);
  Bytes z = {0x78, 0x01, 0x01, static_cast<unsigned char>(rows.size() & 0xff),
             static_cast<unsigned char>(rows.size() >> 8), static_cast<unsigned char>(~rows.size() & 0xff),
             static_cast<unsigned char>((~rows.size() >> 8) & 0xff)};
  z.insert(z.end(), rows.begin(), rows.end());
  std::uint32_t a = 1, b = 0;  // Adler-32
  for (unsigned char v : rows) {
    a = (a + v) % 65521;
    b = (b + a) % 65521;
  }
  put_be32(z, (b << 16) | a);
  put_chunk(png, "IDAT", z);
  put_chunk(png, "IEND", {});
  return png;
}

Image decode(const Bytes& bytes, io::ReadImageOptions options = {}) {
  return io::decode_image(std::as_bytes(std::span(bytes)), "mem", options);
}

// Runs f, which must throw an IoError "mem: cannot decode the image: ..." containing `part`.
template <class F>
void check_decode_error(F&& f, const std::string& part) {
  try {
    f();
    FAIL("expected an IoError containing: ", part);
  } catch (const IoError& e) {
    const std::string msg = e.what();
    INFO("message: ", msg);
    CHECK(msg.starts_with("mem: cannot decode the image: "));
    CHECK(msg.find(part) != std::string::npos);
  }
}

}  // namespace

TEST_SUITE("io.image") {
  TEST_CASE("PNG write and read round-trip bit for bit for grey, RGB and RGBA") {
    TempDir dir;
    for (int c : {1, 3, 4}) {
      const Image im = pattern_image(13, 7, c);
      const auto path = dir / fmt::format("p{}.png", c);
      io::write_png(path, im);
      const Image back = io::read_image(path);
      CHECK(back.width == 13);
      CHECK(back.height == 7);
      CHECK(back.channels == c);
      CHECK(back.pixels == im.pixels);
    }
    CHECK(dir.entries() == std::set<std::string>{"p1.png", "p3.png", "p4.png"});  // no temporary left
  }

  TEST_CASE("a real PGM face reads as 64x60 grey with the bytes of the file") {
    const auto path =
        test::shared_data() / "faces/cmu-face-images-half/images/alex/alex_forward_angry_eyes.pgm";
    if (!std::filesystem::exists(path)) {
      MESSAGE("skipped: no shared data at ", path.string(), " (set TSGAN_SHARED_DATA)");
      return;
    }
    const Pgm ref = parse_pgm(test::read_bytes(path));
    REQUIRE(ref.maxval == 255);
    const Image im = io::read_image(path);
    CHECK(im.width == 64);
    CHECK(im.height == 60);
    CHECK(im.channels == 1);
    CHECK(ref.width == 64);
    CHECK(ref.height == 60);
    CHECK(im.pixels == ref.pixels);
    // A few values spelled out: the first raster bytes of this file are 1b 02 0f 61 39.
    CHECK(im.at(0, 0, 0) == 0x1b);
    CHECK(im.at(0, 1, 0) == 0x02);
    CHECK(im.at(0, 4, 0) == 0x39);
    CHECK(im.at(59, 63, 0) == ref.pixels.back());
  }

  TEST_CASE("a hand-made PGM with a comment reads as its bytes; a truncated one is an error") {
    TempDir dir;
    const std::string header = "P5\n# made by hand\n4 3\n255\n";
    std::vector<unsigned char> file(header.begin(), header.end());
    for (unsigned char v = 0; v < 12; ++v) file.push_back(static_cast<unsigned char>(v * 20));
    test::write_bytes(dir / "h.pgm", file);
    const Image im = io::read_image(dir / "h.pgm");
    CHECK(im.width == 4);
    CHECK(im.height == 3);
    CHECK(im.channels == 1);
    CHECK(im.at(0, 0, 0) == 0);
    CHECK(im.at(1, 2, 0) == 120);  // byte 6
    CHECK(im.at(2, 3, 0) == 220);  // byte 11
    file.resize(file.size() - 5);
    test::write_bytes(dir / "cut.pgm", file);
    check_io_error([&] { (void)io::read_image(dir / "cut.pgm"); }, dir / "cut.pgm",
                   {"truncated PNM, 7 bytes of pixels where the header announces 12"});
  }

  TEST_CASE("an LFW JPEG reads as 250x250 RGB") {
    const auto path =
        test::shared_data() / "faces/lfw-deepfunneled-view2/images/Aaron_Eckhart/Aaron_Eckhart_0001.jpg";
    if (!std::filesystem::exists(path)) {
      MESSAGE("skipped: no shared data at ", path.string(), " (set TSGAN_SHARED_DATA)");
      return;
    }
    const Image im = io::read_image(path);
    CHECK(im.width == 250);
    CHECK(im.height == 250);
    CHECK(im.channels == 3);
    CHECK(im.pixels.size() == 250u * 250u * 3u);
  }

  TEST_CASE("corrupt, unsupported, empty and missing files are IoErrors naming the file and the reason") {
    TempDir dir;
    io::write_png(dir / "good.png", pattern_image(16, 16, 3));
    std::vector<unsigned char> png = test::read_bytes(dir / "good.png");

    const auto cut = dir / "cut.png";
    test::write_bytes(cut, std::vector<unsigned char>(
                               png.begin(), png.begin() + static_cast<std::ptrdiff_t>(png.size() / 2)));
    check_io_error([&] { (void)io::read_image(cut); }, cut, {"cannot decode the image: "});

    // Half of a JPEG: libjpeg would fill the rest with grey and warn; the warning is an error.
    const std::vector<unsigned char> jpg = test::read_bytes(image_fixture("rgb.jpg"));
    const auto half_jpg = dir / "half.jpg";
    test::write_bytes(half_jpg, std::vector<unsigned char>(
                                    jpg.begin(), jpg.begin() + static_cast<std::ptrdiff_t>(jpg.size() / 2)));
    check_io_error([&] { (void)io::read_image(half_jpg); }, half_jpg,
                   {"cannot decode the image: Premature end of JPEG file"});

    const auto noise = dir / "noise.png";
    std::vector<unsigned char> junk(300);
    for (std::size_t i = 0; i < junk.size(); ++i) junk[i] = static_cast<unsigned char>((i * 131 + 7) % 251);
    test::write_bytes(noise, junk);
    check_io_error([&] { (void)io::read_image(noise); }, noise,
                   {"cannot decode the image: not a PNG, JPEG or binary PNM (P5, P6) file"});

    const auto empty = dir / "empty.png";
    test::write_bytes(empty, std::vector<unsigned char>{});
    check_io_error([&] { (void)io::read_image(empty); }, empty, {"the file is empty"});

    check_io_error([&] { (void)io::read_image(dir / "absent.png"); }, dir / "absent.png",
                   {"cannot open", "No such file"});
    check_io_error([&] { (void)io::read_image(dir.path()); }, dir.path(), {"cannot read", "Is a directory"});
    check_io_error([&] { io::write_png(dir / "no" / "x.png", pattern_image(2, 2, 1)); }, dir / "no" / "x.png",
                   {"cannot create a temporary file"});
  }

  TEST_CASE("JPEGs decode to the bytes of libjpeg-turbo's djpeg: baseline RGB, grey, progressive") {
    for (const char* name : {"rgb", "grey", "progressive"}) {
      INFO("fixture: ", name);
      const Image im = io::read_image(image_fixture(std::string(name) + ".jpg"));
      const Image ref = io::read_image(image_fixture(std::string(name) + ".djpeg.pnm"));
      CHECK(im.width == 24);
      CHECK(im.height == 20);
      CHECK(im.channels == (std::string(name) == "grey" ? 1 : 3));
      CHECK(ref.channels == im.channels);
      CHECK(im.pixels == ref.pixels);
    }
  }

  TEST_CASE("PNG colour types become grey, RGB or RGBA; 16-bit samples and low depths scale to 0..255") {
    // Palette with a transparent first entry: RGBA. The same without tRNS: RGB.
    const Bytes plte = {10, 20, 30, 40, 50, 60};
    Image im = decode(make_png(2, 1, 8, 3, {0, 0, 1}, plte, {128}));
    CHECK(im.channels == 4);
    CHECK(im.pixels == std::vector<std::uint8_t>{10, 20, 30, 128, 40, 50, 60, 255});
    im = decode(make_png(2, 1, 8, 3, {0, 1, 0}, plte));
    CHECK(im.channels == 3);
    CHECK(im.pixels == std::vector<std::uint8_t>{40, 50, 60, 10, 20, 30});
    // 16-bit grey: round(v * 255 / 65535), 0x1234 = 4660 -> 18.13 -> 18.
    im = decode(make_png(2, 1, 16, 0, {0, 0x12, 0x34, 0xff, 0xff}));
    CHECK(im.channels == 1);
    CHECK(im.pixels == std::vector<std::uint8_t>{18, 255});
    // 1-bit grey: 1 is white.
    im = decode(make_png(3, 1, 1, 0, {0, 0b1010'0000}));
    CHECK(im.pixels == std::vector<std::uint8_t>{255, 0, 255});
    // Grey with alpha, and grey with a transparent value (77): RGBA.
    im = decode(make_png(1, 1, 8, 4, {0, 77, 200}));
    CHECK(im.channels == 4);
    CHECK(im.pixels == std::vector<std::uint8_t>{77, 77, 77, 200});
    im = decode(make_png(2, 1, 8, 0, {0, 77, 10}, {}, {0, 77}));
    CHECK(im.channels == 4);
    CHECK(im.pixels == std::vector<std::uint8_t>{77, 77, 77, 0, 10, 10, 10, 255});
    // RGB, as it is.
    im = decode(make_png(1, 2, 8, 2, {0, 1, 2, 3, 0, 4, 5, 6}));
    CHECK(im.height == 2);
    CHECK(im.pixels == std::vector<std::uint8_t>{1, 2, 3, 4, 5, 6});

    // A flipped bit in IHDR (CRC mismatch), a file without IEND, data cut inside IDAT.
    Bytes bad = make_png(2, 1, 8, 0, {0, 5, 6});
    bad[17] ^= 1;
    check_decode_error([&] { (void)decode(bad); }, "IHDR: CRC error");
    Bytes cut = make_png(2, 1, 8, 0, {0, 5, 6});
    cut.resize(cut.size() - 12);
    check_decode_error([&] { (void)decode(cut); }, "truncated");
    cut.resize(cut.size() - 8);
    check_decode_error([&] { (void)decode(cut); }, "truncated");
  }

  TEST_CASE("PNM samples scale from maxval to 0..255; 16-bit samples are big-endian") {
    auto pnm = [](const std::string& header, const Bytes& raster) {
      Bytes b(header.begin(), header.end());
      b.insert(b.end(), raster.begin(), raster.end());
      return b;
    };
    Image im = decode(pnm("P5 2 1 65535\n", {0x12, 0x34, 0xff, 0xff}));
    CHECK(im.pixels == std::vector<std::uint8_t>{18, 255});
    im = decode(pnm("P6 1 1 15\n", {15, 7, 0}));  // 7 * 255 / 15 = 119
    CHECK(im.channels == 3);
    CHECK(im.pixels == std::vector<std::uint8_t>{255, 119, 0});
    check_decode_error([&] { (void)decode(pnm("P5 2 1 15\n", {3, 16})); }, "PNM sample 1 is 16, above maxval 15");
    check_decode_error([&] { (void)decode(pnm("P5 2 1 0\n", {0, 0})); }, "PNM maxval 0 is not in 1..65535");
    check_decode_error([&] { (void)decode(pnm("P5 2 x 255\n", {0, 0})); }, "no height where a number is expected");
    check_decode_error([&] { (void)decode(pnm("P5 0 1 255\n", {})); }, "the header announces 0x1 pixels");
    check_decode_error([&] { (void)decode(pnm("P5 99999999999 1 255\n", {})); }, "PNM width is too large");
  }

  TEST_CASE("an image announcing more pixels than the limit is refused before it is decoded") {
    // The 389 KB PNG of issue 11 decoded to 784 MB: 14000 x 14000 RGBA. Its header and the first
    // 100 bytes of pixel data are refused (decoding would allocate 784 MB, then find the data
    // short), so the limit is checked before anything is decoded or allocated.
    check_decode_error([&] { (void)decode(make_png(14000, 14000, 8, 6, Bytes(100, 0))); },
                       "the header announces 14000x14000 = 196000000 pixels, more than the limit of 67108864");
    // A JPEG header (SOF0 20000 x 20000, one component, and SOS) without tables or data.
    const Bytes jpeg = {0xff, 0xd8, 0xff, 0xc0, 0x00, 0x0b, 0x08, 0x4e, 0x20, 0x4e, 0x20, 0x01, 0x01, 0x11, 0x00,
                        0xff, 0xda, 0x00, 0x08, 0x01, 0x01, 0x00, 0x00, 0x3f, 0x00};
    check_decode_error([&] { (void)decode(jpeg); }, "20000x20000 = 400000000 pixels, more than the limit");
    const std::string pnm = "P6 30000 30000 255\n";
    check_decode_error([&] { (void)decode(Bytes(pnm.begin(), pnm.end())); }, "30000x30000 = 900000000 pixels");

    // The limit is the caller's: 5 x 4 = 20 pixels pass a limit of 20, not one of 19.
    const Bytes small = make_png(5, 4, 8, 0, Bytes(4 * 6, 0));
    check_decode_error([&] { (void)decode(small, {.max_pixels = 19}); }, "5x4 = 20 pixels, more than the limit of 19");
    CHECK(decode(small, {.max_pixels = 20}).pixels.size() == 20);
    TempDir dir;
    test::write_bytes(dir / "small.png", small);
    check_io_error([&] { (void)io::read_image(dir / "small.png", {.max_pixels = 10}); }, dir / "small.png",
                   {"more than the limit of 10 (ReadImageOptions::max_pixels)"});
  }

  TEST_CASE("regression: a JPEG whose DHT code counts sum past 256 is an error (stb 2.27 wrote out of bounds)") {
    // SOI, then a DHT segment (class 0, table 0) whose 16 counts are 17 each: 272 codes.
    Bytes jpeg = {0xff, 0xd8, 0xff, 0xc4, 0x00, 0x13, 0x00};
    jpeg.insert(jpeg.end(), 16, 0x11);
    check_decode_error([&] { (void)decode(jpeg); }, "Bogus Huffman table definition");
  }

  TEST_CASE("to_rgb replicates grey and drops alpha") {
    Image grey(2, 1, 1);
    grey.pixels = {10, 200};
    const Image rgb = io::to_rgb(grey);
    CHECK(rgb.channels == 3);
    CHECK(rgb.pixels == std::vector<std::uint8_t>{10, 10, 10, 200, 200, 200});
    Image rgba(1, 1, 4);
    rgba.pixels = {1, 2, 3, 4};
    CHECK(io::to_rgb(rgba).pixels == std::vector<std::uint8_t>{1, 2, 3});
  }

  TEST_CASE("bilinear resize with half-pixel centres matches hand-computed values") {
    Image im(2, 2, 1);
    im.pixels = {0, 100, 200, 40};
    // Output x samples input x (x + 0.5) / 2 - 0.5 = -0.25 (clamped to 0), 0.25, 0.75, 1.25 (clamped
    // to the last pixel); the same for y. E.g. (1, 1): 0.75*0.75*0 + 0.75*0.25*100 + 0.25*0.75*200
    // + 0.25*0.25*40 = 58.75 -> 59.
    const Image up = io::resize(im, 4, 4);
    CHECK(up.width == 4);
    CHECK(up.height == 4);
    CHECK(up.pixels == std::vector<std::uint8_t>{0, 25, 75, 100,    //
                                                 50, 59, 76, 85,    //
                                                 150, 126, 79, 55,  //
                                                 200, 160, 80, 40});
    // Halving samples the centre of each 2x2 block: its average.
    Image big(4, 2, 1);
    big.pixels = {0, 10, 100, 110, 20, 30, 120, 130};
    CHECK(io::resize(big, 1, 2).pixels == std::vector<std::uint8_t>{15, 115});
    // The same size is the identity; channels are resized independently.
    const Image rgb = pattern_image(5, 3, 3);
    CHECK(io::resize(rgb, 3, 5).pixels == rgb.pixels);
  }

  TEST_CASE("to_tensor and from_tensor round-trip; sizes must match") {
    const Image im = pattern_image(5, 4, 3);
    const auto t = io::to_tensor<Shape<3, 4, 5>>(im);
    for (index_t c = 0; c < 3; ++c)
      for (index_t y = 0; y < 4; ++y)
        for (index_t x = 0; x < 5; ++x)
          CHECK(t(c, y, x) ==
                static_cast<float>(im.at(static_cast<int>(y), static_cast<int>(x), static_cast<int>(c))) /
                    255.f);
    const Image back = io::from_tensor(t);
    CHECK(back.width == 5);
    CHECK(back.height == 4);
    CHECK(back.pixels == im.pixels);

    CHECK_THROWS_WITH_AS(
        (io::to_tensor<Shape<3, 5, 4>>(im)),
        "tsgan: to_tensor: the image is 5x4 with 3 channel(s) (W x H, C), the tensor [3, 5, 4] "
        "needs 4x5 with 3",
        Error);
    CHECK_THROWS_AS((io::to_tensor<Shape<1, 4, 5>>(im)), Error);

    // Clamped to [0, 1] and rounded to nearest; nan becomes 0.
    Tensor<float, Shape<1, 1, 6>> v;
    const float vals[6] = {-0.5f, 1.7f, std::nanf(""), 0.5f, 0.2f, 1.f};
    for (index_t i = 0; i < 6; ++i) v[i] = vals[i];
    CHECK(io::from_tensor(v).pixels == std::vector<std::uint8_t>{0, 255, 0, 128, 51, 255});
  }

  TEST_CASE("from_tensor takes one item of a batch, and a view of a tensor") {
    Tensor<float, Shape<2, 1, 2, 3>> batch;
    for (index_t i = 0; i < batch.size; ++i) batch[i] = level(i * 20);
    const Image second = io::from_tensor(batch, 1);
    CHECK(second.channels == 1);
    CHECK(second.width == 3);
    CHECK(second.height == 2);
    CHECK(second.pixels == std::vector<std::uint8_t>{120, 140, 160, 180, 200, 220});
    CHECK_THROWS_WITH_AS(io::from_tensor(batch, 2),
                         "tsgan: from_tensor: item 2 of a batch of 2 does not exist", Error);
    Tensor<float, Shape<3, 2, 2>> t;
    for (index_t i = 0; i < t.size; ++i) t[i] = level(i);
    const Image g = io::from_tensor(t.view_as<Shape<3, 2, 2>>());
    CHECK(g.at(1, 0, 2) == 10);  // channel 2, y 1, x 0: element 2*4 + 1*2 + 0
  }

  TEST_CASE("write_grid puts item n of column k at row n, column k, grey shown as grey") {
    TempDir dir;
    constexpr index_t N = 2, H = 4, W = 5;
    Tensor<float, Shape<N, 3, H, W>> rgb;
    Tensor<float, Shape<N, 1, H, W>> mask;
    for (index_t i = 0; i < rgb.size; ++i) rgb[i] = level(i * 7 + 3);
    for (index_t i = 0; i < mask.size; ++i) mask[i] = level(i * 13 + 1);
    const auto path = dir / "grid.png";
    io::write_grid(path, rgb, mask, rgb);
    const Image g = io::read_image(path);
    CHECK(g.channels == 3);
    CHECK(g.width == 3 * W + 2 * io::grid_gap);
    CHECK(g.height == N * H + io::grid_gap);
    for (int n = 0; n < N; ++n)
      for (int y = 0; y < H; ++y)
        for (int x = 0; x < W; ++x)
          for (int c = 0; c < 3; ++c) {
            const int gy = n * (H + io::grid_gap) + y;
            const auto want_rgb =
                static_cast<std::uint8_t>(((decltype(rgb)::shape::offset(n, c, y, x) * 7 + 3) % 256));
            const auto want_mask =
                static_cast<std::uint8_t>(((decltype(mask)::shape::offset(n, 0, y, x) * 13 + 1) % 256));
            REQUIRE(g.at(gy, x, c) == want_rgb);
            REQUIRE(g.at(gy, W + io::grid_gap + x, c) == want_mask);
            REQUIRE(g.at(gy, 2 * (W + io::grid_gap) + x, c) == want_rgb);
          }
    // The gaps between tiles are white.
    for (int y = 0; y < g.height; ++y)
      for (int c = 0; c < 3; ++c) CHECK(g.at(y, W, c) == 255);
    for (int x = 0; x < g.width; ++x) CHECK(g.at(H + 1, x, 0) == 255);
    CHECK(io::make_grid(rgb, mask, rgb).pixels == g.pixels);
  }

  TEST_CASE("an Image is 1, 3 or 4 channels, and functions check a hand-edited one") {
    CHECK_THROWS_WITH_AS(Image(2, 2, 2), "tsgan: an Image is at least 1x1 with 1, 3 or 4 channels, not 2x2x2",
                         Error);
    CHECK_THROWS_AS(Image(0, 2, 3), Error);
    Image im(2, 2, 3);
    im.pixels.pop_back();
    CHECK_THROWS_WITH_AS(io::to_rgb(im), doctest::Contains("tsgan: to_rgb: the image is 2x2x3 with 11 bytes"),
                         Error);
  }

  TEST_CASE("enlarge repeats every pixel factor x factor times") {
    Image im(2, 1, 1);
    im.at(0, 0, 0) = 10;
    im.at(0, 1, 0) = 200;
    const Image big = io::enlarge(im, 3);
    CHECK(big.width == 6);
    CHECK(big.height == 3);
    for (int y = 0; y < 3; ++y)
      for (int x = 0; x < 6; ++x) CHECK(big.at(y, x, 0) == (x < 3 ? 10 : 200));
    CHECK_THROWS_AS(io::enlarge(im, 0), IoError);
  }
}
