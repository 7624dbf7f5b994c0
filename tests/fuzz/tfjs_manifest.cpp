// libFuzzer: a TF.js weights manifest (io/tfjs_weights.hpp) from arbitrary bytes, beside two .bin
// files of 64 and 16 bytes (a.bin, b.bin) and a folder (dir) it may name; every tensor it accepts
// is dequantised.
#include <cstdint>
#include <filesystem>
#include <vector>

#include "fuzz_support.hpp"
#include "tsgan/io/tfjs_weights.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  static const bool ready = [] {
    std::vector<std::byte> a(64), b(16);
    for (std::size_t i = 0; i < a.size(); ++i) a[i] = static_cast<std::byte>(i * 7);
    for (std::size_t i = 0; i < b.size(); ++i) b[i] = static_cast<std::byte>(255 - i);
    tsgan::fuzz::write_scratch("a.bin", a);
    tsgan::fuzz::write_scratch("b.bin", b);
    std::filesystem::create_directories(tsgan::fuzz::scratch() / "dir");
    return true;
  }();
  (void)ready;
  const auto manifest = tsgan::fuzz::write_scratch("m-weights_manifest.json", tsgan::fuzz::bytes_of(data, size));
  tsgan::fuzz::expect_only_tsgan_errors([&] {
    const tsgan::io::tfjs::WeightsFile w(manifest);
    for (const std::string& name : w.names()) (void)w.values(name);
  });
  return 0;
}
