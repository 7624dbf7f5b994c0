// What the libFuzzer harnesses share: the input as bytes or text, a scratch folder of this process
// for the loaders that read files, and the rule that only tsgan::Error may escape a loader. Any
// other exception (std::bad_alloc, a JSON library's own) ends the run as a crash, as do sanitizer
// reports and signals.
#pragma once

#include <unistd.h>

#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <span>
#include <string>
#include <string_view>

#include "tsgan/core/error.hpp"

namespace tsgan::fuzz {

inline std::span<const std::byte> bytes_of(const std::uint8_t* data, std::size_t size) {
  return {reinterpret_cast<const std::byte*>(data), size};
}
inline std::string_view text_of(const std::uint8_t* data, std::size_t size) {
  return {reinterpret_cast<const char*>(data), size};
}

// A folder of this process under the temporary directory (prefer a RAM disk: TMPDIR=/dev/shm),
// removed at exit.
inline const std::filesystem::path& scratch() {
  static const std::filesystem::path dir = [] {
    const auto d = std::filesystem::temp_directory_path() / ("tsgan-fuzz-" + std::to_string(::getpid()));
    std::filesystem::create_directories(d);
    std::atexit([] { std::filesystem::remove_all(scratch()); });
    return d;
  }();
  return dir;
}

inline std::filesystem::path write_scratch(const std::string& name, std::span<const std::byte> bytes) {
  const auto path = scratch() / name;
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out.write(reinterpret_cast<const char*>(bytes.data()), static_cast<std::streamsize>(bytes.size()));
  if (!out) std::abort();  // the harness itself is broken, not the loader
  return path;
}

// Runs a loader on one input: tsgan::Error is the expected way to refuse it.
template <class F>
void expect_only_tsgan_errors(F&& load) {
  try {
    load();
  } catch (const Error&) {
  }
}

}  // namespace tsgan::fuzz
