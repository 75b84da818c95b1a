// tests/methods/test_bert_distill.cpp — the mini-BERT pipeline on generated token data: masking,
// macro-F1, MLM pre-training learns, every distillation method trains, the teacher cache equals
// an on-the-fly teacher, exact resumption from an epoch checkpoint, optimizer state round trip.
#include <distillery/distillery.hpp>
#include <distillery/methods/bert_distill.hpp>

#include <doctest/doctest.h>

#include <algorithm>
#include <cstdio>

#include "../nn/tiny_bert.hpp"

using namespace distillery;
using test_support::tiny_bert;
using namespace distillery::methods;

namespace {

// Sequences over ids 5..V−1; label 1 when token 5 occurs more often than token 6.
TokenSet make_set(int64_t n, int64_t V, uint64_t seed, bool labels = true) {
  Generator g(seed);
  TokenSet s;
  for (int64_t i = 0; i < n; ++i) {
    const int64_t len = 3 + g.randint(6);
    std::vector<int64_t> ids{kClsId};
    int64_t a = 0, b = 0;
    for (int64_t t = 0; t < len; ++t) {
      int64_t v = kNumSpecial + g.randint(V - kNumSpecial);
      a += v == 5;
      b += v == 6;
      ids.push_back(v);
    }
    ids.push_back(kSepId);
    s.ids.push_back(ids);
    if (labels) s.labels.push_back(a > b ? 1 : 0);
  }
  return s;
}

std::vector<float> flat_params(const nn::Module<float>& m) {
  std::vector<float> v;
  for (const auto& kv : m.named_parameters()) {
    auto x = kv.second.contiguous().to_vector();
    v.insert(v.end(), x.begin(), x.end());
  }
  return v;
}

}  // namespace

TEST_CASE("mask_tokens: only real tokens, 80/10/10, positions and targets agree") {
  TokenSet s = make_set(200, 12, 3, false);
  std::vector<int64_t> idx(200);
  for (int64_t i = 0; i < 200; ++i) idx[i] = i;
  Tensor<int64_t> ids = pad_batch(s, idx);
  Generator g(7);
  MlmBatch b = mask_tokens(ids, 12, g);
  const int64_t M = b.positions.numel();
  int64_t real = 0;
  for (int64_t i = 0; i < ids.numel(); ++i) real += ids.data_ptr()[i] >= kNumSpecial;
  CHECK(double(M) / double(real) == doctest::Approx(0.15).epsilon(0.25));
  int64_t masked = 0;
  for (int64_t k = 0; k < M; ++k) {
    const int64_t p = b.positions.data_ptr()[k];
    CHECK(ids.data_ptr()[p] >= kNumSpecial);
    CHECK(b.targets.data_ptr()[k] == ids.data_ptr()[p]);
    masked += b.input.data_ptr()[p] == kMaskId;
  }
  CHECK(double(masked) / double(M) == doctest::Approx(0.8).epsilon(0.15));
  for (int64_t i = 0; i < ids.numel(); ++i)
    if (ids.data_ptr()[i] < kNumSpecial) CHECK(b.input.data_ptr()[i] == ids.data_ptr()[i]);
  CHECK_THROWS_WITH_AS(mask_tokens(ids, 3, g), doctest::Contains("mask_tokens"), Error);
}

TEST_CASE("score: accuracy and macro-F1 by hand") {
  // gold 0 0 1 1 2, pred 0 1 1 1 0: class 0 P=1/2 R=1/2 F1=.5; class 1 P=2/3 R=1 F1=.8; class 2 F1=0
  EvalResult r = score({0, 1, 1, 1, 0}, {0, 0, 1, 1, 2}, 3);
  CHECK(r.accuracy == doctest::Approx(0.6));
  CHECK(r.macro_f1 == doctest::Approx((0.5 + 0.8 + 0.0) / 3));
}

