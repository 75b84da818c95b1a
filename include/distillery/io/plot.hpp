// io/plot.hpp — line plots as CSV + PNG (the PNG through gnuplot, when it is installed).
//
// Experiments write their curves as CSV (always) and, where a person would rather look than
// read, as a PNG rendered by gnuplot (Debian's gnuplot-nox; scripts/install-deps.sh installs it).
// Without gnuplot the CSV is still written and plot_lines returns false.
//
//   LinePlot p{"accuracy vs outer iterations", "iteration", "held-out accuracy"};
//   p.x = {100, 200, 300};
//   p.series.push_back({"DD", {0.61, 0.75, 0.80}});
//   write_csv("out/curve.csv", p);          // iteration,DD
//   plot_lines("out/curve.png", p);         // gnuplot -> PNG
#pragma once
#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include "../core/error.hpp"
#include "atomic_file.hpp"

namespace distillery {

struct LineSeries {
  std::string name;
  std::vector<double> y;
  std::vector<double> err;  // optional ± band (same length as y)
};

struct LinePlot {
  std::string title, xlabel, ylabel;
  std::vector<double> x;
  std::vector<LineSeries> series;
  bool logx = false;
};

inline std::string plot_csv_text(const LinePlot& p) {
  std::ostringstream os;
  os.precision(10);
  os << (p.xlabel.empty() ? "x" : p.xlabel);
  for (const auto& s : p.series) {
    os << ',' << s.name;
    if (!s.err.empty()) os << ',' << s.name << "_err";
  }
  os << '\n';
  for (size_t i = 0; i < p.x.size(); ++i) {
    os << p.x[i];
    for (const auto& s : p.series) {
      check(s.y.size() == p.x.size() && (s.err.empty() || s.err.size() == p.x.size()),
            "plot", "series '", s.name, "' has ", s.y.size(), " points for ", p.x.size(), " x values");
      os << ',' << s.y[i];
      if (!s.err.empty()) os << ',' << s.err[i];
    }
    os << '\n';
  }
  return os.str();
}

inline void write_csv(const std::string& path, const LinePlot& p) {
  std::string t = plot_csv_text(p);
  write_file_atomic(path, reinterpret_cast<const uint8_t*>(t.data()), t.size());
}

inline bool gnuplot_available() { return std::system("command -v gnuplot >/dev/null 2>&1") == 0; }

namespace detail {
inline std::string gnuplot_script(const LinePlot& p, const std::string& terminal,
                                  const std::string& data, const std::string& out) {
  std::ostringstream g;
  g << "set terminal " << terminal << "\nset output '" << out << "'\n"
    << "set datafile separator ','\nset key autotitle columnhead\nset grid\n"
    << "set title '" << p.title << "'\nset xlabel '" << p.xlabel << "'\nset ylabel '"
    << p.ylabel << "'\n";
  if (p.logx) g << "set logscale x\n";
  double xmax = 0;
  for (double x : p.x) xmax = std::max(xmax, std::abs(x));
  if (!p.logx && xmax >= 1e5) g << "set format x '%.1s%c'\n";  // 1.2M, not 1.2e+06 (labels overlap)
  g << "plot ";
  int col = 2;
  for (size_t k = 0; k < p.series.size(); ++k) {
    const auto& s = p.series[k];
    g << (k ? ", " : "") << "'" << data << "' using 1:" << col;
    if (!s.err.empty()) g << ":" << col + 1 << " with yerrorlines";
    else g << " with linespoints";
    g << " title '" << s.name << "'";
    col += s.err.empty() ? 1 : 2;
  }
  g << "\n";
  return g.str();
}
}  // namespace detail

// Renders the plot to a PNG with gnuplot (pngcairo, else png); false without gnuplot.
inline bool plot_lines(const std::string& png_path, const LinePlot& p, int width = 800,
                       int height = 500) {
  if (!gnuplot_available()) return false;
  const std::string data = png_path + ".csv.tmp", script = png_path + ".gp.tmp",
                    tmp_png = png_path + ".tmp.png";
  std::ofstream(data) << plot_csv_text(p);
  const std::string size = " size " + std::to_string(width) + "," + std::to_string(height);
  int rc = 1;
  for (const char* term : {"pngcairo noenhanced", "png"}) {
    std::ofstream(script) << detail::gnuplot_script(p, term + size, data, tmp_png);
    rc = std::system(("gnuplot '" + script + "' 2>/dev/null").c_str());
    if (rc == 0) break;
  }
  std::remove(data.c_str());
  std::remove(script.c_str());
  return rc == 0 && std::rename(tmp_png.c_str(), png_path.c_str()) == 0;
}

}  // namespace distillery
