// Compile-time configurations of TSGAN<Config>. Every choice the method document marks as ours
// ([D]) is a member here, so it can be changed without touching the model:
//
//   struct MyConfig : tsgan::config::Paper { static constexpr index_t batch = 4; };
//   TSGAN<MyConfig, cuda> model;
//
// CheckConfig<C> names each missing or invalid member in its own static_assert.
#pragma once

#include <array>
#include <cstdint>
#include <type_traits>
#include <string>

#include <fmt/format.h>

#include "tsgan/blocks/unet.hpp"
#include "tsgan/core/shape.hpp"
#include "tsgan/losses/dual_triplet.hpp"
#include "tsgan/models/face_recognizer.hpp"
#include "tsgan/models/identity.hpp"

namespace tsgan::config {

enum class Discriminator { residual, patchgan };

// How the generators are trained [D]: both stages jointly from the first step, or stage-wise —
// G_d alone for `deocclusion_steps`, then G_f alone (G_d frozen, in eval mode) for
// `frontalization_steps`, then both jointly.
enum class Schedule { joint, stagewise };
// Which step a training step is in under the config's schedule.
enum class Stage { deocclusion, frontalization, joint };
// How the occlusion mask is brought to a skip's resolution for mask attention [D]: a cell is
// occluded if any (max), the fraction (average) or all (min) of its pixels are.
enum class MaskPooling { max, average, min };
// The generators' output activation [D]: tanh, mapped to [0, 1] by (y + 1)/2, or a sigmoid.
using OutputActivation = blocks::UNetOutput;
// What φ is shown [D]: the method's crop as it is (TinyIdentity, trained on such crops), or the
// crop mapped to the face recognizer's own chip framing by the similarity between the two face
// templates (models/recognizer_chip.hpp).
enum class IdentityInput { crop, recognizer_chip };
// Whether a training step updates the discriminators [T: always]. `automatic` runs them exactly
// when their loss is used (lambda_adv > 0); `always` asks for them even then.
enum class DiscriminatorSteps { automatic, always, never };

// The paper's setting: 128 × 128 crops, batch 6, pix2pix unet_128 widths, TP-GAN's loss weights.
struct Paper {
  using value_type = float;
  // Data and networks.
  static constexpr index_t image_size = 128;
  static constexpr index_t batch = 6;
  static constexpr index_t unet_levels = 7;           // 128 → 1
  static constexpr index_t generator_width = 64;      // 64, 128, 256, 512, 512, 512, 512
  static constexpr index_t discriminator_width = 64;  // 64 → 512
  static constexpr Discriminator discriminator = Discriminator::residual;  // [T]; patchgan [D]
  static constexpr double leaky_slope = 0.2;
  static constexpr double bn_momentum = 0.1;  // PyTorch convention; TF's decay 0.9 [T]
  static constexpr double bn_eps = 1e-5;
  static constexpr double init_std = 0.02;  // N(0, 0.02) weights [T]
  // G_d: mask attention on the skips at these sides [D], its channels and gamma [D].
  static constexpr bool mask_attention = true;
  static constexpr std::array<index_t, 3> attention_sides{32, 16, 8};
  static constexpr bool attention_reduce_channels = false;  // C' = C/8 instead of C
  static constexpr bool attention_learnable_gamma = false;  // γ learnable from 0 instead of 1
  static constexpr bool compose_deocclusion = false;        // Î_d ← M⊙Î_d + (1−M)⊙I_o
  static constexpr MaskPooling mask_pooling = MaskPooling::max;
  // Both generators' last activation [D].
  static constexpr OutputActivation output_activation = OutputActivation::tanh;
  // G_f: concatenate Î_d with its mirror image (6 input channels) [D].
  static constexpr bool frontalizer_mirror_input = false;
  // Loss weights λ1..λ6 (adv, dtri, ip, pix, sym, tv) [S] and targets.
  static constexpr double lambda_adv = 20;
  static constexpr double lambda_dtri = 4;
  static constexpr double lambda_ip = 40;
  static constexpr double lambda_pix = 1;
  static constexpr double lambda_sym = 0.3;
  static constexpr double lambda_tv = 1e-3;
  // L_pix, L_sym and L_tv are sums over pixels; their λ's above were calibrated at this side and
  // are multiplied by (lambda_reference_size / image_size)² at another (loss_weights<C>()). A
  // config keeps its λ's as written by setting lambda_reference_size = image_size.
  static constexpr index_t lambda_reference_size = 128;
  static constexpr double real_label = 0.9;
  static constexpr losses::Negatives negatives = losses::Negatives::batch_roll;  // [D]
  static constexpr double centre_momentum = 0.9;
  // Training: one discriminator step, then two generator steps per batch [T].
  static constexpr DiscriminatorSteps discriminator_step = DiscriminatorSteps::automatic;
  static constexpr int generator_steps = 2;
  static constexpr Schedule schedule = Schedule::joint;
  static constexpr std::int64_t deocclusion_steps = 0;     // stagewise: G_d alone this many steps,
  static constexpr std::int64_t frontalization_steps = 0;  // then G_f alone this many
  static constexpr double learning_rate = 1e-4;
  static constexpr double beta1 = 0.9;  // not given by the slides [T, switch]
  static constexpr double beta2 = 0.999;
  // The identity network φ: the pretrained dlib ResNet (docs/face-models.md); its weights are
  // loaded with model.networks().phi.load(dir) and stored in checkpoints.
  template <class T, class D>
  using identity_network = models::FaceRecognizer<T, D>;
  static constexpr IdentityInput identity_input = IdentityInput::recognizer_chip;
};

// 64 × 64 crops: one U-Net level fewer, half the widths.
struct Small : Paper {
  static constexpr index_t image_size = 64;
  static constexpr index_t unet_levels = 6;
  static constexpr index_t generator_width = 32;
  static constexpr index_t discriminator_width = 32;
  static constexpr std::array<index_t, 3> attention_sides{16, 8, 4};
};

// The released model (models/tsgan-restore.safetensors, docs/model.md): Small's 64 × 64 networks
// with the face recognizer as φ, sized so that scripts/train-release.sh trains it on a 2-core CPU
// within two hours. Î_d keeps the visible pixels of the input (compose_deocclusion): stage 1 only
// has to fill the hole, which a short run learns far sooner than redrawing the whole face. One
// generator step per discriminator step (the paper takes two): φ's forward and backward passes
// through the recognizer are most of a step on a CPU, and the budget buys twice the batches.
struct Release : Small {
  static constexpr bool compose_deocclusion = true;
  static constexpr int generator_steps = 1;
};

// 32 × 32 crops for tests: five levels of base width 8, attention at 8 × 8 and 4 × 4, batch 4, and a
// small random identity network instead of the pretrained recognizer.
struct Tiny : Paper {
  static constexpr index_t image_size = 32;
  static constexpr index_t batch = 4;
  static constexpr index_t unet_levels = 5;
  static constexpr index_t generator_width = 8;
  static constexpr index_t discriminator_width = 8;
  static constexpr std::array<index_t, 2> attention_sides{8, 4};
  template <class T, class D>
  using identity_network = models::TinyIdentity<image_size, T, D>;
  static constexpr IdentityInput identity_input = IdentityInput::crop;
};

// ---- checking a configuration ---------------------------------------------------------------------
template <class C>
struct CheckConfig {
#define TSGAN_CONFIG_MEMBER(member, what) \
  static_assert(requires { C::member; }, "tsgan: the TSGAN configuration lacks `" what "`");
  TSGAN_CONFIG_MEMBER(image_size, "static constexpr index_t image_size")
  TSGAN_CONFIG_MEMBER(batch, "static constexpr index_t batch")
  TSGAN_CONFIG_MEMBER(unet_levels, "static constexpr index_t unet_levels")
  TSGAN_CONFIG_MEMBER(generator_width, "static constexpr index_t generator_width")
  TSGAN_CONFIG_MEMBER(discriminator_width, "static constexpr index_t discriminator_width")
  TSGAN_CONFIG_MEMBER(discriminator, "static constexpr config::Discriminator discriminator")
  TSGAN_CONFIG_MEMBER(leaky_slope, "static constexpr double leaky_slope")
  TSGAN_CONFIG_MEMBER(bn_momentum, "static constexpr double bn_momentum")
  TSGAN_CONFIG_MEMBER(bn_eps, "static constexpr double bn_eps")
  TSGAN_CONFIG_MEMBER(init_std, "static constexpr double init_std")
  TSGAN_CONFIG_MEMBER(mask_attention, "static constexpr bool mask_attention")
  TSGAN_CONFIG_MEMBER(attention_sides, "static constexpr std::array<index_t, K> attention_sides")
  TSGAN_CONFIG_MEMBER(attention_reduce_channels, "static constexpr bool attention_reduce_channels")
  TSGAN_CONFIG_MEMBER(attention_learnable_gamma, "static constexpr bool attention_learnable_gamma")
  TSGAN_CONFIG_MEMBER(compose_deocclusion, "static constexpr bool compose_deocclusion")
  TSGAN_CONFIG_MEMBER(frontalizer_mirror_input, "static constexpr bool frontalizer_mirror_input")
  TSGAN_CONFIG_MEMBER(mask_pooling, "static constexpr config::MaskPooling mask_pooling")
  TSGAN_CONFIG_MEMBER(output_activation, "static constexpr config::OutputActivation output_activation")
  TSGAN_CONFIG_MEMBER(lambda_reference_size, "static constexpr index_t lambda_reference_size")
  TSGAN_CONFIG_MEMBER(schedule, "static constexpr config::Schedule schedule")
  TSGAN_CONFIG_MEMBER(identity_input, "static constexpr config::IdentityInput identity_input")
  TSGAN_CONFIG_MEMBER(deocclusion_steps, "static constexpr std::int64_t deocclusion_steps")
  TSGAN_CONFIG_MEMBER(frontalization_steps, "static constexpr std::int64_t frontalization_steps")
  TSGAN_CONFIG_MEMBER(lambda_adv, "static constexpr double lambda_adv")
  TSGAN_CONFIG_MEMBER(lambda_dtri, "static constexpr double lambda_dtri")
  TSGAN_CONFIG_MEMBER(lambda_ip, "static constexpr double lambda_ip")
  TSGAN_CONFIG_MEMBER(lambda_pix, "static constexpr double lambda_pix")
  TSGAN_CONFIG_MEMBER(lambda_sym, "static constexpr double lambda_sym")
  TSGAN_CONFIG_MEMBER(lambda_tv, "static constexpr double lambda_tv")
  TSGAN_CONFIG_MEMBER(real_label, "static constexpr double real_label")
  TSGAN_CONFIG_MEMBER(negatives, "static constexpr losses::Negatives negatives")
  TSGAN_CONFIG_MEMBER(centre_momentum, "static constexpr double centre_momentum")
  TSGAN_CONFIG_MEMBER(discriminator_step, "static constexpr config::DiscriminatorSteps discriminator_step")
  TSGAN_CONFIG_MEMBER(generator_steps, "static constexpr int generator_steps")
  TSGAN_CONFIG_MEMBER(learning_rate, "static constexpr double learning_rate")
  TSGAN_CONFIG_MEMBER(beta1, "static constexpr double beta1")
  TSGAN_CONFIG_MEMBER(beta2, "static constexpr double beta2")
  static_assert(requires { typename C::value_type; }, "tsgan: the TSGAN configuration lacks `using value_type = float;`");
  static_assert(requires { typename C::template identity_network<float, cpu>; },
                "tsgan: the TSGAN configuration lacks `template <class T, class D> using identity_network = ...;`");
#undef TSGAN_CONFIG_MEMBER