TEST_CASE("pretrain_mlm lowers the masked-LM loss on a repetitive corpus") {
  // The corpus repeats 5 6 7 8 9 10 11 cyclically from a random offset: the masked token is
  // predictable from its neighbours, so the loss must fall well below the unigram entropy
  // log 7 = 1.95 (what a model that ignores the context reaches).
  TokenSet s;
  Generator g(1);
  for (int i = 0; i < 256; ++i) {
    std::vector<int64_t> ids{kClsId};
    int64_t off = g.randint(7);
    for (int t = 0; t < 8; ++t) ids.push_back(5 + (off + t) % 7);
    ids.push_back(kSepId);
    s.ids.push_back(ids);
  }
  Generator gen(2);
  const nn::BertConfig c = tiny_bert(32, 2, 2, 0, 12, 0.0);
  nn::Bert<float> m(c, gen);
  // BERT init: LayerNorm weights 1 (every norm, incl. norm1/norm2 of the layers), biases 0.
  for (const auto& kv : m.named_parameters())
    if (kv.second.dim() == 1 && kv.first.find("norm") != std::string::npos) {
      CAPTURE(kv.first);
      const float want = kv.first.substr(kv.first.size() - 6) == "weight" ? 1.f : 0.f;
      for (float v : kv.second.to_vector()) CHECK(v == want);
    }
  TrainOptions o;
  o.epochs = 30;
  o.batch_size = 32;
  o.lr = 3e-3;
  o.verbose = false;
  TrainHistory h = pretrain_mlm(m, s, o);
  REQUIRE(h.epochs.size() == 30);
  INFO("first " << h.epochs.front().loss << " last " << h.epochs.back().loss);
  CHECK(h.epochs.front().loss > 1.5);
  CHECK(h.epochs.back().loss < 1.2);
}

TEST_CASE("every method trains a student from a cached teacher; cache equals the teacher") {
  const int64_t V = 12;
  TokenSet train = make_set(96, V, 11), dev = make_set(32, V, 12);
  Generator gt(5), gs(6);
  nn::Bert<float> teacher(tiny_bert(24, 4, 4, 2), gt);
  {
    TrainOptions o;
    o.epochs = 2;
    o.lr = 2e-3;
    o.verbose = false;
    train_task(teacher, train, dev, o, Method::finetune, DistillConfig{}, static_cast<TeacherCache<float>*>(nullptr));
  }
  auto al = losses::layer_alignment(5, 3, losses::AlignmentStrategy::emb_skip);
  CHECK(al.first == std::vector<int64_t>{0, 2, 4});
  auto cache = TeacherCache<float>::build(teacher, train, al.first, true, true, 7);
  // The cache (teacher run in batches of 7, padded differently) equals a fresh teacher pass on
  // the real tokens.
  {
    NoGradGuard ng;
    teacher.eval();
    std::vector<int64_t> idx{3, 10, 50};
    Tensor<int64_t> ids = pad_batch(train, idx);
    nn::EncoderOptions<float> eo;
    eo.output_hidden_states = true;
    eo.output_attentions = true;
    auto out = teacher.encode(ids, eo);
    Tensor<float> lg = teacher.classify(out.last_hidden_state);
    Tensor<float> cl = cache.batch_logits(idx);
    for (int64_t k = 0; k < lg.numel(); ++k) CHECK(cl.data_ptr()[k] == doctest::Approx(lg.contiguous().data_ptr()[k]).epsilon(1e-4));
    Tensor<float> ch = cache.batch_hidden(train, idx, ids.size(1));  // [3, 3, T, 24]
    Tensor<float> h2 = out.hidden_states[2].contiguous();             // [3, T, 24]
    const int64_t Tn = ids.size(1);
    for (size_t b = 0; b < idx.size(); ++b)
      for (int64_t t = 0; t < int64_t(train.ids[idx[b]].size()); ++t)
        for (int64_t d = 0; d < 24; ++d)
          CHECK(ch.data_ptr()[((b * 3 + 1) * Tn + t) * 24 + d] ==
                doctest::Approx(h2.data_ptr()[(b * Tn + t) * 24 + d]).epsilon(1e-4));
    teacher.train();
  }
  for (Method m : {Method::finetune, Method::kd, Method::pkd, Method::tinybert, Method::ckd, Method::ckd_kd}) {
    CAPTURE(method_name(m));
    Generator g(9);
    nn::Bert<float> student(tiny_bert(16, 2, 2, 2), g);
    TrainOptions o;
    o.epochs = 2;
    o.batch_size = 16;
    o.lr = 2e-3;
    o.verbose = false;
    o.keep_best_dev = true;
    DistillConfig dc;
    dc.ckd_window = 3;
    TrainHistory h = train_task(student, train, dev, o, m, dc, &cache, 4);
    REQUIRE(h.epochs.size() == 2);
    CHECK(std::isfinite(h.epochs.back().loss));
    CHECK(h.epochs.back().dev_accuracy >= 0.0);
    // Best-dev selection: the first epoch with the highest dev accuracy, and the model holds its weights.
    const int64_t want = h.epochs[1].dev_accuracy > h.epochs[0].dev_accuracy ? 1 : 0;
    CHECK(h.best_epoch == want);
    CHECK(h.best_dev_accuracy == h.epochs[size_t(want)].dev_accuracy);
    CHECK(evaluate(student, dev).accuracy == h.epochs[size_t(want)].dev_accuracy);
  }
  // Missing cache is an error naming the method.
  Generator g(9);
  nn::Bert<float> student(tiny_bert(16, 2, 2, 2), g);
  TrainOptions o;
  o.verbose = false;
  CHECK_THROWS_WITH_AS(train_task(student, train, dev, o, Method::kd, DistillConfig{}, static_cast<TeacherCache<float>*>(nullptr)),
                       doctest::Contains("kd needs a teacher cache"), Error);
}

