// text_classifier — sentence sentiment with Kim-CNN (or an LSTM / RNN) on the UCI review sentences.
//
//   build/examples/text_classifier --model kimcnn --epochs 20 --json out/text_kimcnn.json
//   build/examples/text_classifier --model lstm   --epochs 20 --json out/text_lstm.json
//
// Data (scripts/get-data.sh): 3,000 labelled sentences (imdb, amazon, yelp; 1,000 each, half
// positive), split 2,400 train / 600 held out by the project's fixed stratified rule
// (data/sentences.hpp). Vocabulary from the training sentences (tokens seen at least twice;
// the rest map to <unk>); sentences are cut or padded to --length tokens.
// Models (nn/models.hpp): Kim (2014) CNN-rand — random embeddings, kernel heights 3/4/5 with 100
// filters each, ReLU, max over time, dropout 0.5 — or an RNN/LSTM reading up to each sentence's
// length. Adam, batch 50. Prints a line per epoch, a summary, and with --json PATH the results
// plus PATH.csv / PATH.png learning curves.
#include <algorithm>
#include <cstdio>
#include <string>

#include <distillery/data/dataloader.hpp>
#include <distillery/data/sentences.hpp>
#include <distillery/data/tokenizer.hpp>
#include <distillery/distillery.hpp>
#include <distillery/io/atomic_file.hpp>
#include <distillery/io/cli.hpp>
#include <distillery/io/json.hpp>
#include <distillery/io/plot.hpp>
#include <distillery/nn/nn.hpp>
#include <distillery/optim/optim.hpp>

using namespace distillery;
using T = float;

namespace {

// Number of non-pad tokens of each row of ids [N, L] (at least 1, so empty sentences still run).
std::vector<int64_t> lengths_of(const Tensor<int64_t>& ids) {
  const int64_t N = ids.shape()[0], L = ids.shape()[1];
  std::vector<int64_t> v = ids.to_vector(), out(N, 1);
  for (int64_t i = 0; i < N; ++i) {
    int64_t n = 0;
    while (n < L && v[i * L + n] != Vocabulary::kPad) ++n;
    out[i] = std::max<int64_t>(n, 1);
  }
  return out;
}

// A classifier behind one interface: Kim-CNN ignores lengths, the recurrent one uses them.
struct Classifier {
  std::shared_ptr<nn::KimCNN<T>> cnn;
  std::shared_ptr<nn::RNNClassifier<T>> rnn;
  nn::Module<T>& module() { return cnn ? static_cast<nn::Module<T>&>(*cnn) : *rnn; }
  Tensor<T> operator()(const Tensor<int64_t>& ids) {
    return cnn ? cnn->forward(ids) : rnn->forward(ids, lengths_of(ids));
  }
};

double accuracy(Classifier& net, const Tensor<int64_t>& ids, const std::vector<int64_t>& labels) {
  NoGradGuard ng;
  net.module().eval();
  std::vector<int64_t> pred = argmax(net(ids), 1).to_vector();
  net.module().train();
  int64_t correct = 0;
  for (size_t i = 0; i < pred.size(); ++i) correct += pred[i] == labels[i];
  return double(correct) / double(pred.size());
}

std::string replace_extension(const std::string& path, const std::string& ext) {
  const size_t slash = path.find_last_of('/'), dot = path.find_last_of('.');
  if (dot != std::string::npos && (slash == std::string::npos || dot > slash))
    return path.substr(0, dot) + ext;
  return path + ext;
}

}  // namespace

