// Where tsgan finds the pretrained face models (docs/face-models.md): the folder named by the one
// environment variable TSGAN_MODELS_DIR, else ~/.cache/tsgan/models, which is where
// scripts/fetch-face-models.sh puts them. face_models_dir() answers "is the recognizer there?"
// without reading it; the weights loader (io/tfjs_weights.hpp) does the real checks.
#pragma once

#include <cstdlib>
#include <filesystem>
#include <optional>
#include <string>
#include <string_view>

namespace tsgan::io {

// The name of the recognizer (dlib's face-recognition ResNet as converted by face-api): its files
// are <name>-weights_manifest.json and <name>.bin.
inline constexpr std::string_view face_recognition_model = "face_recognition_model";

// The manifest of model `name` in `dir`, e.g. .../face_recognition_model-weights_manifest.json.
inline std::filesystem::path face_model_manifest(const std::filesystem::path& dir,
                                                 std::string_view name) {
  return dir / (std::string(name) + "-weights_manifest.json");
}

// The folder that is searched: $TSGAN_MODELS_DIR when set and not empty, else
// $HOME/.cache/tsgan/models. Empty when neither variable is set.
inline std::filesystem::path face_models_search_dir() {
  if (const char* env = std::getenv("TSGAN_MODELS_DIR"); env && *env) return env;
  if (const char* home = std::getenv("HOME"); home && *home)
    return std::filesystem::path(home) / ".cache" / "tsgan" / "models";
  return {};
}

// The search folder when it holds the recognizer's manifest and .bin (the files the identity loss
// needs); empty otherwise, so callers and tests can say "run scripts/fetch-face-models.sh".
inline std::optional<std::filesystem::path> face_models_dir() {
  const std::filesystem::path dir = face_models_search_dir();
  if (dir.empty()) return std::nullopt;
  std::error_code ec;
  const bool present =
      std::filesystem::is_regular_file(face_model_manifest(dir, face_recognition_model), ec) &&
      std::filesystem::is_regular_file(dir / (std::string(face_recognition_model) + ".bin"), ec);
  if (!present) return std::nullopt;
  return dir;
}

}  // namespace tsgan::io
