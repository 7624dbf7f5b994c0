// A TSGAN configuration that lacks a member does not compile; the message names the member. Only
// one member is missing: clang reports only the first failed static_assert of the check.
// expect: the TSGAN configuration lacks `static constexpr double lambda_tv`
#include <tsgan/models/tsgan.hpp>

#ifdef TSGAN_EXPECT_OK
using Config = tsgan::config::Tiny;
#else
struct Config {  // a hand-written config that forgot the total-variation weight
  using value_type = float;
  static constexpr tsgan::index_t image_size = 32, batch = 4, unet_levels = 5, generator_width = 8,
                                  discriminator_width = 8;
  static constexpr auto discriminator = tsgan::config::Discriminator::residual;
  static constexpr double leaky_slope = 0.2, bn_momentum = 0.1, bn_eps = 1e-5, init_std = 0.02;
  static constexpr bool mask_attention = true;
  static constexpr std::array<tsgan::index_t, 1> attention_sides{8};
  static constexpr bool attention_reduce_channels = false, attention_learnable_gamma = false,
                        compose_deocclusion = false, frontalizer_mirror_input = false;
  static constexpr auto mask_pooling = tsgan::config::MaskPooling::max;
  static constexpr auto output_activation = tsgan::config::OutputActivation::tanh;
  static constexpr tsgan::index_t lambda_reference_size = 128;
  static constexpr auto schedule = tsgan::config::Schedule::joint;
  static constexpr auto identity_input = tsgan::config::IdentityInput::crop;
  static constexpr std::int64_t deocclusion_steps = 0, frontalization_steps = 0;
  static constexpr double lambda_adv = 20, lambda_dtri = 4, lambda_ip = 40, lambda_pix = 1, lambda_sym = 0.3;
  static constexpr double real_label = 0.9;
  static constexpr auto negatives = tsgan::losses::Negatives::batch_roll;
  static constexpr double centre_momentum = 0.9;
  static constexpr auto discriminator_step = tsgan::config::DiscriminatorSteps::automatic;
  static constexpr int generator_steps = 2;
  static constexpr double learning_rate = 1e-4, beta1 = 0.9, beta2 = 0.999;
  template <class T, class D>
  using identity_network = tsgan::models::TinyIdentity<32, T, D>;
};
#endif

int main() {
  static_assert(tsgan::config::CheckConfig<Config>::value);
}