TEST_CASE("ckd_kd uses the reference objective (ckd_logit_loss + λ·ckd_loss); Hinton's form is the option") {
  const int64_t V = 12;
  TokenSet train = make_set(12, V, 21);
  Generator gt(5), gs(6);
  nn::Bert<float> teacher(tiny_bert(24, 4, 4, 2), gt);
  auto al = losses::layer_alignment(5, 3, losses::AlignmentStrategy::emb_skip);
  auto cache = TeacherCache<float>::build(teacher, train, al.first, true, false, 5);
  nn::Bert<float> student(tiny_bert(24, 2, 2, 2), gs);
  student.eval();  // no dropout: the loss is a function of the batch
  const std::vector<int64_t> idx{0, 3, 7, 9};  // lengths differ: padded batch
  auto ident = [](const Tensor<float>& h) { return h; };
  DistillConfig dc;
  dc.ckd_window = 3;
  dc.ckd_lambda = 0.5;
  dc.temperature = 2.0;
  CHECK(dc.ckd_kd_form == KdForm::reference);
  CHECK(dc.kd_form == KdForm::hinton);
  NoGradGuard ng;
  // By hand, from the same pieces.
  Tensor<int64_t> ids = pad_batch(train, idx);
  nn::EncoderOptions<float> eo;
  eo.key_padding_mask = nn::Bert<float>::padding_mask(ids);
  eo.output_hidden_states = true;
  auto out = student.encode(ids, eo);
  Tensor<float> z = student.classify(out.last_hidden_state), v = cache.batch_logits(idx);
  std::vector<Tensor<float>> sh;
  for (int64_t l : al.second) sh.push_back(out.hidden_states.at(l));
  Tensor<float> valid = sub(Tensor<float>::ones(eo.key_padding_mask.shape()), eo.key_padding_mask);
  const float rel = losses::ckd_loss(stack(sh, 1), cache.batch_hidden(train, idx, ids.size(1)), valid, dc.ckd_weights,
                                     losses::WordTriple::window, dc.ckd_window).item();
  const float ref = losses::ckd_logit_loss(z, v, dc.temperature).item();
  std::vector<int64_t> yl;
  for (int64_t i : idx) yl.push_back(train.labels[i]);
  const float hin = losses::kd_with_cross_entropy(z, v, Tensor<int64_t>::from_vector(yl), dc.alpha, dc.temperature,
                                                  Reduction::batchmean, losses::TemperatureScale::t_squared).item();
  CHECK(rel > 0.0f);
  const float got = distill_loss(student, train, idx, Method::ckd_kd, dc, &cache, al.second, ident).item();
  CHECK(got == doctest::Approx(ref + 0.5f * rel).epsilon(1e-5));
  CHECK(std::abs(ref - hin) > 1e-3f * std::abs(hin));  // the two forms differ on this batch
  dc.ckd_kd_form = KdForm::hinton;
  CHECK(distill_loss(student, train, idx, Method::ckd_kd, dc, &cache, al.second, ident).item() ==
        doctest::Approx(hin + 0.5f * rel).epsilon(1e-5));
  // kd follows kd_form: Hinton's by default, the reference's on request.
  CHECK(distill_loss(student, train, idx, Method::kd, dc, &cache, {}, ident).item() == doctest::Approx(hin).epsilon(1e-5));
  dc.kd_form = KdForm::reference;
  CHECK(distill_loss(student, train, idx, Method::kd, dc, &cache, {}, ident).item() == doctest::Approx(ref).epsilon(1e-5));
  CHECK(parse_kd_form("reference") == KdForm::reference);
  CHECK_THROWS_WITH_AS(parse_kd_form("tinykd"), doctest::Contains("parse_kd_form"), Error);
}

