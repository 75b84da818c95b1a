// embedded_lenet — classify MNIST digits with a LeNet-5 checkpoint through nn::InferencePlan
// (nn/inference.hpp): one arena allocated at start-up, no heap allocation per image.
//
//   build/examples/lenet_mnist --epochs 3 --save out/lenet.safetensors
//   build/examples/embedded_lenet --checkpoint out/lenet.safetensors            # data/mnist
//   build/examples/embedded_lenet --checkpoint ... --images t10k-images-idx3-ubyte.gz
//                                 --labels t10k-labels-idx1-ubyte.gz              # IDX files
//
// Static, stripped build (x86-64 or aarch64, float only, no OpenMP): docs/embedded.md.
// Prints accuracy, the mean / median batch-1 latency per image and the plan's arena size.
#include <algorithm>
#include <charconv>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <vector>

#include <distillery/data/idx.hpp>
#include <distillery/data/mnist_json.hpp>
#include <distillery/io/cli.hpp>
#include <distillery/io/safetensors.hpp>
#include <distillery/nn/inference.hpp>

#ifdef DISTILLERY_IMPLEMENTATION  // the static single-unit build (docs/embedded.md)
#include <distillery/backend/cpu/implementation.hpp>
#endif

using namespace distillery;

namespace {
// std::from_chars rather than strtod: the JSON reader links it already (docs/embedded.md).
double metadata_number(const Metadata& md, const char* key, double fallback) {
  auto it = md.find(key);
  if (it == md.end()) return fallback;
  double v = 0;
  const std::string& s = it->second;
  const auto r = std::from_chars(s.data(), s.data() + s.size(), v);
  check(r.ec == std::errc() && r.ptr == s.data() + s.size(), "embedded_lenet", "metadata ", key,
        " is not a number: '", s, "'");
  return v;
}
}  // namespace

int program(int argc, char** argv) {
  Args args(argc, argv, "embedded_lenet: LeNet-5 inference through a no-allocation plan");
  const std::string ckpt = args.get<std::string>("checkpoint", "", "safetensors from lenet_mnist --save");
  const std::string dir = args.get<std::string>(
      "data", std::getenv("DISTILLERY_DATA") ? std::getenv("DISTILLERY_DATA") : "data", "data dir");
  const std::string images = args.get<std::string>("images", "", "IDX images (instead of data/mnist)");
  const std::string labels = args.get<std::string>("labels", "", "IDX labels (with --images)");
  const int64_t limit = args.get<int64_t>("limit", 0, "classify only the first N images");
  args.finish();
  check(!ckpt.empty(), "embedded_lenet", "--checkpoint is required");

  Metadata md;
  StateDict sd = load_safetensors(ckpt, &md);
  const double mean = metadata_number(md, "input_mean", 0.0);
  const double stdev = metadata_number(md, "input_std", 1.0);
  // Planned from the state dict itself: no nn::LeNet5, so none of the training path (ops,
  // autograd, the module classes) is compiled into a static build of this program.
  auto plan = nn::InferencePlan<float>::lenet5(sd, 1);

  LabelledImages data;
  std::string source;
  if (!images.empty()) {
    check(!labels.empty(), "embedded_lenet", "--images needs --labels");
    data = load_idx_pair(images, labels, 10);
    source = images;
  } else {
    data = load_mnist_json_split(dir + "/mnist").heldout;
    source = dir + "/mnist (held-out 2,000)";
  }
  int64_t n = data.size();
  if (limit > 0) n = std::min(n, limit);
  check(n > 0 && data.images.numel() / data.size() == plan.in_elems(), "embedded_lenet",
        "expected images [N, 1, 28, 28], got ", data.images.shape());
  const Tensor<float> img = data.images.contiguous();
  const Tensor<int64_t> lbl = data.labels.contiguous();
  const float* px = img.data_ptr();
  const int64_t* lab = lbl.data_ptr();
  const float shift = float(-mean), scale = float(1.0 / stdev);  // as lenet_mnist's normalize()

  std::vector<float> x(size_t(plan.in_elems())), logits(size_t(plan.out_elems()));
  std::vector<double> us(static_cast<size_t>(n));
  int64_t correct = 0;
  for (int64_t i = 0; i < n; ++i) {
    const auto t0 = std::chrono::steady_clock::now();
    const float* src = px + i * plan.in_elems();
    for (size_t j = 0; j < x.size(); ++j) x[j] = (src[j] + shift) * scale;
    plan.run(x.data(), 1, logits.data());
    const int64_t pred = std::max_element(logits.begin(), logits.end()) - logits.begin();
    us[size_t(i)] = std::chrono::duration<double, std::micro>(std::chrono::steady_clock::now() - t0).count();
    correct += pred == lab[i];
  }
  double total = 0;
  for (double u : us) total += u;
  std::sort(us.begin(), us.end());
  std::printf("embedded_lenet: %s, %lld images, accuracy %.4f, batch-1 latency mean %.1f us, "
              "median %.1f us, arena %zu bytes\n", source.c_str(), (long long)n,
              double(correct) / double(n), total / double(n), us[size_t(n / 2)],
              plan.arena_bytes());
  return 0;
}

int main(int argc, char** argv) { return run_main(argc, argv, "embedded_lenet", program); }
