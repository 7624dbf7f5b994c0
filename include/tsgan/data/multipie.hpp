// Multi-PIE crops and the "Setting 2" protocol of the method document (Data):
//
//   auto s2 = tsgan::data::multipie::Setting2::scan("multipie-crops");
//   s2.train();            // neutral crops of subjects 001–200 at the 13 yaw cameras
//   s2.training_pairs();   // each with its frontal target (same shot at camera 05_1)
//   s2.gallery();          // one frontal crop (camera 05_1, illumination 07) per test subject
//   s2.probes();           // every other crop of the test subjects
//
// Crop file names are SSS_ss_rr_CCC_II*.png: subject (3 digits, 001–346), session (01–04),
// recording (01–03), camera (Multi-PIE's name without the underscore: 05_1 → 051), illumination
// (00–19), then anything that does not start with a digit (TP-GAN's crops are
// 001_01_01_051_07_cropped.png). parse_crop_name says which part of a name is wrong.
//
// Setting 2 [method doc]: 337 subjects, neutral expression, the 13 cameras of the yaw table, all
// 20 illuminations; subjects 001–200 train, the others test. Choices the document leaves open,
// each a member of Options:
//  - neutral expression: recording 01 of every session, and recording 02 of session 4, which
//    Multi-PIE also recorded neutral (its expressions: s1 neutral, smile; s2 neutral, surprise,
//    squint; s3 neutral, smile, disgust; s4 neutral, neutral, scream);
//  - the gallery illumination is 07 [D]: Multi-PIE's frontal flash, the one fired from beside the
//    frontal camera 05_1, which the Setting 2 literature (FIP, MVP, TP-GAN) uses for "frontal
//    illumination"; when a subject has it in several sessions the earliest session (then
//    recording) is the gallery image;
//  - a training input at camera 05_1 (its own target) is kept [D]: stage 1 then also learns to
//    de-occlude frontal faces, which are probes too (the 0° row);
//  - negative-yaw inputs and their targets can be mirrored so the network sees one side [T, off
//    by default].
#pragma once

#include <algorithm>
#include <array>
#include <cctype>
#include <filesystem>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <tuple>
#include <vector>

#include <fmt/format.h>

#include "tsgan/core/error.hpp"
#include "tsgan/data/faces.hpp"

namespace tsgan::data::multipie {

struct Camera {
  int code;          // the three digits of file names: 05_1 → 51
  const char* name;  // Multi-PIE's name
  int yaw;           // degrees, negative to the subject's right as in the method document
};

// Camera → yaw, the method document's table.
inline constexpr std::array<Camera, 13> yaw_cameras{{{110, "11_0", -90},
                                                     {120, "12_0", -75},
                                                     {90, "09_0", -60},
                                                     {80, "08_0", -45},
                                                     {130, "13_0", -30},
                                                     {140, "14_0", -15},
                                                     {51, "05_1", 0},
                                                     {50, "05_0", 15},
                                                     {41, "04_1", 30},
                                                     {190, "19_0", 45},
                                                     {200, "20_0", 60},
                                                     {10, "01_0", 75},
                                                     {240, "24_0", 90}}};
inline constexpr int frontal_camera = 51;
// Multi-PIE's two cameras above the subject (08_1, 19_1): valid in names, no yaw, not in Setting 2.
inline constexpr std::array<int, 2> elevated_cameras{81, 191};
inline constexpr int subject_count = 346;  // ids 001–346 (337 of them used)

// The yaw of a camera of the table, nothing for the elevated ones.
constexpr std::optional<int> yaw_of(int camera) {
  for (const Camera& c : yaw_cameras)
    if (c.code == camera) return c.yaw;
  return std::nullopt;
}

// Multi-PIE's neutral recordings: recording 01 of each session, and recording 02 of session 4.
constexpr bool is_neutral(int session, int recording) { return recording == 1 || (session == 4 && recording == 2); }

struct CropName {
  int subject = 0, session = 0, recording = 0, camera = 0, illumination = 0;

