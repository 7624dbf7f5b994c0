// landmarks.jsonl: what tsgan-align found in each input image, one JSON object per line, exactly
//
//   {"file": "<path as given>", "box": [x, y, w, h] or null, "score": s or null,
//    "landmarks": [[x, y], ... 68 pairs] or null, "aligned": "<output path>" or null}
//
// with coordinates in the input image's pixels (align/point.hpp's convention). null means not
// found (no face, or an input that could not be read). write_landmarks_line makes a line and
// read_landmarks_file reads a file back; every problem is an IoError "FILE:LINE: what was
// expected, what was found".
//
// Beside a face folder's index.csv, the file gives the loader each image's own landmarks
// (data/faces.hpp): a relative "file" is then taken relative to that folder.
#pragma once

#include <array>
#include <filesystem>
#include <fstream>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "tsgan/align/landmarks.hpp"
#include "tsgan/core/error.hpp"

namespace tsgan::data {

struct LandmarksEntry {
  std::string file;
  std::optional<std::array<double, 4>> box;  // x, y, width, height
  std::optional<double> score;
  std::optional<align::Landmarks68> landmarks;
  std::optional<std::string> aligned;
};

// One line of landmarks.jsonl, without the newline.
inline std::string write_landmarks_line(const LandmarksEntry& e) {
  nlohmann::ordered_json j;
  j["file"] = e.file;
  j["box"] = e.box ? nlohmann::ordered_json(*e.box) : nlohmann::ordered_json(nullptr);
  j["score"] = e.score ? nlohmann::ordered_json(*e.score) : nlohmann::ordered_json(nullptr);
  if (e.landmarks) {
    nlohmann::ordered_json points = nlohmann::ordered_json::array();
    for (const align::Point& p : *e.landmarks) points.push_back({p.x, p.y});
    j["landmarks"] = std::move(points);
  } else {
    j["landmarks"] = nullptr;
  }
  j["aligned"] = e.aligned ? nlohmann::ordered_json(*e.aligned) : nlohmann::ordered_json(nullptr);
  // Paths that are not UTF-8 are written with U+FFFD rather than failing the whole run.
  return j.dump(-1, ' ', false, nlohmann::ordered_json::error_handler_t::replace);
}

inline LandmarksEntry parse_landmarks_line(const std::string& text, const std::string& source, std::size_t line) {
  nlohmann::json j;
  try {
    j = nlohmann::json::parse(text);
  } catch (const nlohmann::json::exception& e) {
    fail<IoError>("{}:{}: not a JSON object ({})", source, line, e.what());
  }
  if (!j.is_object()) fail<IoError>("{}:{}: expected a JSON object, found '{}'", source, line, text.substr(0, 80));
  auto need = [&](const char* key) -> const nlohmann::json& {
    if (!j.contains(key)) fail<IoError>("{}:{}: the key \"{}\" is missing", source, line, key);
    return j.at(key);
  };
  auto number = [&](const nlohmann::json& v, const char* what) {
    if (!v.is_number()) fail<IoError>("{}:{}: {} must be a number, found {}", source, line, what, v.dump());
    return v.get<double>();
  };
  LandmarksEntry e;
  const auto& file = need("file");
  if (!file.is_string() || file.get<std::string>().empty())
    fail<IoError>("{}:{}: \"file\" must be a non-empty string, found {}", source, line, file.dump());
  e.file = file.get<std::string>();
  if (const auto& box = need("box"); !box.is_null()) {
    if (!box.is_array() || box.size() != 4)
      fail<IoError>("{}:{}: \"box\" must be [x, y, w, h] or null, found {}", source, line, box.dump());
    e.box = std::array<double, 4>{number(box[0], "box x"), number(box[1], "box y"), number(box[2], "box width"),
                                  number(box[3], "box height")};
  }
  if (const auto& score = need("score"); !score.is_null()) e.score = number(score, "\"score\"");
  if (const auto& points = need("landmarks"); !points.is_null()) {
    if (!points.is_array() || points.size() != 68)
      fail<IoError>("{}:{}: \"landmarks\" must be 68 [x, y] pairs or null, found {}", source, line,
                    points.is_array() ? fmt::format("{} entries", points.size()) : points.dump());
    align::Landmarks68 shape;
    for (std::size_t i = 0; i < 68; ++i) {
      if (!points[i].is_array() || points[i].size() != 2)
        fail<IoError>("{}:{}: landmark {} must be [x, y], found {}", source, line, i, points[i].dump());
      shape[i] = {number(points[i][0], "a landmark's x"), number(points[i][1], "a landmark's y")};
    }
    e.landmarks = shape;
  }
  if (const auto& aligned = need("aligned"); !aligned.is_null()) {
    if (!aligned.is_string()) fail<IoError>("{}:{}: \"aligned\" must be a path or null, found {}", source, line, aligned.dump());
    e.aligned = aligned.get<std::string>();
  }
  return e;
}

inline std::vector<LandmarksEntry> read_landmarks_file(const std::filesystem::path& path) {
  std::ifstream in(path);
  if (!in) fail<IoError>("{}: cannot read the landmarks file", path.string());
  std::vector<LandmarksEntry> out;
  std::string text;
  for (std::size_t line = 1; std::getline(in, text); ++line) {
    if (!text.empty() && text.back() == '\r') text.pop_back();
    if (text.find_first_not_of(" \t") == std::string::npos) continue;
    out.push_back(parse_landmarks_line(text, path.string(), line));
  }
  return out;
}

}  // namespace tsgan::data
