// TSGAN<Config, Device>: the two-stage GAN that removes occlusions from a profile face (stage 1,
// G_d) and turns it to a frontal view (stage 2, G_f), trained with the losses of the method
// document (docs/model.md).
//
//   TSGAN<config::Tiny> model(seed);
//   auto losses = model.train_step(batch);    // one discriminator step, then two generator steps
//   auto out = model.restore(occluded, mask);  // Î_d and Î_f at any batch size
//   model.save("checkpoint.safetensors");      // networks, optimizers, step, RNG, config
//
// The model owns G_d (U-Net with mask attention on the skips), D_d, G_f (plain U-Net), D_f, the
// frozen identity network φ and four Adam optimizers. Images are in [0, 1]; generators work in
// [−1, 1] internally. Masks are 1 where the face is occluded.
#pragma once

#include <array>
#include <tuple>

#include "tsgan/blocks/discriminator.hpp"
#include "tsgan/blocks/mask_attention.hpp"
#include "tsgan/blocks/unet.hpp"
#include "tsgan/losses/adversarial.hpp"
#include "tsgan/losses/dual_triplet.hpp"
#include "tsgan/losses/identity.hpp"
#include "tsgan/losses/pixel.hpp"
#include "tsgan/models/checkpoint.hpp"
#include "tsgan/models/configs.hpp"
#include "tsgan/nn/init.hpp"
#include "tsgan/optim/adam.hpp"

namespace tsgan {

// One training batch: clean profile faces I_p, their occlusion masks M, the frontal targets I_f
// and an identity label per item (at least two different labels per batch).
template <class Config, class D = cpu>
struct Batch {
  using T = typename Config::value_type;
  static constexpr index_t B = Config::batch, S = Config::image_size;
  Tensor<T, Shape<B, 3, S, S>, D> profile;
  Tensor<T, Shape<B, 1, S, S>, D> mask;
  Tensor<T, Shape<B, 3, S, S>, D> frontal;
  std::array<std::int64_t, B> identity{};

  // The same batch on device D2 (loaders make host batches; a GPU model trains on GPU batches).
  template <class D2>
  Batch<Config, D2> to() const {
    return {profile.template to<D2>(), mask.template to<D2>(), frontal.template to<D2>(), identity};
  }
};

// Every loss term of one training step (generator terms from its last generator step).
struct StepLosses {
  double d_deocclusion = 0;  // L_Dd
  double d_frontal = 0;      // L_Df
  double adversarial = 0;    // L_adv
  double dual_triplet = 0;   // L_dtri
  double identity = 0;       // L_ip
  double pixel = 0;          // L_pix
  double symmetry = 0;       // L_sym
  double total_variation = 0;  // L_tv
  double generator = 0;      // L_G = Σ λ·L
};

template <class Config, class D = cpu>
class TSGAN {
  static_assert(config::CheckConfig<Config>::value);

 public:
  using T = typename Config::value_type;
  using config_type = Config;
  using device = D;
  static constexpr index_t S = Config::image_size, B = Config::batch, L = Config::unet_levels;

  using DeocclusionSpec = blocks::UNetSpec<4, 3, S, L, Config::generator_width, T, D>;
  using FrontalSpec = blocks::UNetSpec<Config::frontalizer_mirror_input ? 6 : 3, 3, S, L, Config::generator_width, T, D>;
  using Discriminator = std::conditional_t<Config::discriminator == config::Discriminator::residual,
                                           blocks::ResidualDiscriminator<3, Config::discriminator_width, T, D>,
                                           blocks::PatchDiscriminator<3, Config::discriminator_width, T, D>>;
  using Identity = typename Config::template identity_network<T, D>;
  static_assert(models::IdentityNetwork<Identity, Var<T, Shape<B, 3, S, S>, D>>,
                "tsgan: the config's identity_network must have features(x) returning .embedding and .feature_map Vars");

  static constexpr index_t embedding_size() {
    using Emb = decltype(std::declval<Identity&>().features(std::declval<const Var<T, Shape<1, 3, S, S>, D>&>()).embedding);
    return std::remove_cvref_t<Emb>::shape::dims[1];
  }


  // Whether the skip of U-Net level I goes through mask attention.
  static constexpr bool attends(index_t level) {
    if (!Config::mask_attention || level >= L - 1) return false;
    for (index_t s : Config::attention_sides)
      if (DeocclusionSpec::side(level) == s) return true;
    return false;
  }
  struct NoAttention {};
  template <index_t I>
  using Attention = std::conditional_t<attends(I),
                                       blocks::MaskAttention<DeocclusionSpec::width(I), Config::attention_reduce_channels,
                                                             Config::attention_learnable_gamma, T, D>,
                                       NoAttention>;

