// A module that gains a constructor (even a defaulted one) is no longer an aggregate, so its
// members cannot be walked; rather than a network with no parameters (an optimizer with nothing to
// train, an empty checkpoint), it does not compile, and the message names the type and the ways out.
// expect: neither an aggregate nor has a visit\(\) member
// expect: make it an aggregate
// expect: NetWithConstructor
#include <tsgan/nn.hpp>

struct NetWithConstructor {
#ifndef TSGAN_EXPECT_OK
  NetWithConstructor() = default;
#endif
  tsgan::nn::Linear<4, 2> fc;
};

int main() {
  NetWithConstructor net;
  return static_cast<int>(tsgan::nn::parameter_count(net));
}
