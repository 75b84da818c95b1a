// Data-parallel training on MPI (include/distillery/distributed/), run as `mpirun -np 2`:
// collectives, the distributed sampler, LeNet-5 trained on 2 ranks with global batch B against
// one process with batch B (float within 1e-6; double bit-identical with the fixed reduction
// order), buckets started during backward() (overlap) = started after it, bit for bit, weighted
// gradient averaging, and dataset distillation's split outer step and
// multi-init evaluation. Every rank computes the single-process reference itself.
//
// This file has its own main(): MPI_Init/Finalize (distributed::run) around doctest. With
// --distillery-test-fail=kill|throw|hang it instead runs a short data-parallel loop in which
// rank 1 dies (SIGKILL), throws or hangs at step 3; tests/distributed/extra.cmake checks that the
// job then ends quickly with an error message from every surviving rank.
#define DOCTEST_CONFIG_IMPLEMENT
#include <doctest/doctest.h>

#include <signal.h>

#include <chrono>
#include <cstring>
#include <thread>
#include <distillery/distributed/distributed.hpp>
#include <distillery/methods/dataset_distill_distributed.hpp>
#include <distillery/nn/nn.hpp>
#include <distillery/optim/optim.hpp>

using namespace distillery;
using namespace distillery::distributed;

namespace {

constexpr double kTimeout = 60;  // a collective waiting longer aborts the job (no CI hang)

// N random "images" [N, 1, 28, 28] and labels in [0, 10), the same on every rank.
template <class T>
std::pair<Tensor<T>, Tensor<int64_t>> synthetic(int64_t n, uint64_t seed) {
  Generator g(seed);
  Tensor<T> x = Tensor<T>::randn(Shape{n, 1, 28, 28}, g);
  std::vector<int64_t> y(static_cast<size_t>(n));
  for (auto& v : y) v = g.randint(10);
  return {x, Tensor<int64_t>::from_vector(y, Shape{n})};
}

template <class T>
std::vector<T> flat_params(const nn::Module<T>& m) {
  std::vector<T> out;
  for (auto& p : m.parameters()) {
    auto v = p.detach().to_vector();
    out.insert(out.end(), v.begin(), v.end());
  }
  return out;
}

template <class T>
double max_abs_diff(const std::vector<T>& a, const std::vector<T>& b) {
  REQUIRE(a.size() == b.size());
  double m = 0;
  for (size_t i = 0; i < a.size(); ++i) m = std::max(m, std::fabs(double(a[i]) - double(b[i])));
  return m;
}

template <class T>
bool bit_identical(const std::vector<T>& a, const std::vector<T>& b) {
  return a.size() == b.size() && std::memcmp(a.data(), b.data(), a.size() * sizeof(T)) == 0;
}

constexpr int64_t kN = 128, kB = 32, kSteps = 4;

template <class T>
optim::SGD<T> make_sgd(nn::Module<T>& net) {
  optim::SGDOptions o;
  o.lr = 0.05;
  o.momentum = 0.9;
  return optim::SGD<T>({optim::ParamGroup<T>{net.parameters(), {}, {}}}, o);
}

// One process, global batch kB, kSteps SGD steps.
template <class T>
std::vector<T> train_single(const Tensor<T>& x, const Tensor<int64_t>& y) {
  Generator gen(7);
  nn::LeNet5<T> net(10, gen);
  auto opt = make_sgd(net);
  DataLoaderOptions lo;
  lo.batch_size = kB;
  lo.seed = 3;
  DataLoader<T> loader(x, y, lo);
  int64_t step = 0;
  for (const auto& b : loader.epoch(0)) {
    if (step++ == kSteps) break;
    opt.zero_grad();
    cross_entropy(net(b.inputs), b.labels).backward();
    opt.step();
  }
  return flat_params(net);
}

// One process, but each global batch as W local batches whose gradients are accumulated in
// rank order and divided by W: the arithmetic of ReduceOrder::fixed.
template <class T>
std::vector<T> train_single_fixed_order(const Tensor<T>& x, const Tensor<int64_t>& y, int W) {
  Generator gen(7);
  nn::LeNet5<T> net(10, gen);
  auto opt = make_sgd(net);
  DataLoaderOptions lo;
  lo.batch_size = kB / W;
  lo.seed = 3;
  std::vector<DistributedDataLoader<T>> shards;
  std::vector<std::vector<int64_t>> idx;
  for (int r = 0; r < W; ++r) {
    shards.emplace_back(x, y, lo, r, W);
    idx.push_back(shards.back().sampler().indices(0));
  }
  for (int64_t s = 0; s < kSteps; ++s) {
    opt.zero_grad();
    for (int r = 0; r < W; ++r) {
      auto b = shards[r].batch(idx[r], s);
      cross_entropy(net(b.inputs), b.labels).backward();
    }
    NoGradGuard ng;
    for (auto& p : net.parameters()) p.set_grad(div(p.grad(), Tensor<T>::full(Shape{}, T(W))));
    opt.step();
  }
  return flat_params(net);
}

// Data-parallel: this rank's shard, local batch kB / W.
template <class T>
std::vector<T> train_ddp(ProcessGroup& pg, const Tensor<T>& x, const Tensor<int64_t>& y,
                         DDPOptions o, bool* in_sync = nullptr, DDPStats* stats = nullptr) {
  Generator gen(7 + 1000 * uint64_t(pg.rank()));  // different on purpose: broadcast must fix it
  nn::LeNet5<T> net(10, gen);
  DistributedDataParallel<T> ddp(net, pg, o);
  auto opt = make_sgd(net);
  DataLoaderOptions lo;
  lo.batch_size = kB / pg.size();
  lo.seed = 3;
  DistributedDataLoader<T> loader(x, y, lo, pg.rank(), pg.size());
  int64_t step = 0;
  for (const auto& b : loader.epoch(0)) {
    if (step++ == kSteps) break;
    opt.zero_grad();
    cross_entropy(net(b.inputs), b.labels).backward();
    ddp.sync_gradients();
    opt.step();
  }
  if (in_sync) *in_sync = ddp.parameters_in_sync();
  if (stats) *stats = ddp.stats();
  return flat_params(net);
}

}  // namespace

