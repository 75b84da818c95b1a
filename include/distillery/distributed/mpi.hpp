// distributed/mpi.hpp — the MPI environment of a data-parallel run: init/finalize, error checks,
// datatypes, and failure handling so that one failing rank ends the whole job, with a message on
// every rank, instead of leaving the others blocked in a collective forever.
//
//   int main(int argc, char** argv) {
//     return distributed::run(argc, argv, [&] {     // MPI_Init ... MPI_Finalize
//       distributed::ProcessGroup pg;               // rank(), size(), all_reduce, broadcast
//       ...
//       return 0;
//     });
//   }
//   launched as:  mpirun -np 4 ./my_program --flags      (several machines: --hostfile hosts)
//
// Failure model (Open MPI, MPICH and every launcher we know behave this way):
//   * an exception escaping run() on one rank prints "distillery [rank r/W on host]: error: ..."
//     and calls MPI_Abort, which makes the launcher kill every other rank;
//   * a rank that dies (crash, SIGKILL, exit without MPI_Finalize) is noticed by the launcher,
//     which kills the others with SIGTERM;
//   * every rank installs a SIGTERM/SIGINT/SIGHUP handler that prints which rank was stopped and
//     in which collective it was waiting ("... terminated by SIGTERM while in all_reduce ..."),
//     then dies of the same signal, so mpirun exits non-zero and nobody hangs;
//   * a rank that hangs without dying (a dead network link) is caught by the optional collective
//     timeout of ProcessGroup (DISTILLERY_MPI_TIMEOUT seconds): the waiting rank aborts the job.
// MPI errors are returned, not fatal (MPI_ERRORS_RETURN), and thrown as distillery::Error
// naming the call and MPI's error string.
//
// This header (and everything under distributed/) needs <mpi.h>: link distillery::mpi
// (configure with -DDISTILLERY_MPI=ON). distillery.hpp never includes it.
#pragma once
// C API only: never pull in the deprecated MPI C++ bindings (Open MPI, MPICH).
#ifndef OMPI_SKIP_MPICXX
#define OMPI_SKIP_MPICXX 1
#endif
#ifndef MPICH_SKIP_MPICXX
#define MPICH_SKIP_MPICXX 1
#endif
#include <mpi.h>
#include <signal.h>
#include <unistd.h>

#include <atomic>
#include <cstdint>
#include <cstdio>
#include <exception>
#include <string>
#include <type_traits>

#include "../core/error.hpp"

