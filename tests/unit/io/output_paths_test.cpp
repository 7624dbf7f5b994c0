#include "tsgan/io/output_paths.hpp"

#include <doctest/doctest.h>

#include <filesystem>
#include <map>
#include <string>
#include <vector>

#include "support.hpp"

using tsgan::io::OutputNaming;
using tsgan::io::plan_outputs;
using tsgan::test::check_io_error;
using tsgan::test::TempDir;
namespace fs = std::filesystem;

namespace {

void touch(const fs::path& p) {
  fs::create_directories(p.parent_path());
  tsgan::test::write_bytes(p, std::vector<char>{'x'});
}

// input → its outputs, relative to `root`, for readable comparisons.
std::map<std::string, std::vector<std::string>> relative(const std::vector<tsgan::io::PlannedOutput>& plan, const fs::path& root) {
  std::map<std::string, std::vector<std::string>> m;
  for (const auto& p : plan) {
    auto& outs = m[p.input.lexically_relative(root).string()];
    for (const auto& o : p.outputs) outs.push_back(o.lexically_relative(root).string());
  }
  return m;
}

}  // namespace

TEST_CASE("plan_outputs: files by stem, folders by relative path, suffixes per input") {
  TempDir t;
  touch(t / "a.png");
  touch(t / "faces/x/b.jpg");
  touch(t / "faces/c.PNG");
  touch(t / "faces/notes.txt");
  OutputNaming naming;
  naming.suffixes = {"", "_frontal"};
  naming.accept = [](const fs::path& p) { return tsgan::io::has_extension(p, {".png", ".jpg"}); };
  const auto plan = plan_outputs({t / "a.png", t / "faces"}, t / "out", naming);
  const std::map<std::string, std::vector<std::string>> want{
      {"a.png", {"out/a.png", "out/a_frontal.png"}},
      {"faces/c.PNG", {"out/c.png", "out/c_frontal.png"}},
      {"faces/x/b.jpg", {"out/x/b.png", "out/x/b_frontal.png"}}};
  CHECK(relative(plan, t.path()) == want);
  REQUIRE(plan.size() == 3);
  CHECK(plan[1].input == t / "faces/c.PNG");  // a folder's files in sorted order, after the file before it
}

TEST_CASE("plan_outputs: colliding stems get distinct names, the same ones every time") {
  TempDir t;
  for (const char* f : {"a.png", "a.jpg", "d/a.png", "a_2.png"}) touch(t / f);
  const std::vector<fs::path> inputs{t / "a.png", t / "a.jpg", t / "d/a.png", t / "a_2.png"};
  const auto plan = plan_outputs(inputs, t / "out", {});
  // a_2 is the plain name of the fourth input, so the renamed ones skip it.
  const std::map<std::string, std::vector<std::string>> want{{"a.png", {"out/a.png"}},
                                                             {"a.jpg", {"out/a_3.png"}},
                                                             {"d/a.png", {"out/a_4.png"}},
                                                             {"a_2.png", {"out/a_2.png"}}};
  CHECK(relative(plan, t.path()) == want);
  CHECK(relative(plan_outputs(inputs, t / "out", {}), t.path()) == want);

  // A suffixed output of one input collides with the plain output of another.
  touch(t / "b.png");
  touch(t / "b_frontal.jpg");
  OutputNaming naming;
  naming.suffixes = {"", "_frontal"};
  const auto suffixed = plan_outputs({t / "b.png", t / "b_frontal.jpg"}, t / "out", naming);
  const std::map<std::string, std::vector<std::string>> want_suffixed{
      {"b.png", {"out/b.png", "out/b_frontal.png"}},
      {"b_frontal.jpg", {"out/b_frontal_2.png", "out/b_frontal_2_frontal.png"}}};
  CHECK(relative(suffixed, t.path()) == want_suffixed);
}

TEST_CASE("plan_outputs: an output is never an input, also through another spelling or a hard link") {
  TempDir t;
  touch(t / "in/a.png");
  touch(t / "in/b.png");
  OutputNaming naming;
  naming.overwrite = true;  // even when replacing is allowed
  // --out is the inputs' own folder, spelled differently.
  const auto plan = plan_outputs({t / "in/a.png", t / "in/b.png"}, t / "in/../in/.", naming);
  REQUIRE(plan.size() == 2);
  CHECK(plan[0].outputs[0].filename() == "a_2.png");
  CHECK(plan[1].outputs[0].filename() == "b_2.png");
  // out/e.png is another name of the input src/e.png.
  touch(t / "src/e.png");
  touch(t / "src/f.png");
  fs::create_directories(t / "out");
  fs::create_hard_link(t / "src/e.png", t / "out/e.png");
  const auto linked = plan_outputs({t / "src/e.png", t / "src/f.png"}, t / "out", naming);
  CHECK(linked[0].outputs[0] == t / "out/e_2.png");
  CHECK(linked[1].outputs[0] == t / "out/f.png");
}

TEST_CASE("plan_outputs: existing outputs only with overwrite; OUT a file; a folder skips OUT") {
  TempDir t;
  touch(t / "a.png");
  touch(t / "out/a.png");
  check_io_error([&] { plan_outputs({t / "a.png"}, t / "out", {}); }, t / "out/a.png",
                 {"1 output file exists already", "--overwrite"});
  OutputNaming overwrite;
  overwrite.overwrite = true;
  CHECK(plan_outputs({t / "a.png"}, t / "out", overwrite)[0].outputs[0] == t / "out/a.png");

  touch(t / "file");
  check_io_error([&] { plan_outputs({t / "a.png"}, t / "file", {}); }, t / "file", {"is a file"});

  // A folder input whose earlier outputs are inside it: they are not inputs again.
  TempDir u;
  touch(u / "x.png");
  touch(u / "out/x.png");
  const auto plan = plan_outputs({u.path()}, u / "out", overwrite);
  REQUIRE(plan.size() == 1);
  CHECK(plan[0].input == u / "x.png");
}