  static constexpr bool power_of_two(index_t v) { return v > 0 && (v & (v - 1)) == 0; }
  static constexpr bool attention_sides_ok() {
    for (index_t s : C::attention_sides) {
      bool found = false;
      for (index_t i = 0; i + 1 < C::unet_levels; ++i) found = found || (C::image_size >> (i + 1)) == s;
      if (!found) return false;
    }
    return true;
  }
  static_assert(power_of_two(C::image_size), "tsgan: config image_size must be a power of two");
  static_assert((C::image_size >> C::unet_levels) >= 1, "tsgan: config unet_levels halves image_size below one pixel");
  static_assert(C::unet_levels >= 2, "tsgan: config unet_levels must be at least 2");
  static_assert(C::batch >= 2, "tsgan: config batch must be at least 2 (the dual triplet loss needs two identities)");
  static_assert(C::generator_width >= 1 && C::discriminator_width >= 1, "tsgan: config widths must be positive");
  static_assert(attention_sides_ok(), "tsgan: config attention_sides must be sides of U-Net skips (image_size / 2^k, not the innermost)");
  static_assert(C::generator_steps >= 1, "tsgan: config generator_steps must be at least 1");
  static_assert(C::lambda_adv >= 0 && C::lambda_dtri >= 0 && C::lambda_ip >= 0 && C::lambda_pix >= 0 &&
                    C::lambda_sym >= 0 && C::lambda_tv >= 0,
                "tsgan: config loss weights must not be negative");
  static_assert(std::is_same_v<std::remove_cv_t<decltype(C::discriminator_step)>, DiscriminatorSteps>,
                "tsgan: config discriminator_step is a config::DiscriminatorSteps (automatic: only when lambda_adv > 0; "
                "always; never), no longer a bool");
  static_assert(std::is_same_v<std::remove_cv_t<decltype(C::mask_pooling)>, MaskPooling>,
                "tsgan: config mask_pooling is a config::MaskPooling (max, average or min)");
  static_assert(std::is_same_v<std::remove_cv_t<decltype(C::output_activation)>, OutputActivation>,
                "tsgan: config output_activation is a config::OutputActivation (tanh or sigmoid)");
  static_assert(C::lambda_reference_size >= 1, "tsgan: config lambda_reference_size must be positive");
  static_assert(C::schedule != Schedule::stagewise || (C::deocclusion_steps > 0 && C::frontalization_steps >= 0),
                "tsgan: a stagewise schedule needs deocclusion_steps > 0 (G_d alone) and frontalization_steps >= 0 "
                "(G_f alone)");
  static_assert(C::schedule != Schedule::joint || (C::deocclusion_steps == 0 && C::frontalization_steps == 0),
                "tsgan: deocclusion_steps and frontalization_steps apply to schedule = Schedule::stagewise only; "
                "a joint schedule must leave them at 0");
  static_assert(C::real_label > 0 && C::real_label <= 1, "tsgan: config real_label must lie in (0, 1]");
  static_assert(C::discriminator != Discriminator::residual || (C::image_size >> 5) >= 1,
                "tsgan: the residual discriminator halves the image five times: image_size must be at least 32");
  static constexpr bool value = true;
};

constexpr const char* name(DiscriminatorSteps v) {
  return v == DiscriminatorSteps::automatic ? "automatic" : v == DiscriminatorSteps::always ? "always" : "never";
}
constexpr const char* name(MaskPooling v) {
  return v == MaskPooling::max ? "max" : v == MaskPooling::average ? "average" : "min";
}
constexpr const char* name(OutputActivation v) { return v == OutputActivation::tanh ? "tanh" : "sigmoid"; }
constexpr const char* name(IdentityInput v) { return v == IdentityInput::crop ? "crop" : "recognizer_chip"; }
constexpr const char* name(Schedule v) { return v == Schedule::joint ? "joint" : "stagewise"; }
constexpr const char* name(Stage v) {
  return v == Stage::deocclusion ? "deocclusion" : v == Stage::frontalization ? "frontalization" : "joint";
}

// The weights L_G uses: λ1..λ6 as written, with the pixel-sum terms' (L_pix, L_sym, L_tv)
// multiplied by (lambda_reference_size / image_size)², so that at 64 or 32 px they keep the
// balance against the mean-normalised terms that they have at 128 (method.md).
struct LossWeights {
  double adversarial, dual_triplet, identity, pixel, symmetry, total_variation;
};
template <class C>
constexpr LossWeights loss_weights() {
  const double r = static_cast<double>(C::lambda_reference_size) / static_cast<double>(C::image_size);
  return {C::lambda_adv, C::lambda_dtri, C::lambda_ip, C::lambda_pix * r * r, C::lambda_sym * r * r, C::lambda_tv * r * r};
}

// Whether training steps update the discriminators.
template <class C>
constexpr bool runs_discriminators() {
  return C::discriminator_step == DiscriminatorSteps::always ||
         (C::discriminator_step == DiscriminatorSteps::automatic && C::lambda_adv > 0);
}

// The stage of training step `step` (0-based) under C's schedule.
template <class C>
constexpr Stage stage_at(std::int64_t step) {
  if (C::schedule == Schedule::joint) return Stage::joint;
  if (step < C::deocclusion_steps) return Stage::deocclusion;
  if (step < C::deocclusion_steps + C::frontalization_steps) return Stage::frontalization;
  return Stage::joint;
}

// The compile-time parameters as JSON, stored in checkpoints and compared on load.
template <class C>
std::string describe() {
  std::string sides;
  for (index_t s : C::attention_sides) sides += (sides.empty() ? "" : ",") + std::to_string(s);
  return fmt::format(
      R"({{"image_size":{},"batch":{},"unet_levels":{},"generator_width":{},"discriminator_width":{},)"
      R"("discriminator":"{}","leaky_slope":{},"bn_momentum":{},"bn_eps":{},"mask_attention":{},)"
      R"("attention_sides":[{}],"attention_reduce_channels":{},"attention_learnable_gamma":{},)"
      R"("compose_deocclusion":{},"frontalizer_mirror_input":{},"lambda":[{},{},{},{},{},{}],"real_label":{},)"
      R"("negatives":"{}","discriminator_step":"{}","generator_steps":{},"learning_rate":{},"beta1":{},"beta2":{},)"
      R"("mask_pooling":"{}","output_activation":"{}","lambda_reference_size":{},"schedule":"{}",)"
      R"("deocclusion_steps":{},"frontalization_steps":{},"identity_input":"{}"}})",
      C::image_size, C::batch, C::unet_levels, C::generator_width, C::discriminator_width,
      C::discriminator == Discriminator::residual ? "residual" : "patchgan", C::leaky_slope, C::bn_momentum, C::bn_eps,
      C::mask_attention, sides, C::attention_reduce_channels, C::attention_learnable_gamma, C::compose_deocclusion,
      C::frontalizer_mirror_input, C::lambda_adv, C::lambda_dtri, C::lambda_ip, C::lambda_pix, C::lambda_sym,
      C::lambda_tv, C::real_label, C::negatives == losses::Negatives::batch_roll ? "batch_roll" : "running_centres",
      name(C::discriminator_step), C::generator_steps, C::learning_rate, C::beta1, C::beta2, name(C::mask_pooling),
      name(C::output_activation), C::lambda_reference_size, name(C::schedule), C::deocclusion_steps,
      C::frontalization_steps, name(C::identity_input));
}

}  // namespace tsgan::config