TEST_CASE("process group: all-reduce, broadcast, all_gather, barrier") {
  ProcessGroup pg(MPI_COMM_WORLD, kTimeout);
  const int W = pg.size(), r = pg.rank();
  CHECK(W >= 1);
  CHECK(pg.is_main() == (r == 0));
  const double tri = W * (W + 1) / 2.0;

  Tensor<float> t = Tensor<float>::from_vector({float(r + 1), 2.0f * float(r + 1)}, Shape{2});
  Tensor<float> s = pg.all_reduce(t, Reduce::sum);
  CHECK(s.to_vector() == std::vector<float>{float(tri), float(2 * tri)});
  CHECK(t.to_vector()[0] == float(r + 1));  // out of place leaves t alone
  pg.all_reduce_(t, Reduce::mean);
  CHECK(t.to_vector()[0] == doctest::Approx(tri / W));
  CHECK(pg.all_reduce(Tensor<double>::full(Shape{3}, double(r)), Reduce::max).to_vector() ==
        std::vector<double>(3, double(W - 1)));
  CHECK(pg.all_reduce(Tensor<double>::full(Shape{1}, double(r)), Reduce::min).item() == 0.0);

  // a non-contiguous view is reduced through a host copy and written back in place
  Tensor<double> m = Tensor<double>::from_vector({1, 2, 3, 4, 5, 6}, Shape{2, 3});
  Tensor<double> mt = transpose(m, 0, 1);
  REQUIRE_FALSE(mt.is_contiguous());
  pg.all_reduce_(mt, Reduce::sum);
  CHECK(m.to_vector() == std::vector<double>{1.0 * W, 2.0 * W, 3.0 * W, 4.0 * W, 5.0 * W, 6.0 * W});

  // broadcast from the last rank
  Tensor<int64_t> b = Tensor<int64_t>::full(Shape{2, 2}, int64_t(r));
  pg.broadcast_(b, W - 1);
  CHECK(b.to_vector() == std::vector<int64_t>(4, int64_t(W - 1)));
  // shapes that differ between ranks: every rank throws, nobody waits
  if (W > 1) {
    Tensor<float> odd = Tensor<float>::zeros(Shape{r == 0 ? 3 : 4});
    CHECK_THROWS_WITH_AS(pg.broadcast_(odd, 0), doctest::Contains("shapes differ between ranks"),
                         Error);
  }

  auto ranks = pg.all_gather(int64_t(r * 10));
  REQUIRE(ranks.size() == size_t(W));
  for (int k = 0; k < W; ++k) CHECK(ranks[k] == 10 * k);
  CHECK(pg.broadcast_string(r == 0 ? "from rank 0" : "", 0) == "from rank 0");
  pg.barrier();

  // fixed order: bit-identical to summing every rank's values in rank order in one process
  const int64_t n = 1000;
  auto values_of = [&](int rank) {
    Generator g(100 + rank);
    std::vector<float> v(n);
    for (auto& x : v) x = float(g.normal() * std::pow(10.0, g.randint(7) - 3));
    return v;
  };
  std::vector<float> mine = values_of(r), fixed = mine, fast = mine, ref = values_of(0);
  for (int k = 1; k < W; ++k) {
    auto v = values_of(k);
    for (int64_t i = 0; i < n; ++i) ref[i] += v[i];
  }
  pg.all_reduce(fixed.data(), n, Reduce::sum, ReduceOrder::fixed);
  pg.all_reduce(fast.data(), n, Reduce::sum, ReduceOrder::fast);
  CHECK(bit_identical(fixed, ref));
  CHECK(max_abs_diff(fast, ref) <= 1e-3 * (1 + max_abs_diff(ref, std::vector<float>(n, 0.f))));

  // run_on_main: rank 0's exception reaches every rank
  CHECK_THROWS_WITH_AS(pg.run_on_main([] { fail("writer", "disk full"); }),
                       doctest::Contains("rank 0 failed: writer: disk full"), Error);
  int ran = 0;
  pg.run_on_main([&] { ran = 1; });
  CHECK(ran == (r == 0 ? 1 : 0));
  CHECK(pg.stats().calls > 0);
}

