// Uses tsgan from outside: an expression, a reduction, a safetensors round trip (which needs the
// nlohmann_json dependency to reach this project), a PNG round trip (libpng, and libjpeg which
// read_image links too) and the version the package reports.
#include <tsgan/tsgan.hpp>
#include <tsgan/io/image.hpp>
#include <tsgan/io/safetensors.hpp>

#include <unistd.h>

#include <cstdio>
#include <filesystem>
#include <string>

int main() {
  using namespace tsgan;
  Tensor<float, Shape<2, 3>> a(1.5f);
  Tensor<float, Shape<3>> b(0.5f);
  Tensor<float, Shape<2, 3>> c = a * 2.f + b;  // broadcasts b over the rows
  const float total = sum(c)[0];                // 6 elements of 3.5

  const auto path = std::filesystem::temp_directory_path() /
                    ("tsgan-consumer-" + std::to_string(::getpid()) + ".safetensors");
  io::safetensors::Writer w;
  w.add("c", c);
  w.write(path);
  const float back = io::safetensors::Reader(path).read<float, Shape<2, 3>>("c")(1, 2);
  std::filesystem::remove(path);

  io::Image image(2, 1, 3);
  image.pixels = {1, 2, 3, 250, 251, 252};
  const auto png = std::filesystem::temp_directory_path() /
                   ("tsgan-consumer-" + std::to_string(::getpid()) + ".png");
  io::write_png(png, image);
  const bool same = io::read_image(png).pixels == image.pixels;
  std::filesystem::remove(png);

  std::printf("tsgan %s: total %g, read back %g, PNG round trip %s\n", version_string, total, back,
              same ? "exact" : "differs");
  return total == 21.f && back == 3.5f && same ? 0 : 1;
}
