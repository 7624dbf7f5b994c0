// libFuzzer: LFW's pairs.txt (data/lfw.hpp, parse_pairs) from arbitrary text, then the selection
// of the first folds and pairs and the image paths of what it selects.
#include <cstdint>

#include "fuzz_support.hpp"
#include "tsgan/data/lfw.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  namespace lfw = tsgan::data::lfw;
  tsgan::fuzz::expect_only_tsgan_errors([&] {
    const lfw::PairsFile file = lfw::parse_pairs(tsgan::fuzz::text_of(data, size), "fuzz/pairs.txt");
    for (const lfw::Pair& p : lfw::select(file, 2, 3)) (void)lfw::image_path("root", p.first_name, p.first_number);
  });
  return 0;
}
