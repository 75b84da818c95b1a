// io/cli.hpp — the small command-line parser, the main() wrapper and the progress line every
// example uses.
//
//   int run(int argc, char** argv) { ... }        // the program; throws on any error
//   int main(int argc, char** argv) { return run_main(argc, argv, "lenet_mnist", run); }
//
// run_main turns a distillery::Error or std::exception escaping the program (a bad flag, a bad
// output path, bad data) into exactly one line on stderr, `lenet_mnist: error: <message>`, and
// exit status 1: a program never aborts with `terminate called ...`.
//
//   Args args(argc, argv, "lenet_mnist: trains LeNet-5 on real digits");
//   int epochs = args.get<int>("epochs", 5, "training epochs");
//   std::string json = args.get<std::string>("json", "", "write results here");
//   args.finish();          // prints --help and exits, or rejects unknown flags
//
// Flags are `--name value` or `--name=value`; booleans accept `--flag` alone. Progress prints
// "label  i/n  rate  ETA" lines at most every `interval` seconds, so long runs show progress.
//
// No iostreams (stdio and std::from_chars instead): a static binary that includes <iostream>
// carries about 630 KB of locale tables, more than the embedded example's kernels (issue 25).
#pragma once
#include <charconv>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <map>
#include <set>
#include <string>
#include <type_traits>
#include <vector>

#include "../core/error.hpp"

namespace distillery {

class Args {
 public:
  Args(int argc, char** argv, std::string about) : about_(std::move(about)) {
    prog_ = argc > 0 ? argv[0] : "program";
    for (int i = 1; i < argc; ++i) {
      std::string a = argv[i];
      if (a == "-h" || a == "--help") { help_ = true; continue; }
      check(a.rfind("--", 0) == 0, "Args", "unexpected argument '", a, "' (flags are --name value)");
      a = a.substr(2);
      auto eq = a.find('=');
      if (eq != std::string::npos) {
        values_[a.substr(0, eq)] = a.substr(eq + 1);
      } else if (i + 1 < argc && std::string(argv[i + 1]).rfind("--", 0) != 0) {
        values_[a] = argv[++i];
      } else {
        values_[a] = "true";
      }
    }
  }

  template <class V>
  V get(const std::string& name, const V& def, const std::string& doc = "") {
    std::string d;
    format_part(d, def);  // as std::ostream prints it (core/error.hpp)
    usage_.push_back("  --" + name + " (default: " + d + ")  " + doc);
    known_.insert(name);
    auto it = values_.find(name);
    if (it == values_.end()) return def;
    return parse<V>(name, it->second);
  }

  bool has(const std::string& name) const { return values_.count(name) > 0; }

  // Call after all get()s: handles --help and rejects unknown flags.
  void finish() const {
    if (help_) {
      std::printf("%s\nusage: %s [flags]\n", about_.c_str(), prog_.c_str());
      for (const auto& u : usage_) std::printf("%s\n", u.c_str());
      std::fflush(stdout);
      std::exit(0);
    }
    for (const auto& [k, v] : values_)
      check(known_.count(k) > 0, "Args", "unknown flag --", k, " (see --help)");
  }

 private:
  template <class V>
  static V parse(const std::string& name, const std::string& s) {
    if constexpr (std::is_same_v<V, std::string>) {
      return s;
    } else if constexpr (std::is_same_v<V, bool>) {
      if (s == "true" || s == "1" || s == "on" || s == "yes") return true;
      if (s == "false" || s == "0" || s == "off" || s == "no") return false;
      fail("Args", "--", name, " expects a boolean, got '", s, "'");
    } else {
      // The whole string must be one decimal number of V's range (as `istream >> v` with the
      // eof check it replaces: no trailing text, no hex, no inf/nan). std::from_chars, not
      // strtod: the JSON reader links it anyway, and strtod would add ~50 KB to a static binary.
      const char* b = s.c_str();
      const char* e = b + s.size();
      if (e - b > 1 && *b == '+' && b[1] != '-') ++b;  // from_chars takes no leading '+'
      V v{};
      const auto r = std::from_chars(b, e, v);  // an empty string is invalid_argument
      const bool ok = r.ec == std::errc() && r.ptr == e && s.find_first_of("xXnN") == std::string::npos;
      check(ok, "Args", "--", name, " expects a number, got '", s, "'");
      return v;
    }
  }
  std::string about_, prog_;
  std::map<std::string, std::string> values_;
  std::set<std::string> known_;
  std::vector<std::string> usage_;
  bool help_ = false;
};

// Runs body(argc, argv) and returns its exit status; an exception escaping it is printed as one
// stderr line "<program>: error: <message>" (newlines in the message become spaces) and gives
// exit status 1.
template <class F>
int run_main(int argc, char** argv, const char* program, F&& body) {
  auto report = [&](const std::string& what) {
    std::string line = what;
    for (char& c : line)
      if (c == '\n' || c == '\r') c = ' ';
    std::fflush(stdout);  // std::cout writes through stdio (sync_with_stdio)
    std::fprintf(stderr, "%s: error: %s\n", program, line.c_str());
    std::fflush(stderr);
    return 1;
  };
  try {
    return body(argc, argv);
  } catch (const std::exception& e) {  // distillery::Error included
    return report(e.what());
  } catch (...) {
    return report("unknown exception");
  }
}

// Progress line with rate and ETA, printed at most every `interval` seconds (and at the end).
class Progress {
 public:
  Progress(std::string label, int64_t total, double interval = 2.0)
      : label_(std::move(label)), total_(total), interval_(interval),
        start_(std::chrono::steady_clock::now()), last_(start_) {}
  double elapsed() const {
    return std::chrono::duration<double>(std::chrono::steady_clock::now() - start_).count();
  }
  // Returns true when a line was printed.
  bool update(int64_t done, const std::string& extra = "") {
    auto now = std::chrono::steady_clock::now();
    bool end = done >= total_;
    if (!end && std::chrono::duration<double>(now - last_).count() < interval_) return false;
    last_ = now;
    double t = elapsed(), rate = t > 0 ? double(done) / t : 0;
    double eta = rate > 0 ? double(total_ - done) / rate : 0;
    std::printf("%s %lld/%lld  %.1f/s  elapsed %.0fs  ETA %.0fs  %s\n", label_.c_str(),
                static_cast<long long>(done), static_cast<long long>(total_), rate, t, eta,
                extra.c_str());
    std::fflush(stdout);
    return true;
  }

 private:
  std::string label_;
  int64_t total_;
  double interval_;
  std::chrono::steady_clock::time_point start_, last_;
};

}  // namespace distillery
