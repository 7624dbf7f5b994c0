// libFuzzer: tsgan-align's landmarks.jsonl (data/landmarks_file.hpp, read_landmarks_file) from
// arbitrary bytes written to a scratch file.
#include <cstdint>

#include "fuzz_support.hpp"
#include "tsgan/data/landmarks_file.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const auto path = tsgan::fuzz::write_scratch("landmarks.jsonl", tsgan::fuzz::bytes_of(data, size));
  tsgan::fuzz::expect_only_tsgan_errors([&] {
    for (const tsgan::data::LandmarksEntry& e : tsgan::data::read_landmarks_file(path))
      (void)tsgan::data::write_landmarks_line(e);
  });
  return 0;
}
