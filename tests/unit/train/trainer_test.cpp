#include "tsgan/train/trainer.hpp"

#include <doctest/doctest.h>
#include <sys/stat.h>
#include <sys/wait.h>

#include <cmath>
#include <cstring>
#include <filesystem>
#include <limits>
#include <optional>
#include <string>
#include <vector>

#include "support.hpp"

namespace fs = std::filesystem;
namespace tr = tsgan::train;
using tsgan::test::check_io_error;
using tsgan::test::TempDir;

namespace {

// Gradient descent on (x − 3)²: x ← x − 0.1·2(x − 3), exact to compare; the state is (step, x).
// `poison_at` makes that step's loss NaN, `bad_parameter_at` its parameter infinite (the loss
// stays finite), `signal_at` raises a signal inside that step.
struct Quadratic {
  std::int64_t steps_made = 0;
  double x = 0;
  std::int64_t poison_at = -1, bad_parameter_at = -1, signal_at = -1;
  int signal = 0;
  int snapshots = 0;

  std::int64_t step() const { return steps_made; }
  tr::LossTerms train_step() {
    ++steps_made;
    if (steps_made == signal_at) ::raise(signal);
    const double loss = (x - 3) * (x - 3);
    x -= 0.2 * (x - 3);
    if (steps_made == bad_parameter_at) x = std::numeric_limits<double>::infinity();
    return {{"L", steps_made == poison_at ? std::nan("") : loss}, {"L_half", loss / 2}};
  }
  void save(const fs::path& p) const {
    const double state[2] = {double(steps_made), x};
    tsgan::io::write_file_atomic(p, std::as_bytes(std::span(state)));
  }
  void load(const fs::path& p) {
    const auto bytes = tsgan::io::read_file(p);
    REQUIRE(bytes.size() == 2 * sizeof(double));
    double state[2];
    std::memcpy(state, bytes.data(), sizeof state);
    steps_made = static_cast<std::int64_t>(state[0]);
    x = state[1];
  }
  std::optional<std::string> non_finite() const {
    return std::isfinite(x) ? std::nullopt : std::optional<std::string>("x");
  }
  void snapshot(const fs::path& p) {
    tsgan::test::write_bytes(p, std::vector<char>{'g'});
    ++snapshots;
  }
};

static_assert(tr::Trainable<Quadratic>);

double x_after(int steps) {
  double x = 0;
  for (int i = 0; i < steps; ++i) x -= 0.2 * (x - 3);
  return x;
}

Quadratic stored(const fs::path& out) {
  Quadratic q;
  q.load(tr::checkpoint_path(out));
  return q;
}

std::vector<std::int64_t> logged_steps(const fs::path& out) {
  std::vector<std::int64_t> steps;
  std::ifstream f(tr::log_path(out));
  for (std::string line; std::getline(f, line);) steps.push_back(nlohmann::json::parse(line).at("step").get<std::int64_t>());
  return steps;
}

tr::TrainerOptions options(const fs::path& out, std::int64_t steps) {
  tr::TrainerOptions o;
  o.out = out;
  o.steps = steps;
  o.log_every = 2;
  o.program = "test";
  o.progress_line = false;
  return o;
}

}  // namespace

TEST_CASE("Trainer: checkpoints, log lines and grids every log_every steps and at the end") {
  TempDir t;
  Quadratic q;
  tr::Trainer trainer(q, options(t / "run", 5));
  CHECK_FALSE(trainer.start());
  CHECK(trainer.run() == tr::Stop::finished);
  CHECK(q.step() == 5);
  CHECK(stored(t / "run").x == x_after(5));
  CHECK(logged_steps(t / "run") == std::vector<std::int64_t>{2, 4, 5});
  CHECK(q.snapshots == 3);
  CHECK(fs::exists(t / "run/grid_000004.png"));
  std::ifstream f(tr::log_path(t / "run"));
  std::string first;
  std::getline(f, first);
  const auto j = nlohmann::json::parse(first);
  CHECK(j.at("L").get<double>() == doctest::Approx(std::pow(x_after(1) - 3, 2)).epsilon(1e-5));  // step 2 measured x_1
  CHECK(j.at("L_half").get<double>() == doctest::Approx(std::pow(x_after(1) - 3, 2) / 2).epsilon(1e-5));
  CHECK(j.contains("ms_per_step"));
}

TEST_CASE("Trainer: start policy: an existing checkpoint needs resume or overwrite; resume needs one") {
  TempDir t;
  const fs::path out = t / "run";
  {
    Quadratic q;
    auto o = options(out, 4);
    o.resume = true;
    check_io_error([&] { tr::Trainer(q, o).start(); }, tr::checkpoint_path(out), {"no checkpoint to resume"});
    CHECK_FALSE(fs::exists(tr::checkpoint_path(out)));
  }
  Quadratic first;
  tr::Trainer(first, options(out, 4)).run();
  const auto before = tsgan::io::read_file(tr::checkpoint_path(out));
  {
    Quadratic q;
    check_io_error([&] { tr::Trainer(q, options(out, 6)).start(); }, tr::checkpoint_path(out),
                   {"a checkpoint exists", "--resume", "--overwrite"});
    CHECK(tsgan::io::read_file(tr::checkpoint_path(out)) == before);
    CHECK(logged_steps(out) == std::vector<std::int64_t>{2, 4});
  }
  {
    Quadratic q;
    auto o = options(out, 2);
    o.overwrite = true;
    CHECK(tr::Trainer(q, o).run() == tr::Stop::finished);
    CHECK(stored(out).step() == 2);
    CHECK(logged_steps(out) == std::vector<std::int64_t>{2});  // a new run, a new log
  }
  // The run folder is a file.
  tsgan::test::write_bytes(t / "file", std::vector<char>{'x'});
  Quadratic q;
  check_io_error([&] { tr::Trainer(q, options(t / "file", 2)).start(); }, t / "file", {"is a file"});
}

