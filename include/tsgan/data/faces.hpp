// Face folders: an `index.csv` whose first columns are `path,identity,pose` (paths relative to
// the folder; more columns are attributes such as expression), the format of the shared face sets.
// A pose of `forward`, `frontal` or `0` marks a frontal image. Photos for pose synthesis may also
// come as a plain folder of images (FaceIndex::photos).
//
// Training pairs for TSGAN are each non-frontal image with a frontal image of the same identity:
// the one that shares the most attributes with it (same expression, same glasses...), the first
// in the index on a tie. Problems that leave the rest usable (an identity without a frontal image,
// a short row) are returned as warnings; a missing or malformed index is an IoError naming it.
//
// A `landmarks.jsonl` beside the index (tsgan-align's output, data/landmarks_file.hpp; relative
// "file" paths taken relative to the folder) gives each listed image its five landmarks, so that
// the loader puts keypoint occlusions on the face's own eyes, nose and mouth; images it does not
// list, or lists without a face, keep the template positions and are counted in a warning. A
// malformed landmarks file is an IoError naming its line.
#pragma once

#include <algorithm>
#include <array>
#include <cctype>
#include <filesystem>
#include <fstream>
#include <map>
#include <optional>
#include <sstream>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "tsgan/align/landmarks.hpp"
#include "tsgan/core/error.hpp"
#include "tsgan/data/landmarks_file.hpp"
#include "tsgan/io/image.hpp"