TEST_CASE("distributed sampler: shards partition DataLoader's order, epoch-aware, equal sizes") {
  auto [x, y] = synthetic<float>(40, 1);
  DataLoaderOptions lo;
  lo.batch_size = 8;
  lo.seed = 5;
  DataLoader<float> single(x, y, lo);
  for (int W : {1, 2, 4}) {
    std::vector<DistributedSampler> s;
    for (int r = 0; r < W; ++r) s.emplace_back(40, r, W, 5);
    for (int64_t e : {0, 1}) {
      CHECK(s[0].global_order(e) == single.order(e));
      // local batch k of every rank (batch 8 / W) = global batch k of size 8
      std::vector<std::vector<int64_t>> shard;
      for (int r = 0; r < W; ++r) shard.push_back(s[r].indices(e));
      const int64_t b = 8 / W;
      for (int64_t k = 0; k < 40 / 8; ++k) {
        const std::vector<int64_t> order = single.order(e);
        std::vector<int64_t> joined, expect(order.begin() + k * 8, order.begin() + (k + 1) * 8);
        for (int r = 0; r < W; ++r)
          joined.insert(joined.end(), shard[r].begin() + k * b, shard[r].begin() + (k + 1) * b);
        std::sort(joined.begin(), joined.end());
        std::sort(expect.begin(), expect.end());
        CHECK(joined == expect);
      }
    }
    CHECK(s[0].indices(0) != s[0].indices(1));  // reshuffled every epoch
  }
  // 10 examples over 3 ranks: padded by wrapping to 4 each; every example is visited
  std::vector<int64_t> seen;
  for (int r = 0; r < 3; ++r) {
    DistributedSampler s(10, r, 3, 2);
    CHECK(s.shard_size() == 4);
    auto v = s.indices(0);
    seen.insert(seen.end(), v.begin(), v.end());
  }
  std::sort(seen.begin(), seen.end());
  seen.erase(std::unique(seen.begin(), seen.end()), seen.end());
  CHECK(seen.size() == 10);
  CHECK(DistributedSampler(10, 2, 3, 2, true, /*drop_tail=*/true).shard_size() == 3);
  CHECK_THROWS_WITH_AS(DistributedSampler(10, 3, 3), doctest::Contains("rank 3 not in [0, 3)"),
                       Error);
  // the loader: same batch count on every rank, local batches of the shard
  DistributedDataLoader<float> dl(x, y, lo, 1, 3);
  CHECK(dl.num_batches() == 2);  // 14 examples per shard, batch 8
  auto ep = dl.epoch(0);
  auto first = *ep.begin();
  CHECK(first.inputs.shape() == Shape{8, 1, 28, 28});
  CHECK(first.indices == std::vector<int64_t>(ep.order().begin(), ep.order().begin() + 8));
}

