// Module checkpoints in safetensors: every parameter and buffer under its PyTorch-style name (so
// `torch.nn.Module.load_state_dict` accepts the tensors), plus metadata with the tsgan version.
//
// Loading checks every name, shape and dtype first and reports all mismatches in one error; only
// then is anything written into the module (all or nothing). Writing is atomic.
#pragma once

#include <deque>
#include <filesystem>
#include <functional>
#include <map>
#include <string>

#include "tsgan/io/safetensors.hpp"
#include "tsgan/nn/module.hpp"

namespace tsgan::nn {

namespace detail {
template <class T, ShapeType S, class D>
Tensor<T, S> host_copy(const Tensor<T, S, D>& t) {
  if constexpr (std::is_same_v<D, cpu>) return t.clone();
  else return t.template to<cpu>();
}
}  // namespace detail

// Adds the parameters and buffers of `m` to `w`, named `prefix.name`.
template <class M>
void add_to_checkpoint(io::safetensors::Writer& w, M& m, const std::string& prefix = "") {
  for_each_parameter(m, [&](const std::string& name, auto& p) {
    if constexpr (std::is_same_v<typename std::remove_cvref_t<decltype(p)>::device, cpu>) w.add(name, p.value());
    else w.add(name, detail::host_copy(p.value()));
  }, prefix);
  for_each_buffer(m, [&](const std::string& name, auto& b) {
    if constexpr (std::is_same_v<typename std::remove_cvref_t<decltype(b)>::device, cpu>) w.add(name, b);
    else w.add(name, detail::host_copy(b));
  }, prefix);
}

// Collects loads into a plan; device tensors are staged on the host and copied by `finish`.
class ModuleLoader {
 public:
  explicit ModuleLoader(io::safetensors::Unexpected extra = io::safetensors::Unexpected::error) : plan_(extra) {}

  template <class M>
  ModuleLoader& add(M& m, const std::string& prefix = "") {
    for_each_parameter(m, [&](const std::string& name, auto& p) { add_tensor(name, p.value()); }, prefix);
    for_each_buffer(m, [&](const std::string& name, auto& b) { add_tensor(name, b); }, prefix);
    return *this;
  }
  template <class T, ShapeType S, class D>
  ModuleLoader& add_tensor(const std::string& name, Tensor<T, S, D>& dest) {
    if constexpr (std::is_same_v<D, cpu>) {
      plan_.add(name, dest);
    } else {
      auto& staged = staging_.emplace_back(std::make_shared<Tensor<T, S>>());
      auto* host = static_cast<Tensor<T, S>*>(staged.get());
      plan_.add(name, *host);
      copies_.push_back([host, &dest] { dest = host->template to<D>(); });
    }
    return *this;
  }

  io::safetensors::LoadPlan& plan() { return plan_; }

  // Checks everything, then fills every destination; throws IoError listing all mismatches.
  void apply(const io::safetensors::Reader& file) {
    plan_.apply(file);
    for (auto& copy : copies_) copy();
  }

 private:
  io::safetensors::LoadPlan plan_;
  std::deque<std::shared_ptr<void>> staging_;
  std::vector<std::function<void()>> copies_;
};

// Saves a module (atomically) with the tsgan version and any extra metadata.
template <class M>
void save(const std::filesystem::path& path, M& m, const std::map<std::string, std::string>& metadata = {}) {
  io::safetensors::Writer w;
  add_to_checkpoint(w, m);
  w.set_metadata("tsgan.version", version_string);
  for (const auto& [k, v] : metadata) w.set_metadata(k, v);
  w.write(path);
}

// Loads a module saved by save() (or by PyTorch with the same names and shapes).
template <class M>
void load(const std::filesystem::path& path, M& m) {
  const io::safetensors::Reader file(path);
  ModuleLoader loader;
  loader.add(m);
  loader.apply(file);
}

}  // namespace tsgan::nn
