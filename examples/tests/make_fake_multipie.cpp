// Writes a fake Multi-PIE crop folder from the CMU faces in data/cmu-faces-demo, for the CTest
// cases of tsgan-train-multipie and tsgan-evaluate (Multi-PIE itself is licensed and not here).
//
//   make_fake_multipie CMU_FOLDER OUT_FOLDER
//
// The mapping (each CMU image becomes one crop SSS_ss_01_CCC_II_cmu.png, kept grey, 64 x 60):
//  - person: the 12 identities sorted by name; the first 8 become subjects 001-008 (training),
//    the last 4 subjects 201-204 (test);
//  - pose → camera: forward → 051 (0°), left → 080 (−45°), right → 190 (+45°); up is skipped;
//  - eyes → session: open eyes → 01, sunglasses → 02; the recording is always 01 (neutral);
//  - expression → illumination: neutral → 07 (the gallery's), happy → 05, sad → 09, angry → 11.
// So each test subject's gallery crop is its forward, neutral, open-eyed image (session 01), and a
// training crop's target is the forward image of the same person, eyes and expression.
#include <cstdio>
#include <map>
#include <set>
#include <string>

#include <fmt/format.h>

#include "tsgan/data/faces.hpp"

int main(int argc, char** argv) {
  if (argc != 3) {
    std::fprintf(stderr, "usage: make_fake_multipie CMU_FOLDER OUT_FOLDER\n");
    return 2;
  }
  try {
    const auto index = tsgan::data::FaceIndex::read(argv[1]);
    const std::filesystem::path out = argv[2];
    std::filesystem::create_directories(out);
    const std::set<std::string> people(index.identities().begin(), index.identities().end());
    std::map<std::string, int> subject;
    int k = 0;
    for (const auto& p : people) {
      subject[p] = k < 8 ? k + 1 : 201 + (k - 8);
      ++k;
    }
    const std::map<std::string, int> camera{{"forward", 51}, {"left", 80}, {"right", 190}};
    const std::map<std::string, int> session{{"eyes", 1}, {"sunglasses", 2}};
    const std::map<std::string, int> illumination{{"neutral", 7}, {"happy", 5}, {"sad", 9}, {"angry", 11}};
    int written = 0;
    for (const auto& r : index.records()) {
      if (!camera.contains(r.pose) || r.attributes.size() < 2) continue;
      const std::string name = fmt::format("{:03d}_{:02d}_01_{:03d}_{:02d}_cmu.png", subject.at(r.identity),
                                           session.at(r.attributes[1]), camera.at(r.pose), illumination.at(r.attributes[0]));
      tsgan::io::write_png(out / name, tsgan::io::read_image(r.path));
      ++written;
    }
    std::printf("%d crops written to %s\n", written, out.c_str());
  } catch (const std::exception& e) {
    std::fprintf(stderr, "make_fake_multipie: %s\n", e.what());
    return 1;
  }
  return 0;
}
