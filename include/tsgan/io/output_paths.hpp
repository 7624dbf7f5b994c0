// Where a program that turns input files into output files puts them: the inputs as given on a
// command line (files, and folders whose matching files are taken recursively) are mapped to files
// under one output folder, and every problem is found before anything is written.
//
// The contract:
// - A file given by itself maps to OUT/<stem><suffix><extension>; a file found in a folder keeps
//   its path relative to that folder (OUT/<sub/dirs>/<stem>...), so that two folders of
//   same-named files stay apart by their structure first.
// - Every planned output is distinct. Inputs whose names collide (a.png and a.jpg, or dir1/a.png
//   and dir2/a.png) keep the plain name for the first in command-line order (folders in sorted
//   order) and get <stem>_2, <stem>_3, ... for the others, skipping names taken by anyone; the same
//   inputs always give the same names.
// - No output is ever an input: a planned output that is (or is a link to) an input file is
//   renamed the same way, so `--out` may be the input's own folder.
// - An output that already exists is replaced only when the caller allows it (--overwrite);
//   otherwise plan_outputs throws an IoError naming it before any output is written.
// - OUT must be a folder or not exist yet; a folder input does not pick up files under OUT (the
//   outputs of an earlier run).
#pragma once

#include <sys/stat.h>

#include <algorithm>
#include <cctype>
#include <filesystem>
#include <functional>
#include <set>
#include <string>
#include <system_error>
#include <utility>
#include <vector>

#include <fmt/format.h>
#include <fmt/ranges.h>

#include "tsgan/core/error.hpp"

namespace tsgan::io {

struct OutputNaming {
  std::vector<std::string> suffixes{""};  // each input gives one output per suffix
  std::string extension = ".png";
  bool overwrite = false;  // replace outputs that exist
  // Which files of a folder input are inputs (files named directly are always taken).
  std::function<bool(const std::filesystem::path&)> accept = [](const std::filesystem::path&) { return true; };
};

struct PlannedOutput {
  std::filesystem::path input;
  std::vector<std::filesystem::path> outputs;  // one per suffix, in OutputNaming::suffixes' order
};

// True when `path`'s extension is one of `extensions` (".png", ...), ignoring case.
inline bool has_extension(const std::filesystem::path& path, const std::vector<std::string>& extensions) {
  std::string ext = path.extension().string();
  std::transform(ext.begin(), ext.end(), ext.begin(), [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return std::find(extensions.begin(), extensions.end(), ext) != extensions.end();
}

namespace detail {

// A path that compares equal for every spelling of the same place (./a, a, dir/../a, links).
inline std::filesystem::path place_of(const std::filesystem::path& p) {
  std::error_code ec;
  auto canonical = std::filesystem::weakly_canonical(p, ec);
  return ec ? std::filesystem::absolute(p).lexically_normal() : canonical;
}

}  // namespace detail

inline std::vector<PlannedOutput> plan_outputs(const std::vector<std::filesystem::path>& inputs,
                                               const std::filesystem::path& out, const OutputNaming& naming) {
  namespace fs = std::filesystem;
  std::error_code ec;
  if (fs::exists(out, ec) && !fs::is_directory(out, ec))
    fail<IoError>("{}: the output folder is a file (give a folder that does not exist yet or a folder)", out.string());
  const fs::path out_place = detail::place_of(out);

  // Every input file with the name its outputs want relative to OUT, without suffix and extension.
  struct Wanted {
    fs::path input, base;
  };
  std::vector<Wanted> wanted;
  for (const fs::path& given : inputs) {
    if (fs::is_directory(given, ec)) {
      std::vector<fs::path> found;
      for (auto it = fs::recursive_directory_iterator(given, fs::directory_options::skip_permission_denied, ec);
           !ec && it != fs::recursive_directory_iterator(); it.increment(ec)) {
        if (it->is_directory() && detail::place_of(it->path()) == out_place) {
          it.disable_recursion_pending();
          continue;
        }
        if (it->is_regular_file() && naming.accept(it->path())) found.push_back(it->path());
      }
      if (ec) fail<IoError>("{}: cannot list the folder: {}", given.string(), ec.message());
      std::sort(found.begin(), found.end());
      for (const fs::path& f : found) {
        const fs::path rel = f.lexically_relative(given);
        wanted.push_back({f, rel.parent_path() / rel.stem()});
      }
    } else {
      wanted.push_back({given, given.stem()});
    }
  }

  std::set<fs::path> input_places;
  for (const auto& w : wanted) input_places.insert(detail::place_of(w.input));
  // Lower-case keys: on a case-insensitive file system A.png and a.png are one file.
  auto key = [](const fs::path& p) {
    std::string s = p.string();
    std::transform(s.begin(), s.end(), s.begin(), [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
    return s;
  };
  auto files_of = [&](const fs::path& base) {
    std::vector<fs::path> files;
    for (const auto& suffix : naming.suffixes)
      files.push_back(out / base.parent_path() / (base.filename().string() + suffix + naming.extension));
    return files;
  };
  // Hard links to an input are the input too: compare the files' device and inode.
  std::set<std::pair<dev_t, ino_t>> input_files;
  for (const auto& w : wanted)
    if (struct stat st{}; ::stat(w.input.c_str(), &st) == 0) input_files.insert({st.st_dev, st.st_ino});
  auto is_input = [&](const fs::path& file) {
    if (input_places.contains(detail::place_of(file))) return true;
    struct stat st{};
    return ::stat(file.c_str(), &st) == 0 && input_files.contains({st.st_dev, st.st_ino});
  };

  // Plain names wanted by someone: a renamed input must not take one, whatever the order.
  std::set<std::string> taken;
  for (const auto& w : wanted)
    for (const auto& f : files_of(w.base)) taken.insert(key(f));

  std::vector<PlannedOutput> plan;
  std::set<std::string> used;
  for (const auto& w : wanted) {
    auto free = [&](const std::vector<fs::path>& files, bool plain) {
      for (const auto& f : files)
        if (used.contains(key(f)) || (!plain && taken.contains(key(f))) || is_input(f)) return false;
      return true;
    };
    std::vector<fs::path> files = files_of(w.base);
    for (int n = 2; !free(files, n == 2); ++n)
      files = files_of(w.base.parent_path() / fmt::format("{}_{}", w.base.filename().string(), n));
    for (const auto& f : files) used.insert(key(f));
    plan.push_back({w.input, std::move(files)});
  }

  if (!naming.overwrite) {
    std::vector<std::string> existing;
    for (const auto& p : plan)
      for (const auto& f : p.outputs)
        if (fs::exists(fs::symlink_status(f, ec))) existing.push_back(f.string());
    if (!existing.empty()) {
      const std::size_t shown = std::min<std::size_t>(existing.size(), 5);
      fail<IoError>("{}{}: {} output file{} exist{} already (pass --overwrite to replace {})",
                    fmt::join(existing.begin(), existing.begin() + static_cast<std::ptrdiff_t>(shown), ", "),
                    existing.size() > shown ? fmt::format(" and {} more", existing.size() - shown) : "",
                    existing.size(), existing.size() == 1 ? "" : "s", existing.size() == 1 ? "s" : "",
                    existing.size() == 1 ? "it" : "them");
    }
  }
  return plan;
}

}  // namespace tsgan::io
