// Face alignment: the similarity fit against an independent least-squares solution (complex
// numbers), the reflection case, the warp's exact cases and a round trip, the five points, and
// the templates' key numbers worked out by hand from their definitions (the method's rule, and
// dlib's get_face_chip_details + extract_image_chip), and dlib's chip itself (a fixture made by
// dlib).
#include <doctest/doctest.h>

#include <cmath>
#include <complex>
#include <filesystem>
#include <fstream>
#include <numbers>
#include <random>
#include <string>
#include <vector>

#include "tsgan/align/face_template.hpp"
#include "tsgan/align/landmarks.hpp"
#include "tsgan/align/similarity.hpp"
#include "tsgan/align/warp.hpp"
#include "support.hpp"

using namespace tsgan;
using align::Point;
using align::Similarity;

namespace {

Similarity make(double scale, double angle, double tx, double ty) {
  return {scale * std::cos(angle), scale * std::sin(angle), tx, ty};
}

// The least-squares similarity by complex numbers: w = c z + t with c = sum (w - w̄) conj(z - z̄) /
// sum |z - z̄|^2, which is a rotation and scale by construction, so it needs no reflection fix.
Similarity complex_fit(const std::vector<Point>& from, const std::vector<Point>& to) {
  using C = std::complex<double>;
  C mz = 0, mw = 0;
  for (std::size_t i = 0; i < from.size(); ++i) {
    mz += C(from[i].x, from[i].y);
    mw += C(to[i].x, to[i].y);
  }
  mz /= double(from.size());
  mw /= double(from.size());
  C num = 0;
  double den = 0;
  for (std::size_t i = 0; i < from.size(); ++i) {
    const C z = C(from[i].x, from[i].y) - mz, w = C(to[i].x, to[i].y) - mw;
    num += w * std::conj(z);
    den += std::norm(z);
  }
  const C c = num / den, t = mw - c * mz;
  return {c.real(), c.imag(), t.real(), t.imag()};
}

double residual(const Similarity& s, const std::vector<Point>& from, const std::vector<Point>& to) {
  double r = 0;
  for (std::size_t i = 0; i < from.size(); ++i) {
    const Point p = s(from[i]);
    r += (p.x - to[i].x) * (p.x - to[i].x) + (p.y - to[i].y) * (p.y - to[i].y);
  }
  return r;
}

// A smooth RGB pattern (periods of 20 to 30 pixels), so that bilinear resampling barely changes it.
io::Image pattern(int w, int h) {
  io::Image im(w, h, 3);
  for (int y = 0; y < h; ++y)
    for (int x = 0; x < w; ++x)
      for (int c = 0; c < 3; ++c)
        im.at(y, x, c) = static_cast<std::uint8_t>(
            std::lround(127.5 + 100 * std::sin(0.25 * x + 0.1 * c) * std::cos(0.21 * y - 0.3 * c)));
  return im;
}

}  // namespace

