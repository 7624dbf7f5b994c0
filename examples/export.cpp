// tsgan-export: the inference part of a training checkpoint as a model file.
//
//   tsgan-export --checkpoint RUN/checkpoint.safetensors --out MODEL.safetensors [--dtype f16|f32]
//                [--note TEXT] [--overwrite]
//
// Writes G_d and G_f (with their batch-norm statistics) and the configuration, nothing of the
// discriminators, φ or the optimizers: what tsgan-frontalize and tsgan-evaluate need, in a
// fraction of the checkpoint's size (F16 by default: half again). The file names its
// configuration, so the programs that read it need no --config. --note is stored as metadata
// (tsgan.note), with the checkpoint's step (tsgan.step); scripts/train-release.sh puts the data
// and the commit there. An existing MODEL is replaced only with --overwrite.
#include <CLI/CLI.hpp>
#include <fmt/core.h>

#include "common.hpp"

namespace fs = std::filesystem;
namespace ex = tsgan::examples;

int main(int argc, char** argv) {
  CLI::App app{"Write the generators of a TSGAN training checkpoint as a model file for inference"};
  fs::path checkpoint, out;
  std::string dtype = "f16", note;
  bool overwrite = false;
  app.add_option("--checkpoint", checkpoint, "training checkpoint (RUN/checkpoint.safetensors)")->required();
  app.add_option("--out", out, "the model file to write")->required();
  app.add_option("--dtype", dtype, "storage type of the weights")->check(CLI::IsMember({"f16", "f32"}))->capture_default_str();
  app.add_option("--note", note, "free text stored in the file (provenance)");
  app.add_flag("--overwrite", overwrite, "replace --out when it exists");
  return tsgan::cli::run("tsgan-export", app, argc, argv, [&] {
    if (!overwrite && fs::exists(out))
      tsgan::fail<tsgan::IoError>("{}: exists already (pass --overwrite to replace it)", out.string());
    const std::string config = ex::checkpoint_config(checkpoint);
    std::map<std::string, std::string> metadata;
    if (!note.empty()) metadata["tsgan.note"] = note;
    const auto dtype_of_file = dtype == "f16" ? tsgan::io::safetensors::Dtype::F16 : tsgan::io::safetensors::Dtype::F32;
    const std::int64_t step = ex::with_config(config, [&]<class C>(std::type_identity<C>) {
      return ex::export_generators<C>(checkpoint, out, dtype_of_file, metadata);
    });
    fmt::print("{}: {} at step {}, {:.1f} MB\n", out.string(), config, step, static_cast<double>(fs::file_size(out)) / 1e6);
    return 0;
  });
}
