// The old bool discriminator_step (now automatic | always | never) is refused with a message that
// says what it became. (One error per case: clang stops at a class's first failed static_assert.)
// expect: config discriminator_step is a config::DiscriminatorSteps
#include <tsgan/models/configs.hpp>

#ifdef TSGAN_EXPECT_OK
struct Config : tsgan::config::Tiny {
  static constexpr auto discriminator_step = tsgan::config::DiscriminatorSteps::never;
};
#else
struct Config : tsgan::config::Tiny {
  static constexpr bool discriminator_step = false;
};
#endif

int main() {
  static_assert(tsgan::config::CheckConfig<Config>::value);
}
