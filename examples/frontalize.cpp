// tsgan-frontalize: runs a trained TSGAN on face crops.
//
//   tsgan-frontalize --model CKPT [--config paper|small|tiny] --out OUT
//                    [--occlusion TYPE | --mask MASK.png] [--seed S] IMAGE...
//
// Each IMAGE (an aligned face crop, any size; it is made RGB and resized to the configuration's
// size) is occluded by MASK.png (any size, > 127 = occluded), or by a synthetic occlusion of TYPE
// seeded by the image's file name and --seed (the masks tsgan-evaluate uses), or not at all. The
// model's restore() gives Î_d and Î_f. Writes OUT/NAME.png, the row input | mask | Î_d | Î_f
// (the input as the model sees it, i.e. occluded), and OUT/NAME_deoccluded.png and
// OUT/NAME_frontal.png. An image that cannot be read is named on stderr and the others are still
// processed; the exit status is then 1 (2 for a usage error).
#include <CLI/CLI.hpp>
#include <fmt/core.h>

#include "common.hpp"
#include "tsgan/data/occlusion.hpp"

namespace fs = std::filesystem;
namespace ex = tsgan::examples;
namespace io = tsgan::io;

int main(int argc, char** argv) {
  CLI::App app{"Remove occlusions from face crops and frontalize them with a trained TSGAN"};
  fs::path model, out, mask_file;
  std::string config = ex::config_names().front(), occlusion;
  std::uint64_t seed = 0;
  std::vector<fs::path> images;
  app.add_option("--model", model, "TSGAN checkpoint")->required();
  app.add_option("--config", config, "the checkpoint's configuration")->check(CLI::IsMember(ex::config_names()))->capture_default_str();
  app.add_option("--out", out, "output folder")->required();
  auto* type = app.add_option("--occlusion", occlusion, "synthetic occlusion: left_eye, right_eye, both_eyes, nose, mouth, "
                                                        "random_block or irregular");
  app.add_option("--mask", mask_file, "occlusion mask PNG (> 127 = occluded)")->excludes(type);
  app.add_option("--seed", seed, "base seed of the synthetic occlusions")->capture_default_str();
  app.add_option("IMAGE", images, "face crops (PNG, JPEG, PGM/PPM)")->required();
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    return app.exit(e) == 0 ? 0 : 2;
  }

  std::unique_ptr<ex::Restorer> restorer;
  std::optional<tsgan::data::Occlusion> kind;
  std::vector<float> fixed_mask;
  try {
    if (!occlusion.empty()) kind = tsgan::data::occlusion_from_string(occlusion);
    restorer = ex::load_restorer(config, model);
    if (!mask_file.empty()) fixed_mask = ex::read_mask(mask_file, restorer->size());
    fs::create_directories(out);
  } catch (const std::exception& e) {
    fmt::print(stderr, "tsgan-frontalize: {}\n", e.what());
    return 2;
  }
  const int side = restorer->size();
  const std::size_t plane = static_cast<std::size_t>(side) * static_cast<std::size_t>(side);
  bool failed = false;
  for (const fs::path& path : images) {
    try {
      const io::Image im = ex::load_rgb(path, side);
      std::vector<float> mask = fixed_mask.empty() ? std::vector<float>(plane, 0.f) : fixed_mask;
      if (kind) mask = tsgan::data::fixed_occlusion(*kind, side, tsgan::data::item_seed(seed, path.filename().string()));
      auto x = ex::to_chw(im);
      for (int c = 0; c < 3; ++c)
        for (std::size_t p = 0; p < plane; ++p) x[c * plane + p] *= 1.f - mask[p];
      std::vector<float> d(3 * plane), f(3 * plane);
      restorer->restore(x.data(), mask.data(), 1, d.data(), f.data());
      const std::string stem = path.stem().string();
      const io::Image deoccluded = ex::from_chw(d.data(), side), frontal = ex::from_chw(f.data(), side);
      io::write_png(out / (stem + ".png"), ex::hconcat({ex::from_chw(x.data(), side), ex::mask_image(mask.data(), side), deoccluded, frontal}));
      io::write_png(out / (stem + "_deoccluded.png"), deoccluded);
      io::write_png(out / (stem + "_frontal.png"), frontal);
      fmt::print("{}\n", (out / (stem + ".png")).string());
    } catch (const std::exception& e) {
      const std::string what = e.what();
      if (what.starts_with(path.string())) fmt::print(stderr, "tsgan-frontalize: {}\n", what);
      else fmt::print(stderr, "tsgan-frontalize: {}: {}\n", path.string(), what);
      failed = true;
    }
  }
  return failed ? 1 : 0;
}
