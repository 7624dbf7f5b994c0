// Writes the synthetic image of docs/face-models.md (pixel(y, x, c) = (3x + 5y + 7c) mod 256,
// 150x150 RGB) as a binary PPM: the input whose descriptor the spec gives (§2.7).
#include <cstdio>
#include <fstream>

int main(int argc, char** argv) {
  if (argc != 2) {
    std::fprintf(stderr, "usage: write_synthetic_face OUT.ppm\n");
    return 2;
  }
  constexpr int size = 150;
  std::ofstream out(argv[1], std::ios::binary);
  out << "P6\n" << size << ' ' << size << "\n255\n";
  for (int y = 0; y < size; ++y)
    for (int x = 0; x < size; ++x)
      for (int c = 0; c < 3; ++c) out.put(static_cast<char>((3 * x + 5 * y + 7 * c) % 256));
  return out ? 0 : 1;
}
