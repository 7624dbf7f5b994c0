// A TSGAN training checkpoint: one safetensors file with everything a run needs to continue
// exactly where it stopped — the five networks (gd.*, dd.*, gf.*, df.*, phi.*), the four Adam
// optimizers' states (optim.<net>.<param>.{exp_avg, exp_avg_sq, step}), the step counter, the
// random generator's (seed, offset), the dual triplet loss's running centres, and the model's
// compile-time configuration as metadata.
//
// Loading compares the stored configuration with the model's and checks every tensor's name,
// shape and dtype, and that every F32/F64 tensor is finite (a diverged run's NaN weights would
// only show up later as NaN images), before writing anything; all problems are reported together.
//
// A generators file (save_generators) is what inference needs and nothing more: G_d and G_f with
// their batch-norm statistics, the configuration, and whatever provenance the caller adds as
// metadata, optionally stored as F16 (half the size; restore() still computes in the model's
// type). load_generators reads one, or the generators of a full training checkpoint.
#pragma once

#include <cmath>
#include <map>
#include <optional>
#include <set>
#include <span>
#include <string>

#include "tsgan/core/copy.hpp"
#include "tsgan/models/configs.hpp"
#include "tsgan/nn/checkpoint.hpp"

namespace tsgan::models {

inline constexpr const char* checkpoint_format = "tsgan.TSGAN/1";
inline constexpr const char* generators_format = "tsgan.TSGAN-generators/1";

namespace detail {

template <class T>
std::span<const std::byte> as_bytes(const T* data, index_t n) {
  return {reinterpret_cast<const std::byte*>(data), static_cast<std::size_t>(n) * sizeof(T)};
}

template <class T, class D, class Opt>
void add_optimizer(io::safetensors::Writer& w, const std::string& prefix, Opt& opt) {
  opt.for_each_state([&](const std::string& name, std::int64_t& step, T* m, T* v, index_t n) {
    std::vector<T> host_m(static_cast<std::size_t>(n)), host_v(static_cast<std::size_t>(n));
    copy_to_host<D>(host_m.data(), m, n);
    copy_to_host<D>(host_v.data(), v, n);
    const std::string base = prefix + "." + name;
    w.add_bytes(base + ".exp_avg", io::safetensors::dtype_of<T>, {n}, as_bytes(host_m.data(), n));
    w.add_bytes(base + ".exp_avg_sq", io::safetensors::dtype_of<T>, {n}, as_bytes(host_v.data(), n));
    w.add_bytes(base + ".step", io::safetensors::Dtype::I64, {}, as_bytes(&step, 1));
  });
}

// An entry the checkpoint must hold outside the module plan: a flat tensor of `n` elements of
// `dtype` (n < 0: a scalar), and, unless it is stored by other means, where to put it once
// everything has been checked.
struct RawEntry {
  std::string name;
  io::safetensors::Dtype dtype;
  std::vector<std::int64_t> shape;
  std::function<void(std::span<const std::byte>)> store;
};

template <class T, class Opt>
void expect_optimizer(std::vector<RawEntry>& entries, const std::string& prefix, Opt& opt) {
  opt.for_each_state([&](const std::string& name, std::int64_t&, T*, T*, index_t n) {
    const std::string base = prefix + "." + name;
    entries.push_back({base + ".exp_avg", io::safetensors::dtype_of<T>, {n}, nullptr});
    entries.push_back({base + ".exp_avg_sq", io::safetensors::dtype_of<T>, {n}, nullptr});
    entries.push_back({base + ".step", io::safetensors::Dtype::I64, {}, nullptr});
  });
}

// Stores inside for_each_state, which copies a step count written there to the device's copy
// that the GPU's update kernels read (a step count stored afterwards would reach the host only).
template <class T, class D, class Opt>
void load_optimizer(const io::safetensors::Reader& file, const std::string& prefix, Opt& opt) {
  opt.for_each_state([&](const std::string& name, std::int64_t& step, T* m, T* v, index_t n) {
    const std::string base = prefix + "." + name;
    copy_from_host<D>(m, reinterpret_cast<const T*>(file.bytes(base + ".exp_avg").data()), n);
    copy_from_host<D>(v, reinterpret_cast<const T*>(file.bytes(base + ".exp_avg_sq").data()), n);
    std::memcpy(&step, file.bytes(base + ".step").data(), sizeof step);
  });
}

// The first element of a floating tensor that is NaN or infinite, as "<value> at element <i>".
inline std::optional<std::string> non_finite_element(const io::safetensors::TensorInfo& info, std::span<const std::byte> bytes) {
  auto scan = [&]<class V>(std::type_identity<V>) -> std::optional<std::string> {
    for (std::size_t i = 0; i < bytes.size() / sizeof(V); ++i) {
      V v;
      std::memcpy(&v, bytes.data() + i * sizeof(V), sizeof v);
      if (!std::isfinite(v)) return fmt::format("{} at element {}", v, i);
    }
    return std::nullopt;
  };
  if (info.dtype == io::safetensors::Dtype::F32) return scan(std::type_identity<float>{});
  if (info.dtype == io::safetensors::Dtype::F64) return scan(std::type_identity<double>{});
  return std::nullopt;
}

}  // namespace detail

template <class Model>
void save_checkpoint(Model& model, const std::filesystem::path& path) {
  using T = typename Model::T;
  using D = typename Model::device;
  io::safetensors::Writer w;
  nn::add_to_checkpoint(w, model.networks());
  detail::add_optimizer<T, D>(w, "optim.gd", model.optimizer_gd());
  detail::add_optimizer<T, D>(w, "optim.dd", model.optimizer_dd());
  detail::add_optimizer<T, D>(w, "optim.gf", model.optimizer_gf());
  detail::add_optimizer<T, D>(w, "optim.df", model.optimizer_df());
  const std::int64_t step = model.step();
  w.add_bytes("state.step", io::safetensors::Dtype::I64, {}, detail::as_bytes(&step, 1));
  const std::int64_t rng[2] = {static_cast<std::int64_t>(model.rng().seed()), static_cast<std::int64_t>(model.rng().offset())};
  w.add_bytes("state.rng", io::safetensors::Dtype::I64, {2}, detail::as_bytes(rng, 2));
  const auto centres = model.dual_triplet().centres();
  constexpr index_t E = Model::embedding_size();
  std::vector<std::int64_t> ids;
  std::vector<T> values;
  for (const auto& [id, c] : centres) {
    ids.push_back(id);
    values.insert(values.end(), c.begin(), c.end());
  }
  const auto k = static_cast<std::int64_t>(ids.size());
  w.add_bytes("state.dtl.centre_ids", io::safetensors::Dtype::I64, {k}, detail::as_bytes(ids.data(), k));
  w.add_bytes("state.dtl.centres", io::safetensors::dtype_of<T>, {k, E}, detail::as_bytes(values.data(), k * E));
  w.set_metadata("tsgan.version", version_string);
  w.set_metadata("tsgan.format", checkpoint_format);
  w.set_metadata("tsgan.config", config::describe<typename Model::config_type>());
  w.write(path);
}

template <class Model>
void load_checkpoint(Model& model, const std::filesystem::path& path) {
  using T = typename Model::T;
  using D = typename Model::device;
  namespace st = io::safetensors;
  const st::Reader file(path);
  std::vector<std::string> problems;
  const std::string want_config = config::describe<typename Model::config_type>();
  if (file.metadata("tsgan.format") != std::optional<std::string>(checkpoint_format))
    problems.push_back(fmt::format("metadata tsgan.format is '{}', expected '{}'", file.metadata("tsgan.format").value_or("(none)"),
                                   checkpoint_format));
  if (const auto stored = file.metadata("tsgan.config"); stored != want_config)
    problems.push_back(fmt::format("it was written for another configuration:\n  stored: {}\n  model:  {}",
                                   stored.value_or("(none)"), want_config));

  nn::ModuleLoader loader(st::Unexpected::ignore);
  loader.add(model.networks());
  std::vector<detail::RawEntry> raw;
  detail::expect_optimizer<T>(raw, "optim.gd", model.optimizer_gd());
  detail::expect_optimizer<T>(raw, "optim.dd", model.optimizer_dd());
  detail::expect_optimizer<T>(raw, "optim.gf", model.optimizer_gf());
  detail::expect_optimizer<T>(raw, "optim.df", model.optimizer_df());
  std::int64_t step = 0, rng[2] = {0, 0};
  raw.push_back({"state.step", st::Dtype::I64, {}, [&](auto b) { std::memcpy(&step, b.data(), sizeof step); }});
  raw.push_back({"state.rng", st::Dtype::I64, {2}, [&](auto b) { std::memcpy(rng, b.data(), sizeof rng); }});

  for (auto& m : loader.plan().mismatches(file)) problems.push_back(m);
  std::set<std::string> expected;
  for (const auto& e : loader.plan().expectations()) expected.insert(e.name);
  for (const auto& e : raw) {
    expected.insert(e.name);
    if (!file.contains(e.name)) {
      problems.push_back(fmt::format("missing tensor '{}'", e.name));
      continue;
    }
    const auto& info = file.info(e.name);
    if (info.dtype != e.dtype || info.shape != e.shape)
      problems.push_back(fmt::format("tensor '{}' is {} {}, expected {} {}", e.name, st::dtype_name(info.dtype),
                                     fmt::join(info.shape, "x"), st::dtype_name(e.dtype), fmt::join(e.shape, "x")));
  }
  expected.insert("state.dtl.centre_ids");
  expected.insert("state.dtl.centres");
  constexpr index_t E = Model::embedding_size();
  std::int64_t centre_count = -1;
  if (!file.contains("state.dtl.centre_ids") || !file.contains("state.dtl.centres")) {
    problems.push_back("missing tensors 'state.dtl.centre_ids' and 'state.dtl.centres'");
  } else {
    const auto& ids = file.info("state.dtl.centre_ids");
    const auto& cs = file.info("state.dtl.centres");
    if (ids.dtype != st::Dtype::I64 || ids.shape.size() != 1 || cs.dtype != st::dtype_of<T> ||
        cs.shape != std::vector<std::int64_t>{ids.shape.empty() ? 0 : ids.shape[0], E})
      problems.push_back(fmt::format("the dual triplet centres do not match: ids {} {}, centres {} {} (embedding size {})",
                                     st::dtype_name(ids.dtype), fmt::join(ids.shape, "x"), st::dtype_name(cs.dtype),
                                     fmt::join(cs.shape, "x"), E));
    else centre_count = ids.shape[0];
  }
  for (const auto& name : file.names()) {
    if (!expected.contains(name)) problems.push_back(fmt::format("unexpected tensor '{}'", name));
    else if (auto bad = detail::non_finite_element(file.info(name), file.bytes(name)))
      problems.push_back(fmt::format("tensor '{}' is not finite ({})", name, *bad));
  }
  if (!problems.empty())
    fail<IoError>("{}: cannot load this TSGAN checkpoint:\n  - {}", path.string(), fmt::join(problems, "\n  - "));

  loader.apply(file);
  for (auto& e : raw)
    if (e.store) e.store(file.bytes(e.name));
  detail::load_optimizer<T, D>(file, "optim.gd", model.optimizer_gd());
  detail::load_optimizer<T, D>(file, "optim.dd", model.optimizer_dd());
  detail::load_optimizer<T, D>(file, "optim.gf", model.optimizer_gf());
  detail::load_optimizer<T, D>(file, "optim.df", model.optimizer_df());
  model.set_step(step);
  model.rng().set_state(static_cast<std::uint64_t>(rng[0]), static_cast<std::uint64_t>(rng[1]));
  std::map<std::int64_t, std::vector<T>> centres;
  const auto* ids = reinterpret_cast<const std::int64_t*>(file.bytes("state.dtl.centre_ids").data());
  const auto* values = reinterpret_cast<const T*>(file.bytes("state.dtl.centres").data());
  for (std::int64_t i = 0; i < centre_count; ++i) centres[ids[i]] = std::vector<T>(values + i * E, values + (i + 1) * E);
  model.dual_triplet().set_centres(centres);
}

namespace detail {
inline bool is_generator_tensor(const std::string& name) { return name.starts_with("gd.") || name.starts_with("gf."); }
}  // namespace detail

// Writes G_d and G_f (parameters and buffers) of `model`, floating tensors stored as `dtype`.
template <class Model>
void save_generators(Model& model, const std::filesystem::path& path, io::safetensors::Dtype dtype = io::safetensors::Dtype::F32,
                     const std::map<std::string, std::string>& metadata = {}) {
  namespace st = io::safetensors;
  if (!st::is_floating(dtype)) fail("tsgan: save_generators: {} is not a floating dtype", st::dtype_name(dtype));
  st::Writer w;
  auto add = [&](const std::string& name, const auto& tensor) {
    if (!detail::is_generator_tensor(name)) return;
    const auto host = tensor.template to<cpu>();
    using T = typename std::remove_cvref_t<decltype(host)>::value_type;
    if constexpr (std::is_floating_point_v<T>) w.add(name, host, dtype);
    else w.add(name, host);
  };
  nn::for_each_parameter(model.networks(), [&](const std::string& name, auto& p) { add(name, p.value()); });
  nn::for_each_buffer(model.networks(), [&](const std::string& name, auto& b) { add(name, b); });
  for (const auto& [k, v] : metadata) w.set_metadata(k, v);
  w.set_metadata("tsgan.version", version_string);
  w.set_metadata("tsgan.format", generators_format);
  w.set_metadata("tsgan.config", config::describe<typename Model::config_type>());
  w.write(path);
}

// Fills G_d and G_f from a generators file or a full checkpoint of the same configuration; the
// other networks, the optimizers and the step are left as they are.
template <class Model>
void load_generators(Model& model, const std::filesystem::path& path) {
  namespace st = io::safetensors;
  const st::Reader file(path);
  std::vector<std::string> problems;
  const auto format = file.metadata("tsgan.format");
  if (format != std::optional<std::string>(generators_format) && format != std::optional<std::string>(checkpoint_format))
    problems.push_back(fmt::format("metadata tsgan.format is '{}', expected '{}' or '{}'", format.value_or("(none)"),
                                   generators_format, checkpoint_format));
  const std::string want_config = config::describe<typename Model::config_type>();
  if (const auto stored = file.metadata("tsgan.config"); stored != want_config)
    problems.push_back(fmt::format("it was written for another configuration:\n  stored: {}\n  model:  {}",
                                   stored.value_or("(none)"), want_config));
  nn::ModuleLoader loader(st::Unexpected::ignore);
  loader.add(model.networks().gd, "gd");
  loader.add(model.networks().gf, "gf");
  for (auto& m : loader.plan().mismatches(file)) problems.push_back(m);
  for (const auto& name : file.names())
    if (detail::is_generator_tensor(name))
      if (auto bad = detail::non_finite_element(file.info(name), file.bytes(name)))
        problems.push_back(fmt::format("tensor '{}' is not finite ({})", name, *bad));
  if (!problems.empty())
    fail<IoError>("{}: cannot load TSGAN generators from it:\n  - {}", path.string(), fmt::join(problems, "\n  - "));
  loader.apply(file);
}

}  // namespace tsgan::models
