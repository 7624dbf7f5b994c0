// Adam, AdamW and SGD against trajectories recorded with PyTorch 1.13 (tests/fixtures/optim, made by
// make_trajectories.py there): every parameter after every step within 1e-6 relative. Templated
// over the device: the GPU's update kernels must follow the same trajectories. Learning-rate
// schedules against PyTorch's schedulers' learning rates, gradient clipping against
// clip_grad_norm_.
#include <doctest/doctest.h>

#include <fstream>
#include <iomanip>
#include <map>
#include <sstream>

#include "support.hpp"
#include "tsgan/optim/adam.hpp"
#include "tsgan/optim/adamw.hpp"
#include "tsgan/optim/clip.hpp"
#include "tsgan/optim/schedule.hpp"
#include "tsgan/optim/sgd.hpp"

using namespace tsgan;

namespace {

template <class D>
struct TwoParams {
  Param<float, Shape<5>, D> p0;
  Param<float, Shape<2, 3>, D> p1;
  static constexpr std::array field_names{"p0", "p1"};
};

struct Fixture {
  std::map<std::string, double> options;
  std::map<std::string, std::vector<float>> initial;
  struct Step {
    std::map<std::string, std::vector<float>> grads;  // absent: no gradient this step
    std::map<std::string, std::vector<float>> after;
  };
  std::vector<Step> steps;
};

Fixture load(const std::string& file) {
  const auto path = std::filesystem::path(tsgan::test::source_dir) / "tests/fixtures/optim" / file;
  std::ifstream in(path);
  REQUIRE_MESSAGE(in.good(), "cannot open " << path);
  Fixture f;
  std::string line;
  std::getline(in, line);
  {
    std::istringstream s(line);
    std::string kind, key;
    double value;
    s >> kind;
    while (s >> key >> value) f.options[key] = value;
  }
  while (std::getline(in, line)) {
    std::istringstream s(line);
    std::string tag, name;
    s >> tag;
    if (tag == "step") {
      f.steps.emplace_back();
      continue;
    }
    s >> name;
    std::vector<float> values;
    std::string token;
    while (s >> token) {
      if (token == "none") break;
      values.push_back(std::stof(token));
    }
    if (tag == "param") f.initial[name] = values;
    else if (tag == "grad" && !values.empty()) f.steps.back().grads[name] = values;
    else if (tag == "after") f.steps.back().after[name] = values;
  }
  return f;
}

template <class P>
void set(P& p, const std::vector<float>& v) {
  REQUIRE(v.size() == std::size_t(P::shape::size));
  copy_from_host<typename P::device>(p.value().data(), v.data(), P::shape::size);
}
template <class P>
void set_grad(P& p, const std::vector<float>& v) {
  const auto t = p.grad_slot().target();
  copy_from_host<typename P::device>(t.data, v.data(), P::shape::size);
}
// Relative 1e-6; the absolute floor covers values that a long trajectory drives towards zero, where
// float32 rounding differences of earlier steps (FMA or not) dominate a relative measure.
template <class P>
void check(const P& p, const std::vector<float>& want, std::size_t step, double atol) {
  const auto& value = test::to_host(p.value());
  for (std::size_t i = 0; i < want.size(); ++i) {
    const double got = value[static_cast<index_t>(i)];
    if (!test::close(got, want[i], 1e-6, atol)) {
      FAIL("step " << step << " " << p.name() << "[" << i << "]: got " << std::setprecision(9) << got << ", PyTorch " << want[i]);
      return;
    }
  }
}

template <class M, class Optimizer>
void replay(const Fixture& f, M& m, Optimizer& opt, double atol) {
  for (std::size_t k = 0; k < f.steps.size(); ++k) {
    nn::zero_grad(m);
    const auto& s = f.steps[k];
    if (auto it = s.grads.find("p0"); it != s.grads.end()) set_grad(m.p0, it->second);
    if (auto it = s.grads.find("p1"); it != s.grads.end()) set_grad(m.p1, it->second);
    opt.step();
    check(m.p0, s.after.at("p0"), k + 1, atol);
    check(m.p1, s.after.at("p1"), k + 1, atol);
  }
}

template <class Tn>
void check_values(const Tn& got, const std::vector<float>& want, const std::string& what) {
  REQUIRE(want.size() == std::size_t(Tn::shape::size));
  test::check_all(test::to_host(got), [&](index_t i) { return want[std::size_t(i)]; }, 1e-6, 1e-7, what);
}

std::vector<std::string> fixture_lines(const std::string& file) {
  const auto path = std::filesystem::path(tsgan::test::source_dir) / "tests/fixtures/optim" / file;
  std::ifstream in(path);
  REQUIRE_MESSAGE(in.good(), "cannot open " << path);
  std::vector<std::string> lines;
  for (std::string line; std::getline(in, line);) lines.push_back(line);
  return lines;
}

// name -> PyTorch's learning rates after 0, 1, 2, ... scheduler steps (base 0.1).
std::map<std::string, std::vector<double>> load_schedules() {
  std::map<std::string, std::vector<double>> all;
  for (const auto& line : fixture_lines("schedules.txt")) {
    std::istringstream s(line);
    std::string name;
    s >> name;
    for (double v; s >> v;) all[name].push_back(v);
  }
  return all;
}

}  // namespace

