// Uses tsgan from outside: an expression, a reduction, and the version the package reports.
#include <tsgan/tsgan.hpp>

#include <cstdio>

int main() {
  using namespace tsgan;
  Tensor<float, Shape<2, 3>> a(1.5f);
  Tensor<float, Shape<3>> b(0.5f);
  Tensor<float, Shape<2, 3>> c = a * 2.f + b;  // broadcasts b over the rows
  const float total = sum(c)[0];                // 6 elements of 3.5
  std::printf("tsgan %s: total %g\n", version_string, total);
  return total == 21.f ? 0 : 1;
}
