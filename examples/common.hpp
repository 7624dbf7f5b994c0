// What the example programs share: the TSGAN configurations they are compiled with, where the
// face recognizer's weights are, the training options, the model's tasks (training, inference
// behind an interface that does not depend on the configuration, export), which model_tasks.cpp
// compiles once per configuration, and images as CHW floats.
//
// The configurations a program offers in --config are those compiled in: CMake's
// TSGAN_EXAMPLE_CONFIGS (default "release;paper;small;tiny") sets TSGAN_EXAMPLE_RELEASE, _PAPER, _SMALL
// and _TINY.
// Each one instantiates the whole model once more in model_tasks.cpp, about a minute of compile time.
#pragma once

#include <CLI/CLI.hpp>
#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <type_traits>
#include <vector>

#include "tsgan/cli/program.hpp"
#include "tsgan/data/occlusion.hpp"
#include "tsgan/io/image.hpp"
#include "tsgan/io/model_path.hpp"
#include "tsgan/io/safetensors.hpp"
#include "tsgan/models/tsgan.hpp"
#include "tsgan/train/trainer.hpp"

#ifndef TSGAN_EXAMPLE_RELEASE
#define TSGAN_EXAMPLE_RELEASE 1
#endif
#ifndef TSGAN_EXAMPLE_PAPER
#define TSGAN_EXAMPLE_PAPER 1
#endif
#ifndef TSGAN_EXAMPLE_SMALL
#define TSGAN_EXAMPLE_SMALL 1
#endif
#ifndef TSGAN_EXAMPLE_TINY
#define TSGAN_EXAMPLE_TINY 1
#endif

