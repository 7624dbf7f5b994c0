// Learning-rate schedules: a schedule is a factor of the base learning rate as a function of the
// step count t (PyTorch's closed forms, t counted in scheduler steps, usually epochs):
//
//   step_decay(s, gamma)        gamma^floor(t / s)                              (StepLR)
//   cosine(t_max, min_factor)   m + (1 − m)(1 + cos(π t / t_max)) / 2           (CosineAnnealingLR,
//                               with eta_min = m · base lr; past t_max it rises again, as there)
//   linear_warmup(n, start)     start + (1 − start) · min(t, n) / n             (LinearLR to 1)
//   a * b                       the product of both factors at t                (ChainedScheduler)
//   then(a, n, b)               a before step n, then b counted from n          (SequentialLR)
//
// A Scheduler drives an optimizer: it sets lr = base · factor(0) when built and base · factor(t)
// at its t-th step(). It writes the optimizer's options, so a step captured in a CUDA graph keeps
// the learning rate it was captured with.
#pragma once

#include <cmath>
#include <cstdint>
#include <functional>
#include <numbers>

#include "tsgan/core/error.hpp"

namespace tsgan::optim {

class LrSchedule {
 public:
  explicit LrSchedule(std::function<double(std::int64_t)> factor) : factor_(std::move(factor)) {}
  double factor(std::int64_t t) const { return factor_(t); }

 private:
  std::function<double(std::int64_t)> factor_;
};

inline LrSchedule step_decay(std::int64_t step_size, double gamma) {
  if (step_size < 1) fail("tsgan: step_decay needs a step size of at least 1 (got {})", step_size);
  return LrSchedule([=](std::int64_t t) { return std::pow(gamma, double(t / step_size)); });
}

inline LrSchedule cosine(std::int64_t t_max, double min_factor = 0) {
  if (t_max < 1) fail("tsgan: cosine schedule needs t_max of at least 1 (got {})", t_max);
  return LrSchedule([=](std::int64_t t) {
    return min_factor + (1 - min_factor) * (1 + std::cos(std::numbers::pi * double(t) / double(t_max))) / 2;
  });
}

inline LrSchedule linear_warmup(std::int64_t steps, double start_factor = 0) {
  if (steps < 1) fail("tsgan: linear_warmup needs at least 1 step (got {})", steps);
  return LrSchedule([=](std::int64_t t) {
    return start_factor + (1 - start_factor) * double(std::min(t, steps)) / double(steps);
  });
}

inline LrSchedule operator*(LrSchedule a, LrSchedule b) {
  return LrSchedule([a = std::move(a), b = std::move(b)](std::int64_t t) { return a.factor(t) * b.factor(t); });
}

inline LrSchedule then(LrSchedule first, std::int64_t milestone, LrSchedule second) {
  return LrSchedule([=](std::int64_t t) { return t < milestone ? first.factor(t) : second.factor(t - milestone); });
}

// Opt: any optimizer whose options() has an `lr` (Adam, AdamW, Sgd).
template <class Opt>
class Scheduler {
 public:
  Scheduler(Opt& optimizer, LrSchedule schedule)
      : optimizer_(&optimizer), schedule_(std::move(schedule)), base_lr_(optimizer.options().lr) {
    apply();
  }
  void step() {
    ++t_;
    apply();
  }
  std::int64_t steps() const { return t_; }
  double lr() const { return optimizer_->options().lr; }
  // Resuming: the step count of a checkpoint.
  void set_steps(std::int64_t t) {
    t_ = t;
    apply();
  }

 private:
  void apply() { optimizer_->options().lr = base_lr_ * schedule_.factor(t_); }

  Opt* optimizer_;
  LrSchedule schedule_;
  double base_lr_;
  std::int64_t t_ = 0;
};

}  // namespace tsgan::optim
