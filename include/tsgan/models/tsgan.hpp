// TSGAN<Config, Device>: the two-stage GAN that removes occlusions from a profile face (stage 1,
// G_d) and turns it to a frontal view (stage 2, G_f), trained with the losses of the method
// document (docs/model.md).
//
//   TSGAN<config::Tiny> model(seed);
//   auto losses = model.train_step(batch);    // one discriminator step, then two generator steps;
//                                              // losses.terms(): every term by name, per stage
//   auto grid = model.snapshot(eval_batch);   // I_o, M, Î_d, Î_f, I_p, I_f for a training grid
//   auto out = model.restore(occluded, mask);  // Î_d and Î_f at any batch size
//   model.save("checkpoint.safetensors");      // networks, optimizers, step, RNG, config
//   model.save_generators("model.safetensors", io::safetensors::Dtype::F16);  // G_d, G_f, config
//
// The model owns G_d (U-Net with mask attention on the skips), D_d, G_f (plain U-Net), D_f, the
// frozen identity network φ and four Adam optimizers. Images are in [0, 1]; generators work in
// [−1, 1] internally. Masks are 1 where the face is occluded.
#pragma once

#include <array>
#include <optional>
#include <string>
#include <tuple>
#include <utility>
#include <vector>

#include "tsgan/blocks/discriminator.hpp"
#include "tsgan/blocks/mask_attention.hpp"
#include "tsgan/blocks/unet.hpp"
#include "tsgan/losses/adversarial.hpp"
#include "tsgan/losses/dual_triplet.hpp"
#include "tsgan/losses/identity.hpp"
#include "tsgan/losses/pixel.hpp"
#include "tsgan/models/checkpoint.hpp"
#include "tsgan/models/configs.hpp"
#include "tsgan/models/recognizer_chip.hpp"
#include "tsgan/nn/init.hpp"
#include "tsgan/optim/adam.hpp"
#if defined(__CUDACC__)
#include "tsgan/core/settings.hpp"
#include "tsgan/kernels/cuda/graph.cuh"
#endif

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

// The generator terms of one stage: stage 1 compares Î_d with I_p, stage 2 Î_f with I_f.
struct StageLosses {
  double adversarial = 0;        // σCE(D(Î), 0.9)
  double dual_triplet = 0;       // mean softplus(d⁺ − d⁻)
  double positive_distance = 0;  // mean d⁺ = d(φ(Î), φ(I))
  double negative_distance = 0;  // mean d⁻ = d(φ(Î), C⁻)
  double identity = 0;           // F(Î, I)
  double pixel = 0;              // L1(Î, I), summed over pixels
  double symmetry = 0;           // stage 2 only
  double total_variation = 0;
};

// Every loss term of one training step (generator terms from its last generator step). A term
// the step's stage or the config leaves out (λ = 0) is 0.
struct StepLosses {
  config::Stage stage = config::Stage::joint;
  double d_deocclusion = 0;    // L_Dd
  double d_frontal = 0;        // L_Df
  StageLosses deocclusion;     // stage 1 (Î_d)
  StageLosses frontalization;  // stage 2 (Î_f)
  // Sums of both stages, as in L_G.
  double adversarial = 0;      // L_adv
  double dual_triplet = 0;     // L_dtri
  double identity = 0;         // L_ip
  double pixel = 0;            // L_pix
  double symmetry = 0;         // L_sym
  double total_variation = 0;  // L_tv
  double generator = 0;        // L_G = Σ λ·L (loss_weights<Config>())