namespace tsgan::examples {

namespace fs = std::filesystem;

// ---- configurations ---------------------------------------------------------------------------

inline std::vector<std::string> config_names() {
  std::vector<std::string> names;
  if (TSGAN_EXAMPLE_RELEASE) names.emplace_back("release");
  if (TSGAN_EXAMPLE_PAPER) names.emplace_back("paper");
  if (TSGAN_EXAMPLE_SMALL) names.emplace_back("small");
  if (TSGAN_EXAMPLE_TINY) names.emplace_back("tiny");
  return names;
}

// Calls f(std::type_identity<Config>{}) for the configuration called `name` (one of
// config_names(); CLI11 checks that before).
template <class F>
auto with_config(std::string_view name, F&& f) {
#if TSGAN_EXAMPLE_RELEASE
  if (name == "release") return f(std::type_identity<config::Release>{});
#endif
#if TSGAN_EXAMPLE_PAPER
  if (name == "paper") return f(std::type_identity<config::Paper>{});
#endif
#if TSGAN_EXAMPLE_SMALL
  if (name == "small") return f(std::type_identity<config::Small>{});
#endif
#if TSGAN_EXAMPLE_TINY
  if (name == "tiny") return f(std::type_identity<config::Tiny>{});
#endif
  fail("tsgan: configuration '{}' is not compiled into this program (it has: {})", name, fmt::join(config_names(), ", "));
}

// The compiled configuration a TSGAN checkpoint or model file was written for (its tsgan.config
// metadata).
inline std::string checkpoint_config(const fs::path& checkpoint) {
  const io::safetensors::Reader file(checkpoint);
  const std::optional<std::string> stored = file.metadata("tsgan.config");
  if (!stored) fail<IoError>("{}: not a TSGAN checkpoint (no tsgan.config metadata)", checkpoint.string());
  for (const auto& name : config_names())
    if (with_config(name, []<class C>(std::type_identity<C>) { return config::describe<C>(); }) == *stored) return name;
  fail<IoError>("{}: written for a configuration this program does not have (it has: {}):\n  {}", checkpoint.string(),
                fmt::join(config_names(), ", "), *stored);
}

// --config as given, else the checkpoint's.
inline std::string config_or_checkpoints(const std::string& given, const fs::path& checkpoint) {
  return given.empty() ? checkpoint_config(checkpoint) : given;
}

// --models DIR, else $TSGAN_MODELS_DIR or ~/.cache/tsgan/models when the recognizer is there.
inline std::optional<fs::path> models_dir(const std::string& option) {
  if (!option.empty()) return fs::path(option);
  return io::face_models_dir();
}

inline std::string missing_models_message(const char* program) {
  return fmt::format(
      "{}: the face recognizer's weights are not in {} (run scripts/fetch-face-models.sh, or pass --models DIR or set "
      "TSGAN_MODELS_DIR)",
      program, io::face_models_search_dir().string());
}

// ---- training ----------------------------------------------------------------------------------

// A loader behind one type, so that the training loop is compiled once per configuration, not once
// per loader and program (model_tasks.cpp).
template <class Config>
struct BatchSource {
  std::function<Batch<Config>(random::Generator&)> draw;
  Batch<Config> next(random::Generator& gen) const { return draw(gen); }
};

// The options every training program has, as given on its command line.
struct TrainArgs {
  fs::path out;
  std::int64_t steps = 0, log_every = 50;
  bool resume = false, overwrite = false;
};

inline void add_train_options(CLI::App& app, TrainArgs& a) {
  app.add_option("--out", a.out, "run folder: checkpoint.safetensors, log.jsonl, grids")->required();
  app.add_option("--steps", a.steps, "train until this many steps in total")->required()->check(cli::integer(1));
  app.add_option("--log-every", a.log_every, "steps between logs, grids and checkpoints")->check(cli::integer(1))->capture_default_str();
  auto* resume = app.add_flag("--resume", a.resume, "continue OUT/checkpoint.safetensors");
  app.add_flag("--overwrite", a.overwrite, "start again from step 0 over OUT's checkpoint")->excludes(resume);
}

inline train::TrainerOptions trainer_options(const TrainArgs& a, std::string program) {
  train::TrainerOptions o;
  o.out = a.out;
  o.steps = a.steps;
  o.log_every = a.log_every;
  o.resume = a.resume;
  o.overwrite = a.overwrite;
  o.program = std::move(program);
  return o;
}

// ---- inference without the configuration in the type ----------------------------------------------

// Images are RGB, CHW floats in [0, 1]; masks are S × S, 1 = occluded.
class Restorer {
 public:
  virtual ~Restorer() = default;
  virtual int size() const = 0;
  virtual std::string config() const = 0;
  // n occluded images (3·S·S values each) and their masks (S·S each) → Î_d and Î_f (3·S·S each).
  virtual void restore(const float* occluded, const float* masks, std::size_t n, float* deoccluded, float* frontal) = 0;
};

// ---- the model's tasks, compiled once per configuration ------------------------------------------
// Defined in model_tasks.hpp and compiled for the CPU in model_tasks.cpp, once per configuration of
// TSGAN_EXAMPLE_CONFIGS, into the library the programs link: each instantiates the whole model, which
// would otherwise be compiled again in every program that uses it (docs/performance.md).

// Trains TSGAN<Config> on device D, seeded with `seed`, on `source` under train::Trainer's policies,
// and says where the run is. Starting from step 0, a model whose φ is the face recognizer first gets
// its weights from `models` (a checkpoint carries them when resuming), then the generators of `init`
// when it is not empty. Returns the exit status.
template <class Config, class D>
int train_tsgan(std::uint64_t seed, const BatchSource<Config>& source, const TrainArgs& a, const std::string& models,
                const char* program, const fs::path& init);

// The generators of a model file (tsgan-export) or of a training checkpoint, on the CPU.
template <class Config>
std::unique_ptr<Restorer> make_restorer(const fs::path& model);

// A training checkpoint's generators as a model file with weights of `dtype` and `metadata` added;
// returns the checkpoint's step.
template <class Config>
std::int64_t export_generators(const fs::path& checkpoint, const fs::path& out, io::safetensors::Dtype dtype,
                               std::map<std::string, std::string> metadata);

// make_restorer for the configuration called `name`.
inline std::unique_ptr<Restorer> load_restorer(const std::string& name, const fs::path& model) {
  return with_config(name, [&]<class C>(std::type_identity<C>) { return make_restorer<C>(model); });
}

inline int config_image_size(const std::string& name) {
  return with_config(name, []<class C>(std::type_identity<C>) { return static_cast<int>(C::image_size); });
}

// ---- images as CHW floats -----------------------------------------------------------------------

// An image read, made RGB and resized to side × side.
inline io::Image load_rgb(const fs::path& path, int side) {
  io::Image rgb = io::to_rgb(io::read_image(path));
  if (rgb.width != side || rgb.height != side) rgb = io::resize(rgb, side, side);
  return rgb;
}

inline std::vector<float> to_chw(const io::Image& rgb) {
  const std::size_t plane = static_cast<std::size_t>(rgb.width) * static_cast<std::size_t>(rgb.height);
  std::vector<float> out(3 * plane);
  for (int c = 0; c < 3; ++c)
    for (int y = 0; y < rgb.height; ++y)
      for (int x = 0; x < rgb.width; ++x)
        out[c * plane + static_cast<std::size_t>(y) * rgb.width + x] = rgb.at(y, x, c) / 255.f;
  return out;
}

inline io::Image from_chw(const float* chw, int side) {
  io::Image im(side, side, 3);
  const std::size_t plane = static_cast<std::size_t>(side) * static_cast<std::size_t>(side);
  for (int c = 0; c < 3; ++c)
    for (int y = 0; y < side; ++y)
      for (int x = 0; x < side; ++x)
        im.at(y, x, c) = io::detail::to_byte(chw[c * plane + static_cast<std::size_t>(y) * side + x]);
  return im;
}

// A mask as a grey image (255 = occluded).
inline io::Image mask_image(const float* mask, int side) {
  io::Image im(side, side, 1);
  for (std::size_t i = 0; i < im.pixels.size(); ++i) im.pixels[i] = mask[i] > 0.5f ? 255 : 0;
  return im;
}

// A mask PNG (any size; grey, or the first channel) resized to side × side, > 127 = occluded.
inline std::vector<float> read_mask(const fs::path& path, int side) {
  io::Image im = io::read_image(path);
  if (im.width != side || im.height != side) im = io::resize(im, side, side);
  std::vector<float> mask(static_cast<std::size_t>(side) * static_cast<std::size_t>(side));
  for (std::size_t i = 0; i < mask.size(); ++i) mask[i] = im.pixels[i * static_cast<std::size_t>(im.channels)] > 127 ? 1.f : 0.f;
  return mask;
}

// Mirrors a CHW image (or a mask, channels = 1) left-right in place.
inline void mirror(float* data, int channels, int side) {
  for (int c = 0; c < channels; ++c)
    for (int y = 0; y < side; ++y) {
      float* row = data + (static_cast<std::size_t>(c) * side + y) * side;
      std::reverse(row, row + side);
    }
}

// Tiles side by side (hconcat) or stacked top to bottom (vconcat), with io::grid_gap white pixels
// between them, RGB (grey tiles replicated), aligned to the top left.
inline io::Image concat(const std::vector<io::Image>& tiles, bool side_by_side) {
  int along = 0, across = 0;
  for (const auto& t : tiles) {
    along += (side_by_side ? t.width : t.height) + (along ? io::grid_gap : 0);
    across = std::max(across, side_by_side ? t.height : t.width);
  }
  io::Image out(side_by_side ? along : across, side_by_side ? across : along, 3, 255);
  int at = 0;
  for (const auto& t : tiles) {
    const io::Image rgb = io::to_rgb(t);
    const int x0 = side_by_side ? at : 0, y0 = side_by_side ? 0 : at;
    for (int y = 0; y < rgb.height; ++y)
      for (int x = 0; x < rgb.width; ++x)
        for (int c = 0; c < 3; ++c) out.at(y0 + y, x0 + x, c) = rgb.at(y, x, c);
    at += (side_by_side ? t.width : t.height) + io::grid_gap;
  }
  return out;
}
inline io::Image hconcat(const std::vector<io::Image>& tiles) { return concat(tiles, true); }
inline io::Image vconcat(const std::vector<io::Image>& rows) { return concat(rows, false); }

// Occlusion types from "all", "none" or a comma-separated list (data::occlusion_from_string names
// a bad one).
inline std::vector<data::Occlusion> parse_occlusions(const std::string& list) {
  if (list == "all") return {data::all_occlusions.begin(), data::all_occlusions.end()};
  if (list == "none") return {};
  std::vector<data::Occlusion> out;
  std::size_t at = 0;
  while (at <= list.size()) {
    const std::size_t end = std::min(list.find(',', at), list.size());
    out.push_back(data::occlusion_from_string(list.substr(at, end - at)));
    at = end + 1;
  }
  return out;
}

}  // namespace tsgan::examples
