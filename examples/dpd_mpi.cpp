// dpd_mpi — examples/dpd with its runs split over MPI ranks: the same runs (every seed of every
// --dpd mode), the same results, in about 1/W of the time when there are W cores to spare.
//
//   mpirun -np 2 build/examples/dpd_mpi --algo ppo --env pendulum --dpd both --steps 400000
//       --seeds 4 --json out/dpd/ppo_pendulum.json                   (one command line)
//   mpirun -np 8 --hostfile hosts build/examples/dpd_mpi ...           (several machines)
//   (as root, Open MPI also needs --allow-run-as-root; more ranks than cores: --oversubscribe)
//
// The flags are those of dpd (see examples/dpd.cpp). Run j of the list (modes in the order
// single, indep, dpd; seeds --seed0, --seed0 + 1, ... within a mode) runs on rank j mod W, so with one
// mode rank r runs seeds r, r + W, ...; a DPD run keeps its two learners on one rank (they
// alternate rounds and exchange states, actions and values after every update: see the README
// on why that does not pay across processes). Every run depends only on its seed, so the
// returns, curves, JSON and CSV are the numbers of a one-process `dpd` run with the same flags
// (times and steps/s aside); rank 0 gathers the runs (a broadcast of each run's curves from its
// rank), prints the per-run lines and the summary and writes the files. Each rank prints its
// own progress lines, prefixed with [rank r]. --json also records, under "mpi", the ranks, the
// wall time of the whole job and the rank of every run.
#include <chrono>
#include <cstdio>
#include <string>
#include <vector>

#include <distillery/distributed/distributed.hpp>
#include "dpd_common.hpp"

using namespace dpd_example;
namespace dist = distillery::distributed;

namespace {

// Every rank gets the run that rank `owner` computed (a collective: all ranks call it).
RunResult share_run(dist::ProcessGroup& pg, const RunResult& mine, int owner) {
  std::vector<double> buf;
  if (pg.rank() == owner) buf = pack_run(mine);
  int64_t n = int64_t(buf.size());
  pg.broadcast(&n, 1, owner);
  buf.resize(size_t(n));
  pg.broadcast(buf.data(), n, owner);
  return unpack_run(buf);
}

int run_dpd(int argc, char** argv, bool setup_only) {
  const auto job_t0 = std::chrono::steady_clock::now();
  Args args(argc, argv, "dpd_mpi: dual policy distillation vs the single learner, runs split over "
                        "MPI ranks (mpirun -np W build/examples/dpd_mpi ...)");
  const DpdConfig c = parse_config(args);  // flags and the output path
  check(c.run_dir.empty(), "dpd_mpi", "--run-dir shares runs between dpd processes; dpd_mpi "
        "splits them over its ranks (use one or the other)");
  if (setup_only) return 0;                // checked before MPI starts (see main)
  dist::ProcessGroup pg;
  const int W = pg.size(), rank = pg.rank();
  const size_t S = size_t(c.seeds);
  const double raw = raw_env_rate(c);  // on every rank (a rank's core may differ)
  if (pg.is_main()) {
    std::printf("dpd_mpi: %s on %s, %lld total steps per run, %d seeds, variant %s, α %.3g; "
                "%d runs over %d ranks\n", c.algo.c_str(), c.env.c_str(),
                static_cast<long long>(c.steps), c.seeds, c.variant.c_str(), c.opts.alpha,
                int(c.modes.size() * S), W);
    std::fflush(stdout);
  }
  // run j (modes outer, seeds inner, as dpd runs them) on rank j mod W
  std::vector<RunResult> all(c.modes.size() * S);
  std::vector<double> owner(all.size());
  for (size_t j = 0; j < all.size(); ++j) {
    owner[j] = double(j % size_t(W));
    if (int(owner[j]) != rank) continue;
    const std::string& mode = c.modes[j / S];
    const int seed = c.seed0 + int(j % S);
    all[j] = run_one(c, mode, uint64_t(seed), "[rank " + std::to_string(rank) + "] " + mode +
                                                  " seed " + std::to_string(seed));
  }
  for (size_t j = 0; j < all.size(); ++j) all[j] = share_run(pg, all[j], int(owner[j]));
  const double wall = std::chrono::duration<double>(std::chrono::steady_clock::now() - job_t0).count();
  if (!pg.is_main()) return 0;  // rank 0 reports and writes (it holds every run now)
  std::vector<std::vector<RunResult>> runs(c.modes.size());
  double run_seconds = 0;
  for (size_t j = 0; j < all.size(); ++j) {
    const RunResult& r = all[j];
    std::printf("%s seed %d: mean over episodes %.2f  final %.2f  max %.2f  (%.0f episodes, %.0f s, "
                "%.0f steps/s, rank %d)\n", c.modes[j / S].c_str(), c.seed0 + int(j % S), r.mean_all,
                r.final_return, r.max_return, r.episodes, r.seconds, r.steps_per_s, int(owner[j]));
    run_seconds += r.seconds;
    runs[j / S].push_back(r);
  }
  report(c, runs, [&](Json& out) {
    Json mj = Json::object();
    mj["ranks"] = W;
    mj["wall_seconds"] = wall;
    mj["run_seconds_sum"] = run_seconds;
    mj["run_rank"] = owner;
    out["mpi"] = mj;
    out["raw_env_steps_per_second"] = raw;  // rank 0's
  });
  std::printf("dpd_mpi: %d runs on %d ranks in %.1f s wall (the runs took %.1f s together)\n",
              int(all.size()), W, wall, run_seconds);
  return 0;
}

}  // namespace

// Flags and output paths are checked before MPI starts, so a bad one is one line
// "dpd_mpi: error: ..." and exit status 1 (run_main, io/cli.hpp); an error during the
// distributed run is reported by dist::run with its rank and ends the whole job.
int main(int argc, char** argv) {
  return run_main(argc, argv, "dpd_mpi", [](int argc, char** argv) {
    run_dpd(argc, argv, /*setup_only=*/true);
    return dist::run(argc, argv, [&] { return run_dpd(argc, argv, false); });
  });
}
