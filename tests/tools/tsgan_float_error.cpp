// tsgan_float_error: how far TSGAN<config::Tiny>'s float computations on the CPU are from the same
// model computed in double, with the float model's weights. tsgan_device_test.cpp sizes its
// GPU-against-CPU tolerances from these numbers (ten times the worst, over OpenBLAS's products and
// Eigen's: run it twice, with and without OPENBLAS_CORETYPE=SkylakeX on an AVX-512 machine).
//
//   cmake --build build --target tsgan_float_error && build/tests/tsgan_float_error
//
// Same seeds and synthetic batches as the test. Each line is max |float − double| / max |double|
// (norm-wise), or the relative error of a scalar, or an absolute difference where it says so.
#include <cmath>
#include <cstdio>
#include <vector>

#include "tsgan/models/tsgan.hpp"

using namespace tsgan;

namespace {

struct TinyDouble : config::Tiny {
  using value_type = double;
};

// The test's batch (drawn in float), converted to the config's value type.
template <class C>
Batch<C> synthetic_batch(std::uint64_t seed) {
  random::Generator g(seed);
  Batch<config::Tiny> b;
  b.profile = random::uniform<Shape<4, 3, 32, 32>>(g);
  b.frontal = random::uniform<Shape<4, 3, 32, 32>>(g);
  b.mask = random::bernoulli<Shape<4, 1, 32, 32>>(g, 0.25f);
  using T = typename C::value_type;
  Batch<C> out;
  for (index_t i = 0; i < b.profile.size; ++i) {
    out.profile[i] = T(b.profile[i]);
    out.frontal[i] = T(b.frontal[i]);
  }
  for (index_t i = 0; i < b.mask.size; ++i) out.mask[i] = T(b.mask[i]);
  out.identity = {0, 1, 2, 0};
  return out;
}

template <class X>
std::vector<double> values(const X& x) {
  return std::vector<double>(x.data(), x.data() + X::size);
}
template <class M>
std::vector<double> parameters(M& m) {
  std::vector<double> v;
  nn::for_each_parameter(m, [&](const std::string&, auto& p) {
    const auto x = values(p.value());
    v.insert(v.end(), x.begin(), x.end());
  });
  return v;
}
template <class M>
std::vector<double> statistics(M& m) {
  std::vector<double> v;
  nn::for_each_buffer(m, [&](const std::string&, auto& b) {
    if constexpr (std::is_floating_point_v<typename std::remove_cvref_t<decltype(b)>::value_type>) {
      const auto x = values(b);
      v.insert(v.end(), x.begin(), x.end());
    }
  });
  return v;
}
template <class O>
std::vector<double> first_moments(O& opt) {
  std::vector<double> v;
  opt.for_each_state([&](const std::string&, std::int64_t&, auto* m, auto*, index_t n) { v.insert(v.end(), m, m + n); });
  return v;
}

double normwise(const std::vector<double>& got, const std::vector<double>& want) {
  double worst = 0, largest = 0;
  for (std::size_t i = 0; i < want.size(); ++i) {
    worst = std::max(worst, std::abs(got[i] - want[i]));
    largest = std::max(largest, std::abs(want[i]));
  }
  return worst / largest;
}
double largest_difference(const std::vector<double>& got, const std::vector<double>& want) {
  double worst = 0;
  for (std::size_t i = 0; i < want.size(); ++i) worst = std::max(worst, std::abs(got[i] - want[i]));
  return worst;
}
double relative(double got, double want) { return std::abs(got - want) / std::abs(want); }

// The double model takes the float model's weights: the two draw initial weights from the random
// stream differently, and only the arithmetic is to differ.
template <class F, class D>
void copy_weights(F& from, D& to) {
  const auto v = parameters(from);
  std::size_t at = 0;
  nn::for_each_parameter(to, [&](const std::string&, auto& p) {
    for (index_t i = 0; i < std::remove_cvref_t<decltype(p)>::shape::size; ++i) p.value().data()[i] = v[at++];
  });
}

// tsgan_device_test's generator_gradients(), on the host in any precision.
template <class M, class B>
std::array<std::vector<double>, 2> generator_gradients(M& m, const B& b) {
  using T = typename M::T;
  auto& nets = m.networks();
  nn::zero_grad(nets.gd);
  nn::zero_grad(nets.gf);
  Graph g;
  auto profile = g.input(b.profile);
  auto frontal = g.input(b.frontal);
  auto mask = g.input(b.mask);
  auto occluded = g.input(Tensor<T, Shape<4, 3, 32, 32>>(b.profile * (T(1) - b.mask)));
  auto d = m.deocclusion(occluded, mask);
  auto f = m.frontalization(d);
  auto loss = eval(losses::pixel_l1(d, profile) + losses::pixel_l1(f, frontal) + losses::symmetry(f) +
                   losses::total_variation_loss(f) +
                   losses::identity_loss(nets.phi.features(f), nets.phi.features(frontal)) +
                   losses::generator_adversarial_loss(nets.df(f), 0.9));
  loss.backward();
  std::array<std::vector<double>, 2> out;
  auto collect = [](std::vector<double>& v) {
    return [&v](const std::string&, auto& p) {
      const auto x = values(p.grad());
      v.insert(v.end(), x.begin(), x.end());
    };
  };
  nn::for_each_parameter(nets.gd, collect(out[0]));
  nn::for_each_parameter(nets.gf, collect(out[1]));
  return out;
}

}  // namespace