TEST_CASE("keep_best_dev ends with the best dev epoch's weights, also across a resume") {
  // Dev labels flipped: the better the student learns the task, the lower its dev accuracy, so
  // the best dev epoch is an early one and not the last.
  const int64_t V = 12;
  TokenSet train = make_set(192, V, 31), dev = make_set(48, V, 32);
  auto has5 = [](const std::vector<int64_t>& ids) { return int64_t(std::count(ids.begin(), ids.end(), 5) > 0); };
  for (size_t i = 0; i < train.ids.size(); ++i) train.labels[i] = has5(train.ids[i]);  // an easy task
  for (size_t i = 0; i < dev.ids.size(); ++i) dev.labels[i] = 1 - has5(dev.ids[i]);    // flipped
  TrainOptions o;
  o.epochs = 4;
  o.batch_size = 16;
  o.lr = 1e-2;
  o.warmup_frac = 0;
  o.verbose = false;
  uint64_t init = 9;
  auto run = [&](bool keep, const std::string& ckpt, int64_t stop_after) {
    Generator g(init);
    auto m = std::make_unique<nn::Bert<float>>(tiny_bert(16, 2, 2, 2), g);
    TrainOptions oo = o;
    oo.keep_best_dev = keep;
    oo.checkpoint = ckpt;
    if (stop_after > 0) {  // an interrupted run, then its resume
      oo.max_steps = stop_after;
      train_task(*m, train, dev, oo, Method::finetune, DistillConfig{}, static_cast<TeacherCache<float>*>(nullptr));
      Generator g2(77);
      m = std::make_unique<nn::Bert<float>>(tiny_bert(16, 2, 2, 2), g2);  // a fresh process
      oo.max_steps = 0;
      oo.resume = true;
    }
    TrainHistory h =
        train_task(*m, train, dev, oo, Method::finetune, DistillConfig{}, static_cast<TeacherCache<float>*>(nullptr));
    return std::make_pair(h, evaluate(*m, dev).accuracy);
  };
  // the first initialisation whose best dev epoch is not the last (the case needs one to have teeth)
  for (; init < 16; ++init) {
    auto h = run(false, "", 0).first;
    double mx = -1;
    for (const auto& e : h.epochs) mx = std::max(mx, e.dev_accuracy);
    if (mx > h.epochs.back().dev_accuracy) break;
  }
  REQUIRE(init < 16);
  MESSAGE("initialisation seed ", init);
  auto [last, last_acc] = run(false, "", 0);
  REQUIRE(last.epochs.size() == 4);
  CHECK(last.best_epoch == -1);
  CHECK(last_acc == last.epochs.back().dev_accuracy);
  auto [best, best_acc] = run(true, "", 0);
  int64_t want = 0;
  for (int64_t e = 1; e < 4; ++e)
    if (best.epochs[size_t(e)].dev_accuracy > best.epochs[size_t(want)].dev_accuracy) want = e;
  REQUIRE(best.epochs[size_t(want)].dev_accuracy > best.epochs.back().dev_accuracy);  // the case has teeth
  CHECK(best.best_epoch == want);
  CHECK(best.best_dev_accuracy == best.epochs[size_t(want)].dev_accuracy);
  CHECK(best_acc == best.epochs[size_t(want)].dev_accuracy);
  // Interrupted after the best epoch (in-memory copy lost), then resumed: the weights come back
  // from <checkpoint>.best.safetensors.
  const std::string ckpt = "test_bert_distill_best.ckpt.safetensors";
  auto [res, res_acc] = run(true, ckpt, (want + 1) * 12 + 2);  // 192 / 16 = 12 steps per epoch
  CHECK(res.best_epoch == want);
  CHECK(res_acc == best_acc);
  std::remove(ckpt.c_str());
  std::remove((ckpt + ".best.safetensors").c_str());
}