  // G_d: a U-Net on concat(I_o·2 − 1, M) whose skips pass through mask attention.
  struct Deoccluder {
    template <std::size_t... I>
    static auto make_attention(std::index_sequence<I...>) -> std::tuple<Attention<I>...>;
    blocks::UNetEncoder<DeocclusionSpec> encoder;
    blocks::UNetDecoder<DeocclusionSpec> decoder;
    decltype(make_attention(std::make_index_sequence<L - 1>{})) attention;
    static constexpr std::array field_names{"encoder", "decoder", "attention"};
  };
  // G_f: a plain U-Net on Î_d·2 − 1 (optionally with its mirror image).
  struct Frontalizer {
    blocks::UNetEncoder<FrontalSpec> encoder;
    blocks::UNetDecoder<FrontalSpec> decoder;
    static constexpr std::array field_names{"encoder", "decoder"};
  };

  // Every network and its parameters, named gd.*, dd.*, gf.*, df.*, phi.*.
  struct Networks {
    Deoccluder gd;
    Discriminator dd;
    Frontalizer gf;
    Discriminator df;
    Identity phi;
    static constexpr std::array field_names{"gd", "dd", "gf", "df", "phi"};
  };

  explicit TSGAN(std::uint64_t seed = 0) : rng_(seed), dtl_(Config::negatives, Config::centre_momentum) {
    configure(nets_.gd);
    configure(nets_.gf);
    configure(nets_.dd);
    configure(nets_.df);
    nn::name_parameters(nets_);
    initialise();
    nn::freeze(nets_.phi);
    nn::eval(nets_.phi);
    const optim::AdamOptions adam{.lr = Config::learning_rate, .beta1 = Config::beta1, .beta2 = Config::beta2};
    opt_gd_.emplace(nets_.gd, adam);
    opt_dd_.emplace(nets_.dd, adam);
    opt_gf_.emplace(nets_.gf, adam);
    opt_df_.emplace(nets_.df, adam);
  }
  TSGAN(const TSGAN&) = delete;
  TSGAN& operator=(const TSGAN&) = delete;

  // ---- training -------------------------------------------------------------------------------
  StepLosses train_step(const Batch<Config, D>& batch) {
    StepLosses out;
    set_training(true);
    if (Config::discriminator_step) discriminator_step(batch, out);
    for (int k = 0; k < Config::generator_steps; ++k) generator_step(batch, out);
    graph_.reset();
    ++step_;
    return out;
  }

  // ---- inference (eval mode, no gradient, any batch size) ----------------------------------------
  template <index_t N>
  Tensor<T, Shape<N, 3, S, S>, D> deocclude(const Tensor<T, Shape<N, 3, S, S>, D>& occluded,
                                            const Tensor<T, Shape<N, 1, S, S>, D>& mask) {
    return infer([&](Graph& g) { return deocclusion(g.input(occluded), g.input(mask)); });
  }
  template <index_t N>
  Tensor<T, Shape<N, 3, S, S>, D> frontalize(const Tensor<T, Shape<N, 3, S, S>, D>& deoccluded) {
    return infer([&](Graph& g) { return frontalization(g.input(deoccluded)); });
  }
  template <index_t N>
  struct Restored {
    Tensor<T, Shape<N, 3, S, S>, D> deoccluded;
    Tensor<T, Shape<N, 3, S, S>, D> frontal;
  };
  template <index_t N>
  Restored<N> restore(const Tensor<T, Shape<N, 3, S, S>, D>& occluded, const Tensor<T, Shape<N, 1, S, S>, D>& mask) {
    auto d = deocclude(occluded, mask);
    auto f = frontalize(d);
    return {std::move(d), std::move(f)};
  }

  // ---- checkpoints: everything needed to continue the run bit for bit -----------------------------
  void save(const std::filesystem::path& path) { models::save_checkpoint(*this, path); }
  void load(const std::filesystem::path& path) { models::load_checkpoint(*this, path); }

  // ---- the parts -------------------------------------------------------------------------------
  Networks& networks() { return nets_; }
  optim::Adam<T, D>& optimizer_gd() { return *opt_gd_; }
  optim::Adam<T, D>& optimizer_dd() { return *opt_dd_; }
  optim::Adam<T, D>& optimizer_gf() { return *opt_gf_; }
  optim::Adam<T, D>& optimizer_df() { return *opt_df_; }
  losses::DualTripletLoss<T, embedding_size()>& dual_triplet() { return dtl_; }
  random::Generator& rng() { return rng_; }
  std::int64_t step() const { return step_; }
  void set_step(std::int64_t s) { step_ = s; }

