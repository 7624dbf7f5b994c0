// Test helper: a copy of a safetensors checkpoint with damaged weights, to check what the
// programs do with a diverging model.
//   poison_checkpoint IN OUT scale PREFIX   every F32 tensor whose name starts with PREFIX x 1e30:
//                                           finite weights whose next step overflows
//   poison_checkpoint IN OUT nan PREFIX     element 0 of the first F32 tensor (in name order)
//                                           whose name starts with PREFIX becomes NaN
#include <cmath>
#include <cstring>
#include <limits>
#include <string>
#include <vector>

#include <fmt/core.h>

#include "tsgan/io/safetensors.hpp"

int main(int argc, char** argv) {
  namespace st = tsgan::io::safetensors;
  if (argc != 5) {
    fmt::print(stderr, "usage: poison_checkpoint IN OUT scale|nan PREFIX\n");
    return 2;
  }
  const std::string mode = argv[3], which = argv[4];
  const st::Reader in(argv[1]);
  st::Writer out;
  for (const auto& [key, value] : in.metadata()) out.set_metadata(key, value);
  bool changed = false;
  for (const auto& name : in.names()) {
    const auto& info = in.info(name);
    const auto bytes = in.bytes(name);
    std::vector<std::byte> copy(bytes.begin(), bytes.end());
    if (info.dtype == st::Dtype::F32 && name.starts_with(which) && (mode == "scale" || !changed)) {
      std::vector<float> v(copy.size() / sizeof(float));
      std::memcpy(v.data(), copy.data(), copy.size());
      if (mode == "scale")
        for (float& x : v) x *= 1e30f;
      else if (!v.empty())
        v[0] = std::numeric_limits<float>::quiet_NaN();
      std::memcpy(copy.data(), v.data(), copy.size());
      changed = true;
    }
    out.add_bytes(name, info.dtype, info.shape, copy);
  }
  if (!changed) {
    fmt::print(stderr, "poison_checkpoint: no F32 tensor matches '{}'\n", which);
    return 1;
  }
  out.write(argv[2]);
  return 0;
}
