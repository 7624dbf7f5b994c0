// libFuzzer: a face folder's index.csv (data/faces.hpp, FaceIndex::read) from arbitrary bytes,
// and the frontal pairing over what it reads.
#include <cstdint>
#include <string>
#include <vector>

#include "fuzz_support.hpp"
#include "tsgan/data/faces.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  tsgan::fuzz::write_scratch("index.csv", tsgan::fuzz::bytes_of(data, size));
  tsgan::fuzz::expect_only_tsgan_errors([&] {
    const auto index = tsgan::data::FaceIndex::read(tsgan::fuzz::scratch());
    std::vector<std::string> warnings;
    (void)index.pairs(warnings);
  });
  return 0;
}
