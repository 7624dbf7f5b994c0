// Helpers shared by the tests: random inputs and closeness checks with readable failures.
#pragma once

#include <doctest/doctest.h>
#include <fmt/format.h>

#include <cmath>
#include <cstdlib>
#include <filesystem>
#include <string>

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

}  // namespace tsgan::test