namespace distillery::distributed {

// ---- errors -------------------------------------------------------------------------------
// Throws Error("op: MPI_Xxx failed: <MPI's error string>") when rc is not MPI_SUCCESS.
inline void check_mpi(int rc, const char* op, const char* call) {
  if (rc == MPI_SUCCESS) return;
  char msg[MPI_MAX_ERROR_STRING] = {0};
  int len = 0;
  MPI_Error_string(rc, msg, &len);
  fail(op, call, " failed: ", std::string(msg, static_cast<size_t>(len)));
}

// ---- datatypes ----------------------------------------------------------------------------
template <class T>
MPI_Datatype mpi_type() {
  if constexpr (std::is_same_v<T, float>) return MPI_FLOAT;
  else if constexpr (std::is_same_v<T, double>) return MPI_DOUBLE;
  else if constexpr (std::is_same_v<T, int64_t>) return MPI_INT64_T;
  else if constexpr (std::is_same_v<T, uint64_t>) return MPI_UINT64_T;
  else if constexpr (std::is_same_v<T, int32_t>) return MPI_INT32_T;
  else if constexpr (std::is_same_v<T, char>) return MPI_CHAR;
  else if constexpr (std::is_same_v<T, unsigned char>) return MPI_UNSIGNED_CHAR;
  else static_assert(sizeof(T) == 0, "mpi_type: unsupported scalar type");
}

// ---- state the signal handler reads (async-signal-safe: plain globals, no allocation) -------
namespace detail {
struct SignalState {
  int rank = -1, size = 0;
  char host[64] = {0};
  // the collective this rank is in now ("" when none); set by ProcessGroup
  std::atomic<const char*> op{""};
};
inline SignalState& signal_state() {
  static SignalState s;
  return s;
}

inline void write_str(const char* s) {
  size_t n = 0;
  while (s[n]) ++n;
  ssize_t w = ::write(STDERR_FILENO, s, n);
  (void)w;
}
inline void write_int(long v) {
  char buf[24];
  int i = 23;
  buf[i] = 0;
  bool neg = v < 0;
  unsigned long u = neg ? 0ul - static_cast<unsigned long>(v) : static_cast<unsigned long>(v);
  do { buf[--i] = char('0' + u % 10); u /= 10; } while (u && i > 1);
  if (neg) buf[--i] = '-';
  write_str(buf + i);
}

extern "C" inline void on_fatal_signal(int sig) {
  SignalState& s = signal_state();
  const char* name = sig == SIGTERM ? "SIGTERM" : sig == SIGINT ? "SIGINT" : sig == SIGHUP ? "SIGHUP"
                                                                                            : "a signal";
  const char* op = s.op.load();
  write_str("distillery [rank ");
  write_int(s.rank);
  write_str("/");
  write_int(s.size);
  write_str(" on ");
  write_str(s.host);
  write_str("]: terminated by ");
  write_str(name);
  if (op && *op) {
    write_str(" while in ");
    write_str(op);
  }
  write_str(": the job was stopped, most likely because another rank failed "
            "(see the launcher's message for which one)\n");
  ::signal(sig, SIG_DFL);  // die of the same signal: mpirun reports it, the exit code is != 0
  ::raise(sig);
}

inline void install_signal_handlers() {
  for (int sig : {SIGTERM, SIGINT, SIGHUP}) {
    struct sigaction sa {};
    sa.sa_handler = on_fatal_signal;
    sigemptyset(&sa.sa_mask);
    sa.sa_flags = 0;
    ::sigaction(sig, &sa, nullptr);
  }
}

inline std::string seconds_str(double s) {
  char buf[32];
  std::snprintf(buf, sizeof(buf), "%g s", s);
  return buf;
}

// RAII: marks the collective this rank is waiting in, for the signal handler's message.
struct InCollective {
  const char* prev;
  explicit InCollective(const char* op) : prev(signal_state().op.exchange(op)) {}
  ~InCollective() { signal_state().op.store(prev); }
};
}  // namespace detail

// "distillery [rank r/W on host]" (before MPI_Init: "distillery [rank ?]").
inline std::string rank_tag() {
  const auto& s = detail::signal_state();
  if (s.rank < 0) return "distillery [rank ?]";
  return "distillery [rank " + std::to_string(s.rank) + "/" + std::to_string(s.size) + " on " +
         s.host + "]";
}

// Prints "<rank tag>: error: what" to stderr and aborts every rank of MPI_COMM_WORLD. Never
// returns. Use it for errors after which the other ranks could wait forever.
[[noreturn]] inline void abort_job(const std::string& what, int code = 1) {
  std::fprintf(stderr, "%s: error: %s; aborting all ranks\n", rank_tag().c_str(), what.c_str());
  std::fflush(stderr);
  std::fflush(stdout);
  int inited = 0, finalized = 0;
  MPI_Initialized(&inited);
  MPI_Finalized(&finalized);
  if (inited && !finalized) MPI_Abort(MPI_COMM_WORLD, code);
  std::_Exit(code);
}

// MPI_Init_thread (funneled: only the main thread calls MPI; OpenMP kernels are fine) on
// construction, MPI_Finalize on destruction — or MPI_Abort when an exception is unwinding, so
// that the other ranks do not wait in MPI_Finalize or a collective for a rank that has failed.
// Installs the signal handlers described at the top. Nesting is allowed: only the outermost
// Environment initialises and finalises.
class Environment {
 public:
  Environment(int& argc, char**& argv) {
    int inited = 0;
    check_mpi(MPI_Initialized(&inited), "distributed::Environment", "MPI_Initialized");
    if (!inited) {
      int provided = 0;
      check_mpi(MPI_Init_thread(&argc, &argv, MPI_THREAD_FUNNELED, &provided),
                "distributed::Environment", "MPI_Init_thread");
      owner_ = true;
    }
    MPI_Comm_set_errhandler(MPI_COMM_WORLD, MPI_ERRORS_RETURN);
    auto& s = detail::signal_state();
    MPI_Comm_rank(MPI_COMM_WORLD, &s.rank);
    MPI_Comm_size(MPI_COMM_WORLD, &s.size);
    char host[MPI_MAX_PROCESSOR_NAME] = {0};
    int len = 0;
    MPI_Get_processor_name(host, &len);
    for (size_t i = 0; i + 1 < sizeof(s.host) && host[i]; ++i) s.host[i] = host[i];
    detail::install_signal_handlers();
    uncaught_ = std::uncaught_exceptions();
  }
  Environment(const Environment&) = delete;
  Environment& operator=(const Environment&) = delete;
  ~Environment() {
    if (!owner_) return;
    if (std::uncaught_exceptions() > uncaught_)
      abort_job("an exception escaped while the MPI environment was alive");
    int finalized = 0;
    MPI_Finalized(&finalized);
    if (!finalized) MPI_Finalize();
  }
  int rank() const { return detail::signal_state().rank; }
  int size() const { return detail::signal_state().size; }

 private:
  bool owner_ = false;
  int uncaught_ = 0;
};

// Runs body() (returning int, the exit code) inside an Environment. An exception from body on
// any rank, or a non-zero return, is printed with the rank and aborts the whole job (mpirun
// exits non-zero).
template <class F>
int run(int& argc, char**& argv, F&& body) {
  Environment env(argc, argv);
  int rc = 0;
  try {
    rc = body();
  } catch (const std::exception& e) {
    abort_job(e.what());
  } catch (...) {
    abort_job("unknown exception");
  }
  // A rank that returns an error code alone would wait in MPI_Finalize for the others (which may
  // wait in a collective for it): end the whole job instead.
  if (rc != 0) abort_job("exiting with code " + std::to_string(rc), rc);
  return rc;
}

}  // namespace distillery::distributed
