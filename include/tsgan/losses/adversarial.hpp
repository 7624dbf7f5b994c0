// The adversarial losses of TSGAN: sigmoid cross-entropy on the discriminator's logit map,
// averaged over batch × map, with soft targets (real 0.9, fake 0).
//   L_D   = σCE(D(real), 0.9) + σCE(D(fake), 0)
//   L_adv = σCE(D(fake), 0.9)            (for the generator)
#pragma once

#include "tsgan/ops/losses.hpp"

namespace tsgan::losses {

template <class Logits>
auto sigmoid_ce(const Logits& logits, double target) {
  return bce_with_logits(logits, target);
}

template <class Real, class Fake>
auto discriminator_loss(const Real& real_logits, const Fake& fake_logits, double real_label) {
  return eval(sigmoid_ce(real_logits, real_label) + sigmoid_ce(fake_logits, 0.0));
}

template <class Fake>
auto generator_adversarial_loss(const Fake& fake_logits, double real_label) {
  return sigmoid_ce(fake_logits, real_label);
}

}  // namespace tsgan::losses
