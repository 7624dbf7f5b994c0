// common.hpp's model tasks for one configuration on the CPU: CMake compiles this file once per
// entry of TSGAN_EXAMPLE_CONFIGS, with TSGAN_EXAMPLE_CONFIG defined as its type (e.g.
// tsgan::config::Release), so that each configuration's model is compiled once for all programs.
#include "model_tasks.hpp"

namespace tsgan::examples {

using Config = TSGAN_EXAMPLE_CONFIG;

template int train_tsgan<Config, cpu>(std::uint64_t, const BatchSource<Config>&, const TrainArgs&, const std::string&,
                                      const char*, const fs::path&);
template std::unique_ptr<Restorer> make_restorer<Config>(const fs::path&);
template std::int64_t export_generators<Config>(const fs::path&, const fs::path&, io::safetensors::Dtype,
                                                std::map<std::string, std::string>);

}  // namespace tsgan::examples