TEST_SUITE("optim") {
  TEST_CASE_TEMPLATE("AdamW reproduces PyTorch's trajectory (defaults; and strong decoupled decay, skipped gradients)", D,
                     TSGAN_TEST_DEVICES) {
    TSGAN_SKIP_UNAVAILABLE(D);
    for (const char* file : {"adamw_default.txt", "adamw_strong.txt"}) {
      CAPTURE(file);
      const auto f = load(file);
      TwoParams<D> m;
      nn::name_parameters(m);
      set(m.p0, f.initial.at("p0"));
      set(m.p1, f.initial.at("p1"));
      optim::AdamW<float, D> opt(m, {.lr = f.options.at("lr"), .beta1 = f.options.at("beta1"), .beta2 = f.options.at("beta2"),
                                  .eps = f.options.at("eps"), .weight_decay = f.options.at("weight_decay")});
      replay(f, m, opt, 1e-8);
      CHECK(f.steps.size() == 25);
    }
    CHECK(optim::AdamWOptions{}.weight_decay == 0.01);  // torch.optim.AdamW's default
  }

  TEST_CASE("learning-rate schedules give PyTorch's scheduler learning rates (step, cosine, warm-up, composed)") {
    const auto want = load_schedules();
    REQUIRE(want.size() == 5);
    const std::map<std::string, optim::LrSchedule> schedules{
        {"step", optim::step_decay(4, 0.5)},
        {"cosine", optim::cosine(12, 0.002 / 0.1)},
        {"warmup", optim::linear_warmup(5, 0.1)},
        {"warmup_then_cosine", optim::then(optim::linear_warmup(5, 0.1), 5, optim::cosine(20, 0.001 / 0.1))},
        {"step_times_warmup", optim::step_decay(7, 0.3) * optim::linear_warmup(4, 0.25)},
    };
    for (const auto& [name, schedule] : schedules) {
      CAPTURE(name);
      TwoParams<cpu> m;
      optim::Sgd<float> opt(m, {.lr = 0.1});
      optim::Scheduler scheduler(opt, schedule);
      const auto& lrs = want.at(name);
      REQUIRE(lrs.size() == 31);
      for (std::size_t t = 0; t < lrs.size(); ++t) {
        CAPTURE(t);
        CHECK(scheduler.steps() == std::int64_t(t));
        CHECK(test::close(opt.options().lr, lrs[t], 1e-12, 1e-15));
        scheduler.step();
      }
      scheduler.set_steps(3);  // resuming from a checkpoint's count
      CHECK(test::close(opt.options().lr, lrs[3], 1e-12, 1e-15));
    }
    CHECK_THROWS_WITH_AS(optim::step_decay(0, 0.5), "tsgan: step_decay needs a step size of at least 1 (got 0)", Error);
  }

  TEST_CASE_TEMPLATE("clip_grad_norm matches PyTorch's clip_grad_norm_ and returns the total norm", D, TSGAN_TEST_DEVICES) {
    TSGAN_SKIP_UNAVAILABLE(D);
    const auto lines = fixture_lines("clip.txt");
    REQUIRE(lines.size() == 12);
    for (std::size_t k = 0; k < lines.size(); k += 6) {
      auto values = [&](std::size_t i, std::size_t skip) {
        std::istringstream s(lines[k + i]);
        std::string word;
        for (std::size_t w = 0; w < skip; ++w) s >> word;
        std::vector<float> v;
        for (float x; s >> x;) v.push_back(x);
        return v;
      };
      const double max_norm = values(0, 1).at(0);
      CAPTURE(max_norm);
      TwoParams<D> m;
      nn::name_parameters(m);
      set_grad(m.p0, values(1, 2));
      set_grad(m.p1, values(2, 2));
      const double norm = optim::clip_grad_norm(m, max_norm);
      CHECK(test::close(norm, values(3, 1).at(0), 1e-6, 0));
      check_values(m.p0.grad(), values(4, 2), "p0's gradient");
      check_values(m.p1.grad(), values(5, 2), "p1's gradient");
    }
    // A parameter without a gradient is left out of the norm: ‖(3, 4)‖ = 5, halved to 2.5.
    TwoParams<D> m;
    nn::name_parameters(m);
    set_grad(m.p0, {3.f, 4.f, 0.f, 0.f, 0.f});
    CHECK(optim::clip_grad_norm(m, 2.5) == doctest::Approx(5.0));
    CHECK_FALSE(m.p1.has_grad());
    check_values(m.p0.grad(), {1.5f, 2.f, 0.f, 0.f, 0.f}, "p0's gradient");
  }

  TEST_CASE_TEMPLATE("Adam reproduces PyTorch's trajectory (defaults; and betas 0.5/0.999, weight decay, skipped gradients)",
                     D, TSGAN_TEST_DEVICES) {
    TSGAN_SKIP_UNAVAILABLE(D);
    for (const char* file : {"adam_default.txt", "adam_tsgan.txt"}) {
      CAPTURE(file);
      const auto f = load(file);
      TwoParams<D> m;
      nn::name_parameters(m);
      set(m.p0, f.initial.at("p0"));
      set(m.p1, f.initial.at("p1"));
      optim::Adam<float, D> opt(m, {.lr = f.options.at("lr"), .beta1 = f.options.at("beta1"), .beta2 = f.options.at("beta2"),
                                 .eps = f.options.at("eps"), .weight_decay = f.options.at("weight_decay")});
      replay(f, m, opt, 1e-8);
      CHECK(f.steps.size() == 25);
    }
  }

  TEST_CASE_TEMPLATE("SGD with momentum, dampening, weight decay and Nesterov reproduces PyTorch's trajectory", D,
                     TSGAN_TEST_DEVICES) {
    TSGAN_SKIP_UNAVAILABLE(D);
    for (const char* file : {"sgd_momentum.txt", "sgd_nesterov.txt"}) {
      CAPTURE(file);
      const auto f = load(file);
      TwoParams<D> m;
      nn::name_parameters(m);
      set(m.p0, f.initial.at("p0"));
      set(m.p1, f.initial.at("p1"));
      optim::Sgd<float, D> opt(m, {.lr = f.options.at("lr"), .momentum = f.options.at("momentum"),
                                .dampening = f.options.at("dampening"), .weight_decay = f.options.at("weight_decay"),
                                .nesterov = f.options.at("nesterov") != 0});
      replay(f, m, opt, 2e-7);
    }
  }

  TEST_CASE_TEMPLATE("Adam state is exposed by parameter name and counts steps per parameter", D, TSGAN_TEST_DEVICES) {
    TSGAN_SKIP_UNAVAILABLE(D);
    TwoParams<D> m;
    nn::name_parameters(m);
    optim::Adam<float, D> opt(m, {});
    m.p0.grad_slot().target();
    m.p0.grad_slot().tensor().fill(1.f);  // only p0 has a gradient
    opt.step();
    std::map<std::string, std::int64_t> steps;
    opt.for_each_state([&](const std::string& name, std::int64_t& step, float* exp_avg, float*, index_t size) {
      steps[name] = step;
      float last = 0;
      copy_to_host<D>(&last, exp_avg + size - 1, 1);
      if (name == "p0") CHECK(last == doctest::Approx(0.1f));
    });
    CHECK(steps.at("p0") == 1);
    CHECK(steps.at("p1") == 0);
  }

  TEST_CASE_TEMPLATE("optimizers allocate their parameters' gradient buffers up front, empty", D, TSGAN_TEST_DEVICES) {
    TSGAN_SKIP_UNAVAILABLE(D);
    TwoParams<D> m;
    nn::name_parameters(m);
    optim::Adam<float, D> adam(m, {});
    CHECK_FALSE(m.p0.has_grad());  // reserved, not a gradient: the step skips it
    const float* reserved = m.p0.grad_slot().tensor().data();
    {
      Graph g;
      auto l = eval(sum(square(g.param(m.p0))));
      l.backward();
    }
    CHECK(m.p0.grad().data() == reserved);  // the backward pass wrote into the reserved buffer
    TwoParams<D> n;
    optim::Sgd<float, D> sgd(n, {.lr = 0.1});
    CHECK_FALSE(n.p1.has_grad());
    CHECK(n.p1.grad_slot().tensor().data() != nullptr);
  }

  TEST_CASE("an optimizer over no parameters is an error: a module it cannot walk would train nothing") {
    struct Empty {};
    Empty none;
    CHECK_THROWS_WITH_AS(optim::Adam<float>(none, {}), doctest::Contains("optim::Adam was given no parameters"), Error);
    CHECK_THROWS_WITH_AS(optim::Sgd<float>(none, {}), doctest::Contains("optim::Sgd was given no parameters"), Error);
  }

  TEST_CASE("gradients accumulate over backward passes until the optimizer's zero_grad") {
    TwoParams<cpu> m;
    nn::name_parameters(m);
    m.p0.value().fill(1.5f);
    optim::Sgd<float> sgd(m, {.lr = 0.1});
    const auto pass = [&] {
      Graph g;
      auto l = eval(sum(square(g.param(m.p0))));
      l.backward();
    };
    pass();
    pass();
    CHECK(m.p0.grad()[0] == doctest::Approx(2 * 2 * 1.5));  // two passes added up
    sgd.zero_grad();
    CHECK_FALSE(m.p0.has_grad());
    pass();
    CHECK(m.p0.grad()[0] == doctest::Approx(2 * 1.5));
    sgd.step();
    CHECK(m.p0.value()[0] == doctest::Approx(1.5 - 0.1 * 3.0));
    optim::Adam<float> adam(m, {});
    adam.zero_grad();
    CHECK_FALSE(m.p0.has_grad());
  }
}
