// libFuzzer: io::safetensors::Reader on arbitrary bytes, then every accessor on what it accepts
// (a Reader that exists is consistent: every tensor's bytes lie inside the file) and a load plan
// that expects one F32 [2, 3] tensor "w".
#include <cstdint>
#include <vector>

#include "fuzz_support.hpp"
#include "tsgan/io/safetensors.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  namespace st = tsgan::io::safetensors;
  const auto in = tsgan::fuzz::bytes_of(data, size);
  tsgan::fuzz::expect_only_tsgan_errors([&] {
    const st::Reader r("fuzz.safetensors", std::vector<std::byte>(in.begin(), in.end()));
    std::uint64_t sum = 0;
    for (const std::string& name : r.names()) {
      const auto b = r.bytes(name);
      if (!b.empty()) sum += static_cast<std::uint64_t>(b.front()) + static_cast<std::uint64_t>(b.back());
      sum += static_cast<std::uint64_t>(r.info(name).numel());
    }
    (void)r.metadata("tsgan.format");
    const st::Expectation w{"w", st::Dtype::F32, {2, 3}};
    (void)st::mismatches(r, std::span(&w, 1), st::Unexpected::ignore);
    tsgan::Tensor<float, tsgan::Shape<2, 3>> t;
    if (r.contains("w")) t = r.read<float, tsgan::Shape<2, 3>>("w");
    return sum;
  });
  return 0;
}