TEST_CASE("DDP: LeNet-5 on 2 ranks with global batch B = one process with batch B") {
  ProcessGroup pg(MPI_COMM_WORLD, kTimeout);
  const int W = pg.size();
  REQUIRE_MESSAGE(kB % W == 0, "the global batch must split evenly over the ranks");

  SUBCASE("float, MPI_Allreduce order: within 1e-6") {
    auto [x, y] = synthetic<float>(kN, 11);
    std::vector<float> ref = train_single(x, y);
    DDPOptions o;
    bool in_sync = false;
    DDPStats st;
    std::vector<float> got = train_ddp(pg, x, y, o, &in_sync, &st);
    CHECK(in_sync);
    const double d = max_abs_diff(got, ref);
    MESSAGE("float: max |DDP - single| = ", d, " over ", got.size(), " parameters");
    CHECK(d <= 1e-6);
    CHECK(max_abs_diff(ref, train_single(x, y)) == 0.0);  // the reference itself is repeatable
    CHECK(st.syncs == kSteps);
    CHECK(st.payload_bytes == int64_t(got.size() * sizeof(float)));  // 61,706 floats per step
    CHECK(st.buckets == 1);
    // many small buckets (pipelined all-reduces) give the same bits as one
    DDPOptions small;
    small.bucket_bytes = 4 << 10;
    DDPStats st2;
    std::vector<float> got2 = train_ddp(pg, x, y, small, nullptr, &st2);
    CHECK(st2.buckets >= 6);
    CHECK(bit_identical(got, got2));
    // buckets started during backward() (hooks) = all of them in sync_gradients(): same bits
    CHECK(st.overlapped == kSteps);                 // the one bucket: started by the last hook
    CHECK(st2.overlapped == st2.buckets * kSteps);  // every bucket started inside backward()
    DDPOptions late = small;
    late.overlap = false;
    DDPStats st3;
    std::vector<float> got3 = train_ddp(pg, x, y, late, nullptr, &st3);
    CHECK(st3.overlapped == 0);
    CHECK(bit_identical(got2, got3));
  }
  SUBCASE("double, fixed reduction order: bit-identical") {
    auto [x, y] = synthetic<double>(kN, 12);
    DDPOptions o;
    o.order = ReduceOrder::fixed;
    o.bucket_bytes = 64 << 10;
    bool in_sync = false;
    DDPStats st;
    std::vector<double> got = train_ddp(pg, x, y, o, &in_sync, &st);
    CHECK(in_sync);
    CHECK(st.buckets >= 4);
    CHECK(st.overlapped == st.buckets * kSteps);
    CHECK(bit_identical(got, train_single_fixed_order(x, y, W)));
    o.overlap = false;
    CHECK(bit_identical(got, train_ddp(pg, x, y, o)));
    // and against the plain batch-B process: equal up to summation order
    const double d = max_abs_diff(got, train_single(x, y));
    MESSAGE("double: max |DDP - single batch B| = ", d);
    CHECK(d <= 1e-12);
  }
}

