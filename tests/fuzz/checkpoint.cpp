// libFuzzer: the TSGAN checkpoint loader (models/checkpoint.hpp) into a TSGAN<config::Tiny>, on
// arbitrary bytes written to a scratch file: it loads everything or throws tsgan::Error.
#include <cstdint>

#include "fuzz_support.hpp"
#include "tsgan/models/tsgan.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  static tsgan::TSGAN<tsgan::config::Tiny> model(1);
  const auto path = tsgan::fuzz::write_scratch("checkpoint.safetensors", tsgan::fuzz::bytes_of(data, size));
  tsgan::fuzz::expect_only_tsgan_errors([&] { model.load(path); });
  return 0;
}