namespace tsgan::data {

struct FaceRecord {
  std::filesystem::path path;  // absolute (folder / relative path)
  std::string identity;
  std::string pose;
  std::vector<std::string> attributes;  // the remaining columns, in order
  std::optional<align::FivePoints> landmarks;  // in the image's pixels, from landmarks.jsonl
};

struct FacePair {
  std::size_t input;   // index of the non-frontal record
  std::size_t target;  // index of the frontal record
  std::int64_t identity;  // index into FaceIndex::identities()
};

// A training pair given by its files (data sets with their own layout, such as Multi-PIE): the
// input view, its frontal target, an identity label, whether both are mirrored left-right, and
// the input's own five landmarks in its pixels (before mirroring) when they are known.
struct ImagePair {
  std::filesystem::path input, target;
  std::int64_t identity = 0;
  bool mirror = false;
  std::optional<align::FivePoints> input_landmarks;
};

inline bool is_frontal_pose(std::string_view pose) {
  std::string p(pose);
  std::ranges::transform(p, p.begin(), [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return p == "forward" || p == "frontal" || p == "0";
}

class FaceIndex {
 public:
  // Reads `folder/index.csv`.
  static FaceIndex read(const std::filesystem::path& folder) {
    const auto file = folder / "index.csv";
    std::ifstream in(file);
    if (!in) fail<IoError>("{}: cannot read the face index (a folder needs an index.csv with columns path,identity,pose)", file.string());
    FaceIndex index;
    std::string line;
    if (!std::getline(in, line)) fail<IoError>("{}: empty file; expected a header path,identity,pose", file.string());
    const auto header = split(line);
    if (header.size() < 3 || header[0] != "path" || header[1] != "identity" || header[2] != "pose")
      fail<IoError>("{}: the header must start with path,identity,pose (found '{}')", file.string(), line);
    for (std::size_t i = 3; i < header.size(); ++i) index.attribute_names_.push_back(header[i]);
    std::size_t number = 1;
    while (std::getline(in, line)) {
      ++number;
      if (line.empty() || line == "\r") continue;
      auto cols = split(line);
      if (cols.size() < 3 || cols[0].empty() || cols[1].empty()) {
        index.warnings_.push_back(fmt::format("{}:{}: skipped a row without path and identity", file.string(), number));
        continue;
      }
      FaceRecord r{folder / cols[0], cols[1], cols[2], {}, std::nullopt};
      for (std::size_t i = 3; i < cols.size(); ++i) r.attributes.push_back(cols[i]);
      index.records_.push_back(std::move(r));
    }
    for (const auto& r : index.records_)
      if (std::ranges::find(index.identities_, r.identity) == index.identities_.end()) index.identities_.push_back(r.identity);
    if (const auto marks = folder / "landmarks.jsonl"; std::filesystem::exists(marks)) index.attach_landmarks(folder, marks);
    return index;
  }

  // A folder of photos: its index.csv when it has one (read), otherwise every image under it
  // (.jpg .jpeg .png .pgm .ppm .bmp, any depth, in the order of their paths), each person named by
  // the top folder the image lies in (by its file name when at the top) and no pose given, so every
  // image is a photo.
  static FaceIndex photos(const std::filesystem::path& folder) {
    if (std::filesystem::exists(folder / "index.csv")) return read(folder);
    std::error_code ec;
    if (!std::filesystem::is_directory(folder, ec))
      fail<IoError>("{}: not a folder (a folder with an index.csv, or a folder of images, expected)", folder.string());
    static const std::array<std::string_view, 6> extensions = {".jpg", ".jpeg", ".png", ".pgm", ".ppm", ".bmp"};
    FaceIndex index;
    std::vector<std::pair<std::string, std::filesystem::path>> images;  // (relative path, path)
    for (const auto& e : std::filesystem::recursive_directory_iterator(folder)) {
      std::string ext = e.path().extension().string();
      std::ranges::transform(ext, ext.begin(), [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
      if (e.is_regular_file() && std::ranges::find(extensions, ext) != extensions.end())
        images.emplace_back(std::filesystem::relative(e.path(), folder).generic_string(), e.path());
    }
    if (images.empty()) fail<IoError>("{}: no index.csv and no image (.jpg .jpeg .png .pgm .ppm .bmp) under it", folder.string());
    std::ranges::sort(images);
    for (auto& [rel, path] : images) {
      const std::filesystem::path r(rel);
      std::string identity = r.has_parent_path() ? r.begin()->string() : r.stem().string();
      if (std::ranges::find(index.identities_, identity) == index.identities_.end()) index.identities_.push_back(identity);
      index.records_.push_back({std::move(path), std::move(identity), "", {}, std::nullopt});
    }
    if (const auto marks = folder / "landmarks.jsonl"; std::filesystem::exists(marks)) index.attach_landmarks(folder, marks);
    return index;
  }

  const std::vector<FaceRecord>& records() const { return records_; }

  // The photos that pose synthesis turns: the frontal images, or every image when none is marked
  // frontal (a folder of photos without poses). Pointers into this index, so not of a temporary.
  std::vector<const FaceRecord*> pose_sources() const&& = delete;
  std::vector<const FaceRecord*> pose_sources() const& {
    const bool any_frontal = std::ranges::any_of(records_, [](const FaceRecord& r) { return is_frontal_pose(r.pose); });
    std::vector<const FaceRecord*> out;
    for (const FaceRecord& r : records_)
      if (!any_frontal || is_frontal_pose(r.pose)) out.push_back(&r);
    return out;
  }
  const std::vector<std::string>& identities() const { return identities_; }
  const std::vector<std::string>& attribute_names() const { return attribute_names_; }
  const std::vector<std::string>& warnings() const { return warnings_; }

  // Every non-frontal image paired with the best-matching frontal image of its identity.
  // Identities without a frontal image are reported in `warnings`.
  std::vector<FacePair> pairs(std::vector<std::string>& warnings) const {
    std::vector<FacePair> out;
    for (std::size_t id = 0; id < identities_.size(); ++id) {
      std::vector<std::size_t> frontal, other;
      for (std::size_t i = 0; i < records_.size(); ++i) {
        if (records_[i].identity != identities_[id]) continue;
        (is_frontal_pose(records_[i].pose) ? frontal : other).push_back(i);
      }
      if (frontal.empty()) {
        if (!other.empty())
          warnings.push_back(fmt::format("identity '{}' has no frontal image; its {} images are not used", identities_[id], other.size()));
        continue;
      }
      for (std::size_t i : other) {
        std::size_t best = frontal.front();
        int best_score = -1;
        for (std::size_t f : frontal) {
          int score = 0;
          for (std::size_t a = 0; a < std::min(records_[i].attributes.size(), records_[f].attributes.size()); ++a)
            score += records_[i].attributes[a] == records_[f].attributes[a];
          if (score > best_score) {
            best_score = score;
            best = f;
          }
        }
        out.push_back({i, best, static_cast<std::int64_t>(id)});
      }
    }
    return out;
  }

 private:
  void attach_landmarks(const std::filesystem::path& folder, const std::filesystem::path& file) {
    auto key = [](const std::filesystem::path& p) {
      std::error_code ec;
      const auto canonical = std::filesystem::weakly_canonical(p, ec);
      return (ec ? p : canonical).lexically_normal();
    };
    std::map<std::filesystem::path, align::FivePoints> found;
    for (const LandmarksEntry& e : read_landmarks_file(file)) {
      const std::filesystem::path path(e.file);
      if (e.landmarks) found[key(path.is_absolute() ? path : folder / path)] = align::five_points(*e.landmarks);
    }
    std::size_t missing = 0;
    for (FaceRecord& r : records_) {
      if (auto it = found.find(key(r.path)); it != found.end()) r.landmarks = it->second;
      else ++missing;
    }
    if (missing > 0)
      warnings_.push_back(fmt::format("{}: {} of the {} images have no landmarks there; their occlusions sit at the template positions",
                                      file.string(), missing, records_.size()));
  }

  static std::vector<std::string> split(const std::string& line) {
    std::vector<std::string> cols;
    std::string cell;
    std::istringstream s(line);
    while (std::getline(s, cell, ',')) {
      if (!cell.empty() && cell.back() == '\r') cell.pop_back();
      cols.push_back(cell);
    }
    if (!line.empty() && line.back() == ',') cols.emplace_back();
    return cols;
  }

  std::vector<FaceRecord> records_;
  std::vector<std::string> identities_;
  std::vector<std::string> attribute_names_;
  std::vector<std::string> warnings_;
};

// Reads any image, converts it to RGB and resizes it to S × S (bilinear, half-pixel centres),
// as a tensor in [0, 1]; `original` receives the image's width and height. Errors name the file.
template <index_t S>
Tensor<float, Shape<3, S, S>> load_face(const std::filesystem::path& path, std::array<int, 2>* original = nullptr) {
  const io::Image rgb = io::to_rgb(io::read_image(path));
  if (original) *original = {rgb.width, rgb.height};
  const io::Image sized = (rgb.width == S && rgb.height == S) ? rgb : io::resize(rgb, static_cast<int>(S), static_cast<int>(S));
  return io::to_tensor<Shape<3, S, S>>(sized);
}

}  // namespace tsgan::data
