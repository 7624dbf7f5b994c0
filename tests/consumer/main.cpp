// Uses tsgan from outside: an expression, a reduction, a safetensors round trip (which needs the
// nlohmann_json dependency to reach this project) and the version the package reports.
#include <tsgan/tsgan.hpp>
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

  std::printf("tsgan %s: total %g, read back %g\n", version_string, total, back);
  return total == 21.f && back == 3.5f ? 0 : 1;
}