TEST_CASE("a run resumed from its epoch checkpoint ends with the same bits as an uninterrupted one") {
  const int64_t V = 12;
  TokenSet train = make_set(64, V, 21), dev = make_set(16, V, 22);
  const std::string path = "bert_resume_test.safetensors";
  std::remove(path.c_str());
  auto run = [&](int64_t steps, bool resume, const std::string& ckpt, int64_t every = 0) {
    Generator g(4);
    nn::Bert<float> m(tiny_bert(16, 2, 2, 2), g);
    TrainOptions o;
    o.epochs = 3;
    o.batch_size = 16;
    o.lr = 2e-3;
    o.verbose = false;
    o.checkpoint = ckpt;
    o.resume = resume;
    o.max_steps = steps;  // 4 steps per epoch
    o.checkpoint_every = every;
    train_task(m, train, dev, o, Method::finetune, DistillConfig{}, static_cast<TeacherCache<float>*>(nullptr));
    return flat_params(m);
  };
  std::vector<float> straight = run(12, false, "");
  run(4, false, path);                               // stops after epoch 0, checkpoint written
  std::vector<float> resumed = run(12, true, path);  // epochs 1 and 2 from the checkpoint
  REQUIRE(straight.size() == resumed.size());
  CHECK(std::equal(straight.begin(), straight.end(), resumed.begin()));
  std::remove(path.c_str());
  // Inside an epoch: checkpoints every 3 steps, stopped at step 6 (batch 2 of epoch 1).
  run(6, false, path, 3);
  Metadata md;
  load_safetensors(path, &md);
  CHECK(md["epoch"] == "1");
  CHECK(md["batch"] == "2");
  std::vector<float> resumed_mid = run(12, true, path, 3);
  CHECK(std::equal(straight.begin(), straight.end(), resumed_mid.begin()));
  std::remove(path.c_str());
}

TEST_CASE("Optimizer::state_dict round trip continues identically") {
  Generator g(1);
  Tensor<float> w = Tensor<float>::randn({3, 4}, g).requires_grad_();
  auto step = [](optim::Optimizer<float>& opt, Tensor<float>& p) {
    opt.zero_grad();
    sum(square(p)).backward();
    opt.step();
  };
  optim::AdamW<float> a(std::vector<Tensor<float>>{w});
  step(a, w);
  step(a, w);
  auto sd = a.state_dict();
  CHECK(sd.count("steps") == 1);
  CHECK(sd.count("0.0.0") == 1);
  Tensor<float> w2 = w.detach().clone().requires_grad_();
  optim::AdamW<float> b(std::vector<Tensor<float>>{w2});
  b.load_state_dict(sd);
  step(a, w);
  step(b, w2);
  auto x = w.to_vector(), y = w2.to_vector();
  CHECK(std::equal(x.begin(), x.end(), y.begin()));
  sd["9.0.step"] = Tensor<float>::scalar(1);
  CHECK_THROWS_WITH_AS(b.load_state_dict(sd), doctest::Contains("does not name a parameter"), Error);
}