int program(int argc, char** argv) {
  Args args(argc, argv, "text_classifier: Kim-CNN / LSTM / RNN sentiment on 3,000 review sentences");
  const std::string model = args.get<std::string>("model", "kimcnn", "kimcnn, lstm or rnn");
  const int epochs = args.get<int>("epochs", 20, "training epochs");
  const int64_t batch = args.get<int64_t>("batch", 50, "mini-batch size");
  const int64_t length = args.get<int64_t>("length", 48, "tokens per sentence (cut / padded)");
  const int64_t embed = args.get<int64_t>("embed", 128, "embedding size");
  const int64_t min_count = args.get<int64_t>("min-count", 2, "vocabulary: minimum token count");
  const double lr = args.get<double>("lr", 1e-3, "Adam learning rate");
  const uint64_t seed = args.get<uint64_t>("seed", 0, "seed of init and shuffling");
  const std::string dir = args.get<std::string>(
      "data", std::getenv("DISTILLERY_DATA") ? std::getenv("DISTILLERY_DATA") : "data", "data dir");
  const std::string json = args.get<std::string>("json", "", "write results (and .csv/.png) here");
  args.finish();
  check_output_path(json);  // before any work: a bad path fails now, not at the end
  check(model == "kimcnn" || model == "lstm" || model == "rnn", "text_classifier",
        "--model must be kimcnn, lstm or rnn, got '", model, "'");

  SentenceSplit split = split_sentences(load_review_sentences(dir + "/sentences"));
  Vocabulary vocab = Vocabulary::build_from_texts(split.train.texts, min_count);
  Tensor<int64_t> train_ids = vocab.encode_batch(split.train.texts, length);
  Tensor<int64_t> test_ids = vocab.encode_batch(split.heldout.texts, length);
  std::printf("text_classifier: %lld train / %lld held-out sentences, vocabulary %lld, length %lld\n",
              (long long)split.train.size(), (long long)split.heldout.size(),
              (long long)vocab.size(), (long long)length);

  Generator gen(seed);
  Classifier net;
  if (model == "kimcnn") {
    nn::KimCNNConfig c;
    c.vocab_size = vocab.size();
    c.embed_dim = embed;
    c.num_classes = 2;
    net.cnn = std::make_shared<nn::KimCNN<T>>(c, gen);
  } else {
    nn::RNNClassifierConfig c;
    c.vocab_size = vocab.size();
    c.embed_dim = embed;
    c.hidden_size = 128;
    c.num_classes = 2;
    c.cell = model == "lstm" ? nn::CellType::lstm : nn::CellType::rnn;
    net.rnn = std::make_shared<nn::RNNClassifier<T>>(c, gen);
  }
  optim::AdamOptions ao;
  ao.lr = lr;
  optim::Adam<T> opt(net.module().parameters(), ao);
  DataLoaderOptions lo;
  lo.batch_size = batch;
  lo.seed = seed;
  DataLoader<int64_t> loader(train_ids, split.train.label_tensor(), lo);
  std::printf("%s: %lld parameters; Adam lr %g, batch %lld\n", net.module().type_name().c_str(),
              (long long)net.module().num_parameters(), lr, (long long)batch);

  LinePlot curve;
  curve.title = model + " on review sentences";
  curve.xlabel = "epoch";
  curve.ylabel = "accuracy";
  LineSeries train_acc{"train_accuracy", {}, {}}, test_acc{"heldout_accuracy", {}, {}};
  std::vector<double> losses;
  double train_seconds = 0, test_accuracy = 0;
  for (int e = 0; e < epochs; ++e) {
    const auto t0 = std::chrono::steady_clock::now();
    double loss_sum = 0;
    int64_t correct = 0, seen = 0;
    for (const auto& b : loader.epoch(e)) {
      Tensor<T> logits = net(b.inputs);
      Tensor<T> loss = cross_entropy(logits, b.labels);
      opt.zero_grad();
      loss.backward();
      if (net.rnn) optim::clip_grad_norm_(net.module().parameters(), 5.0);
      opt.step();
      const int64_t n = b.labels.numel();
      loss_sum += double(loss.item()) * double(n);
      std::vector<int64_t> pred = argmax(logits.detach(), 1).to_vector(), y = b.labels.to_vector();
      for (int64_t i = 0; i < n; ++i) correct += pred[i] == y[i];
      seen += n;
    }
    const double dt = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    train_seconds += dt;
    test_accuracy = accuracy(net, test_ids, split.heldout.labels);
    curve.x.push_back(e + 1);
    train_acc.y.push_back(double(correct) / double(seen));
    test_acc.y.push_back(test_accuracy);
    losses.push_back(loss_sum / double(seen));
    std::printf("epoch %2d/%d  loss %.4f  train acc %.4f  held-out acc %.4f  %.1fs\n", e + 1,
                epochs, losses.back(), train_acc.y.back(), test_accuracy, dt);
    std::fflush(stdout);
  }
  curve.series = {train_acc, test_acc};
  std::printf("summary: %s, %d epochs, held-out accuracy %.4f (%lld sentences), train time %.1fs\n",
              model.c_str(), epochs, test_accuracy, (long long)split.heldout.size(), train_seconds);
  if (!json.empty()) {
    Json r = Json::object();
    r["dataset"] = "review_sentences";
    r["model"] = model;
    r["test_accuracy"] = test_accuracy;
    r["test_size"] = split.heldout.size();
    r["train_size"] = split.train.size();
    r["vocabulary"] = vocab.size();
    r["params"] = net.module().num_parameters();
    r["train_seconds"] = train_seconds;
    r["epochs"] = epochs;
    r["train_loss"] = losses;
    r["train_accuracy"] = train_acc.y;
    r["test_accuracy_curve"] = test_acc.y;
    write_json(json, r);
    LinePlot with_loss = curve;
    with_loss.series.push_back({"train_loss", losses, {}});
    write_csv(replace_extension(json, ".csv"), with_loss);
    plot_lines(replace_extension(json, ".png"), curve);
  }
  return 0;
}

int main(int argc, char** argv) { return run_main(argc, argv, "text_classifier", program); }
