// A training loop for any model, in the spirit of dlib's dnn_trainer: the model makes steps and
// saves itself; the Trainer decides when, keeps the run's folder consistent, and stops safely.
//
// The model (usually a small adapter around a network, its optimizer and its data) provides
//   std::int64_t step() const                    steps made so far (restored by load)
//   LossTerms train_step()                        one step; the named loss terms it measured
//   void save(const std::filesystem::path&)      the whole state, written atomically
//   void load(const std::filesystem::path&)
// and optionally
//   void snapshot(const std::filesystem::path&)  an image of the current results (a PNG grid)
//   std::optional<std::string> non_finite()      the name of a parameter that is NaN or infinite
//
// The run folder OUT holds checkpoint.safetensors, log.jsonl (one JSON object per logged step,
// the same lines as stdout) and grid_NNNNNN.png. The policies:
// - Start: a checkpoint in OUT is continued with `resume` and replaced with `overwrite`; without
//   either, start() refuses to begin again from step 0 over it. `resume` without a checkpoint is an
//   error. A checkpoint that is not writable is never replaced: start() refuses. Temporary files of
//   checkpoints that a dead process was writing (.checkpoint.safetensors.tmp.<pid>.<n>) are removed.
// - Every step: each loss term must be finite. A step with a NaN or infinite term (or a model whose
//   non_finite() names a parameter at a save) stops the run with a message naming the step and
//   the term; nothing more is saved, so the last checkpoint is the last good one (exit status 1).
// - Every `log_every` steps and at the end: the checkpoint first, then the log line and the grid,
//   so that the log never runs ahead of the checkpoint; a resumed run drops log lines after its
//   checkpoint's step (written by a run that stopped before its next save).
// - SIGINT and SIGTERM (once installed by run()) let the current step finish, save, and end the
//   run with exit status 130 and 143; a second signal of the same kind is not caught again and
//   ends the process as usual.
// - Progress: on a terminal, one line on stderr rewritten in place (step, steps/s, ETA); otherwise
//   a line every `log_every` steps (stdout has the JSON lines).
#pragma once

#include <signal.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <unistd.h>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include <atomic>
#include <charconv>
#include <chrono>
#include <cerrno>
#include <cmath>
#include <concepts>
#include <cstdint>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <system_error>
#include <utility>
#include <vector>

#include "tsgan/core/error.hpp"
#include "tsgan/io/file.hpp"

namespace tsgan::train {

// The loss terms one step measured, in the order they are logged, e.g. {"L_G", 0.83}.
using LossTerms = std::vector<std::pair<std::string, double>>;

template <class M>
concept Trainable = requires(M& m, const M& cm, const std::filesystem::path& p) {
  { cm.step() } -> std::convertible_to<std::int64_t>;
  { m.train_step() } -> std::convertible_to<LossTerms>;
  m.save(p);
  m.load(p);
};

struct TrainerOptions {
  std::filesystem::path out;    // the run folder
  std::int64_t steps = 0;       // train until the model has made this many steps
  std::int64_t log_every = 50;  // steps between log lines, grids and checkpoints
  bool resume = false;          // continue OUT's checkpoint
  bool overwrite = false;       // start from step 0 over OUT's checkpoint
  std::string program = "tsgan";  // the name messages start with
  std::optional<bool> progress_line;  // a rewritten progress line; default: stderr is a terminal
};

enum class Stop { finished, diverged, interrupted, terminated };

// The exit status a program returns after a run that stopped this way.
constexpr int exit_status(Stop s) {
  switch (s) {
    case Stop::finished: return 0;
    case Stop::diverged: return 1;
    case Stop::interrupted: return 128 + SIGINT;
    case Stop::terminated: return 128 + SIGTERM;
  }
  return 1;
}

inline std::filesystem::path checkpoint_path(const std::filesystem::path& out) { return out / "checkpoint.safetensors"; }
inline std::filesystem::path log_path(const std::filesystem::path& out) { return out / "log.jsonl"; }

namespace detail {

inline std::atomic<int>& pending_signal() {
  static std::atomic<int> s{0};
  return s;
}

inline void record_signal(int sig) {
  pending_signal().store(sig);
  ::signal(sig, SIG_DFL);  // a second signal ends the process
}

// Catches SIGINT and SIGTERM for the lifetime of the guard, then restores what was there.
class SignalGuard {
 public:
  SignalGuard() {
    pending_signal().store(0);
    struct sigaction sa{};
    sa.sa_handler = record_signal;
    sa.sa_flags = SA_RESTART;  // reads and writes in the step go on
    sigemptyset(&sa.sa_mask);
    ::sigaction(SIGINT, &sa, &old_int_);
    ::sigaction(SIGTERM, &sa, &old_term_);
  }
  SignalGuard(const SignalGuard&) = delete;
  SignalGuard& operator=(const SignalGuard&) = delete;
  ~SignalGuard() {
    ::sigaction(SIGINT, &old_int_, nullptr);
    ::sigaction(SIGTERM, &old_term_, nullptr);
  }