TEST_CASE("DDP: unequal local batches are weighted by their sample counts") {
  ProcessGroup pg(MPI_COMM_WORLD, kTimeout);
  const int W = pg.size(), r = pg.rank();
  auto [x, y] = synthetic<double>(64, 13);
  // rank k holds rows [off_k, off_k + k + 2)
  auto off = [](int k) { return int64_t(k) * (k + 3) / 2; };
  const int64_t total = off(W);
  Generator gen(1);
  nn::LeNet5<double> net(10, gen);
  DistributedDataParallel<double> ddp(net, pg);
  cross_entropy(net(narrow(x, 0, off(r), r + 2)), narrow(y, 0, off(r), r + 2)).backward();
  ddp.sync_gradients(r + 2);
  // reference: the mean loss over all `total` rows in one process
  auto ref = nn::clone(net);
  ref->zero_grad();
  cross_entropy((*ref)(narrow(x, 0, 0, total)), narrow(y, 0, 0, total)).backward();
  auto p = net.parameters(), q = ref->parameters();
  double d = 0;
  for (size_t i = 0; i < p.size(); ++i)
    d = std::max(d, max_abs_diff(p[i].grad().to_vector(), q[i].grad().to_vector()));
  CHECK(d <= 1e-12);
  CHECK_THROWS_WITH_AS(ddp.sync_gradients(-1), doctest::Contains("local_count must be >= 0"),
                       Error);
  // above, the buckets started unweighted in backward() were re-done weighted in the sync;
  // announced with set_local_count they start weighted in backward(): the same bits
  std::vector<std::vector<double>> redone;
  for (auto& t : p) redone.push_back(t.grad().to_vector());
  net.zero_grad();
  const int64_t overlapped = ddp.stats().overlapped;
  ddp.set_local_count(r + 2);
  cross_entropy(net(narrow(x, 0, off(r), r + 2)), narrow(y, 0, off(r), r + 2)).backward();
  ddp.sync_gradients(r + 2);
  CHECK(ddp.stats().overlapped == overlapped + ddp.num_buckets());
  for (size_t i = 0; i < p.size(); ++i) CHECK(p[i].grad().to_vector() == redone[i]);
  // a second backward() before sync_gradients() is refused (overlap needs one per step)
  net.zero_grad();
  cross_entropy(net(narrow(x, 0, off(r), r + 2)), narrow(y, 0, off(r), r + 2)).backward();
  CHECK_THROWS_WITH_AS(
      cross_entropy(net(narrow(x, 0, off(r), r + 2)), narrow(y, 0, off(r), r + 2)).backward(),
      doctest::Contains("received a second gradient before sync_gradients()"), Error);
  ddp.sync_gradients();  // finishes the started step on every rank
  CHECK(ddp.parameters_in_sync());
}

namespace {
// A tiny tanh MLP 16 -> 8 -> 3 on a flat parameter vector (fast hypergradients).
FunctionalModel<double> tiny_mlp() {
  FunctionalModel<double> m;
  m.forward = [](const Tensor<double>& w, const Tensor<double>& x, bool) {
    Tensor<double> W1 = reshape(narrow(w, 0, 0, 128), Shape{8, 16}), b1 = narrow(w, 0, 128, 8);
    Tensor<double> W2 = reshape(narrow(w, 0, 136, 24), Shape{3, 8}), b2 = narrow(w, 0, 160, 3);
    return linear(tanh(linear(flatten(x, 1), W1, b1)), W2, b2);
  };
  m.init = [](Generator& g) { return Tensor<double>::randn(Shape{163}, g, 0.0, 0.4); };
  return m;
}
}  // namespace