TEST_CASE("Trainer: a resumed run ends where an uninterrupted one ends; the log drops lines past the checkpoint") {
  TempDir t;
  const fs::path out = t / "run";
  Quadratic a;
  tr::Trainer(a, options(out, 4)).run();
  {  // a run that logged step 6 and died before saving it, in the middle of the next line
    std::ofstream f(tr::log_path(out), std::ios::app);
    f << R"({"step":6,"L":1})" << "\n" << R"({"step":)";
  }
  Quadratic b;
  auto o = options(out, 7);
  o.resume = true;
  tr::Trainer trainer(b, o);
  CHECK(trainer.start());
  CHECK(b.step() == 4);
  CHECK(trainer.last_saved_step() == 4);
  CHECK(trainer.run() == tr::Stop::finished);
  CHECK(b.x == x_after(7));
  CHECK(stored(out).x == x_after(7));
  CHECK(logged_steps(out) == std::vector<std::int64_t>{2, 4, 6, 7});
}

TEST_CASE("Trainer: a non-finite loss or parameter stops the run and keeps the last good checkpoint") {
  TempDir t;
  SUBCASE("a NaN loss term") {
    Quadratic q;
    q.poison_at = 5;
    tr::Trainer trainer(q, options(t / "run", 10));
    CHECK(trainer.run() == tr::Stop::diverged);
    CHECK(tr::exit_status(tr::Stop::diverged) == 1);
    CHECK(q.step() == 5);
    CHECK(trainer.last_saved_step() == 4);
    CHECK(stored(t / "run").x == x_after(4));
    std::ifstream f(tr::log_path(t / "run"));
    std::string line, last;
    while (std::getline(f, line)) last = line;
    const auto j = nlohmann::json::parse(last);
    CHECK(j.at("step") == 5);
    CHECK(j.at("diverged").get<std::string>() == "L is NaN");
  }
  SUBCASE("an infinite parameter behind finite losses, found before a save") {
    Quadratic q;
    q.bad_parameter_at = 6;
    tr::Trainer trainer(q, options(t / "run", 10));
    CHECK(trainer.run() == tr::Stop::diverged);
    CHECK(stored(t / "run").step() == 4);
    CHECK(std::isfinite(stored(t / "run").x));
    CHECK_FALSE(fs::exists(t / "run/grid_000006.png"));
  }
}

TEST_CASE("Trainer: SIGINT and SIGTERM finish the step, save it and stop (130, 143)") {
  for (const int sig : {SIGINT, SIGTERM}) {
    TempDir t;
    Quadratic q;
    q.signal_at = 3;
    q.signal = sig;
    struct sigaction before{};
    ::sigaction(sig, nullptr, &before);
    tr::Trainer trainer(q, options(t / "run", 10));
    const tr::Stop stop = trainer.run();
    CHECK(stop == (sig == SIGINT ? tr::Stop::interrupted : tr::Stop::terminated));
    CHECK(tr::exit_status(stop) == 128 + sig);
    CHECK(stored(t / "run").step() == 3);
    CHECK(stored(t / "run").x == x_after(3));
    // The handler that was there before the run (doctest's) is back.
    struct sigaction now{};
    ::sigaction(sig, nullptr, &now);
    CHECK((now.sa_handler == before.sa_handler));
  }
}

TEST_CASE("Trainer: a read-only checkpoint is never replaced; dead processes' temporaries are removed") {
  TempDir t;
  const fs::path out = t / "run";
  Quadratic first;
  tr::Trainer(first, options(out, 2)).run();
  fs::permissions(tr::checkpoint_path(out), fs::perms::owner_read | fs::perms::group_read | fs::perms::others_read);
  for (const bool resume : {true, false}) {
    Quadratic q;
    auto o = options(out, 4);
    o.resume = resume;
    o.overwrite = !resume;
    check_io_error([&] { tr::Trainer(q, o).start(); }, tr::checkpoint_path(out), {"read-only"});
  }
  CHECK(stored(out).step() == 2);
  fs::permissions(tr::checkpoint_path(out), fs::perms::owner_write, fs::perm_options::add);

  const pid_t child = ::fork();
  if (child == 0) ::_exit(0);
  ::waitpid(child, nullptr, 0);  // a pid that is no process now
  const std::string dead = fmt::format(".checkpoint.safetensors.tmp.{}.3", child);
  const std::string alive = fmt::format(".checkpoint.safetensors.tmp.{}.0", ::getppid());
  const std::string other = ".grid.png.tmp.1.0";
  for (const auto& name : {dead, alive, other}) tsgan::test::write_bytes(out / name, std::vector<char>{'t'});
  Quadratic q;
  auto o = options(out, 4);
  o.resume = true;
  tr::Trainer(q, o).start();
  CHECK_FALSE(fs::exists(out / dead));
  CHECK(fs::exists(out / alive));
  CHECK(fs::exists(out / other));
}
