// What the tests of the pretrained face networks (face-api's detector, landmark net and
// recognizer) share: the model folder or a skip message, and the synthetic image of
// face-models.md §2.7 whose outputs the spec records. Kept apart from model_fixtures.hpp, which
// pulls in the whole TSGAN model.
#pragma once

#include <doctest/doctest.h>

#include <cstdint>
#include <filesystem>
#include <optional>

#include "tsgan/io/image.hpp"
#include "tsgan/io/model_path.hpp"

namespace tsgan::test {

// The face models' folder; without one, a message that the calling test is skipped.
inline std::optional<std::filesystem::path> face_models_or_skip() {
  auto dir = io::face_models_dir();
  if (!dir) MESSAGE("skipped: the face models are absent (run scripts/fetch-face-models.sh or set TSGAN_MODELS_DIR)");
  return dir;
}

// The synthetic image of face-models.md §2.7, 8-bit RGB, any size: pixel(y, x, c) = (3x + 5y + 7c) mod 256.
inline io::Image spec_pattern(int width, int height) {
  io::Image im(width, height, 3);
  for (int y = 0; y < height; ++y)
    for (int x = 0; x < width; ++x)
      for (int c = 0; c < 3; ++c) im.at(y, x, c) = static_cast<std::uint8_t>((3 * x + 5 * y + 7 * c) % 256);
  return im;
}

}  // namespace tsgan::test
