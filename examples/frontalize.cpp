// tsgan-frontalize: runs a trained TSGAN on face crops.
//
//   tsgan-frontalize --model MODEL --out OUT [--overwrite] [--occlusion TYPE | --mask MASK.png]
//                    [--grid FILE] [--enlarge K] [--seed S] [--threads T] IMAGE|FOLDER...
//                    (TYPE: one type or TYPE,TYPE,...)
//
// Each IMAGE (an aligned face crop, any size; it is made RGB and resized to the configuration's
// size) is occluded by MASK.png (any size, > 127 = occluded), or by a synthetic occlusion of TYPE
// seeded by the image's file name and --seed (the masks tsgan-evaluate uses), or not at all. A
// list TYPE,TYPE,... gives the images their types in turn. The
// model's restore() gives Î_d and Î_f. Writes OUT/NAME.png, the row input | mask | Î_d | Î_f
// (the input as the model sees it, i.e. occluded), and OUT/NAME_deoccluded.png and
// OUT/NAME_frontal.png; a FOLDER's images keep their sub-folders under OUT. --grid FILE also
// writes one before/after picture, a row per image (the image | the model's input | Î_d | Î_f),
// each tile enlarged --enlarge times (default: to
// at least 128 pixels). MODEL is a model file (tsgan-export; models/tsgan-restore.safetensors)
// or a training checkpoint. Names follow
// io::plan_outputs: inputs with the same stem get NAME_2, NAME_3, ..., an output never replaces an
// input, and outputs that exist are replaced only with --overwrite (checked before any work).
// --config defaults to the one the model file names. An image that cannot be read is named on
// stderr and the others are still processed; the exit status is then 1 (2 for a usage error).
#include <CLI/CLI.hpp>
#include <fmt/core.h>

#include "common.hpp"
#include "tsgan/data/occlusion.hpp"
#include "tsgan/io/output_paths.hpp"

namespace fs = std::filesystem;
namespace ex = tsgan::examples;
namespace io = tsgan::io;

int main(int argc, char** argv) {
  CLI::App app{"Remove occlusions from face crops and frontalize them with a trained TSGAN"};
  fs::path model, out, mask_file, grid_file;
  int enlarge = 0;
  std::string config, occlusion;
  std::uint64_t seed = 0;
  bool overwrite = false;
  int threads = 0;
  std::vector<fs::path> inputs;
  app.add_option("--model", model, "TSGAN model file (tsgan-export) or training checkpoint")->required();
  app.add_option("--config", config, "the model's configuration (default: read from the file)")
      ->check(CLI::IsMember(ex::config_names()));
  app.add_option("--out", out, "output folder")->required();
  auto* type = app.add_option("--occlusion", occlusion, "synthetic occlusion: left_eye, right_eye, both_eyes, nose, mouth, "
                                                        "random_block or irregular; a comma-separated list: in turn");
  app.add_option("--mask", mask_file, "occlusion mask PNG (> 127 = occluded)")->excludes(type);
  app.add_option("--seed", seed, "base seed of the synthetic occlusions")->capture_default_str();
  app.add_option("--grid", grid_file, "also write every row stacked in one PNG");
  app.add_option("--enlarge", enlarge, "--grid: tile magnification (default: to at least 128 pixels)")->check(CLI::Range(1, 16));
  app.add_flag("--overwrite", overwrite, "replace output files that exist");
  tsgan::cli::add_threads_option(app, threads);
  app.add_option("IMAGE", inputs, "face crops (PNG, JPEG, PGM/PPM), or folders of them")->required();
  return tsgan::cli::run("tsgan-frontalize", app, argc, argv, [&] {
    tsgan::cli::apply_threads(threads);
    const auto kinds = occlusion.empty() ? std::vector<tsgan::data::Occlusion>{} : ex::parse_occlusions(occlusion);
    io::OutputNaming naming;
    naming.suffixes = {"", "_deoccluded", "_frontal"};
    naming.overwrite = overwrite;
    naming.accept = [](const fs::path& p) { return io::has_extension(p, {".png", ".jpg", ".jpeg", ".pgm", ".ppm"}); };
    const auto plan = io::plan_outputs(inputs, out, naming);  // every refusal before the model is read
    if (!grid_file.empty() && !overwrite && fs::exists(grid_file))
      tsgan::fail<tsgan::IoError>("{}: exists already (pass --overwrite to replace it)", grid_file.string());
    const auto restorer = ex::load_restorer(ex::config_or_checkpoints(config, model), model);
    std::vector<float> fixed_mask;
    if (!mask_file.empty()) fixed_mask = ex::read_mask(mask_file, restorer->size());
    const int side = restorer->size();
    const std::size_t plane = static_cast<std::size_t>(side) * static_cast<std::size_t>(side);
    bool failed = false;
    std::vector<io::Image> rows;
    std::size_t rows_done = 0;  // images taken so far: the next one's place in the list of types
    for (const auto& [path, outputs] : plan) {
      try {
        const io::Image im = ex::load_rgb(path, side);
        std::vector<float> mask = fixed_mask.empty() ? std::vector<float>(plane, 0.f) : fixed_mask;
        if (!kinds.empty())
          mask = tsgan::data::fixed_occlusion(kinds[rows_done % kinds.size()], side, tsgan::data::item_seed(seed, path.filename().string()));
        ++rows_done;
        auto x = ex::to_chw(im);
        for (int c = 0; c < 3; ++c)
          for (std::size_t p = 0; p < plane; ++p) x[c * plane + p] *= 1.f - mask[p];
        std::vector<float> d(3 * plane), f(3 * plane);
        restorer->restore(x.data(), mask.data(), 1, d.data(), f.data());
        const io::Image deoccluded = ex::from_chw(d.data(), side), frontal = ex::from_chw(f.data(), side);
        fs::create_directories(outputs[0].parent_path());
        const io::Image row = ex::hconcat({ex::from_chw(x.data(), side), ex::mask_image(mask.data(), side), deoccluded, frontal});
        io::write_png(outputs[0], row);
        if (!grid_file.empty()) {
          const int k = enlarge > 0 ? enlarge : std::max(1, (128 + side - 1) / side);
          rows.push_back(ex::hconcat({io::enlarge(im, k), io::enlarge(ex::from_chw(x.data(), side), k), io::enlarge(deoccluded, k),
                                      io::enlarge(frontal, k)}));
        }
        io::write_png(outputs[1], deoccluded);
        io::write_png(outputs[2], frontal);
        fmt::print("{}\n", outputs[0].string());
      } catch (const std::exception& e) {
        const std::string what = e.what();
        if (what.starts_with(path.string())) fmt::print(stderr, "tsgan-frontalize: {}\n", what);
        else fmt::print(stderr, "tsgan-frontalize: {}: {}\n", path.string(), what);
        failed = true;
      }
    }
    if (!grid_file.empty() && !rows.empty()) {
      io::write_png(grid_file, ex::vconcat(rows));
      fmt::print("{}\n", grid_file.string());
    }
    return failed ? 1 : 0;
  });
}