 private:
  struct sigaction old_int_{}, old_term_{};
};

// Removes .<name>.tmp.<pid>.<n> files (io::write_file_atomic's temporaries) beside `target` whose
// process is gone; returns how many.
inline int remove_stale_temporaries(const std::filesystem::path& target) {
  namespace fs = std::filesystem;
  const std::string prefix = "." + target.filename().string() + ".tmp.";
  int removed = 0;
  std::error_code ec;
  for (const auto& e : fs::directory_iterator(target.parent_path(), ec)) {
    const std::string name = e.path().filename().string();
    if (!name.starts_with(prefix)) continue;
    const std::string_view rest = std::string_view(name).substr(prefix.size());
    long pid = 0;
    const auto [end, err] = std::from_chars(rest.data(), rest.data() + rest.size(), pid);
    if (err != std::errc() || end == rest.data() + rest.size() || *end != '.' || pid <= 0) continue;
    // A live process (this one included) may still be writing it; a reused pid keeps a stale file.
    if (pid == ::getpid() || ::kill(static_cast<pid_t>(pid), 0) == 0 || errno == EPERM) continue;
    if (fs::remove(e.path(), ec)) ++removed;
  }
  return removed;
}

// Not writable by this process, or marked read-only by its owner (which root may ignore: the
// mark is what the user meant).
inline bool read_only(const std::filesystem::path& path) {
  struct stat st{};
  return ::access(path.c_str(), W_OK) != 0 || (::stat(path.c_str(), &st) == 0 && (st.st_mode & S_IWUSR) == 0);
}

inline std::string format_duration(double seconds) {
  if (!std::isfinite(seconds) || seconds < 0) return "?";
  const auto s = static_cast<std::int64_t>(seconds + 0.5);
  if (s >= 3600) return fmt::format("{}h{:02d}m", s / 3600, (s % 3600) / 60);
  if (s >= 60) return fmt::format("{}m{:02d}s", s / 60, s % 60);
  return fmt::format("{}s", s);
}

}  // namespace detail

// One JSON object: {"step":N,"<term>":value,...,"ms_per_step":x}; values with 6 significant digits.
inline std::string log_line(std::int64_t step, const LossTerms& terms, double ms_per_step) {
  std::string line = fmt::format(R"({{"step":{})", step);
  for (const auto& [name, value] : terms) line += fmt::format(R"(,{}:{:.6g})", nlohmann::json(name).dump(), value);
  line += fmt::format(R"(,"ms_per_step":{:.1f}}})", ms_per_step);
  return line;
}

template <Trainable Model>
class Trainer {
 public:
  Trainer(Model& model, TrainerOptions options) : model_(model), opt_(std::move(options)) {
    if (opt_.log_every <= 0) fail("{}: log_every must be positive, got {}", opt_.program, opt_.log_every);
  }

  // Applies the start policy (see the top of this header): prepares OUT, and loads the checkpoint
  // when resuming. Returns true when it resumed. Throws an IoError naming what is in the way.
  bool start() {
    namespace fs = std::filesystem;
    const fs::path& out = opt_.out;
    std::error_code ec;
    if (fs::exists(out, ec) && !fs::is_directory(out, ec))
      fail<IoError>("{}: the run folder is a file, not a folder", out.string());
    const fs::path checkpoint = checkpoint_path(out);
    const bool exists = fs::exists(checkpoint, ec);
    if (opt_.resume && !exists)
      fail<IoError>("{}: there is no checkpoint to resume (drop --resume to start a new run)", checkpoint.string());
    if (exists && !opt_.resume && !opt_.overwrite)
      fail<IoError>("{}: a checkpoint exists; pass --resume to continue it or --overwrite to start again from step 0",
                    checkpoint.string());
    if (exists && detail::read_only(checkpoint))
      fail<IoError>("{}: the checkpoint is read-only, and training would replace it (make it writable, or use another "
                    "run folder)",
                    checkpoint.string());
    if (!fs::create_directories(out, ec) && ec) fail<IoError>("{}: cannot create the run folder: {}", out.string(), ec.message());
    if (const int n = detail::remove_stale_temporaries(checkpoint))
      fmt::print(stderr, "{}: removed {} temporary checkpoint file{} left by a process that ended during a save\n",
                 opt_.program, n, n == 1 ? "" : "s");
    if (opt_.resume) {
      model_.load(checkpoint);
      keep_log_until(model_.step());
      fmt::print(stderr, "{}: resumed from {} at step {}\n", opt_.program, checkpoint.string(), model_.step());
    } else {
      std::ofstream(log_path(out), std::ios::trunc);  // a new run starts a new log
      if (!fs::exists(log_path(out), ec)) fail<IoError>("{}: cannot create the log", log_path(out).string());
    }
    last_saved_ = exists && opt_.resume ? std::optional(model_.step()) : std::nullopt;
    started_ = true;
    return opt_.resume;
  }

