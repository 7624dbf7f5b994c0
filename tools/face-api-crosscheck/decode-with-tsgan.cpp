// Decodes images with tsgan's own reader (io::read_image: libjpeg-turbo, libpng) and writes each as
// binary PNM (P5 grey, P6 RGB; alpha dropped) under OUTDIR/<path as given>.pnm, so that face-api
// sees exactly the pixels tsgan sees: JPEG decoders differ by a few levels per pixel, enough to
// move face-api's landmarks by about a pixel. Built and run by pipeline-fixture.sh.
//
// Usage: decode-with-tsgan ROOT OUTDIR IMAGE...   (IMAGE relative to ROOT)
#include <cstdio>
#include <filesystem>
#include <fstream>

#include "tsgan/io/image.hpp"

int main(int argc, char** argv) {
  if (argc < 4) {
    std::fprintf(stderr, "usage: decode-with-tsgan ROOT OUTDIR IMAGE...\n");
    return 2;
  }
  const std::filesystem::path root = argv[1], out_dir = argv[2];
  for (int i = 3; i < argc; ++i) {
    const tsgan::io::Image im = tsgan::io::read_image(root / argv[i]);
    const std::filesystem::path out = out_dir / (std::string(argv[i]) + ".pnm");
    std::filesystem::create_directories(out.parent_path());
    const int channels = im.channels == 1 ? 1 : 3;
    std::ofstream f(out, std::ios::binary);
    f << (channels == 1 ? "P5" : "P6") << '\n' << im.width << ' ' << im.height << "\n255\n";
    for (std::size_t p = 0; p < static_cast<std::size_t>(im.width) * static_cast<std::size_t>(im.height); ++p)
      f.write(reinterpret_cast<const char*>(im.pixels.data() + p * static_cast<std::size_t>(im.channels)), channels);
    if (!f) {
      std::fprintf(stderr, "decode-with-tsgan: cannot write %s\n", out.c_str());
      return 1;
    }
  }
  return 0;
}
