// Golden values recorded with PyTorch (tests/fixtures/nn/make_layers.py): a file of cases, each a
// name, its options and named double tensors (inputs, the upstream gradient dy, the result y and
// the input gradients d<input>).
#pragma once

#include <doctest/doctest.h>

#include <array>
#include <filesystem>
#include <fstream>
#include <map>
#include <sstream>
#include <string>
#include <tuple>
#include <utility>
#include <vector>

#include "support.hpp"

namespace tsgan::test {

struct GoldenCase {
  std::string name;
  std::map<std::string, std::string> options;
  std::map<std::string, std::vector<double>> tensors;

  const std::vector<double>& at(const std::string& key) const {
    const auto it = tensors.find(key);
    REQUIRE_MESSAGE(it != tensors.end(), "golden case " << name << " has no tensor " << key);
    return it->second;
  }
  std::string option(const std::string& key) const {
    const auto it = options.find(key);
    REQUIRE_MESSAGE(it != options.end(), "golden case " << name << " has no option " << key);
    return it->second;
  }
};

inline std::vector<GoldenCase> load_golden(const std::string& file) {
  const auto path = std::filesystem::path(source_dir) / "tests/fixtures/nn" / file;
  std::ifstream in(path);
  REQUIRE_MESSAGE(in.good(), "cannot open " << path);
  std::vector<GoldenCase> cases;
  std::string line;
  while (std::getline(in, line)) {
    std::istringstream s(line);
    std::string tag;
    s >> tag;
    if (tag == "case") {
      cases.emplace_back();
      s >> cases.back().name;
      for (std::string option; s >> option;) {
        const auto eq = option.find('=');
        cases.back().options[option.substr(0, eq)] = option.substr(eq + 1);
      }
      continue;
    }
    REQUIRE_MESSAGE(!cases.empty(), path << ": a tensor before the first case");
    auto& values = cases.back().tensors[tag];
    for (double v; s >> v;) values.push_back(v);
  }
  return cases;
}

// The cases of one name, in file order.
inline std::vector<GoldenCase> golden_cases(const std::string& file, const std::string& name) {
  std::vector<GoldenCase> picked;
  for (auto& c : load_golden(file))
    if (c.name == name) picked.push_back(std::move(c));
  REQUIRE_MESSAGE(!picked.empty(), file << " has no case " << name);
  return picked;
}

template <class T, ShapeType S>
Tensor<T, S> golden_tensor(const std::vector<double>& values) {
  REQUIRE(values.size() == std::size_t(S::size));
  Tensor<T, S> t(uninitialized);
  for (index_t i = 0; i < S::size; ++i) t[i] = static_cast<T>(values[std::size_t(i)]);
  return t;
}

// Every element of a host tensor against the golden values.
template <class Tn>
void check_golden(const Tn& got, const std::vector<double>& want, double tol, const char* what) {
  REQUIRE(want.size() == std::size_t(Tn::shape::size));
  check_all(got, [&](index_t i) { return want[std::size_t(i)]; }, tol, tol, what);
}

// Runs f on device D with one graph variable per input (host double tensors, named as in the case),
// then checks y against the case's y and, after the backward pass of sum(y · dy), each input's
// gradient against d<name>.
template <class D, class F, class... In>
void check_golden_op(const GoldenCase& c, double tol, F f, const std::array<std::string, sizeof...(In)>& names,
                     const In&... inputs) {
  Graph g;
  auto vars = std::make_tuple(g.variable(inputs.template to<D>())...);
  auto y = std::apply([&](auto&... v) { return eval(f(v...)); }, vars);
  using Y = typename decltype(y)::shape;
  check_golden(y.value().template to<cpu>(), c.at("y"), tol, (c.name + " y").c_str());
  sum(y * g.input(golden_tensor<double, Y>(c.at("dy")).template to<D>())).backward();
  [&]<std::size_t... I>(std::index_sequence<I...>) {
    (check_golden(std::get<I>(vars).grad().template to<cpu>(), c.at("d" + names[I]), tol, (c.name + " d" + names[I]).c_str()),
     ...);
  }(std::make_index_sequence<sizeof...(In)>{});
}

}  // namespace tsgan::test