  // Every term by name, for logs: L_Dd, L_Df, then each sum followed by its stage-1 (_d) and
  // stage-2 (_f) parts, d⁺ and d⁻ of the dual triplet loss per stage, and L_G.
  std::vector<std::pair<std::string, double>> terms() const {
    const StageLosses &d = deocclusion, &f = frontalization;
    return {{"L_Dd", d_deocclusion},      {"L_Df", d_frontal},
            {"L_adv", adversarial},       {"L_adv_d", d.adversarial},     {"L_adv_f", f.adversarial},
            {"L_dtri", dual_triplet},     {"L_dtri_d", d.dual_triplet},   {"L_dtri_f", f.dual_triplet},
            {"d_pos_d", d.positive_distance}, {"d_neg_d", d.negative_distance},
            {"d_pos_f", f.positive_distance}, {"d_neg_f", f.negative_distance},
            {"L_ip", identity},           {"L_ip_d", d.identity},         {"L_ip_f", f.identity},
            {"L_pix", pixel},             {"L_pix_d", d.pixel},           {"L_pix_f", f.pixel},
            {"L_sym", symmetry},          {"L_tv", total_variation},      {"L_tv_d", d.total_variation},
            {"L_tv_f", f.total_variation}, {"L_G", generator}};
  }
};

// What a training grid shows for a batch: the input (I_o and M), the stage outputs and both
// targets, all [N, C, S, S] in [0, 1] on the model's device.
template <class T, index_t N, index_t S, class D>
struct Snapshot {
  Tensor<T, Shape<N, 3, S, S>, D> occluded;    // I_o = I_p ⊙ (1 − M)
  Tensor<T, Shape<N, 1, S, S>, D> mask;        // M
  Tensor<T, Shape<N, 3, S, S>, D> deoccluded;  // Î_d
  Tensor<T, Shape<N, 3, S, S>, D> frontal;     // Î_f
  Tensor<T, Shape<N, 3, S, S>, D> profile;     // I_p, the stage-1 target
  Tensor<T, Shape<N, 3, S, S>, D> target;      // I_f, the stage-2 target
};

template <class Config, class D = cpu>
class TSGAN {
  static_assert(config::CheckConfig<Config>::value);

 public:
  using T = typename Config::value_type;
  using config_type = Config;
  using device = D;
  static constexpr index_t S = Config::image_size, B = Config::batch, L = Config::unet_levels;

  using DeocclusionSpec = blocks::UNetSpec<4, 3, S, L, Config::generator_width, T, D, Config::output_activation>;
  using FrontalSpec = blocks::UNetSpec<Config::frontalizer_mirror_input ? 6 : 3, 3, S, L, Config::generator_width, T, D,
                                       Config::output_activation>;
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
  static constexpr config::LossWeights weights = config::loss_weights<Config>();
  // φ is needed only when one of its two losses counts.
  static constexpr bool uses_identity = weights.identity > 0 || weights.dual_triplet > 0;


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
  // One discriminator step (config::runs_discriminators), then generator_steps generator steps,
  // for the stages that the schedule trains at this step (config::stage_at). The loss terms are
  // written to a device buffer as they are computed and read to the host once, after the step;
  // nothing else leaves the device during it.
  StepLosses train_step(const Batch<Config, D>& batch) {
    const config::Stage stage = begin_step(batch.identity);
    run_step(batch, stage);
    ++step_;
    return read_losses(stage);
  }

#if defined(__CUDACC__)
  // train_step recorded as a CUDA graph and replayed (GPU only: on the CPU there is nothing to
  // record, and a second name for train_step would be a second way to do one thing). The first
  // call runs the step eagerly, which leaves every block the step needs in the allocator's cache;
  // the second records it (kernels/cuda/graph.cuh) on buffers the model keeps for the batch and
  // runs the recording; later calls copy the batch into those buffers and replay it. Each call is
  // one training step with the same result, bit for bit, as train_step. Host state the recording
  // cannot advance is advanced here: the step count, the dual triplet plan and the batch-norm
  // counters; Adam's counts and the running centres live on the device. A step of another stage
  // than the recorded one, a centre table that had to grow or a change of set_tf32() starts over
  // with an eager call.
  StepLosses train_step_graph(const Batch<Config, D>& batch)
    requires(!std::is_same_v<D, cpu>)
  {
    const config::Stage stage = begin_step(batch.identity);
    Recording& r = recording_;
    if (r.warm && (r.stage != stage || r.centres_version != dtl_.storage_version() || r.tf32 != tf32_enabled())) {
      r.graph.reset();
      r.warm = false;
    }
    if (!r.input) {
      r.input.emplace(Batch<Config, D>{batch.profile.clone(), batch.mask.clone(), batch.frontal.clone(), batch.identity});
    } else {
      r.input->profile.copy_from(batch.profile);
      r.input->mask.copy_from(batch.mask);
      r.input->frontal.copy_from(batch.frontal);
      r.input->identity = batch.identity;
    }
    if (!r.warm) {
      run_step(*r.input, stage);
      r.warm = true;
      r.stage = stage;
      r.centres_version = dtl_.storage_version();
      r.tf32 = tf32_enabled();
    } else if (!r.graph.captured()) {
      const auto counters = batch_counters();
      r.counted.clear();
      for (const std::int64_t* c : counters) r.counted.push_back(-*c);
      r.graph.capture([&] { run_step(*r.input, stage); }, 0);
      for (std::size_t i = 0; i < counters.size(); ++i) r.counted[i] += *counters[i];
      r.graph.replay();
    } else {
      const auto counters = batch_counters();
      for (std::size_t i = 0; i < counters.size(); ++i) *counters[i] += r.counted[i];
      r.graph.replay();
    }
    ++step_;
    return read_losses(stage);
  }
#endif

