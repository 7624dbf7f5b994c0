// tsgan-make-occlusions: writes occlusion masks for fixed test sets.
//
//   tsgan-make-occlusions --size S --type TYPE|all --seed S --count N --out DIR [--overwrite]
//
// Writes DIR/TYPE/NNNNNN.png for NNNNNN = 000000 … N−1: grey S × S PNGs, 255 where the face is
// occluded. Mask i of a type comes from a generator seeded with data::item_seed(seed, "i"), so the
// same command always writes the same files, and one mask does not depend on how many are made.
// TYPE is left_eye, right_eye, both_eyes, nose, mouth, random_block, irregular, or all (one folder
// each). Prints one line per type: the folder, the count and the mean occluded fraction. Masks
// that exist (a type's 000000.png) are replaced only with --overwrite.
#include <CLI/CLI.hpp>
#include <fmt/core.h>

#include <filesystem>
#include <string>
#include <vector>

#include "tsgan/cli/program.hpp"
#include "tsgan/data/occlusion.hpp"
#include "tsgan/io/image.hpp"

namespace fs = std::filesystem;

int main(int argc, char** argv) {
  CLI::App app{"Write seeded occlusion masks (255 = occluded) for fixed test sets"};
  int size = 128, count = 0;
  std::string type;
  std::uint64_t seed = 0;
  fs::path out;
  bool overwrite = false;
  app.add_option("--size", size, "mask side in pixels")->required()->check(tsgan::cli::integer(8, 4096));
  app.add_option("--type", type, "occlusion type, or all")->required();
  app.add_option("--seed", seed, "base seed")->required();
  app.add_option("--count", count, "masks per type")->required()->check(tsgan::cli::integer(1, 1000000));
  app.add_option("--out", out, "output folder")->required();
  app.add_flag("--overwrite", overwrite, "replace masks that exist");
  return tsgan::cli::run("tsgan-make-occlusions", app, argc, argv, [&] {
    std::vector<tsgan::data::Occlusion> types;
    if (type == "all") types.assign(tsgan::data::all_occlusions.begin(), tsgan::data::all_occlusions.end());
    else types.push_back(tsgan::data::occlusion_from_string(type));
    if (fs::exists(out) && !fs::is_directory(out)) tsgan::fail<tsgan::IoError>("{}: the output folder is a file", out.string());
    for (const auto kind : types) {
      const fs::path first = out / std::string(tsgan::data::to_string(kind)) / "000000.png";
      if (!overwrite && fs::exists(first))
        tsgan::fail<tsgan::IoError>("{}: exists already (pass --overwrite to replace the masks)", first.string());
    }
    for (const auto kind : types) {
      const fs::path dir = out / std::string(tsgan::data::to_string(kind));
      fs::create_directories(dir);
      double coverage = 0;
      for (int i = 0; i < count; ++i) {
        const auto mask = tsgan::data::fixed_occlusion(kind, size, tsgan::data::item_seed(seed, std::to_string(i)));
        tsgan::io::Image im(size, size, 1);
        for (std::size_t p = 0; p < mask.size(); ++p) {
          im.pixels[p] = mask[p] > 0.5f ? 255 : 0;
          coverage += mask[p];
        }
        tsgan::io::write_png(dir / fmt::format("{:06d}.png", i), im);
      }
      fmt::print("{} {} masks, {:.1f}% occluded on average\n", dir.string(), count,
                 100 * coverage / (double(count) * size * size));
    }
    return 0;
  });
}
