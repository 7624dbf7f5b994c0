// libFuzzer: io::decode_image (libpng, libjpeg-turbo, tsgan's PNM parser) on arbitrary bytes, with
// a pixel limit of 2^22 so that a header announcing a large image costs no more than the
// sanitizers' memory limit allows; the to_rgb and resize that the face pipeline applies next run on
// what decodes.
#include <cstdint>

#include "fuzz_support.hpp"
#include "tsgan/io/image.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  tsgan::fuzz::expect_only_tsgan_errors([&] {
    const tsgan::io::Image im =
        tsgan::io::decode_image(tsgan::fuzz::bytes_of(data, size), "fuzz", {.max_pixels = std::uint64_t{1} << 22});
    (void)tsgan::io::resize(tsgan::io::to_rgb(im), 8, 8);
  });
  return 0;
}