  // A training step with an identity network that has no weights yet (FaceRecognizer before
  // load()) would see constant φ features: L_ip = 0 and L_dtri = 2 ln 2 without gradient.
  void require_identity_weights() {
    if constexpr (uses_identity && requires { nets_.phi.has_weights(); }) {
      if (!nets_.phi.has_weights())
        fail("tsgan: TSGAN::train_step: the identity network φ has no weights (L_ip and L_dtri would not train "
             "anything): load them first with model.networks().phi.load(models_dir) (scripts/fetch-face-models.sh "
             "fetches them; io::face_models_dir() finds them), or load a checkpoint that holds them with model.load(path)");
    }
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

  // The images a training grid shows for `batch` (eval mode, no gradient, no random draws, so
  // the same batch gives the same grid at the same weights).
  template <index_t N>
  Snapshot<T, N, S, D> snapshot(const Tensor<T, Shape<N, 3, S, S>, D>& profile, const Tensor<T, Shape<N, 1, S, S>, D>& mask,
                                const Tensor<T, Shape<N, 3, S, S>, D>& target) {
    Tensor<T, Shape<N, 3, S, S>, D> occluded = profile * (T(1) - mask);
    auto r = restore(occluded, mask);
    return {std::move(occluded), mask.clone(), std::move(r.deoccluded), std::move(r.frontal), profile.clone(), target.clone()};
  }
  Snapshot<T, B, S, D> snapshot(const Batch<Config, D>& batch) { return snapshot(batch.profile, batch.mask, batch.frontal); }

  // ---- checkpoints: everything needed to continue the run bit for bit -----------------------------
  void save(const std::filesystem::path& path) { models::save_checkpoint(*this, path); }
  void load(const std::filesystem::path& path) { models::load_checkpoint(*this, path); }
  // Inference only: G_d and G_f (models/checkpoint.hpp).
  void save_generators(const std::filesystem::path& path, io::safetensors::Dtype dtype = io::safetensors::Dtype::F32,
                       const std::map<std::string, std::string>& metadata = {}) {
    models::save_generators(*this, path, dtype, metadata);
  }
  void load_generators(const std::filesystem::path& path) { models::load_generators(*this, path); }

  // ---- the parts -------------------------------------------------------------------------------
  Networks& networks() { return nets_; }
  optim::Adam<T, D>& optimizer_gd() { return *opt_gd_; }
  optim::Adam<T, D>& optimizer_dd() { return *opt_dd_; }
  optim::Adam<T, D>& optimizer_gf() { return *opt_gf_; }
  optim::Adam<T, D>& optimizer_df() { return *opt_df_; }
  losses::DualTripletLoss<T, embedding_size(), D>& dual_triplet() { return dtl_; }
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
        return std::get<I>(gd.attention)(skip, pool_mask<S / side>(mask));
      } else {
        return skip;
      }
    };
    auto y = gd.decoder(skips, Attend<decltype(attend)>{attend});
    Var<T, Shape<N, 3, S, S>, D> image = to_image(y);
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
    return to_image(y);
  }

 private:
  // The decoder's output as an image in [0, 1].
  template <index_t N>
  static Var<T, Shape<N, 3, S, S>, D> to_image(const Var<T, Shape<N, 3, S, S>, D>& y) {
    if constexpr (Config::output_activation == config::OutputActivation::tanh) return (y + T(1)) * T(0.5);
    else return y;  // already a sigmoid
  }

  // The mask at a skip's resolution: a cell is occluded by the max, mean or min of its pixels.
  template <index_t K, index_t N>
  static auto pool_mask(const Var<T, Shape<N, 1, S, S>, D>& mask) {
    constexpr PoolOptions o{.kernel = K};
    if constexpr (Config::mask_pooling == config::MaskPooling::max) return max_pool2d<o>(mask);
    else if constexpr (Config::mask_pooling == config::MaskPooling::average) return avg_pool2d<o>(mask);
    else return eval(T(1) - max_pool2d<o>(Var<T, Shape<N, 1, S, S>, D>(T(1) - mask)));
  }

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
  // φ is not touched: it is pretrained (its constructor or load() gives it its weights).
  void initialise() {
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

  using Image = Var<T, Shape<B, 3, S, S>, D>;
  using Scalar = Var<T, Shape<>, D>;

  // φ of images in the method's crop, shown as the config's identity_input says.
  auto phi_features(const Image& x) {
    if constexpr (Config::identity_input == config::IdentityInput::recognizer_chip) return nets_.phi.features(chip_(x));
    else return nets_.phi.features(x);
  }

  // Î_d during training: from G_d in training mode when stage 1 is trained, otherwise from the
  // frozen G_d (eval mode, no gradient), whose batch-norm statistics must not move either.
  Image generated_deocclusion(const Image& occluded, const Var<T, Shape<B, 1, S, S>, D>& mask, bool training_gd) {
    if (training_gd) return deocclusion(occluded, mask);
    NoGrad guard;
    nn::train(nets_.gd, false);
    auto d = deocclusion(occluded, mask);
    nn::train(nets_.gd, true);
    return d;
  }

  // What a generator step's forward passes made, on graph_: Î_d, and in stages 2 and joint Î_f
  // with the tape positions [frontal_first, frontal_last) of G_f's nodes (see generator_step).
  struct Generated {
    Image deoccluded;
    std::optional<Image> frontal;
    std::size_t frontal_first = 0, frontal_last = 0;
  };

  // G_d, and G_f in stages 2 and joint, on the batch, recorded on a fresh graph_. Batch norm in
  // training mode counts each pass `passes` times (see run_step).
  Generated generate(const Batch<Config, D>& batch, config::Stage stage, int passes) {
    graph_.reset();
    Graph& g = graph_;
    const bool stage1 = stage != config::Stage::frontalization, stage2 = stage != config::Stage::deocclusion;
    set_batch_norm_passes(passes);
    auto occluded = g.input(Tensor<T, Shape<B, 3, S, S>, D>(batch.profile * (T(1) - batch.mask)));
    Generated out{generated_deocclusion(occluded, g.input(batch.mask), stage1), std::nullopt};
    if (stage2) {
      out.frontal_first = g.size();
      out.frontal = frontalization(out.deoccluded);
      out.frontal_last = g.size();
    }
    set_batch_norm_passes(1);
    return out;
  }

  void set_batch_norm_passes(int passes) {
    auto set = [&](auto& m) {
      if constexpr (requires { m.passes; }) m.passes = passes;
    };
    nn::for_each_module(nets_.gd, set);
    nn::for_each_module(nets_.gf, set);
  }

  // The discriminators of the stages being trained: D_d in stage 1, D_f in stage 2, both jointly,
  // on the real faces and on `fakes` as constants. Recorded on their own tape, d_graph_, so that
  // their backward pass walks their nodes only while the generator step's wait on graph_. Kept out
  // of line so that a profile can tell its samples from the generator steps' (bench/profile_tsgan.py).
  [[gnu::noinline]] void discriminator_step(const Batch<Config, D>& batch, config::Stage stage,
                                            const Generated& fakes) {
    d_graph_.reset();
    Graph& g = d_graph_;
    const bool stage1 = stage != config::Stage::frontalization, stage2 = stage != config::Stage::deocclusion;
    std::optional<Scalar> total;
    if (stage1) {
      nn::zero_grad(nets_.dd);
      // Real, then fake, in this order: each call moves D's batch-norm statistics, and as two
      // arguments of one call the order would be the compiler's (GCC's is right to left).
      auto real = nets_.dd(g.input(batch.profile));
      auto fake = nets_.dd(g.input(fakes.deoccluded.value()));
      auto l_dd = losses::discriminator_loss(real, fake, Config::real_label);
      record(l_dd, Term::d_deocclusion);
      total = l_dd;
    }
    if (stage2) {
      nn::zero_grad(nets_.df);
      auto real = nets_.df(g.input(batch.frontal));
      auto fake = nets_.df(g.input(fakes.frontal->value()));
      auto l_df = losses::discriminator_loss(real, fake, Config::real_label);
      record(l_df, Term::d_frontal);
      total = total ? Scalar(eval(*total + l_df)) : l_df;
    }
    total->backward();
    if (stage1) opt_dd_->step();
    if (stage2) opt_df_->step();
    d_graph_.reset();  // D's activations go back to the allocator before the generator step goes on
  }

  // One stage's generator terms for a generated batch and its real target; adds them, weighted,
  // to `total` and records them in the stage's slots of the loss buffer.
  template <class Disc>
  void stage_terms(const Image& fake, const Image& real, Disc& disc, bool frontal, std::optional<Scalar>& total) {
    const index_t at = frontal ? Term::frontalization : Term::deocclusion;
    auto add = [&](const Scalar& term, double weight, index_t field) {
      record(term, at + field);
      total = total ? Scalar(eval(*total + weight * term)) : Scalar(eval(weight * term));
    };
    add(losses::pixel_l1(fake, real), weights.pixel, Term::pixel);
    add(losses::total_variation_loss(fake), weights.total_variation, Term::total_variation);
    if (frontal) add(losses::symmetry(fake), weights.symmetry, Term::symmetry);
    if constexpr (weights.adversarial > 0)
      add(losses::generator_adversarial_loss(disc(fake), Config::real_label), weights.adversarial, Term::adversarial);
    if constexpr (uses_identity) {
      // φ of the real target is a constant, computed by the step's first generator step (see
      // phi_targets_); φ of the generated face carries the gradient.
      auto& cached = phi_targets_[frontal ? 1 : 0];
      if (!cached) {
        NoGrad guard;
        auto t = phi_features(real);
        cached.emplace(TargetFeatures{t.embedding.value().clone(), t.feature_map.value().clone()});
      }
      const decltype(phi_features(real)) target{graph_.input(cached->embedding), graph_.input(cached->feature_map)};
      auto features = phi_features(fake);
      add(losses::identity_loss(features, target), weights.identity, Term::identity);
      const auto& target_embedding = target.embedding.value();
      auto dtl = dtl_.terms(features.embedding, target.embedding, dtl_.negatives(target_embedding));
      add(dtl.loss, weights.dual_triplet, Term::dual_triplet);
      record(dtl.positive, at + Term::positive_distance);
      record(dtl.negative, at + Term::negative_distance);
      if (frontal && dtl_.mode() == losses::Negatives::running_centres) centres_update_ = target_embedding.clone();
    }
  }

  // Stage 1 trains G_d on Î_d's terms; stage 2 trains G_f on Î_f's terms with G_d frozen (in eval
  // mode, no gradient); joint trains both on all terms, stage-2 gradients reaching G_d through Î_d.
  void generator_step(const Batch<Config, D>& batch, config::Stage stage, const Generated& fakes) {
    Graph& g = graph_;
    const bool stage1 = stage != config::Stage::frontalization, stage2 = stage != config::Stage::deocclusion;
    nn::zero_grad(nets_.gd);
    nn::zero_grad(nets_.gf);
    nn::freeze(nets_.dd);  // gradients flow through the discriminators, not into them
    nn::freeze(nets_.df);
    std::optional<Scalar> total;
    centres_update_.reset();
    if (stage1) stage_terms(fakes.deoccluded, g.input(batch.profile), nets_.dd, false, total);
    if (stage2) {
      // G_f ran before stage 1's terms because the discriminator step needed Î_f; its nodes move
      // behind those terms, where running G_f now would have recorded them, so that backward adds
      // up Î_d's gradient in that order and rounds it as a step that runs G_f here does.
      g.move_to_end(fakes.frontal_first, fakes.frontal_last);
      stage_terms(*fakes.frontal, g.input(batch.frontal), nets_.df, true, total);
    }
    record(*total, Term::generator);
    total->backward();
    if (stage1) opt_gd_->step();
    if (stage2) opt_gf_->step();
    nn::unfreeze(nets_.dd);
    nn::unfreeze(nets_.df);
    if (centres_update_) dtl_.update_centres(*centres_update_);
  }

  // The host half of a step, before any device work: the stage, φ's weights, the dual triplet
  // loss's plan for the batch's labels.
  config::Stage begin_step(const std::array<std::int64_t, B>& ids) {
    require_identity_weights();
    const config::Stage stage = config::stage_at<Config>(step_);
    if constexpr (uses_identity) dtl_.plan(ids, stage != config::Stage::deocclusion);
    return stage;
  }

  // The device work of a step: one discriminator step, then generator_steps generator steps; the
  // loss terms go to terms_. Reads no value back (a CUDA graph can record it).
  //
  // The discriminator step trains on the first generator step's Î_d and Î_f, so it runs between
  // that step's forward passes and its losses: the generators have not changed yet and nothing in
  // their passes is random, so passes of its own (8.5 % of TSGAN<Paper>'s FLOPs) would give the
  // same values bit for bit. Batch norm counts the shared passes twice, moving the generators'
  // running statistics as two passes did. The losses come after it and see the updated
  // discriminators.
  void run_step(const Batch<Config, D>& batch, config::Stage stage) {
    set_training(true);
    phi_targets_ = {};
    zero_fill<D>(terms_.data(), Term::count);
    for (int k = 0; k < Config::generator_steps; ++k) {
      const bool shared = config::runs_discriminators<Config>() && k == 0;
      const Generated fakes = generate(batch, stage, shared ? 2 : 1);
      if (shared) discriminator_step(batch, stage, fakes);
      generator_step(batch, stage, fakes);
    }
    graph_.reset();
  }

#if defined(__CUDACC__)
  // The batch-norm counters (num_batches_tracked) of every network: host values that a capture's
  // host code advances by one step and a replay does not advance at all.
  std::vector<std::int64_t*> batch_counters() {
    std::vector<std::int64_t*> out;
    auto add = [&](auto& net) {
      nn::for_each_module(net, [&](auto& m) {
        if constexpr (requires { m.num_batches_tracked; }) out.push_back(m.num_batches_tracked.data());
      });
    };
    add(nets_.gd);
    add(nets_.dd);
    add(nets_.gf);
    add(nets_.df);
    add(nets_.phi);
    return out;
  }
#endif

  // The slots of terms_: both discriminator losses, a stage's eight terms (in StageLosses'
  // order) from `deocclusion` or `frontalization`, and L_G. A generator term comes from the last
  // generator step (every generator step writes the same slots); a term not computed stays 0.
  struct Term {
    static constexpr index_t d_deocclusion = 0, d_frontal = 1, deocclusion = 2, frontalization = 10, generator = 18,
                             count = 19;
    static constexpr index_t adversarial = 0, dual_triplet = 1, positive_distance = 2, negative_distance = 3,
                             identity = 4, pixel = 5, symmetry = 6, total_variation = 7;
  };

  void record(const Scalar& term, index_t slot) { copy_on_device<D>(terms_.data() + slot, term.value().data(), 1); }

  // The loss terms of the step just run, in one copy to the host.
  StepLosses read_losses(config::Stage stage) const {
    std::array<T, Term::count> v;
    copy_to_host<D>(v.data(), terms_.data(), Term::count);
    auto at = [&](index_t slot) { return static_cast<double>(v[static_cast<std::size_t>(slot)]); };
    auto stage_losses = [&](index_t base) {
      return StageLosses{at(base + Term::adversarial),       at(base + Term::dual_triplet), at(base + Term::positive_distance),
                         at(base + Term::negative_distance), at(base + Term::identity),     at(base + Term::pixel),
                         at(base + Term::symmetry),          at(base + Term::total_variation)};
    };
    StepLosses out;
    out.stage = stage;
    out.d_deocclusion = at(Term::d_deocclusion);
    out.d_frontal = at(Term::d_frontal);
    out.deocclusion = stage_losses(Term::deocclusion);
    out.frontalization = stage_losses(Term::frontalization);
    const StageLosses &s1 = out.deocclusion, &s2 = out.frontalization;
    out.adversarial = s1.adversarial + s2.adversarial;
    out.dual_triplet = s1.dual_triplet + s2.dual_triplet;
    out.identity = s1.identity + s2.identity;
    out.pixel = s1.pixel + s2.pixel;
    out.symmetry = s2.symmetry;
    out.total_variation = s1.total_variation + s2.total_variation;
    out.generator = at(Term::generator);
    return out;
  }

  Networks nets_;
  random::Generator rng_;
  losses::DualTripletLoss<T, embedding_size(), D> dtl_;
  std::optional<optim::Adam<T, D>> opt_gd_, opt_dd_, opt_gf_, opt_df_;
  struct NoChip {};
  [[no_unique_address]] std::conditional_t<Config::identity_input == config::IdentityInput::recognizer_chip,
                                           models::RecognizerChip<S, T, D>, NoChip>
      chip_;
  Graph graph_;    // the generator step's tape
  Graph d_graph_;  // the discriminator step's
  std::int64_t step_ = 0;
  // The real frontal targets' embeddings of the current generator step, for running centres.
  std::optional<Tensor<T, Shape<B, embedding_size()>, D>> centres_update_;
  // φ of the running step's real targets, per stage (I_p, I_f). φ is frozen and every generator
  // step of a train_step sees the same batch, so the first generator step computes them and the
  // others reuse them: the same values, one φ pass per stage and step instead of one per
  // generator step (run_step clears them first, so no step sees another's).
  using PhiFeatures = decltype(std::declval<Identity&>().features(std::declval<const Image&>()));
  struct TargetFeatures {
    std::remove_cvref_t<decltype(std::declval<PhiFeatures&>().embedding.value())> embedding;
    std::remove_cvref_t<decltype(std::declval<PhiFeatures&>().feature_map.value())> feature_map;
  };
  std::array<std::optional<TargetFeatures>, 2> phi_targets_;
  // The loss terms of the running step (Term's slots).
  Tensor<T, Shape<Term::count>, D> terms_;
#if defined(__CUDACC__)
  // train_step_graph's recording and the buffers it reads the batch from. Last member: destroyed
  // first, while everything the recording refers to still exists.
  struct Recording {
    CudaGraph graph;
    std::optional<Batch<Config, D>> input;
    bool warm = false;  // an eager step has run for `stage`, this centre table and TF32 setting
    config::Stage stage{};
    std::int64_t centres_version = 0;
    bool tf32 = false;                  // the setting the kernels were recorded with
    std::vector<std::int64_t> counted;  // what one step adds to each batch-norm counter
  };
  struct NoRecording {};
  [[no_unique_address]] std::conditional_t<std::is_same_v<D, cpu>, NoRecording, Recording> recording_;
#endif
};

}  // namespace tsgan
