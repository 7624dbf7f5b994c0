// The program docs/tutorial.md walks through: a small CNN that tells the 20 people of the CMU face
// images apart. It trains on the faces of data/cmu-faces-demo and data/cmu-faces-extra whose
// expression is not "angry", holds the angry ones out (six per person: three poses, with and
// without sunglasses) and reports the accuracy on them. A checkpoint after every epoch lets a run
// that stopped continue exactly where it was.
//
//   tutorial-cmu-classifier DATA_DIR CHECKPOINT [--epochs N] [--stop-after K] [--min-accuracy A]
//
// DATA_DIR holds the two face folders; CHECKPOINT is resumed from when it exists. --stop-after
// ends the run after epoch K, as an interruption would; --min-accuracy makes the exit status say
// whether the held-out accuracy reached A (the test in examples/CMakeLists.txt uses both).
#include <tsgan/data/faces.hpp>
#include <tsgan/io/image.hpp>
#include <tsgan/nn.hpp>

#include <algorithm>
#include <cstdio>
#include <filesystem>
#include <random>
#include <span>
#include <string>
#include <vector>

using namespace tsgan;

// [network]
constexpr index_t people = 20;
constexpr index_t batch = 20;
using Face = Shape<1, 60, 64>;  // one greyscale image: channels, height, width

// A module is a plain struct of layers: tsgan finds the parameters by walking its members (no
// registration), and names them "conv1.weight", ... as PyTorch would.
struct Classifier {
  nn::Conv2d<1, 8, 3, ConvOptions{.padding = 1}> conv1;
  nn::Conv2d<8, 16, 3, ConvOptions{.padding = 1}> conv2;
  nn::Conv2d<16, 32, 3, ConvOptions{.padding = 1}> conv3;
  nn::Linear<32 * 7 * 8, people> fc;
  static constexpr std::array field_names{"conv1", "conv2", "conv3", "fc"};

  // Logits [N, 20] of a batch [N, 1, 60, 64]. Every shape is checked at compile time.
  template <index_t N>
  Var<float, Shape<N, people>> operator()(const Var<float, Shape<N, 1, 60, 64>>& x) {
    constexpr PoolOptions halve{.kernel = 2};
    auto h1 = relu(max_pool2d<halve>(conv1(x)));   // [N, 8, 30, 32], an unevaluated expression
    auto h2 = relu(max_pool2d<halve>(conv2(h1)));  // a layer evaluates an expression it is given
    auto h3 = relu(max_pool2d<halve>(conv3(h2)));  // [N, 32, 7, 8]
    return fc(reshape<Shape<N, 32 * 7 * 8>>(eval(h3)));
  }
};
// [network]

// [data]
struct Example {
  Tensor<float, Face> pixels;  // values in [0, 1]
  index_t label;               // index into the sorted names of the 20 people
};
struct Split {
  std::vector<Example> train, held_out;
  std::vector<std::string> names;
};

Split load_faces(const std::filesystem::path& data_dir) {
  const std::vector<data::FaceIndex> folders{data::FaceIndex::read(data_dir / "cmu-faces-demo"),
                                             data::FaceIndex::read(data_dir / "cmu-faces-extra")};
  Split split;
  for (const auto& folder : folders)
    for (const auto& r : folder.records())
      if (std::ranges::find(split.names, r.identity) == split.names.end()) split.names.push_back(r.identity);
  std::ranges::sort(split.names);
  if (split.names.size() != people)
    fail("{}: expected the {} people of the CMU faces, found {}", data_dir.string(), people, split.names.size());
  for (const auto& folder : folders)
    for (const auto& r : folder.records()) {
      const auto label = static_cast<index_t>(std::ranges::find(split.names, r.identity) - split.names.begin());
      Example e{io::to_tensor<Face>(io::read_image(r.path)), label};
      (r.attributes.at(0) == "angry" ? split.held_out : split.train).push_back(std::move(e));
    }
  return split;
}

// Copies examples[order[first + i]] into row i of a batch; rows past the end stay zero.
template <class Order>
Tensor<float, Shape<batch, 1, 60, 64>> make_batch(const std::vector<Example>& examples, const Order& order,
                                                   std::size_t first) {
  Tensor<float, Shape<batch, 1, 60, 64>> x(0.f);
  for (std::size_t i = 0; i < batch && first + i < order.size(); ++i) {
    const auto& src = examples[order[first + i]].pixels;
    std::copy(src.data(), src.data() + Face::size, x.data() + i * Face::size);
  }
  return x;
}
// [data]

// [checkpoint]
// One safetensors file: the network's parameters under "model.", Adam's moments and step counts
// under "optim.", and the number of finished epochs as metadata. Written atomically (a crash
// leaves the previous checkpoint), so a run can be stopped at any time.
void save_checkpoint(const std::filesystem::path& path, Classifier& net, optim::Adam<float>& adam, int epochs_done) {
  io::safetensors::Writer w;
  nn::add_to_checkpoint(w, net, "model");
  adam.for_each_state([&](const std::string& name, std::int64_t& step, float* m, float* v, index_t n) {
    const std::vector<std::int64_t> shape{n};
    w.add_bytes("optim." + name + ".exp_avg", io::safetensors::Dtype::F32, shape, std::as_bytes(std::span(m, n)));
    w.add_bytes("optim." + name + ".exp_avg_sq", io::safetensors::Dtype::F32, shape, std::as_bytes(std::span(v, n)));
    w.add_bytes("optim." + name + ".step", io::safetensors::Dtype::I64, {}, std::as_bytes(std::span(&step, 1)));
  });
  w.set_metadata("epochs_done", std::to_string(epochs_done));
  w.write(path);
}

