// The frame of a command-line program built on tsgan: parse the command line with CLI11, run the
// program's body, and turn whatever escapes into a message and an exit status.
//
// Exit statuses: what the body returns; 2 for a usage error (CLI11's message, then "Run with
// --help"); 0 after --help; 1 for any exception, printed as "program: message" on stderr (never
// std::terminate). Option values get messages a user can act on (`--steps ten`: "'ten' is not a
// whole number", `--steps 0`: "must be at least 1") instead of CLI11's "not in range" for both.
//
// Threads: `--threads N` sets N; without it, the program uses the cores that are idle when it
// starts (the core count less the load average or the number of running tasks, whichever is
// higher, at least 1), unless OMP_NUM_THREADS names a count. OpenMP's worker threads spin while
// they wait for work; on a core that another process keeps busy the spinning and the other process
// take turns, and a 2-thread run became 10 times slower than a 1-thread run (issue 11). A program
// that leaves busy cores alone never makes its own threads wait for them.
#pragma once

#include <CLI/CLI.hpp>
#include <fmt/format.h>

#include <algorithm>
#include <charconv>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <exception>
#include <fstream>
#include <limits>
#include <new>
#include <string>
#include <string_view>
#include <system_error>

#include "tsgan/core/parallel.hpp"

namespace tsgan::cli {

// Parses the command line into `app` and runs body() (which returns the exit status) with the
// statuses described at the top of this header.
template <class Body>
int run(std::string_view program, CLI::App& app, int argc, char** argv, Body&& body) {
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    return app.exit(e) == 0 ? 0 : 2;
  }
  try {
    return body();
  } catch (const std::bad_alloc&) {
    fmt::print(stderr, "{}: out of memory\n", program);
  } catch (const std::exception& e) {
    fmt::print(stderr, "{}: {}\n", program, e.what());
  } catch (...) {
    fmt::print(stderr, "{}: stopped by an exception that is not a std::exception\n", program);
  }
  return 1;
}

// A whole number in [min, max], with a message that says which of the two is wrong.
inline CLI::Validator integer(std::int64_t min, std::int64_t max = std::numeric_limits<std::int64_t>::max()) {
  const std::string description =
      max == std::numeric_limits<std::int64_t>::max() ? fmt::format("INT>={}", min) : fmt::format("INT in [{}, {}]", min, max);
  return CLI::Validator(
      [min, max](std::string& text) -> std::string {
        std::int64_t value = 0;
        const char* end = text.data() + text.size();
        const auto [stop, err] = std::from_chars(text.data(), end, value);
        if (err == std::errc::result_out_of_range) return fmt::format("'{}' is too large", text);
        if (err != std::errc() || stop != end) return fmt::format("'{}' is not a whole number", text);
        if (value < min) return fmt::format("must be at least {} (got {})", min, value);
        if (value > max) return fmt::format("must be at most {} (got {})", max, value);
        return {};
      },
      description);
}

// A yaw angle in degrees, strictly between 0 and 90 (the pose-synthesis programs' --yaws items;
// the side is drawn separately).
inline CLI::Validator yaw_degrees() {
  return CLI::Validator(
      [](std::string& text) -> std::string {
        double value = 0;
        const char* end = text.data() + text.size();
        const auto [stop, err] = std::from_chars(text.data(), end, value);
        if (err != std::errc() || stop != end || !(value > 0 && value < 90))
          return fmt::format("'{}' is not an angle in degrees between 0 and 90 (e.g. --yaws 15,30,45)", text);
        return {};
      },
      "DEGREES");
}

// The thread count a program uses without --threads (see the top of this header).
inline int idle_threads() {
  const int cores = num_threads();  // OpenMP's count: the cores this process may run on
  if (const char* env = std::getenv("OMP_NUM_THREADS"); env && *env) return cores;
  double busy = 0;
  // /proc/loadavg: "1min 5min 15min running/total lastpid"; running counts this process.
  if (std::ifstream f("/proc/loadavg"); f) {
    double one_minute = 0;
    long running = 0;
    char slash = 0;
    double five = 0, fifteen = 0;
    if (f >> one_minute >> five >> fifteen >> running >> slash) busy = std::max(one_minute, double(running - 1));
  }
  const int idle = static_cast<int>(std::floor(double(cores) - busy + 0.5));
  return std::clamp(idle, 1, cores);
}

// `--threads` on `app`, writing to `threads` (0: not given).
inline CLI::Option* add_threads_option(CLI::App& app, int& threads) {
  return app
      .add_option("--threads", threads,
                  "CPU threads (default: the cores that are idle at the start, at least 1; OMP_NUM_THREADS overrides it)")
      ->check(integer(1, 4096));
}

// Applies `--threads` (0: the idle cores).
inline void apply_threads(int threads) { set_num_threads(threads > 0 ? threads : idle_threads()); }

}  // namespace tsgan::cli