  std::optional<int> yaw() const { return yaw_of(camera); }
  // "SSS_ss_rr_CCC_II"
  std::string stem() const {
    return fmt::format("{:03d}_{:02d}_{:02d}_{:03d}_{:02d}", subject, session, recording, camera, illumination);
  }
  auto key() const { return std::tuple(subject, session, recording, camera, illumination); }
};

// Parses a crop's file name (without folders). Errors name the file and the part that is wrong.
inline CropName parse_crop_name(std::string_view file) {
  auto bad = [&](const std::string& why) -> CropName {
    fail("'{}' is not a Multi-PIE crop name (SSS_ss_rr_CCC_II*.png): {}", file, why);
  };
  auto lower = [](std::string_view s) {
    std::string out(s);
    for (char& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    return out;
  };
  if (file.size() < 4 || lower(file.substr(file.size() - 4)) != ".png") return bad("it does not end in .png");
  const std::string_view body = file.substr(0, file.size() - 4);
  // field, first character, digits
  struct Field {
    const char* what;
    std::size_t at, digits;
  };
  constexpr Field fields[] = {{"subject", 0, 3}, {"session", 4, 2}, {"recording", 7, 2}, {"camera", 10, 3}, {"illumination", 14, 2}};
  int values[5] = {};
  for (std::size_t f = 0; f < 5; ++f) {
    const Field& fd = fields[f];
    if (f > 0 && (body.size() <= fd.at - 1 || body[fd.at - 1] != '_'))
      return bad(fmt::format("expected '_' before the {} at character {}", fd.what, fd.at));
    const std::string_view part = body.substr(std::min(fd.at, body.size()), fd.digits);
    if (part.size() != fd.digits || !std::ranges::all_of(part, [](char c) { return c >= '0' && c <= '9'; }))
      return bad(fmt::format("the {} must be {} digits at characters {}-{}, found '{}'", fd.what, fd.digits, fd.at + 1,
                             fd.at + fd.digits, part));
    int v = 0;
    for (char c : part) v = v * 10 + (c - '0');
    values[f] = v;
  }
  if (body.size() > 16 && body[16] >= '0' && body[16] <= '9')
    return bad(fmt::format("the illumination must be 2 digits, found '{}'", body.substr(14, 3)));
  const CropName n{values[0], values[1], values[2], values[3], values[4]};
  if (n.subject < 1 || n.subject > subject_count)
    return bad(fmt::format("subject {:03d} is outside Multi-PIE's 001-{}", n.subject, subject_count));
  if (n.session < 1 || n.session > 4) return bad(fmt::format("session {:02d} is outside 01-04", n.session));
  if (n.recording < 1 || n.recording > 3) return bad(fmt::format("recording {:02d} is outside 01-03", n.recording));
  if (!yaw_of(n.camera) && std::ranges::find(elevated_cameras, n.camera) == elevated_cameras.end())
    return bad(fmt::format("camera {:03d} is not a Multi-PIE camera (the yaw cameras 110 120 090 080 130 140 051 050 "
                           "041 190 200 010 240, or 081 191)",
                           n.camera));
  if (n.illumination > 19) return bad(fmt::format("illumination {:02d} is outside 00-19", n.illumination));
  return n;
}

struct Options {
  int last_train_subject = 200;     // subjects up to this one train, the rest test
  int gallery_illumination = 7;     // [D] Multi-PIE's frontal flash
  bool frontal_inputs = true;       // [D] camera 05_1 inputs (their own targets) are training pairs
  bool mirror_negative_yaw = false;  // [T, switch] mirror negative-yaw inputs and their targets
};

// A crop of the protocol.
struct Crop {
  std::filesystem::path path;
  CropName name;
  int yaw = 0;
  std::string identity() const { return fmt::format("{:03d}", name.subject); }
};

class Setting2 {
 public:
  // The .png files under `folder` (recursively; other files are ignored).
  static Setting2 scan(const std::filesystem::path& folder, Options options = {}) {
    std::error_code ec;
    if (!std::filesystem::is_directory(folder, ec))
      fail<IoError>("{}: not a folder (expected Multi-PIE crops named SSS_ss_rr_CCC_II*.png)", folder.string());
    std::vector<std::filesystem::path> files;
    for (auto it = std::filesystem::recursive_directory_iterator(folder, ec); !ec && it != std::filesystem::recursive_directory_iterator();
         it.increment(ec)) {
      if (!it->is_regular_file()) continue;
      std::string ext = it->path().extension().string();
      for (char& c : ext) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
      if (ext == ".png") files.push_back(it->path());
    }
    if (ec) fail<IoError>("{}: cannot list the folder: {}", folder.string(), ec.message());
    Setting2 s(std::move(files), options);
    if (s.train_.empty() && s.gallery_.empty())
      fail<IoError>("{}: no Multi-PIE crop of Setting 2 here ({} files were looked at)", folder.string(), s.looked_at_);
    return s;
  }

  // The split of these files (their names are parsed; nothing is read).
  Setting2(std::vector<std::filesystem::path> files, Options options = {}) : options_(options) {
    std::ranges::sort(files);
    looked_at_ = files.size();
    std::vector<std::string> unparsed;
    std::map<std::tuple<int, int, int, int, int>, std::filesystem::path> seen;
    std::vector<Crop> test;
    for (auto& f : files) {
      CropName n;
      try {
        n = parse_crop_name(f.filename().string());
      } catch (const Error& e) {
        unparsed.push_back(e.what());
        continue;
      }
      const auto yaw = n.yaw();
      if (!yaw || !is_neutral(n.session, n.recording)) {
        ++excluded_;
        continue;
      }
      if (auto [it, fresh] = seen.emplace(n.key(), f); !fresh) {
        warnings_.push_back(fmt::format("{} and {} are the same shot ({}); the second is not used", it->second.string(),
                                        f.string(), n.stem()));
        continue;
      }
      (n.subject <= options_.last_train_subject ? train_ : test).push_back({std::move(f), n, *yaw});
    }
    if (!unparsed.empty()) {
      std::string list;
      for (std::size_t i = 0; i < std::min<std::size_t>(unparsed.size(), 5); ++i) list += "\n  " + unparsed[i];
      warnings_.push_back(fmt::format("{} .png files are not Multi-PIE crop names and are not used:{}{}", unparsed.size(),
                                      list, unparsed.size() > 5 ? "\n  ..." : ""));
    }
    // The gallery: the earliest frontal crop at the gallery illumination of each test subject.
    std::map<int, std::size_t> gallery_of;  // subject → index into test
    for (std::size_t i = 0; i < test.size(); ++i) {
      const CropName& n = test[i].name;
      if (n.camera != frontal_camera || n.illumination != options_.gallery_illumination) continue;
      auto [it, fresh] = gallery_of.emplace(n.subject, i);
      if (!fresh && std::tie(n.session, n.recording) < std::tie(test[it->second].name.session, test[it->second].name.recording))
        it->second = i;
    }
    std::set<int> subjects, without_gallery;
    for (const Crop& c : test) subjects.insert(c.name.subject);
    for (int s : subjects)
      if (!gallery_of.contains(s)) without_gallery.insert(s);
    if (!without_gallery.empty())
      warnings_.push_back(fmt::format("{} test subjects have no frontal crop (camera 051) at illumination {:02d}, so no gallery "
                                      "image; their crops are not probes: {:03d}",
                                      without_gallery.size(), options_.gallery_illumination, fmt::join(without_gallery, " ")));
    std::set<std::size_t> gallery_index;
    for (const auto& [s, i] : gallery_of) gallery_index.insert(i);
    for (std::size_t i = 0; i < test.size(); ++i) {
      if (gallery_index.contains(i)) gallery_.push_back(test[i]);
      else if (gallery_of.contains(test[i].name.subject)) probes_.push_back(test[i]);
    }
  }

  const std::vector<Crop>& train() const { return train_; }
  const std::vector<Crop>& gallery() const { return gallery_; }
  const std::vector<Crop>& probes() const { return probes_; }
  const Options& options() const { return options_; }
  // Problems that leave the rest usable (unparsable names, duplicates, subjects without a gallery).
  const std::vector<std::string>& warnings() const { return warnings_; }
  // Crops with valid names outside Setting 2: elevated cameras, non-neutral recordings.
  std::size_t excluded() const { return excluded_; }

  // Every training crop with its frontal target: the same subject, session, recording and
  // illumination at camera 05_1; identity = the subject number. Inputs without a target are
  // counted in one warning.
  std::vector<ImagePair> training_pairs(std::vector<std::string>& warnings) const {
    std::map<std::tuple<int, int, int, int>, const Crop*> frontal;
    for (const Crop& c : train_)
      if (c.name.camera == frontal_camera)
        frontal.emplace(std::tuple(c.name.subject, c.name.session, c.name.recording, c.name.illumination), &c);
    std::vector<ImagePair> out;
    std::size_t missing = 0;
    std::string example;
    for (const Crop& c : train_) {
      if (c.name.camera == frontal_camera && !options_.frontal_inputs) continue;
      const auto it = frontal.find(std::tuple(c.name.subject, c.name.session, c.name.recording, c.name.illumination));
      if (it == frontal.end()) {
        if (missing++ == 0) example = c.path.filename().string();
        continue;
      }
      out.push_back({c.path, it->second->path, c.name.subject, options_.mirror_negative_yaw && c.yaw < 0, std::nullopt});
    }
    if (missing > 0)
      warnings.push_back(fmt::format("{} training crops have no frontal target (the same subject, session, recording and "
                                     "illumination at camera 051) and are not used, e.g. {}",
                                     missing, example));
    return out;
  }

 private:
  Options options_;
  std::vector<Crop> train_, gallery_, probes_;
  std::vector<std::string> warnings_;
  std::size_t excluded_ = 0, looked_at_ = 0;
};

}  // namespace tsgan::data::multipie
