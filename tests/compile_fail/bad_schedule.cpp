// The configuration's [D] switches are checked with readable messages: a stage-wise schedule
// without its G_d-alone steps.
// expect: a stagewise schedule needs deocclusion_steps > 0
#include <tsgan/models/configs.hpp>

#ifdef TSGAN_EXPECT_OK
struct Config : tsgan::config::Tiny {
  static constexpr auto schedule = tsgan::config::Schedule::stagewise;
  static constexpr std::int64_t deocclusion_steps = 100, frontalization_steps = 100;
};
#else
struct Config : tsgan::config::Tiny {
  static constexpr auto schedule = tsgan::config::Schedule::stagewise;  // but no steps for stage 1
};
#endif

int main() {
  static_assert(tsgan::config::CheckConfig<Config>::value);
}
