// libFuzzer: Multi-PIE crop names (data/multipie.hpp): every line of the input as a name, then the
// Setting 2 split of all of them (names only; nothing is read).
#include <cstdint>
#include <filesystem>
#include <string_view>
#include <vector>

#include "fuzz_support.hpp"
#include "tsgan/data/multipie.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  namespace mp = tsgan::data::multipie;
  std::string_view text = tsgan::fuzz::text_of(data, size);
  std::vector<std::filesystem::path> files;
  while (!text.empty()) {
    const std::size_t end = std::min(text.find('\n'), text.size());
    const std::string_view line = text.substr(0, end);
    text.remove_prefix(std::min(end + 1, text.size()));
    tsgan::fuzz::expect_only_tsgan_errors([&] { (void)mp::parse_crop_name(line).stem(); });
    files.emplace_back(std::filesystem::path("crops") / line);
  }
  tsgan::fuzz::expect_only_tsgan_errors([&] { (void)mp::Setting2(std::move(files)); });
  return 0;
}
