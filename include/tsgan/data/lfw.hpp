// LFW View 2: pairs.txt and where its images are.
//
//   auto file = tsgan::data::lfw::read_pairs(dir / "pairs.txt");   // 10 folds × (300 + 300)
//   auto some = tsgan::data::lfw::select(file, 2, 30);             // 2 folds, 30 + 30 pairs each
//   tsgan::data::lfw::image_path(dir, p.first_name, p.first_number);  // dir/images/N/N_0001.jpg
//
// pairs.txt starts with a line "K N" (folds, pairs of each kind per fold); then each fold has N
// matched pairs "name i j" followed by N mismatched pairs "name1 i name2 j" (fields separated by
// tabs or spaces). Every problem is an IoError "FILE:LINE: what was expected, what was found";
// a file that ends early or goes on after the last fold says so.
#pragma once

#include <algorithm>
#include <charconv>
#include <filesystem>
#include <string>
#include <string_view>
#include <vector>

#include <fmt/format.h>

#include "tsgan/core/error.hpp"
#include "tsgan/io/file.hpp"

namespace tsgan::data::lfw {

struct Pair {
  std::string first_name;
  int first_number = 0;
  std::string second_name;  // the first name again for a matched pair
  int second_number = 0;
  bool same = false;
  int fold = 0;  // 1-based, as the LFW documentation numbers them
  int line = 0;  // in the file, 1-based
};

struct PairsFile {
  int folds = 0;
  int per_fold = 0;  // matched pairs per fold (and as many mismatched)
  std::vector<Pair> pairs;  // in file order: fold 1 matched, fold 1 mismatched, fold 2 ...
};

namespace detail {

inline std::vector<std::string_view> fields(std::string_view line) {
  std::vector<std::string_view> out;
  std::size_t i = 0;
  while (i < line.size()) {
    while (i < line.size() && (line[i] == ' ' || line[i] == '\t' || line[i] == '\r')) ++i;
    const std::size_t start = i;
    while (i < line.size() && line[i] != ' ' && line[i] != '\t' && line[i] != '\r') ++i;
    if (i > start) out.push_back(line.substr(start, i - start));
  }
  return out;
}

inline bool to_int(std::string_view s, int& v) {
  const auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  return ec == std::errc() && end == s.data() + s.size();
}

}  // namespace detail

// Parses the text of a pairs.txt; `source` names it in errors.
inline PairsFile parse_pairs(std::string_view text, const std::string& source) {
  std::vector<std::string_view> lines;
  for (std::size_t at = 0; at < text.size();) {
    std::size_t end = text.find('\n', at);
    if (end == std::string_view::npos) end = text.size();
    lines.push_back(text.substr(at, end - at));
    at = end + 1;
  }
  // Trailing blank lines are fine; blank lines elsewhere are not.
  while (!lines.empty() && detail::fields(lines.back()).empty()) lines.pop_back();
  if (lines.empty()) fail<IoError>("{}: empty file; expected a first line 'folds pairs-per-fold' such as '10 300'", source);
  PairsFile file;
  const auto head = detail::fields(lines[0]);
  if (head.size() != 2 || !detail::to_int(head[0], file.folds) || !detail::to_int(head[1], file.per_fold) || file.folds < 1 ||
      file.per_fold < 1)
    fail<IoError>("{}:1: expected 'folds pairs-per-fold' (two positive integers, such as '10 300'), found '{}'", source,
                  lines[0]);
  const std::size_t expected = 1 + static_cast<std::size_t>(file.folds) * 2 * static_cast<std::size_t>(file.per_fold);
  auto number = [&](std::string_view s, int line, const char* what, std::string_view text_line) {
    int v = 0;
    if (!detail::to_int(s, v) || v < 1)
      fail<IoError>("{}:{}: the {} must be a positive integer, found '{}' in '{}'", source, line, what, s, text_line);
    return v;
  };
  // The header's count is not trusted for the reservation: a first line such as '1 4611686018427387903'
  // would otherwise reserve without bound before the lines are read.
  file.pairs.reserve(std::min(expected, lines.size()) - 1);
  for (std::size_t i = 1; i < std::min(expected, lines.size()); ++i) {
    const int line = static_cast<int>(i) + 1;
    const std::size_t k = i - 1;
    const int fold = static_cast<int>(k / (2 * static_cast<std::size_t>(file.per_fold))) + 1;
    const bool same = k % (2 * static_cast<std::size_t>(file.per_fold)) < static_cast<std::size_t>(file.per_fold);
    const auto f = detail::fields(lines[i]);
    Pair p;
    p.same = same;
    p.fold = fold;
    p.line = line;
    if (same) {
      if (f.size() != 3)
        fail<IoError>("{}:{}: expected a matched pair 'name i j' of fold {}, found {} fields: '{}'", source, line, fold, f.size(),
                      lines[i]);
      p.first_name = p.second_name = std::string(f[0]);
      p.first_number = number(f[1], line, "first image number", lines[i]);
      p.second_number = number(f[2], line, "second image number", lines[i]);
    } else {
      if (f.size() != 4)
        fail<IoError>("{}:{}: expected a mismatched pair 'name1 i name2 j' of fold {}, found {} fields: '{}'", source, line, fold,
                      f.size(), lines[i]);
      p.first_name = std::string(f[0]);
      p.first_number = number(f[1], line, "first image number", lines[i]);
      p.second_name = std::string(f[2]);
      p.second_number = number(f[3], line, "second image number", lines[i]);
    }
    file.pairs.push_back(std::move(p));
  }
  if (lines.size() < expected)
    fail<IoError>("{}: ends after line {}; the first line announces {} folds of {} matched and {} mismatched pairs ({} lines)",
                  source, lines.size(), file.folds, file.per_fold, file.per_fold, expected);
  if (lines.size() > expected)
    fail<IoError>("{}:{}: unexpected line after the last pair of fold {} ('{}')", source, expected + 1, file.folds,
                  lines[expected]);
  return file;
}

inline PairsFile read_pairs(const std::filesystem::path& file) {
  const auto bytes = io::read_file(file);
  return parse_pairs(std::string_view(reinterpret_cast<const char*>(bytes.data()), bytes.size()), file.string());
}

// The first `folds` folds, and of each the first `per_fold` matched and first `per_fold`
// mismatched pairs (all of them when per_fold is 0 or larger than the file's).
inline std::vector<Pair> select(const PairsFile& file, int folds, int per_fold) {
  if (folds < 1 || folds > file.folds) fail("tsgan: asked for {} LFW folds; the file has {}", folds, file.folds);
  const int n = per_fold <= 0 ? file.per_fold : std::min(per_fold, file.per_fold);
  std::vector<Pair> out;
  for (const Pair& p : file.pairs) {
    const int k = static_cast<int>(&p - file.pairs.data()) % (2 * file.per_fold);  // position inside the fold
    if (p.fold <= folds && (p.same ? k : k - file.per_fold) < n) out.push_back(p);
  }
  return out;
}

// LFW's layout: ROOT/images/NAME/NAME_NNNN.jpg (the shared copy; the official tarball has
// lfw/NAME/... instead, so pass ROOT such that images/ is inside).
inline std::filesystem::path image_path(const std::filesystem::path& root, const std::string& name, int number) {
  return root / "images" / name / fmt::format("{}_{:04d}.jpg", name, number);
}

}  // namespace tsgan::data::lfw