TEST_CASE("epoch_batches: every example once per epoch; bucketing cuts padding; seeded") {
  TokenSet s = make_set(1000, 12, 31, false);
  std::vector<int64_t> len = lengths_of(s);
  auto plain = epoch_batches(s.size(), 10, 3, 0), bucketed = epoch_batches(s.size(), 10, 3, 0, &len);
  auto padded = [&](const std::vector<std::vector<int64_t>>& bs) {
    int64_t total = 0;
    std::vector<int64_t> seen(s.size(), 0);
    for (const auto& b : bs) {
      int64_t mx = 0;
      for (int64_t i : b) { mx = std::max(mx, len[i]); ++seen[i]; }
      total += mx * int64_t(b.size());
    }
    for (int64_t c : seen) CHECK(c == 1);
    return total;
  };
  const int64_t p0 = padded(plain), p1 = padded(bucketed), real = s.tokens();
  INFO("padded tokens plain " << p0 << " bucketed " << p1 << " real " << real);
  CHECK(p1 < p0);
  CHECK(p1 <= real + real / 20);
  CHECK(epoch_batches(s.size(), 10, 3, 0, &len) == bucketed);
  CHECK(epoch_batches(s.size(), 10, 3, 1, &len) != bucketed);
}

// ---- DynaBERT (methods/dynabert.hpp) ----------------------------------------------------------
#include <distillery/methods/dynabert.hpp>

namespace {
std::vector<float> logits_of(nn::Bert<float>& m, const TokenSet& s, double w = 1, double d = 1) {
  return predict_logits(m, s, 16, w, d).to_vector();
}
}  // namespace

TEST_CASE("DynaBERT rewiring keeps the full network's function and sorts heads and neurons") {
  TokenSet dev = make_set(48, 12, 41);
  Generator g(3);
  nn::Bert<float> m(tiny_bert(24, 2, 4, 2), g);
  const auto before = logits_of(m, dev);
  Importance imp = importance(m, dev);
  REQUIRE(imp.heads.size() == 2);
  REQUIRE(imp.heads[0].size() == 4);
  REQUIRE(imp.neurons[1].size() == 48);
  rewire(m, imp);
  const auto after = logits_of(m, dev);
  for (size_t i = 0; i < before.size(); ++i) CHECK(after[i] == doctest::Approx(before[i]).epsilon(1e-4));
  // importance is a property of each head/neuron: after rewiring it comes out in descending order
  Importance again = importance(m, dev);
  for (int l = 0; l < 2; ++l) {
    CHECK(std::is_sorted(again.heads[l].rbegin(), again.heads[l].rend()));
    std::vector<double> sorted = imp.heads[l];
    std::sort(sorted.rbegin(), sorted.rend());
    for (int k = 0; k < 4; ++k) CHECK(again.heads[l][k] == doctest::Approx(sorted[k]).epsilon(1e-3));
    CHECK(std::is_sorted(again.neurons[l].rbegin(), again.neurons[l].rend(),
                         [](double a, double b) { return a < b * (1 - 1e-6); }));
  }
}