int main() {
  {  // the forward pass and inference (the test's first case)
    TSGAN<config::Tiny> f(1);
    TSGAN<TinyDouble> d(1);
    copy_weights(f.networks(), d.networks());
    const auto bf = synthetic_batch<config::Tiny>(2);
    const auto bd = synthetic_batch<TinyDouble>(2);
    Graph g, h;
    auto xf = f.deocclusion(g.input(bf.profile), g.input(bf.mask));
    auto lf = f.networks().dd(xf);
    auto yf = f.frontalization(xf);
    auto xd = d.deocclusion(h.input(bd.profile), h.input(bd.mask));
    auto ld = d.networks().dd(xd);
    auto yd = d.frontalization(xd);
    std::printf("training mode: I_d %.3g, I_f %.3g, D_d logits %.3g, running statistics %.3g\n",
                normwise(values(xf.value()), values(xd.value())), normwise(values(yf.value()), values(yd.value())),
                normwise(values(lf.value()), values(ld.value())), normwise(statistics(f.networks()), statistics(d.networks())));
    const auto rf = f.restore(bf.profile, bf.mask);
    const auto rd = d.restore(bd.profile, bd.mask);
    std::printf("restore (eval mode): I_d %.3g, I_f %.3g\n", normwise(values(rf.deoccluded), values(rd.deoccluded)),
                normwise(values(rf.frontal), values(rd.frontal)));
  }
  {  // generator gradients (the test's generator case)
    TSGAN<config::Tiny> f(3);
    TSGAN<TinyDouble> d(3);
    copy_weights(f.networks(), d.networks());
    const auto gf = generator_gradients(f, synthetic_batch<config::Tiny>(4));
    const auto gd = generator_gradients(d, synthetic_batch<TinyDouble>(4));
    std::printf("generator gradients: gd %.3g, gf %.3g\n", normwise(gf[0], gd[0]), normwise(gf[1], gd[1]));
  }
  {  // one training step (the test's step case)
    TSGAN<config::Tiny> f(3);
    TSGAN<TinyDouble> d(3);
    copy_weights(f.networks(), d.networks());
    const auto sf = f.train_step(synthetic_batch<config::Tiny>(4));
    const auto sd = d.train_step(synthetic_batch<TinyDouble>(4));
    std::printf("discriminator step: L_Dd %.3g, L_Df %.3g; Adam exp_avg of dd %.3g, df %.3g\n",
                relative(sf.d_deocclusion, sd.d_deocclusion), relative(sf.d_frontal, sd.d_frontal),
                normwise(first_moments(f.optimizer_dd()), first_moments(d.optimizer_dd())),
                normwise(first_moments(f.optimizer_df()), first_moments(d.optimizer_df())));
    std::printf("second generator update's losses: L_adv %.3g, L_dtri %.3g, L_ip %.3g, L_pix %.3g, L_sym %.3g, "
                "L_tv %.3g, L_G %.3g\n",
                relative(sf.adversarial, sd.adversarial), relative(sf.dual_triplet, sd.dual_triplet),
                relative(sf.identity, sd.identity), relative(sf.pixel, sd.pixel), relative(sf.symmetry, sd.symmetry),
                relative(sf.total_variation, sd.total_variation), relative(sf.generator, sd.generator));
    std::printf("Adam exp_avg of gd %.3g, gf %.3g (not compared by the test); parameters after the step: largest "
                "absolute difference %.3g (lr %.3g)\n",
                normwise(first_moments(f.optimizer_gd()), first_moments(d.optimizer_gd())),
                normwise(first_moments(f.optimizer_gf()), first_moments(d.optimizer_gf())),
                largest_difference(parameters(f.networks()), parameters(d.networks())), config::Tiny::learning_rate);
  }
}