  // Trains until opt.steps (see the top of this header for what is written when); start() first.
  Stop run() {
    if (!started_) start();
    detail::SignalGuard signals;
    line_ = opt_.progress_line.value_or(::isatty(::fileno(stderr)) == 1);
    const bool line = line_;
    const auto begin = std::chrono::steady_clock::now();
    auto last = begin;
    const std::int64_t first = model_.step();
    std::int64_t since = 0;
    Stop stop = Stop::finished;
    while (model_.step() < opt_.steps) {
      const LossTerms terms = model_.train_step();
      ++since;
      for (const auto& [name, value] : terms)
        if (!std::isfinite(value)) return diverged(fmt::format("{} is {}", name, std::isnan(value) ? "NaN" : value > 0 ? "+inf" : "-inf"));
      const int sig = detail::pending_signal().load();
      const std::int64_t step = model_.step();
      const bool due = step % opt_.log_every == 0 || step == opt_.steps || sig != 0;
      if (due) {
        if constexpr (requires { model_.non_finite(); }) {
          if (const std::optional<std::string> bad = model_.non_finite())
            return diverged(fmt::format("parameter {} is not finite", *bad));
        }
        const auto now = std::chrono::steady_clock::now();
        const double ms = std::chrono::duration<double, std::milli>(now - last).count() / double(since);
        model_.save(checkpoint_path(opt_.out));
        last_saved_ = step;
        const std::string json = log_line(step, terms, ms);
        fmt::print("{}\n", json);
        std::fflush(stdout);
        append_log(json);
        if constexpr (requires { model_.snapshot(opt_.out); })
          model_.snapshot(opt_.out / fmt::format("grid_{:06d}.png", step));
        last = std::chrono::steady_clock::now();
        since = 0;
      }
      const double elapsed = std::chrono::duration<double>(std::chrono::steady_clock::now() - begin).count();
      const double rate = double(step - first) / std::max(elapsed, 1e-9);
      if (line || due) {
        const std::string progress = fmt::format("{}: step {}/{}, {:.2f} steps/s, ETA {}", opt_.program, step, opt_.steps,
                                                 rate, detail::format_duration(double(opt_.steps - step) / rate));
        if (line) fmt::print(stderr, "\r{}\033[K", progress);
        else fmt::print(stderr, "{}\n", progress);
      }
      if (sig != 0) {
        stop = sig == SIGINT ? Stop::interrupted : Stop::terminated;
        break;
      }
    }
    if (line) fmt::print(stderr, "\n");
    if (stop != Stop::finished)
      fmt::print(stderr, "{}: stopped by {} after step {}; {} is saved (--resume continues it)\n", opt_.program,
                 stop == Stop::interrupted ? "SIGINT" : "SIGTERM", model_.step(), checkpoint_path(opt_.out).string());
    return stop;
  }

  // The step of the checkpoint in OUT that this run has saved or resumed from (none yet: empty).
  std::optional<std::int64_t> last_saved_step() const { return last_saved_; }

 private:
  Stop diverged(const std::string& what) {
    const std::string kept = last_saved_ ? fmt::format("the checkpoint of step {} is kept", *last_saved_)
                                         : std::string("no checkpoint was saved");
    if (line_) fmt::print(stderr, "\n");
    fmt::print(stderr, "{}: training diverged at step {}: {}; stopped without saving ({})\n", opt_.program,
               model_.step(), what, kept);
    append_log(fmt::format(R"({{"step":{},"diverged":{}}})", model_.step(), nlohmann::json(what).dump()));
    return Stop::diverged;
  }

  void append_log(const std::string& json) {
    const auto path = log_path(opt_.out);
    std::FILE* f = std::fopen(path.c_str(), "a");
    if (!f) fail<IoError>("{}: cannot open the log to append to it", path.string());
    const bool ok = std::fputs((json + "\n").c_str(), f) >= 0;
    if (std::fclose(f) != 0 || !ok) fail<IoError>("{}: cannot append to the log", path.string());
  }

  // A resumed run's log holds the lines up to its checkpoint's step: later ones came from a run
  // that stopped before its next save, and the resumed run writes them again. A torn last line
  // (a kill in the middle of a write) is dropped too.
  void keep_log_until(std::int64_t step) {
    const auto path = log_path(opt_.out);
    std::error_code ec;
    if (!std::filesystem::exists(path, ec)) return;
    const auto bytes = io::read_file(path);
    std::string kept;
    std::string_view text(reinterpret_cast<const char*>(bytes.data()), bytes.size());
    while (!text.empty()) {
      const std::size_t nl = text.find('\n');
      if (nl == std::string_view::npos) break;  // torn last line
      const std::string_view line = text.substr(0, nl);
      text.remove_prefix(nl + 1);
      const auto j = nlohmann::json::parse(line, nullptr, false);
      if (j.is_object() && j.contains("step") && j["step"].is_number_integer() && j["step"].get<std::int64_t>() <= step &&
          !j.contains("diverged"))
        kept.append(line).push_back('\n');
    }
    io::write_file_atomic(path, std::as_bytes(std::span(kept.data(), kept.size())));
  }

  Model& model_;
  TrainerOptions opt_;
  bool started_ = false;
  bool line_ = false;  // the progress line is on stderr
  std::optional<std::int64_t> last_saved_;
};

}  // namespace tsgan::train