TEST_SUITE("align") {

TEST_CASE("fit_similarity recovers known similarities exactly and matches the least-squares solution on noisy points") {
  std::mt19937 rng(7);
  std::uniform_real_distribution<double> u(-100, 100);
  for (const Similarity& truth : {make(1, 0, 0, 0), make(2.5, 0.4, 30, -12), make(0.37, -2.9, -250, 400),
                                  make(130, std::numbers::pi, 5, 5)}) {
    std::vector<Point> from(9), to(9);
    for (std::size_t i = 0; i < from.size(); ++i) {
      from[i] = {u(rng), u(rng)};
      to[i] = truth(from[i]);
    }
    const Similarity fit = align::fit_similarity(from, to);
    const double scale = std::max(1.0, truth.scale());
    CHECK(std::abs(fit.a - truth.a) <= 1e-6 * scale);
    CHECK(std::abs(fit.b - truth.b) <= 1e-6 * scale);
    CHECK(std::abs(fit.tx - truth.tx) <= 1e-6 * std::max(1.0, std::abs(truth.tx)) * scale);
    CHECK(std::abs(fit.ty - truth.ty) <= 1e-6 * std::max(1.0, std::abs(truth.ty)) * scale);
    // Noisy targets: the same optimum as the independent solution.
    std::normal_distribution<double> noise(0, 3);
    for (auto& p : to) p = {p.x + noise(rng), p.y + noise(rng)};
    const Similarity noisy = align::fit_similarity(from, to), reference = complex_fit(from, to);
    CHECK(std::abs(noisy.a - reference.a) <= 1e-9 * scale);
    CHECK(std::abs(noisy.b - reference.b) <= 1e-9 * scale);
    CHECK(std::abs(noisy.tx - reference.tx) <= 1e-7 * scale);
    CHECK(std::abs(noisy.ty - reference.ty) <= 1e-7 * scale);
  }
}

TEST_CASE("fit_similarity never returns a reflection: a mirrored set gets the best rotation") {
  // Without the fix, SVD would map these points onto their mirror image exactly (residual 0) by a
  // reflection; a similarity cannot, and the best one is the complex solution.
  const std::vector<Point> from{{0, 0}, {10, 0}, {10, 4}, {2, 7}, {-3, 5}};
  std::vector<Point> to;
  for (const Point& p : from) to.push_back({-2 * p.x + 50, 2 * p.y + 20});
  const Similarity fit = align::fit_similarity(from, to), reference = complex_fit(from, to);
  CHECK(std::abs(fit.a - reference.a) <= 1e-9);
  CHECK(std::abs(fit.b - reference.b) <= 1e-9);
  CHECK(std::abs(fit.tx - reference.tx) <= 1e-9);
  CHECK(std::abs(fit.ty - reference.ty) <= 1e-9);
  CHECK(residual(fit, from, to) > 100);  // it cannot reproduce the mirror
  CHECK(residual(fit, from, to) == doctest::Approx(residual(reference, from, to)).epsilon(1e-12));
}

TEST_CASE("fit_similarity's misuse and Similarity's algebra") {
  const std::vector<Point> two{{0, 0}, {1, 0}}, three{{0, 0}, {1, 0}, {0, 1}}, same{{3, 3}, {3, 3}};
  CHECK_THROWS_WITH_AS(align::fit_similarity(two, three), doctest::Contains("2 and 3 given"), Error);
  CHECK_THROWS_WITH_AS(align::fit_similarity(same, two), doctest::Contains("coincide"), Error);
  const Similarity s = make(1.7, 0.9, 4, -8), t = make(0.3, -2, 10, 1);
  const Point p{3.5, -7.25};
  const Point back = s.inverse()(s(p));
  CHECK(back.x == doctest::Approx(p.x).epsilon(1e-12));
  CHECK(back.y == doctest::Approx(p.y).epsilon(1e-12));
  const Point composed = s.after(t)(p), direct = s(t(p));
  CHECK(composed.x == doctest::Approx(direct.x).epsilon(1e-12));
  CHECK(composed.y == doctest::Approx(direct.y).epsilon(1e-12));
  CHECK(s.scale() == doctest::Approx(1.7));
  CHECK(s.angle() == doctest::Approx(0.9));
}

TEST_CASE("warp: the identity and whole-pixel shifts copy pixels, the border policies differ only outside") {
  const io::Image im = pattern(20, 16);
  CHECK(align::warp(im, {}, 20, 16).pixels == im.pixels);
  // Output (i, j) from input (i + 3, j - 2).
  const io::Image zero = align::warp(im, {1, 0, 3, -2}, 20, 16, align::Border::zero);
  const io::Image edge = align::warp(im, {1, 0, 3, -2}, 20, 16, align::Border::replicate);
  for (int y = 0; y < 16; ++y)
    for (int x = 0; x < 20; ++x)
      for (int c = 0; c < 3; ++c) {
        const bool inside = x + 3 < 20 && y - 2 >= 0;
        INFO("x ", x, " y ", y);
        CHECK(zero.at(y, x, c) == (inside ? im.at(y - 2, x + 3, c) : 0));
        CHECK(edge.at(y, x, c) == im.at(std::max(0, y - 2), std::min(19, x + 3), c));
      }
  // Half a pixel to the right: the mean of two neighbours, rounded.
  const io::Image half = align::warp(im, {1, 0, 0.5, 0}, 19, 16);
  CHECK(half.at(5, 7, 1) == std::lround((im.at(5, 7, 1) + im.at(5, 8, 1)) / 2.0 + 1e-9));
  // A 2x enlargement about the origin: output centre (i + 0.5) samples input (i + 0.5) / 2.
  const io::Image big = align::warp(im, {0.5, 0, 0, 0}, 40, 32);
  // Output (13, 9) samples (6.75, 4.75), i.e. pixel index (6.25, 4.25).
  CHECK(big.at(9, 13, 0) == std::lround(0.75 * 0.75 * im.at(4, 6, 0) + 0.25 * 0.75 * im.at(4, 7, 0) +
                                        0.75 * 0.25 * im.at(5, 6, 0) + 0.25 * 0.25 * im.at(5, 7, 0)));
}

TEST_CASE("warp: a pattern rotated, scaled and shifted, then warped back, comes back") {
  const io::Image im = pattern(96, 80);
  const Similarity t = make(0.8, 0.35, 20, -6);  // output -> input
  const io::Image there = align::warp(im, t, 150, 150, align::Border::zero);
  const io::Image back = align::warp(there, t.inverse(), 96, 80, align::Border::zero);
  // Compare where both warps sampled inside their images (a margin of 2 pixels).
  int compared = 0, worst = 0;
  for (int y = 0; y < 80; ++y)
    for (int x = 0; x < 96; ++x) {
      const Point q = t.inverse()({x + 0.5, y + 0.5});
      if (x < 2 || y < 2 || x > 93 || y > 77 || q.x < 2 || q.y < 2 || q.x > 148 || q.y > 148) continue;
      ++compared;
      for (int c = 0; c < 3; ++c) worst = std::max(worst, std::abs(int(back.at(y, x, c)) - int(im.at(y, x, c))));
    }
  CHECK(compared > 5000);
  CHECK(worst <= 6);
}

TEST_CASE("warp: shrinking 4x averages blocks instead of skipping pixels") {
  // A one-pixel checkerboard: bilinear sampling alone would read whole black or white pixels.
  io::Image board(64, 64, 1);
  for (int y = 0; y < 64; ++y)
    for (int x = 0; x < 64; ++x) board.at(y, x, 0) = (x + y) % 2 ? 255 : 0;
  const io::Image small = align::warp(board, make(4, 0, 0, 0), 16, 16);
  for (int y = 0; y < 16; ++y)
    for (int x = 0; x < 16; ++x) CHECK(small.at(y, x, 0) == 128);  // (8 · 255 + 8) / 16, rounded half up
  // 2x of a smooth pattern: 2 x 2 block means, then the identity.
  const io::Image im = pattern(40, 40);
  const io::Image half = align::warp(im, make(2, 0, 0, 0), 20, 20);
  CHECK(half.at(7, 3, 2) == (im.at(14, 6, 2) + im.at(14, 7, 2) + im.at(15, 6, 2) + im.at(15, 7, 2) + 2) / 4);
}

TEST_CASE("five points: eye centres are the means of 36-41 and 42-47, nose tip 30, corners 48 and 54") {
  align::Landmarks68 shape;
  for (std::size_t i = 0; i < 68; ++i) shape[i] = {double(i), 1000.0 - double(i * i)};
  const auto five = align::five_points(shape);
  CHECK(five[0].x == doctest::Approx(38.5));
  CHECK(five[0].y == doctest::Approx(1000 - (36 * 36 + 37 * 37 + 38 * 38 + 39 * 39 + 40 * 40 + 41 * 41) / 6.0));
  CHECK(five[1].x == doctest::Approx(44.5));
  CHECK(five[2] == shape[30]);
  CHECK(five[3] == shape[48]);
  CHECK(five[4] == shape[54]);
}

TEST_CASE("tsgan template: eyes level at y = 40, eye centre to mouth centre 48 at 128, halved at 64") {
  // A face with a tilted eye line and the mouth off the eyes' perpendicular.
  align::Landmarks68 shape;
  shape.fill({0, 0});
  for (std::size_t i = 36; i < 42; ++i) shape[i] = {200 + double(i % 3), 300 + double(i % 2)};   // left eye (201, 300.5)
  for (std::size_t i = 42; i < 48; ++i) shape[i] = {280 + double(i % 3), 320 + double(i % 2)};   // right eye (281, 320.5)
  shape[30] = {245, 350};
  shape[48] = {215, 390};
  shape[54] = {265, 405};
  const auto five = align::five_points(shape);
  const Point eye{(five[0].x + five[1].x) / 2, (five[0].y + five[1].y) / 2};
  const Point mouth{(five[3].x + five[4].x) / 2, (five[3].y + five[4].y) / 2};
  for (int size : {128, 64}) {
    const double s = size / 128.0;
    const Similarity to_crop = align::crop_to_image(align::FaceTemplate::tsgan(size), shape).inverse();
    const Point l = to_crop(five[0]), r = to_crop(five[1]), e = to_crop(eye), m = to_crop(mouth);
    CAPTURE(size);
    CHECK(l.y == doctest::Approx(r.y));
    CHECK(l.x < r.x);
    CHECK(e.x == doctest::Approx(64 * s));
    CHECK(e.y == doctest::Approx(40 * s));
    CHECK(std::hypot(m.x - e.x, m.y - e.y) == doctest::Approx(48 * s));
  }
  // The method's mean landmarks are a face aligned by this rule, up to a one-pixel offset in x and
  // y (1-based numbering): eyes level with their centre at (65, 41), the mouth centre 47.985 away.
  const double mx[5] = {43.58, 86.42, 64.12, 47.59, 82.59}, my[5] = {41.00, 41.00, 64.75, 88.86, 89.11};
  align::Landmarks68 mean;
  mean.fill({0, 0});
  for (std::size_t i = 36; i < 42; ++i) mean[i] = {mx[0], my[0]};
  for (std::size_t i = 42; i < 48; ++i) mean[i] = {mx[1], my[1]};
  mean[30] = {mx[2], my[2]};
  mean[48] = {mx[3], my[3]};
  mean[54] = {mx[4], my[4]};
  const Similarity m = align::crop_to_image(align::FaceTemplate::tsgan(), mean);
  CHECK(m.scale() == doctest::Approx(47.985 / 48).epsilon(1e-5));
  CHECK(m.angle() == doctest::Approx(0));
  CHECK(m({64, 40}).x == doctest::Approx(65));
  CHECK(m({64, 40}).y == doctest::Approx(41));
  const align::Landmarks68 none{};
  CHECK_THROWS_WITH_AS(align::crop_to_image(align::FaceTemplate::tsgan(), none), doctest::Contains("distinct eye centres"), Error);
}

TEST_CASE("dlib template: the chip of get_face_chip_details(shape, 150, 0.25) and extract_image_chip, by hand") {
  // dlib's mean face, scaled by s0 and rotated by θ0 about the origin, then shifted, in dlib's
  // integer-centred numbering; tsgan's coordinates are half a pixel more. The fit is then exact:
  // tform(r) = s0 R0 (1.5 r / 150 - 0.25) + t0, scale s0 / 100, and dlib's extraction rectangle
  // is centred at tform(75, 75) = s0 R0 (0.5, 0.5) + t0 with pixel spacing k = (150 s0/100 - 1) / 149.
  for (auto [s0, theta] : {std::pair{100.0, 0.0}, std::pair{120.0, 0.3}, std::pair{80.0, -0.7}}) {
    const Point t0{40, 25};
    const Similarity place = make(s0, theta, t0.x + 0.5, t0.y + 0.5);
    align::Landmarks68 shape = align::dlib_mean_face();
    for (auto& p : shape) p = place(p);
    const Similarity chip_to_image = align::crop_to_image(align::FaceTemplate::dlib(150), shape);
    const double c = std::cos(theta), s = std::sin(theta);
    const Point centre{s0 * (0.5 * c - 0.5 * s) + t0.x, s0 * (0.5 * s + 0.5 * c) + t0.y};
    const double k = (1.5 * s0 - 1) / 149;
    CAPTURE(s0);
    // Chip pixel (column i, row j) takes image pixel centre + k R0 ((i, j) - 74.5), dlib-numbered.
    for (auto [i, j] : {std::pair{0, 0}, std::pair{149, 0}, std::pair{149, 149}, std::pair{30, 111}}) {
      const Point got = chip_to_image({i + 0.5, j + 0.5});
      const double di = i - 74.5, dj = j - 74.5;
      CHECK(got.x - 0.5 == doctest::Approx(centre.x + k * (c * di - s * dj)).epsilon(1e-9));
      CHECK(got.y - 0.5 == doctest::Approx(centre.y + k * (s * di + c * dj)).epsilon(1e-9));
    }
  }
  // At s0 = 100 the stretch vanishes, and the 33 fitted points land on dlib's padded template
  // (0.25 + m) / 1.5 · 150 read in continuous coordinates: dlib's rectangle is centred on the fit's
  // image of (75, 75) with pixel centres 74.5 either side, so its pixel i sits where the fit puts
  // i + 0.5.
  const Similarity place = make(100, 0, 40.5, 25.5);
  align::Landmarks68 shape = align::dlib_mean_face();
  for (auto& p : shape) p = place(p);
  const Similarity to_chip = align::crop_to_image(align::FaceTemplate::dlib(), shape).inverse();
  int fitted = 0;
  for (std::size_t i = 0; i < 68; ++i) {
    if (!align::dlib_chip_point(i)) continue;
    ++fitted;
    const Point q = to_chip(shape[i]), m = align::dlib_mean_face()[i];
    CHECK(q.x == doctest::Approx((0.25 + m.x) / 1.5 * 150).epsilon(1e-9));
    CHECK(q.y == doctest::Approx((0.25 + m.y) / 1.5 * 150).epsilon(1e-9));
  }
  CHECK(fitted == 33);
}

TEST_CASE("dlib template: the chip matches dlib's own extract_image_chip to its rounding") {
  // tests/fixtures/dlib_chip (make.sh): dlib 19.24's get_face_chip_details(shape, 150, 0.25) and
  // extract_image_chip of this file's pattern at 330 x 310, for a shape given in dlib's integer
  // pixel numbering. dlib truncates the bilinear value to 8 bits where align::warp rounds it, so
  // every channel of every pixel is dlib's or one more; a half-pixel or scale slip in the fit, the
  // extraction rectangle or the pixel-centre convention moves this pattern by several levels.
  const auto dir = std::filesystem::path(tsgan::test::source_dir) / "tests/fixtures/dlib_chip";
  std::ifstream in(dir / "landmarks.txt");
  REQUIRE(in.good());
  align::Landmarks68 shape;
  for (auto& p : shape) {
    long x = 0, y = 0;
    in >> x >> y;
    REQUIRE(in.good());
    p = {x + 0.5, y + 0.5};
  }
  const io::Image reference = io::read_image(dir / "chip.ppm");
  REQUIRE(reference.width == 150);
  REQUIRE(reference.height == 150);
  const io::Image chip =
      align::warp(pattern(330, 310), align::crop_to_image(align::FaceTemplate::dlib(), shape), 150, 150, align::Border::zero);
  int above = 0, bad = 0;
  for (std::size_t i = 0; i < chip.pixels.size(); ++i) {
    const int d = int(chip.pixels[i]) - int(reference.pixels[i]);
    above += d == 1;
    bad += d != 0 && d != 1;
  }
  CHECK(bad == 0);
  // Rounding rather than truncating lifts about half of the values.
  const int values = int(chip.pixels.size());
  CHECK(above > values / 3);
  CHECK(above < 2 * values / 3);
}

TEST_CASE("fallback: the mean face in the centred square, its square's centre at the chip's centre") {
  const align::Square sq = align::fallback_square(250, 250);
  CHECK(sq.side == doctest::Approx(126));
  CHECK(sq.x == doctest::Approx(62));
  const align::Square wide = align::fallback_square(400, 200);
  CHECK(wide.side == doctest::Approx(100.8));
  CHECK(wide.x == doctest::Approx(149.6));
  CHECK(wide.y == doctest::Approx(49.6));
  // dlib: the chip's centre is the square's centre and the unit square spans 100 of 150 pixels
  // (126 · 149 / (1.5 · 126 - 1) image pixels per chip pixel after dlib's stretch).
  const Similarity t = align::fallback_crop_to_image(align::FaceTemplate::dlib(), 250, 250);
  const Point centre = t({75, 75});
  CHECK(centre.x == doctest::Approx(125));
  CHECK(centre.y == doctest::Approx(125));
  CHECK(t.scale() == doctest::Approx((1.5 * 126 - 1) / 149));
  CHECK(std::abs(t.angle()) < 1e-12);
  // tsgan: the mean face's eyes level at y = 40 (dlib's mean face is symmetric).
  const Similarity u = align::fallback_crop_to_image(align::FaceTemplate::tsgan(), 250, 250);
  const auto five = align::five_points(align::dlib_mean_face(sq.x, sq.y, sq.side));
  const Point l = u.inverse()(five[0]), r = u.inverse()(five[1]);
  CHECK(l.y == doctest::Approx(40));
  CHECK((l.x + r.x) / 2 == doctest::Approx(64));
  CHECK_THROWS_WITH_AS(align::fallback_square(0, 5), doctest::Contains("0x5"), Error);
}

}  // TEST_SUITE
