// Compares tsgan's HogFaceDetector with dlib's own frontal face detector on every image of a
// folder's index.csv (or the images given): the detections at an adjusted threshold (rectangles,
// filters, scores) and the fhog features of the image. Prints the images that differ and a
// summary: how often the detections are identical, the largest score difference. Built by
// make.sh against Debian's libdlib-dev, as boxes.cpp is; docs/face-models.md quotes its summary.
//
//   compare ADJUST_THRESHOLD FOLDER_WITH_INDEX_CSV | IMAGE...
#include <dlib/image_processing/frontal_face_detector.h>

#include <fmt/core.h>

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include "tsgan/io/image.hpp"
#include "tsgan/models/hog_face_detector.hpp"

int main(int argc, char** argv) {
  if (argc < 3) {
    fmt::print(stderr, "usage: compare ADJUST_THRESHOLD FOLDER_WITH_INDEX_CSV | IMAGE...\n");
    return 2;
  }
  const double adjust = std::stod(argv[1]);
  std::vector<std::filesystem::path> images;
  if (argc == 3 && std::filesystem::is_directory(argv[2])) {
    std::ifstream index(std::filesystem::path(argv[2]) / "index.csv");
    std::string line;
    std::getline(index, line);
    while (std::getline(index, line)) images.push_back(std::filesystem::path(argv[2]) / line.substr(0, line.find(',')));
  } else {
    for (int i = 2; i < argc; ++i) images.emplace_back(argv[i]);
  }
  const auto path = tsgan::models::hog_face_detector::model_path();
  if (!path) {
    fmt::print(stderr, "no {} (scripts/fetch-face-models.sh)\n", tsgan::models::hog_face_detector::file_name);
    return 1;
  }
  const tsgan::models::HogFaceDetector ours(*path);
  auto theirs = dlib::get_frontal_face_detector();
  std::size_t same = 0, detections = 0, feature_same = 0;
  double worst_score = 0, worst_feature = 0;
  for (const auto& file : images) {
    const tsgan::io::Image rgb = tsgan::io::read_image(file);
    dlib::array2d<unsigned char> grey(rgb.height, rgb.width);
    tsgan::io::Image g(rgb.width, rgb.height, 1);
    for (int y = 0; y < rgb.height; ++y)
      for (int x = 0; x < rgb.width; ++x) {
        unsigned v = rgb.at(y, x, 0);
        if (rgb.channels >= 3) v = (v + rgb.at(y, x, 1) + rgb.at(y, x, 2)) / 3;
        grey[y][x] = static_cast<unsigned char>(v);
        g.at(y, x, 0) = static_cast<unsigned char>(v);
      }
    std::vector<dlib::rect_detection> want;
    theirs(grey, want, adjust);
    const auto got = ours.detect(rgb, adjust);
    bool ok = want.size() == got.size();
    for (std::size_t i = 0; ok && i < want.size(); ++i) {
      const auto& w = want[i].rect;
      ok = got[i].rect == tsgan::models::DlibRect{w.left(), w.top(), w.right(), w.bottom()} &&
           got[i].detector == want[i].weight_index;
      if (ok) worst_score = std::max(worst_score, std::abs(got[i].score - want[i].detection_confidence));
    }
    detections += want.size();
    same += ok;
    if (!ok) {
      fmt::print("{}: dlib {} detections, tsgan {}\n", file.string(), want.size(), got.size());
      for (const auto& w : want)
        fmt::print("  dlib  {} {} {} {} filter {} score {:.7f}\n", w.rect.left(), w.rect.top(), w.rect.right(),
                   w.rect.bottom(), w.weight_index, w.detection_confidence);
      for (const auto& d : got)
        fmt::print("  tsgan {} {} {} {} filter {} score {:.7f}\n", d.rect.left, d.rect.top, d.rect.right,
                   d.rect.bottom, d.detector, d.score);
    }
    dlib::array<dlib::array2d<float>> hog;
    dlib::extract_fhog_features(grey, hog, 8, 10, 10);
    const tsgan::models::FhogPlanes f = tsgan::models::extract_fhog(g, 8, 10, 10);
    bool fsame = long(f.rows) == hog[0].nr() && long(f.cols) == hog[0].nc();
    for (int p = 0; fsame && p < 31; ++p)
      for (int r = 0; r < f.rows; ++r)
        for (int c = 0; c < f.cols; ++c) {
          const double d = std::abs(double(f.at(p, r, c)) - double(hog[p][r][c]));
          worst_feature = std::max(worst_feature, d);
          fsame = fsame && d == 0;
        }
    feature_same += fsame;
  }
  fmt::print("{} images: detections identical (rects, filters, order) in {}, {} dlib detections, largest score "
             "difference {:.3g}; fhog features bit-identical in {}, largest difference {:.3g}\n",
             images.size(), same, detections, worst_score, feature_same, worst_feature);
  return same == images.size() ? 0 : 1;
}
