// Helpers shared by the tests: random inputs, closeness checks with readable failures, temporary
// directories and checks of the errors about files.
#pragma once

#include <doctest/doctest.h>
#include <fmt/format.h>

#include <cmath>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <initializer_list>
#include <iterator>
#include <set>
#include <stdexcept>
#include <string>
#include <vector>

#include "tsgan/tsgan.hpp"

namespace tsgan::test {

template <class T, ShapeType S>
Tensor<T, S> random_tensor(std::uint64_t seed, T lo = T(-1), T hi = T(1)) {
  random::Generator gen(seed);
  return Tensor<T, S>(random::uniform<S, T>(gen, lo, hi));
}

inline bool close(double got, double want, double rtol, double atol) {
  if (std::isnan(want)) return std::isnan(got);
  if (std::isinf(want)) return got == want;
  return std::abs(got - want) <= atol + rtol * std::abs(want);
}

// Checks every element of `got` against want(i); reports the first mismatch with its index.
template <class X, class F>
void check_all(const X& got, F&& want, double rtol, double atol, const std::string& what = "") {
  for (index_t i = 0; i < X::size; ++i) {
    const double g = static_cast<double>(got.data()[i]);
    const double w = static_cast<double>(want(i));
    if (!close(g, w, rtol, atol)) {
      FAIL(fmt::format("{} element {}: got {:.9g}, want {:.9g}", what, i, g, w));
      return;
    }
  }
}

// The shared data folder (../shared/data beside the checkout, or $TSGAN_SHARED_DATA).
inline std::filesystem::path shared_data() {
  if (const char* env = std::getenv("TSGAN_SHARED_DATA")) return env;
  return std::filesystem::path(TSGAN_SOURCE_DIR) / ".." / "shared" / "data";
}

// A new, empty directory under the system's temporary directory, removed with its contents.
class TempDir {
 public:
  TempDir() {
    std::string name = (std::filesystem::temp_directory_path() / "tsgan-test-XXXXXX").string();
    if (!::mkdtemp(name.data())) throw std::runtime_error("cannot create a temporary directory");
    path_ = name;
  }
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
  ~TempDir() {
    std::error_code ec;
    std::filesystem::remove_all(path_, ec);
  }
  const std::filesystem::path& path() const { return path_; }
  std::filesystem::path operator/(const std::string& name) const { return path_ / name; }

  // The names directly inside the directory.
  std::set<std::string> entries() const {
    std::set<std::string> out;
    for (const auto& e : std::filesystem::directory_iterator(path_)) out.insert(e.path().filename().string());
    return out;
  }

 private:
  std::filesystem::path path_;
};

// Writes bytes as they are (no atomic rename: tests use this to make broken files).
template <class Byte>
void write_bytes(const std::filesystem::path& path, const std::vector<Byte>& bytes) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out.write(reinterpret_cast<const char*>(bytes.data()), static_cast<std::streamsize>(bytes.size()));
  if (!out) throw std::runtime_error("cannot write " + path.string());
}

inline std::vector<unsigned char> read_bytes(const std::filesystem::path& path) {
  std::ifstream in(path, std::ios::binary);
  return std::vector<unsigned char>(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
}

// Runs f, which must throw an IoError whose message starts with `path` and contains every one of
// `parts`; reports the message otherwise.
template <class F>
void check_io_error(F&& f, const std::filesystem::path& path, std::initializer_list<std::string> parts) {
  try {
    f();
  } catch (const IoError& e) {
    const std::string msg = e.what();
    INFO("message: ", msg);
    CHECK(msg.starts_with(path.string() + ": "));
    for (const std::string& p : parts) CHECK_MESSAGE(msg.find(p) != std::string::npos, "missing: ", p);
    return;
  } catch (const std::exception& e) {
    FAIL("expected an IoError, got another exception: ", e.what());
    return;
  }
  FAIL("expected an IoError naming ", path.string(), ", nothing was thrown");
}

}  // namespace tsgan::test
