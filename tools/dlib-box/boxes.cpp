// Writes, for every image of a folder's index.csv, face-api's best box as tsgan-evaluate finds it
// (TinyFaceDetector at input 256, a second look at align::retry_options) and dlib's frontal face
// detector's boxes, for fit.py's box map (docs/face-models.md, "dlib's landmarks"). Built by
// make.sh against Debian's libdlib-dev; run on lfw-deepfunneled-extra, never on View 2.
//
// Output, CSV on stdout: path, face-api x, y, width, height, score (empty when missed), the number
// of dlib boxes, and dlib's first box left, top, right, bottom (dlib's pixel numbering).
#include <dlib/image_processing/frontal_face_detector.h>

#include <fmt/core.h>

#include <filesystem>
#include <fstream>
#include <string>

#include "tsgan/align/align_face.hpp"
#include "tsgan/io/image.hpp"
#include "tsgan/io/model_path.hpp"

int main(int argc, char** argv) {
  if (argc != 2) {
    fmt::print(stderr, "usage: boxes FOLDER_WITH_INDEX_CSV\n");
    return 2;
  }
  const std::filesystem::path dir = argv[1];
  const auto models = tsgan::io::face_models_dir();
  if (!models) {
    fmt::print(stderr, "no face models (scripts/fetch-face-models.sh)\n");
    return 1;
  }
  const tsgan::models::FaceDetector<> detector(*models);
  auto hog = dlib::get_frontal_face_detector();
  std::ifstream index(dir / "index.csv");
  std::string line;
  std::getline(index, line);
  fmt::print("path,x,y,width,height,score,dlib_count,left,top,right,bottom\n");
  while (std::getline(index, line)) {
    const std::string path = line.substr(0, line.find(','));
    const tsgan::io::Image rgb = tsgan::io::to_rgb(tsgan::io::read_image(dir / path));
    auto boxes = detector.detect(rgb, {.input_size = 256});
    if (boxes.empty()) boxes = detector.detect(rgb, tsgan::align::retry_options);
    dlib::array2d<unsigned char> grey(rgb.height, rgb.width);
    for (int y = 0; y < rgb.height; ++y)
      for (int x = 0; x < rgb.width; ++x)
        grey[y][x] = static_cast<unsigned char>((unsigned(rgb.at(y, x, 0)) + rgb.at(y, x, 1) + rgb.at(y, x, 2)) / 3);
    const auto found = hog(grey);
    std::string f = boxes.empty() ? ",,,," : fmt::format("{},{},{},{},{}", boxes[0].x, boxes[0].y, boxes[0].width,
                                                         boxes[0].height, boxes[0].score);
    std::string d = found.empty() ? ",,," : fmt::format("{},{},{},{}", found[0].left(), found[0].top(),
                                                         found[0].right(), found[0].bottom());
    fmt::print("{},{},{},{}\n", path, f, found.size(), d);
  }
  return 0;
}
