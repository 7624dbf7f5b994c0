// The definitions of common.hpp's model tasks: TSGAN and its batches as a train::Trainable with its
// grids, the training run, the Restorer of a configuration, and export. Included by model_tasks.cpp,
// which compiles them for the CPU once per configuration, and by the GPU trainer, which compiles
// them for CUDA itself; the other programs see only common.hpp's declarations.
#pragma once

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <type_traits>

#include "common.hpp"

namespace tsgan::examples {

template <class Model>
inline constexpr bool uses_face_recognizer =
    std::is_same_v<typename Model::Identity, models::FaceRecognizer<typename Model::T, typename Model::device>>;

// occluded input | mask | Î_d | Î_f | stage-1 target I_p | stage-2 target I_f, one row per item;
// small faces are enlarged to at least 128 pixels so that the grid can be looked at. The batch is
// on the host; the model may be on another device.
template <class Model>
void write_snapshot(Model& model, const Batch<typename Model::config_type>& batch, const fs::path& path) {
  using D = typename Model::device;
  constexpr index_t S = Model::config_type::image_size;
  const auto shot = model.snapshot(batch.template to<D>());
  const auto grid = io::make_grid(shot.occluded.template to<cpu>(), shot.mask.template to<cpu>(),
                                  shot.deoccluded.template to<cpu>(), shot.frontal.template to<cpu>(),
                                  shot.profile.template to<cpu>(), shot.target.template to<cpu>());
  io::write_png(path, io::enlarge(grid, std::max<int>(1, 128 / S)));
}

// A TSGAN and its batches as a train::Trainable: a step trains on the source's next batch and logs
// the model's terms by name (per stage, with d+ and d-); every grid shows the same evaluation
// batch, drawn once from its own generator, so that grids of a run can be compared.
template <class Model>
class TsganTraining {
 public:
  using Config = typename Model::config_type;
  static constexpr std::uint64_t evaluation_seed = 0x65766121;

  TsganTraining(Model& model, const BatchSource<Config>& source) : model_(model), source_(source) {
    random::Generator gen(evaluation_seed);
    evaluation_batch_.emplace(source_.next(gen));
  }
  std::int64_t step() const { return model_.step(); }
  train::LossTerms train_step() {
    const auto batch = source_.next(model_.rng());
    return train::LossTerms(model_.train_step(batch.template to<typename Model::device>()).terms());
  }
  void save(const fs::path& path) { model_.save(path); }
  void load(const fs::path& path) { model_.load(path); }
  void snapshot(const fs::path& path) { write_snapshot(model_, *evaluation_batch_, path); }
  std::optional<std::string> non_finite() {
    std::optional<std::string> bad;
    nn::for_each_parameter(model_.networks(), [&](const std::string& name, auto& p) {
      if (bad) return;
      const auto host = p.value().template to<cpu>();
      if (!std::all_of(host.data(), host.data() + host.size, [](auto v) { return std::isfinite(static_cast<float>(v)); }))
        bad = name;
    });
    return bad;
  }

 private:
  Model& model_;
  const BatchSource<Config>& source_;
  std::optional<Batch<Config>> evaluation_batch_;
};

template <class Config, class D>
int train_tsgan(std::uint64_t seed, const BatchSource<Config>& source, const TrainArgs& a, const std::string& models,
                const char* program, const fs::path& init) {
  using Model = TSGAN<Config, D>;
  Model model(seed);
  TsganTraining run(model, source);
  train::Trainer trainer(run, trainer_options(a, program));
  if constexpr (uses_face_recognizer<Model>) {
    if (!a.resume) {
      const auto dir = models_dir(models);
      if (!dir) {
        fmt::print(stderr, "{}\n", missing_models_message(program));
        return 2;
      }
      model.networks().phi.load(*dir);
    }
  }
  if (!init.empty()) model.load_generators(init);
  trainer.start();
  const auto stop = trainer.run();
  if (stop == train::Stop::finished)
    fmt::print(stderr, "done: {} steps; grids, log.jsonl and checkpoint.safetensors in {}\n", model.step(), a.out.string());
  return train::exit_status(stop);
}

template <class Config>
class ModelRestorer final : public Restorer {
 public:
  static constexpr index_t S = Config::image_size;
  static constexpr index_t N = 8;  // images per forward pass; a short last batch is padded

  explicit ModelRestorer(const fs::path& model) { model_.load_generators(model); }
  int size() const override { return static_cast<int>(S); }
  std::string config() const override { return config::describe<Config>(); }

  void restore(const float* occluded, const float* masks, std::size_t n, float* deoccluded, float* frontal) override {
    constexpr std::size_t image = 3 * S * S, plane = S * S;
    for (std::size_t i = 0; i < n; i += N) {
      const std::size_t k = std::min<std::size_t>(N, n - i);
      Tensor<float, Shape<N, 3, S, S>> x;  // zeros: padding items are independent in eval mode
      Tensor<float, Shape<N, 1, S, S>> m;
      std::copy_n(occluded + i * image, k * image, x.data());
      std::copy_n(masks + i * plane, k * plane, m.data());
      const auto r = model_.restore(x, m);
      std::copy_n(r.deoccluded.data(), k * image, deoccluded + i * image);
      std::copy_n(r.frontal.data(), k * image, frontal + i * image);
    }
  }

 private:
  TSGAN<Config> model_;
};

template <class Config>
std::unique_ptr<Restorer> make_restorer(const fs::path& model) {
  return std::make_unique<ModelRestorer<Config>>(model);
}

template <class Config>
std::int64_t export_generators(const fs::path& checkpoint, const fs::path& out, io::safetensors::Dtype dtype,
                               std::map<std::string, std::string> metadata) {
  TSGAN<Config> model;
  model.load(checkpoint);  // the whole checkpoint: it must be a sound training state
  metadata["tsgan.step"] = std::to_string(model.step());
  model.save_generators(out, dtype, metadata);
  return model.step();
}

}  // namespace tsgan::examples