TEST_CASE("export_subnetwork equals the sliced network, counts its parameters, round-trips") {
  TokenSet dev = make_set(20, 12, 43);
  Generator g(5);
  nn::Bert<float> m(tiny_bert(24, 4, 4, 3), g);
  for (auto [w, d] : {std::pair{0.5, 0.5}, std::pair{0.75, 0.75}, std::pair{0.25, 1.0}, std::pair{1.0, 1.0}}) {
    CAPTURE(w);
    CAPTURE(d);
    auto sub = export_subnetwork(m, w, d);
    CHECK(sub->num_parameters() == subnetwork_parameters(m, w, d));
    CHECK(sub->config().layers == int64_t(m.encoder().kept_layers(d).size()));
    const auto a = logits_of(m, dev, w, d), b = logits_of(*sub, dev);
    for (size_t i = 0; i < a.size(); ++i) CHECK(b[i] == doctest::Approx(a[i]).epsilon(1e-4));
  }
  auto sub = export_subnetwork(m, 0.5, 0.5);
  nn::save_checkpoint("dynabert_sub_test.safetensors", *sub);
  nn::BertConfig c = sub->config();
  Generator g2(9);
  nn::Bert<float> back(c, g2);
  nn::load_checkpoint("dynabert_sub_test.safetensors", back);
  const auto x = logits_of(*sub, dev), y = logits_of(back, dev);
  CHECK(std::equal(x.begin(), x.end(), y.begin()));
  std::remove("dynabert_sub_test.safetensors");
}

TEST_CASE("train_dynabert stage 1 and 2, with the hidden MSE and with CKD, lowers its loss") {
  TokenSet train = make_set(96, 12, 51), dev = make_set(32, 12, 52);
  Generator g(7);
  nn::Bert<float> teacher(tiny_bert(24, 4, 4, 2), g);
  TrainOptions o;
  o.epochs = 2;
  o.lr = 2e-3;
  o.verbose = false;
  train_task(teacher, train, dev, o, Method::finetune, DistillConfig{}, static_cast<TeacherCache<float>*>(nullptr));
  for (bool ckd : {false, true}) {
    CAPTURE(ckd);
    auto student = std::dynamic_pointer_cast<nn::Bert<float>>(teacher.clone());
    REQUIRE(student);
    rewire(*student, importance(*student, dev));
    DynaOptions dy;
    dy.ckd = ckd;
    dy.ckd_window = 3;
    TrainOptions so = o;
    so.epochs = 3;
    TrainHistory h1 = train_dynabert(*student, teacher, train, dev, so, dy);
    CHECK(h1.epochs.back().loss < h1.epochs.front().loss);
    auto stage1 = std::dynamic_pointer_cast<nn::Bert<float>>(student->clone());
    dy.depths = {1.0, 0.75, 0.5};
    TrainHistory h2 = train_dynabert(*student, *stage1, train, dev, so, dy);
    CHECK(std::isfinite(h2.epochs.back().loss));
    CHECK(h2.epochs.back().loss < h2.epochs.front().loss);
  }
}

TEST_CASE("train_dynabert: CKD is added to the hidden MSE by default, replaces it on request") {
  TokenSet train = make_set(24, 12, 61), dev = make_set(8, 12, 62);
  Generator g(8);
  nn::Bert<float> teacher(tiny_bert(24, 4, 4, 2), g);
  TrainOptions o;
  o.epochs = 1;
  o.batch_size = 8;
  o.lr = 0;  // weights unchanged: the epoch's mean loss is a fixed function of the options
  o.verbose = false;
  auto mean_loss = [&](bool ckd, bool replaces, double hidden_weight) {
    auto student = std::dynamic_pointer_cast<nn::Bert<float>>(teacher.clone());
    DynaOptions dy;
    dy.ckd = ckd;
    dy.ckd_replaces = replaces;
    dy.hidden_weight = hidden_weight;
    dy.ckd_lambda = 0.5;
    dy.ckd_window = 3;
    return train_dynabert(*student, teacher, train, dev, o, dy).epochs.back().loss;
  };
  const double ce = mean_loss(false, false, 0.0), mse = mean_loss(false, false, 1.0);
  const double added = mean_loss(true, false, 1.0), replaced = mean_loss(true, true, 1.0);
  CHECK(mse > ce);
  CHECK(replaced > ce);
  CHECK(added == doctest::Approx(mse + (replaced - ce)).epsilon(1e-5));  // CE + MSE + λ·CKD
  CHECK(std::abs(added - replaced) > 1e-6);
}
