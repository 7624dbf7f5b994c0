// DlibReader: reads what dlib's serialize.h writes (dlib 19.24), for the dlib models tsgan loads
// itself: the shape predictor (models/shape_predictor.hpp) and the frontal face detector
// (models/hog_face_detector.hpp). Learnt from dlib's serialize.h and matrix serialization; no code
// copied.
//
// The stream: an integer is a control byte (low nibble: the byte count 1-8; bit 7: negative, for
// signed types) and that many little-endian bytes; a float or a double is an int64 mantissa and an
// int16 exponent, value mantissa · 2^exponent (exponent 32000 and above: infinities and NaN, which
// no model holds); a std::vector or dlib::array is its size then its elements; a column matrix is
// its rows and columns (negated in dlib's newer format) then its elements.
//
// Every error names the file, the byte offset and what was being read; the caller says in `kind`
// what the file should be ("ShapePredictor", "a dlib shape predictor").
#pragma once

#include <cmath>
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <string>
#include <utility>
#include <vector>

#include "tsgan/core/error.hpp"

namespace tsgan::io {

class DlibReader {
 public:
  // `reader` names the tsgan class in messages, `expected` what the file should be, `hint` where
  // the file comes from (said when it is not there).
  DlibReader(const std::filesystem::path& path, std::string reader, std::string expected, const std::string& hint)
      : file_(path.string()), reader_(std::move(reader)), expected_(std::move(expected)) {
    std::error_code ec;
    if (!std::filesystem::is_regular_file(path, ec)) fail("tsgan: {}: '{}' is not a file ({})", reader_, file_, hint);
    std::ifstream in(path, std::ios::binary);
    if (!in) fail("tsgan: {}: cannot open '{}'", reader_, file_);
    bytes_.resize(std::filesystem::file_size(path));
    in.read(reinterpret_cast<char*>(bytes_.data()), static_cast<std::streamsize>(bytes_.size()));
    if (!in) fail("tsgan: {}: cannot read '{}'", reader_, file_);
  }

  std::uint64_t unsigned_int(const char* what) {
    const std::uint8_t control = byte(what);
    const int size = control & 0x8F;
    if (size == 0 || size > 8) bad(what, fmt::format("an unsigned integer with control byte {:#04x}", control));
    return magnitude(size, what);
  }
  std::int64_t signed_int(const char* what) {
    const std::uint8_t control = byte(what);
    const int size = control & 0x0F;
    if (size == 0 || size > 8) bad(what, fmt::format("a signed integer with control byte {:#04x}", control));
    const std::uint64_t m = magnitude(size, what);
    if (m > std::uint64_t(INT64_MAX)) bad(what, "a signed integer out of range");
    return (control & 0x80) != 0 ? -std::int64_t(m) : std::int64_t(m);
  }
  // A float or double as written; `real` rounds it to float, as dlib's float members hold it.
  double real64(const char* what) {
    if ((peek(what) & 0x70) != 0) bad(what, "a float in dlib's old text format, which tsgan does not read");
    const std::int64_t mantissa = signed_int(what);
    const std::int64_t exponent = signed_int(what);
    if (exponent >= 32000) bad(what, "an infinite or NaN float");
    return std::ldexp(static_cast<double>(mantissa), static_cast<int>(exponent));
  }
  float real(const char* what) {
    if ((peek(what) & 0x70) != 0) bad(what, "a float in dlib's old text format, which tsgan does not read");
    const std::int64_t mantissa = signed_int(what);
    const std::int64_t exponent = signed_int(what);
    if (exponent >= 32000) bad(what, "an infinite or NaN float");
    return std::ldexp(static_cast<float>(mantissa), static_cast<int>(exponent));
  }
  std::size_t count(const char* what, std::uint64_t limit) {
    const std::uint64_t n = unsigned_int(what);
    if (n > limit) bad(what, fmt::format("a count of {} (at most {} expected)", n, limit));
    return static_cast<std::size_t>(n);
  }
  std::vector<float> column(const char* what) {
    const std::size_t rows = column_rows(what);
    std::vector<float> v(rows);
    for (float& x : v) x = real(what);
    return v;
  }
  std::vector<double> column64(const char* what) {
    const std::size_t rows = column_rows(what);
    std::vector<double> v(rows);
    for (double& x : v) x = real64(what);
    return v;
  }
  std::size_t offset() const { return pos_; }
  std::size_t size() const { return bytes_.size(); }
  const std::string& file() const { return file_; }
  [[noreturn]] void bad(const char* what, const std::string& found) const {
    fail("tsgan: {}: '{}' is not {}: at byte {}, reading {}, found {}", reader_, file_, expected_, pos_, what, found);
  }

 private:
  std::size_t column_rows(const char* what) {
    const std::int64_t rows = std::abs(signed_int(what)), cols = std::abs(signed_int(what));
    if (cols != 1 || rows > (1 << 20)) bad(what, fmt::format("a {}x{} matrix where a column was expected", rows, cols));
    return static_cast<std::size_t>(rows);
  }
  std::uint8_t peek(const char* what) {
    if (pos_ >= bytes_.size())
      fail("tsgan: {}: '{}' ends early: {} bytes, and {} is still to come (a truncated download?)", reader_, file_,
           bytes_.size(), what);
    return bytes_[pos_];
  }
  std::uint8_t byte(const char* what) {
    const std::uint8_t b = peek(what);
    ++pos_;
    return b;
  }
  std::uint64_t magnitude(int size, const char* what) {
    std::uint64_t m = 0;
    for (int i = 0; i < size; ++i) m |= std::uint64_t(byte(what)) << (8 * i);
    return m;
  }

  std::string file_, reader_, expected_;
  std::vector<std::uint8_t> bytes_;
  std::size_t pos_ = 0;
};

}  // namespace tsgan::io