TEST_CASE("dataset distillation: split outer step and multi-init evaluation") {
  ProcessGroup pg(MPI_COMM_WORLD, kTimeout);
  const int W = pg.size();
  FunctionalModel<double> model = tiny_mlp();
  Generator dg(21);
  Tensor<double> x = Tensor<double>::randn(Shape{48, 1, 4, 4}, dg);
  std::vector<int64_t> yv(48);
  for (size_t i = 0; i < yv.size(); ++i) yv[i] = int64_t(i % 3);
  Tensor<int64_t> y = Tensor<int64_t>::from_vector(yv, Shape{48});

  for (bool random_init : {true, false}) {
    CAPTURE(random_init);
    DDConfig c;
    c.num_classes = 3;
    c.images = 3;
    c.steps = 2;
    c.epochs = 2;
    c.distill_lr = 0.3;
    c.soft_labels = true;
    c.random_init = random_init;
    c.n_nets = 2 * W;  // split over ranks when random; fixed init splits the real batch
    Generator g1(5), g2(5);
    DatasetDistiller<double> single(model, Shape{1, 4, 4}, c, g1);
    DatasetDistiller<double> dist(model, Shape{1, 4, 4}, c, g2);
    for (int it = 0; it < 3; ++it) {
      double l1 = single.step(x, y, g1);
      double l2 = distributed_step(pg, dist, x, y, g2);
      CHECK(l2 == doctest::Approx(l1).epsilon(1e-12));
    }
    CHECK(max_abs_diff(dist.images().to_vector(), single.images().to_vector()) <= 1e-12);
    CHECK(max_abs_diff(dist.raw_labels().to_vector(), single.raw_labels().to_vector()) <= 1e-12);
    CHECK(max_abs_diff(dist.raw_lrs().to_vector(), single.raw_lrs().to_vector()) <= 1e-12);
    CHECK(g1.next_u64() == g2.next_u64());  // the generators stayed in step
  }

  // evaluation over 5 random inits: the same accuracies as evaluating them one by one
  DDConfig c;
  c.num_classes = 3;
  c.images = 3;
  Generator g(9);
  DatasetDistiller<double> dd(model, Shape{1, 4, 4}, c, g);
  for (int it = 0; it < 5; ++it) dd.step(x, y, g);
  std::vector<double> acc = evaluate_random_inits(pg, dd, model, x, y, 5, 77);
  REQUIRE(acc.size() == 5);
  for (int64_t i = 0; i < 5; ++i) {
    Generator gi(init_seed(77, i));
    CHECK(acc[i] == accuracy(model, dd.train(model.init(gi)), x, y));
  }
}

namespace {
// --distillery-test-fail=kill|throw: rank 1 fails at step 3 of a data-parallel loop; the other
// ranks are then blocked in the gradient all-reduce until the launcher stops them.
//   hang: rank 1 sleeps instead; rank 0's collective timeout (3 s) must abort the job.
int failure_scenario(const std::string& how) {
  ProcessGroup pg;  // kill/throw: no timeout, the launcher must end the job
  if (how == "hang") pg.set_timeout(3);
  auto [x, y] = synthetic<float>(64, 3);
  Generator gen(1);
  nn::LeNet5<float> net(10, gen);
  DistributedDataParallel<float> ddp(net, pg);
  DataLoaderOptions lo;
  lo.batch_size = 4;
  DistributedDataLoader<float> loader(x, y, lo, pg.rank(), pg.size());
  int64_t step = 0;
  for (const auto& b : loader.epoch(0)) {
    if (pg.rank() == 1 && step == 3) {
      std::fprintf(stderr, "rank 1: injected failure (%s) at step 3\n", how.c_str());
      std::fflush(stderr);
      if (how == "kill") ::raise(SIGKILL);
      if (how == "hang") std::this_thread::sleep_for(std::chrono::seconds(100));
      fail("failure_scenario", "injected failure on rank 1 at step 3");
    }
    net.zero_grad();
    cross_entropy(net(b.inputs), b.labels).backward();
    ddp.sync_gradients();
    ++step;
  }
  std::printf("rank %d: finished all %lld steps (the failure did not happen?)\n", pg.rank(),
              (long long)step);
  return 0;
}
}  // namespace

int main(int argc, char** argv) {
  std::string fail_mode;
  for (int i = 1; i < argc; ++i)
    if (std::strncmp(argv[i], "--distillery-test-fail=", 23) == 0) fail_mode = argv[i] + 23;
  return run(argc, argv, [&] {
    if (!fail_mode.empty()) return failure_scenario(fail_mode);
    doctest::Context ctx(argc, argv);
    ProcessGroup pg;
    if (!pg.is_main()) ctx.setOption("no-intro", true);
    const int rc = ctx.run();
    // every rank reports its own verdict; the job fails if any rank failed
    const int worst = pg.all_reduce_value(rc, Reduce::max);
    return worst;
  });
}
