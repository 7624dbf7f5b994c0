// Writes dlib's frontal face detector as dlib serializes it: the bytes of
// get_serialized_frontal_faces() (dlib/image_processing/frontal_face_detector.h, where they are
// compiled in base64 and compressed), i.e. dlib's own serialized
// object_detector<scan_fhog_pyramid<pyramid_down<6>>>, for tsgan's HogFaceDetector
// (include/tsgan/models/hog_face_detector.hpp). Built and run by scripts/fetch-face-models.sh
// against Debian's libdlib-dev; the file is dlib's (Boost Software License), never committed.
//
//   export OUTPUT_FILE
#include <dlib/image_processing/frontal_face_detector.h>

#include <cstdio>
#include <fstream>
#include <string>

int main(int argc, char** argv) {
  if (argc != 2) {
    std::fprintf(stderr, "usage: export OUTPUT_FILE\n");
    return 2;
  }
  const std::string bytes = dlib::get_serialized_frontal_faces();
  std::ofstream out(argv[1], std::ios::binary);
  out.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
  out.close();
  if (!out) {
    std::fprintf(stderr, "export: cannot write %s\n", argv[1]);
    return 1;
  }
  return 0;
}