// Returns the number of epochs the checkpoint had finished.
int load_checkpoint(const std::filesystem::path& path, Classifier& net, optim::Adam<float>& adam) {
  const io::safetensors::Reader file(path);
  nn::ModuleLoader(io::safetensors::Unexpected::ignore).add(net, "model").apply(file);
  adam.for_each_state([&](const std::string& name, std::int64_t& step, float* m, float* v, index_t n) {
    const auto copy = [&](const std::string& key, void* dest, std::size_t bytes) {
      const auto stored = file.bytes(key);
      if (stored.size() != bytes) fail("{}: '{}' has {} bytes, expected {}", path.string(), key, stored.size(), bytes);
      std::memcpy(dest, stored.data(), bytes);
    };
    copy("optim." + name + ".exp_avg", m, sizeof(float) * std::size_t(n));
    copy("optim." + name + ".exp_avg_sq", v, sizeof(float) * std::size_t(n));
    copy("optim." + name + ".step", &step, sizeof step);
  });
  return std::stoi(file.metadata("epochs_done").value_or("0"));
}
// [checkpoint]

// [evaluate]
// The share of examples whose largest logit is their person's.
double accuracy(Classifier& net, const std::vector<Example>& examples) {
  const NoGrad no_grad;  // nothing is recorded: no tape, no gradients
  Graph g;
  std::vector<std::size_t> order(examples.size());
  for (std::size_t i = 0; i < order.size(); ++i) order[i] = i;
  std::size_t correct = 0;
  for (std::size_t first = 0; first < examples.size(); first += batch) {
    g.reset();
    const auto logits = net(g.input(make_batch(examples, order, first)));
    for (std::size_t i = 0; i < batch && first + i < examples.size(); ++i) {
      index_t best = 0;
      for (index_t c = 1; c < people; ++c)
        if (logits.value()(i, c) > logits.value()(i, best)) best = c;
      correct += best == examples[first + i].label;
    }
  }
  return double(correct) / double(examples.size());
}
// [evaluate]

int main(int argc, char** argv) try {
  if (argc < 3) {
    std::fprintf(stderr, "usage: %s DATA_DIR CHECKPOINT [--epochs N] [--stop-after K] [--min-accuracy A]\n", argv[0]);
    return 2;
  }
  const std::filesystem::path data_dir = argv[1], checkpoint = argv[2];
  int epochs = 20, stop_after = -1;
  double min_accuracy = 0;
  for (int i = 3; i + 1 < argc; i += 2) {
    const std::string flag = argv[i];
    if (flag == "--epochs") epochs = std::stoi(argv[i + 1]);
    else if (flag == "--stop-after") stop_after = std::stoi(argv[i + 1]);
    else if (flag == "--min-accuracy") min_accuracy = std::stod(argv[i + 1]);
    else fail("unknown option '{}'", flag);
  }

  // [setup]
  const Split faces = load_faces(data_dir);
  std::printf("%zu training images, %zu held out, %lld people\n", faces.train.size(), faces.held_out.size(),
              static_cast<long long>(people));

  Classifier net;
  random::Generator gen(2024);
  nn::reset_parameters(net, gen);  // PyTorch's default initialisation; parameters start at zero otherwise
  optim::Adam<float> adam(net, {.lr = 2e-3});
  int first_epoch = 0;
  if (std::filesystem::exists(checkpoint)) {
    first_epoch = load_checkpoint(checkpoint, net, adam);
    std::printf("resumed from %s after epoch %d\n", checkpoint.c_str(), first_epoch);
  }
  // [setup]

  // [train]
  Graph g;
  std::vector<std::size_t> order(faces.train.size());
  for (int epoch = first_epoch; epoch < epochs; ++epoch) {
    // The order depends on the epoch alone, so a resumed run sees the batches an uninterrupted one would.
    for (std::size_t i = 0; i < order.size(); ++i) order[i] = i;
    std::shuffle(order.begin(), order.end(), std::mt19937(static_cast<unsigned>(epoch)));
    double loss_sum = 0;
    int steps = 0;
    for (std::size_t first = 0; first + batch <= order.size(); first += batch) {
      Tensor<float, Shape<batch, people>> one_hot(0.f);
      for (std::size_t i = 0; i < batch; ++i) one_hot(i, faces.train[order[first + i]].label) = 1.f;

      g.reset();          // a new step: the previous step's Vars are gone
      adam.zero_grad();   // gradients add up over backward passes until cleared
      const auto logits = net(g.input(make_batch(faces.train, order, first)));
      // Cross-entropy: the mean over the batch of -log softmax(logits)[label].
      const auto loss = eval(-sum(g.input(one_hot) * log_softmax<1>(logits)) / float(batch));
      loss.backward();
      adam.step();
      loss_sum += loss.value()[0];
      ++steps;
    }
    save_checkpoint(checkpoint, net, adam, epoch + 1);
    std::printf("epoch %2d  loss %.4f\n", epoch + 1, loss_sum / steps);
    if (epoch + 1 == stop_after) {
      std::printf("stopped after epoch %d; run again to resume\n", stop_after);
      return 0;
    }
  }
  // [train]

  const double acc = accuracy(net, faces.held_out);
  std::printf("held-out accuracy %.4f (%zu images)\n", acc, faces.held_out.size());
  return acc >= min_accuracy ? 0 : 1;
} catch (const std::exception& e) {
  std::fprintf(stderr, "error: %s\n", e.what());
  return 1;
}
