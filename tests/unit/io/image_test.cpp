#include "tsgan/io/image.hpp"

#include <doctest/doctest.h>

#include <cctype>
#include <cmath>
#include <cstdint>
#include <filesystem>
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

    // Half of a JPEG (made from the PNG's pixels would need an encoder; use the shared face if present).
    const auto face =
        test::shared_data() / "faces/lfw-deepfunneled-view2/images/Aaron_Eckhart/Aaron_Eckhart_0001.jpg";
    if (std::filesystem::exists(face)) {
      const std::vector<unsigned char> jpg = test::read_bytes(face);
      const auto half_jpg = dir / "half.jpg";
      test::write_bytes(
          half_jpg,
          std::vector<unsigned char>(jpg.begin(), jpg.begin() + static_cast<std::ptrdiff_t>(jpg.size() / 2)));
      check_io_error([&] { (void)io::read_image(half_jpg); }, half_jpg, {"cannot decode the image: "});
    }

    const auto noise = dir / "noise.png";
    std::vector<unsigned char> junk(300);
    for (std::size_t i = 0; i < junk.size(); ++i) junk[i] = static_cast<unsigned char>((i * 131 + 7) % 251);
    test::write_bytes(noise, junk);
    check_io_error([&] { (void)io::read_image(noise); }, noise,
                   {"cannot decode the image: unknown image type"});

    const auto empty = dir / "empty.png";
    test::write_bytes(empty, std::vector<unsigned char>{});
    check_io_error([&] { (void)io::read_image(empty); }, empty, {"the file is empty"});

    check_io_error([&] { (void)io::read_image(dir / "absent.png"); }, dir / "absent.png",
                   {"cannot open", "No such file"});
    check_io_error([&] { (void)io::read_image(dir.path()); }, dir.path(), {"cannot read", "Is a directory"});
    check_io_error([&] { io::write_png(dir / "no" / "x.png", pattern_image(2, 2, 1)); }, dir / "no" / "x.png",
                   {"cannot create a temporary file"});
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