  // Î_d for an occluded batch (differentiable; in the current train/eval mode).
  template <index_t N>
  Var<T, Shape<N, 3, S, S>, D> deocclusion(const Var<T, Shape<N, 3, S, S>, D>& occluded,
                                           const Var<T, Shape<N, 1, S, S>, D>& mask) {
    auto& gd = nets_.gd;
    const Var<T, Shape<N, 4, S, S>, D> x = concat<1>(Var<T, Shape<N, 3, S, S>, D>(occluded * T(2) - T(1)), mask);
    auto skips = gd.encoder(x);
    auto attend = [&]<index_t I, class V>(const V& skip) -> V {
      if constexpr (attends(I)) {
        constexpr index_t side = DeocclusionSpec::side(I);
        const auto m = max_pool2d<PoolOptions{.kernel = S / side}>(mask);
        return std::get<I>(gd.attention)(skip, m);
      } else {
        return skip;
      }
    };
    auto y = gd.decoder(skips, Attend<decltype(attend)>{attend});
    Var<T, Shape<N, 3, S, S>, D> image = (y + T(1)) * T(0.5);
    if constexpr (Config::compose_deocclusion) image = Var<T, Shape<N, 3, S, S>, D>(mask * image + (T(1) - mask) * occluded);
    return image;
  }

  // Î_f for a batch of de-occluded faces (differentiable).
  template <index_t N>
  Var<T, Shape<N, 3, S, S>, D> frontalization(const Var<T, Shape<N, 3, S, S>, D>& deoccluded) {
    const Var<T, Shape<N, 3, S, S>, D> x = deoccluded * T(2) - T(1);
    auto run = [&](const auto& input) {
      auto skips = nets_.gf.encoder(input);
      return nets_.gf.decoder(skips);
    };
    auto y = [&] {
      if constexpr (Config::frontalizer_mirror_input) return run(concat<1>(x, flip_horizontal(x)));
      else return run(x);
    }();
    return Var<T, Shape<N, 3, S, S>, D>((y + T(1)) * T(0.5));
  }

 private:
  // Adapts a templated lambda to the U-Net decoder's skip-transform call.
  template <class F>
  struct Attend {
    F& f;
    template <index_t I, class V>
    V operator()(const V& skip) {
      return f.template operator()<I, V>(skip);
    }
  };

  // Batch norm momentum and epsilon, LeakyReLU slopes: the config's.
  template <class M>
  static void configure(M& m) {
    nn::for_each_module(m, [](auto& x) {
      if constexpr (requires { x.momentum; x.eps; x.training; }) {
        x.momentum = Config::bn_momentum;
        x.eps = Config::bn_eps;
      }
      if constexpr (requires { x.slope; }) x.slope = Config::leaky_slope;
    });
  }

  // Weights N(0, init_std), biases 0; batch norm scales N(1, init_std) (pix2pix and TP-GAN).
  void initialise() {
    nn::reset_parameters(nets_.phi, rng_);
    auto init = [&](const std::string& name, auto& p) {
      const bool norm_param = name.find(".norm") != std::string::npos;
      const bool is_weight = name.size() >= 6 && name.compare(name.size() - 6, 6, "weight") == 0;
      if (is_weight && norm_param) nn::init::normal_(p, rng_, 1.0, Config::init_std);
      else if (is_weight) nn::init::normal_(p, rng_, 0.0, Config::init_std);
      else nn::init::constant_(p, 0.0);
    };
    nn::for_each_parameter(nets_.gd, init, "gd");
    nn::for_each_parameter(nets_.dd, init, "dd");
    nn::for_each_parameter(nets_.gf, init, "gf");
    nn::for_each_parameter(nets_.df, init, "df");
  }

  void set_training(bool on) {
    nn::train(nets_.gd, on);
    nn::train(nets_.dd, on);
    nn::train(nets_.gf, on);
    nn::train(nets_.df, on);
    nn::eval(nets_.phi);
  }

  template <class F>
  auto infer(F&& forward) {
    set_training(false);
    NoGrad guard;
    Graph g;
    auto y = forward(g);
    auto result = y.value().clone();
    set_training(true);
    return result;
  }

