// Writes, for every row of boxes.csv where each detector found one face, the centroid and spread
// (root mean square distance to the centroid) of the shape predictor's 68 points on
// dlib_box_from_face_api's box, beside dlib's box: fit.py's input for ShapePredictor::box_for.
// Needs tsgan only (and libdlib-data's model file).
//
//   c++ -std=c++20 -O2 -I../../include -isystem /usr/include/eigen3 points.cpp -o points -lfmt -lpng -ljpeg
//   ./points boxes.csv /path/to/lfw-deepfunneled-extra > points.csv
#include <cstdio>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include "tsgan/models/shape_predictor.hpp"

int main(int argc, char** argv) {
  if (argc != 3) {
    std::fprintf(stderr, "usage: points BOXES_CSV FOLDER\n");
    return 2;
  }
  const tsgan::models::ShapePredictor sp(*tsgan::models::shape_predictor::model_path());
  std::ifstream in(argv[1]);
  std::string line;
  std::getline(in, line);
  std::printf("px,py,spread,left,top,right,bottom\n");
  while (std::getline(in, line)) {
    std::vector<std::string> f;
    std::stringstream row(line);
    for (std::string cell; std::getline(row, cell, ',');) f.push_back(cell);
    if (f.size() < 11 || f[5].empty() || f[6] != "1") continue;
    const tsgan::models::FaceBox box{std::stod(f[1]), std::stod(f[2]), std::stod(f[3]), std::stod(f[4]), std::stod(f[5])};
    const auto image = tsgan::io::read_image(std::string(argv[2]) + "/" + f[0]);
    const auto p = sp.predict(image, tsgan::models::dlib_box_from_face_api(box));
    double px = 0, py = 0, spread = 0;
    for (const auto& q : p) px += q.x / 68, py += q.y / 68;
    for (const auto& q : p) spread += ((q.x - px) * (q.x - px) + (q.y - py) * (q.y - py)) / 68;
    std::printf("%f,%f,%f,%s,%s,%s,%s\n", px, py, std::sqrt(spread), f[7].c_str(), f[8].c_str(), f[9].c_str(),
                f[10].c_str());
  }
  return 0;
}