  void discriminator_step(const Batch<Config, D>& batch, StepLosses& out) {
    graph_.reset();
    Graph& g = graph_;
    auto [fake_d, fake_f] = [&] {
      NoGrad guard;
      auto occluded = g.input(Tensor<T, Shape<B, 3, S, S>, D>(batch.profile * (T(1) - batch.mask)));
      auto d = deocclusion(occluded, g.input(batch.mask));
      return std::pair(d, frontalization(d));
    }();
    nn::zero_grad(nets_.dd);
    nn::zero_grad(nets_.df);
    auto l_dd = losses::discriminator_loss(nets_.dd(g.input(batch.profile)), nets_.dd(fake_d), Config::real_label);
    auto l_df = losses::discriminator_loss(nets_.df(g.input(batch.frontal)), nets_.df(fake_f), Config::real_label);
    out.d_deocclusion = scalar(l_dd);
    out.d_frontal = scalar(l_df);
    auto total = eval(l_dd + l_df);
    total.backward();
    opt_dd_->step();
    opt_df_->step();
  }

  void generator_step(const Batch<Config, D>& batch, StepLosses& out) {
    graph_.reset();
    Graph& g = graph_;
    nn::zero_grad(nets_.gd);
    nn::zero_grad(nets_.gf);
    nn::freeze(nets_.dd);  // gradients flow through the discriminators, not into them
    nn::freeze(nets_.df);
    auto profile = g.input(batch.profile);
    auto frontal = g.input(batch.frontal);
    auto mask = g.input(batch.mask);
    auto occluded = g.input(Tensor<T, Shape<B, 3, S, S>, D>(batch.profile * (T(1) - batch.mask)));
    auto fake_d = deocclusion(occluded, mask);
    auto fake_f = frontalization(fake_d);

    auto l_pix = eval(losses::pixel_l1(fake_d, profile) + losses::pixel_l1(fake_f, frontal));
    auto l_sym = losses::symmetry(fake_f);
    auto l_tv = eval(losses::total_variation_loss(fake_f) + losses::total_variation_loss(fake_d));
    auto l_adv = eval(losses::generator_adversarial_loss(nets_.dd(fake_d), Config::real_label) +
                      losses::generator_adversarial_loss(nets_.df(fake_f), Config::real_label));
    // φ of the real targets are constants; φ of the generated faces carry the gradient.
    auto [real_p, real_f] = [&] {
      NoGrad guard;
      return std::pair(nets_.phi.features(profile), nets_.phi.features(frontal));
    }();
    auto feat_d = nets_.phi.features(fake_d);
    auto feat_f = nets_.phi.features(fake_f);
    auto l_ip = eval(losses::identity_loss(feat_f, real_f) + losses::identity_loss(feat_d, real_p));
    auto neg_p = dtl_.negatives(to_host(real_p.embedding.value()), batch.identity);
    auto neg_f = dtl_.negatives(to_host(real_f.embedding.value()), batch.identity);
    auto l_dtri = eval(dtl_(feat_d.embedding, real_p.embedding, to_device(std::move(neg_p))) +
                       dtl_(feat_f.embedding, real_f.embedding, to_device(std::move(neg_f))));

    auto l_g = eval(Config::lambda_adv * l_adv + Config::lambda_dtri * l_dtri + Config::lambda_ip * l_ip +
                    Config::lambda_pix * l_pix + Config::lambda_sym * l_sym + Config::lambda_tv * l_tv);
    out.adversarial = scalar(l_adv);
    out.dual_triplet = scalar(l_dtri);
    out.identity = scalar(l_ip);
    out.pixel = scalar(l_pix);
    out.symmetry = scalar(l_sym);
    out.total_variation = scalar(l_tv);
    out.generator = scalar(l_g);
    l_g.backward();
    opt_gd_->step();
    opt_gf_->step();
    nn::unfreeze(nets_.dd);
    nn::unfreeze(nets_.df);
    if (dtl_.mode() == losses::Negatives::running_centres)
      dtl_.update_centres(to_host(real_f.embedding.value()), batch.identity);
  }

  template <ShapeType X>
  static double scalar(const Var<T, X, D>& v) {
    return static_cast<double>(to_host(v.value())[0]);
  }
  template <ShapeType X>
  static Tensor<T, X> to_host(const Tensor<T, X, D>& t) {
    if constexpr (std::is_same_v<D, cpu>) return t.clone();
    else return t.template to<cpu>();
  }
  template <ShapeType X>
  static Tensor<T, X, D> to_device(Tensor<T, X>&& t) {
    if constexpr (std::is_same_v<D, cpu>) return std::move(t);
    else return t.template to<D>();
  }

  Networks nets_;
  random::Generator rng_;
  losses::DualTripletLoss<T, embedding_size()> dtl_;
  std::optional<optim::Adam<T, D>> opt_gd_, opt_dd_, opt_gf_, opt_df_;
  Graph graph_;
  std::int64_t step_ = 0;
};

}  // namespace tsgan
