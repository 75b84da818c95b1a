// self_distill_report.hpp — the results of examples/self_distill: per-run records, the
// mean ± std table (printed, and as JSON rows), reliability diagrams pooled over seeds and the
// per-generation plots. Kept apart so the example's program() reads as the experiment itself.
#pragma once
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <map>
#include <string>
#include <vector>

#include <distillery/io/json.hpp>
#include <distillery/io/plot.hpp>
#include <distillery/metrics/calibration.hpp>

namespace self_distill_report {
using namespace distillery;

// Per-run results on the test set.
struct Run {
  CalibrationReport cal;
  double diversity = 0, temperature = 1;
  double val_accuracy = 0, seconds = 0;
  int64_t best_epoch = 0, params = 0;
  bool has_teacher = false;
  double teacher_accuracy = 0, ds = 0;
  int64_t teacher_params = 0;
  std::string teacher;
};

struct Stat {
  double mean = 0, sd = 0;
};
inline Stat summarize(const std::vector<double>& v) {
  Stat s;
  if (v.empty()) return s;
  for (double x : v) s.mean += x;
  s.mean /= double(v.size());
  if (v.size() > 1) {
    for (double x : v) s.sd += (x - s.mean) * (x - s.mean);
    s.sd = std::sqrt(s.sd / double(v.size() - 1));
  }
  return s;
}

// Reliability bins pooled over runs (counts added, means weighted by count).
inline std::vector<ReliabilityBin> pool(const std::vector<Run>& runs) {
  std::vector<ReliabilityBin> out = runs.at(0).cal.bins;
  for (auto& b : out) b.count = 0, b.accuracy = 0, b.confidence = 0;
  for (const Run& r : runs)
    for (size_t i = 0; i < out.size(); ++i) {
      const auto& b = r.cal.bins[i];
      out[i].count += b.count;
      out[i].accuracy += b.accuracy * double(b.count);
      out[i].confidence += b.confidence * double(b.count);
    }
  for (auto& b : out)
    if (b.count) b.accuracy /= double(b.count), b.confidence /= double(b.count);
  return out;
}
inline double ece_of(const std::vector<ReliabilityBin>& bins) {
  int64_t n = 0;
  double e = 0;
  for (const auto& b : bins)
    n += b.count, e += double(b.count) * std::fabs(b.accuracy - b.confidence);
  return n ? e / double(n) : 0;
}

// Reliability diagrams side by side (gnuplot multiplot): bars = accuracy per confidence bin,
// dots = mean confidence, dashed line = perfect calibration. False without gnuplot.
inline bool plot_reliability(
    const std::string& png,
    const std::vector<std::pair<std::string, std::vector<ReliabilityBin>>>& panels) {
  if (panels.empty() || !gnuplot_available()) return false;
  const std::string data = png + ".dat.tmp", script = png + ".gp.tmp", tmp = png + ".tmp.png";
  {
    std::ofstream d(data);
    for (const auto& p : panels) {  // one gnuplot data block per panel
      for (const auto& b : p.second)
        if (b.count)
          d << 0.5 * (b.lower + b.upper) << ' ' << b.accuracy << ' ' << b.confidence << '\n';
      d << "\n\n";
    }
  }
  std::ofstream g(script);
  g << "set terminal pngcairo noenhanced size " << 380 * panels.size() << ",420\n"
    << "set output '" << tmp << "'\nset multiplot layout 1," << panels.size() << "\n"
    << "set xrange [0:1]\nset yrange [0:1]\nset size ratio 1\nset grid\nset key top left\n"
    << "set xlabel 'confidence'\nset ylabel 'accuracy'\nset style fill solid 0.5 border -1\n"
    << "set boxwidth " << 1.0 / double(panels[0].second.size()) << " absolute\n";
  for (size_t k = 0; k < panels.size(); ++k) {
    char title[160];
    std::snprintf(title, sizeof title, "%s  (pooled ECE15 %.2f%%)", panels[k].first.c_str(),
                  100 * ece_of(panels[k].second));
    g << "set title '" << title << "'\n"
      << "plot '" << data << "' index " << k << " using 1:2 with boxes title 'accuracy', '" << data
      << "' index " << k << " using 1:3 with points pt 7 ps 0.6 title 'confidence', "
      << "x with lines dt 2 lc rgb 'black' title 'ideal'\n";
  }
  g << "unset multiplot\n";
  g.close();
  const int rc = std::system(("gnuplot '" + script + "' 2>/dev/null").c_str());
  std::remove(data.c_str());
  std::remove(script.c_str());
  return rc == 0 && std::rename(tmp.c_str(), png.c_str()) == 0;
}

inline std::string stem(const std::string& json) {
  auto dot = json.rfind(".json");
  return dot == std::string::npos ? json : json.substr(0, dot);
}

inline Json stat_json(const std::vector<double>& v) {
  Stat s = summarize(v);
  Json j = Json::object();
  j["mean"] = s.mean;
  j["std"] = s.sd;
  Json a = Json::array();
  for (double x : v) a.push_back(x);
  j["per_seed"] = a;
  return j;
}

// results[method][generation] = one Run per seed
using Results = std::map<std::string, std::vector<std::vector<Run>>>;

// The smoothing settings the table reports next to LS and Beta rows.
struct TableSettings {
  double ls_eps = 0, beta_a = 0, beta_alpha = 0, ds_alpha = 0;
};

// Prints the mean ± std table over seeds and fills `summary` (one row per method and generation)
// and `runs_json` (one row per run).
inline void report_table(const Results& results, int64_t test_n, int64_t seeds,
                         const TableSettings& set, Json& summary, Json& runs_json) {
  const double ls_eps = set.ls_eps, beta_a = set.beta_a, beta_alpha = set.beta_alpha,
               ds_alpha = set.ds_alpha;
  std::printf("\nTest set (%lld images), mean ± std over %lld seeds:\n", (long long)test_n,
              (long long)seeds);
  std::printf("%-12s %3s  %-15s %-15s %-15s %-15s %-15s %-16s %s\n", "method", "gen", "accuracy %",
              "NLL", "ECE15 %", "ECE20 %", "diversity", "DS vs teacher", "teacher acc %");
  const std::vector<std::string> order{"ce", "ts", "ls", "beta", "selfdistill"};
  for (const auto& method : order) {
    if (!results.count(method)) continue;
    const auto& gens = results.at(method);
    for (size_t g = 0; g < gens.size(); ++g) {
      const auto& rs = gens[g];
      std::vector<double> acc, nll, e15, e20, ds, tacc, val, div, temp;
      for (const Run& r : rs) {
        div.push_back(r.diversity);
        temp.push_back(r.temperature);
        acc.push_back(r.cal.accuracy);
        nll.push_back(r.cal.nll);
        e15.push_back(r.cal.ece15);
        e20.push_back(r.cal.ece20);
        val.push_back(r.val_accuracy);
        if (r.has_teacher) ds.push_back(r.ds), tacc.push_back(r.teacher_accuracy);
      }
      Stat a = summarize(acc), n = summarize(nll), x15 = summarize(e15), x20 = summarize(e20),
           dv = summarize(div);
      char dsbuf[64] = "-", tbuf[64] = "-";
      if (!ds.empty()) {
        Stat sds = summarize(ds), st = summarize(tacc);
        std::snprintf(dsbuf, sizeof dsbuf, "%.4f ± %.4f", sds.mean, sds.sd);
        std::snprintf(tbuf, sizeof tbuf, "%.2f ± %.2f (%s)", 100 * st.mean, 100 * st.sd,
                      rs[0].teacher.c_str());
      }
      std::printf(
          "%-12s %3zu  %5.2f ± %-6.2f  %.4f ± %.4f %5.2f ± %-6.2f  %5.2f ± %-6.2f  %.3f ± %.3f  "
          "%-16s %s\n",
          method.c_str(), g, 100 * a.mean, 100 * a.sd, n.mean, n.sd, 100 * x15.mean, 100 * x15.sd,
          100 * x20.mean, 100 * x20.sd, dv.mean, dv.sd, dsbuf, tbuf);
      Json row = Json::object();
      row["method"] = method;
      row["generation"] = int64_t(g);
      row["seeds"] = int64_t(rs.size());
      row["test_accuracy"] = stat_json(acc);
      row["test_nll"] = stat_json(nll);
      row["test_ece15"] = stat_json(e15);
      row["test_ece20"] = stat_json(e20);
      row["val_accuracy"] = stat_json(val);
      row["test_predictive_diversity"] = stat_json(div);
      if (method == "ts") row["temperature"] = stat_json(temp);
      if (method == "ls") row["mean_true_class_target"] = 1 - ls_eps;
      if (method == "beta") row["mean_true_class_target"] = 1 - beta_alpha / (beta_a + 1);
      row["student_params"] = rs[0].params;
      if (!ds.empty()) {
        row["teacher"] = rs[0].teacher;
        row["teacher_params"] = rs[0].teacher_params;
        row["teacher_test_accuracy"] = stat_json(tacc);
        row["distillation_score"] = stat_json(ds);
        row["distillation_score_alpha"] = ds_alpha;
      }
      Json bins = Json::array();
      for (const auto& b : pool(rs)) {
        Json jb = Json::object();
        jb["lower"] = b.lower;
        jb["upper"] = b.upper;
        jb["count"] = b.count;
        jb["accuracy"] = b.accuracy;
        jb["confidence"] = b.confidence;
        bins.push_back(jb);
      }
      row["reliability_bins15_pooled"] = bins;
      summary.push_back(row);
      for (size_t k = 0; k < rs.size(); ++k) {
        Json r = Json::object();
        r["method"] = method;
        r["generation"] = int64_t(g);
        r["seed_index"] = int64_t(k);
        r["test_accuracy"] = rs[k].cal.accuracy;
        r["test_nll"] = rs[k].cal.nll;
        r["test_ece15"] = rs[k].cal.ece15;
        r["test_ece20"] = rs[k].cal.ece20;
        r["val_accuracy"] = rs[k].val_accuracy;
        r["test_predictive_diversity"] = rs[k].diversity;
        if (method == "ts") r["temperature"] = rs[k].temperature;
        r["best_epoch"] = rs[k].best_epoch;
        r["seconds"] = rs[k].seconds;
        if (rs[k].has_teacher) {
          r["teacher_test_accuracy"] = rs[k].teacher_accuracy;
          r["distillation_score"] = rs[k].ds;
        }
        runs_json.push_back(r);
      }
    }
  }
}

// Pictures and CSVs next to base_path (the JSON path without .json): PATH_reliability.png and
// PATH_generations_{accuracy,ece,diversity}.png/.csv. Each flag: whether its PNGs were written.
struct Pictures {
  bool reliability = false, generations = false;
};
inline Pictures write_pictures(const std::string& base_path, const Results& results) {
  Pictures out;
  std::vector<std::pair<std::string, std::vector<ReliabilityBin>>> panels;
  for (const auto& [m, title] : std::vector<std::pair<std::string, std::string>>{
           {"ce", "CE"}, {"ts", "CE + temperature"}, {"ls", "LS"}, {"beta", "Beta"}})
    if (results.count(m)) panels.push_back({title, pool(results.at(m)[0])});
  if (results.count("selfdistill") && results.at("selfdistill").size() > 1)
    panels.push_back({"self-distill gen " + std::to_string(results.at("selfdistill").size() - 1),
                      pool(results.at("selfdistill").back())});
  out.reliability = plot_reliability(base_path + "_reliability.png", panels);

  if (results.count("selfdistill")) {
    const auto& gens = results.at("selfdistill");
    for (const std::string what : {"accuracy", "ece", "diversity"}) {
      auto value = [&](const Run& r) {
        return what == "accuracy" ? 100 * r.cal.accuracy
               : what == "ece"    ? 100 * r.cal.ece15
                                  : r.diversity;
      };
      LinePlot p;
      p.title = (what == "accuracy" ? std::string("test accuracy")
                 : what == "ece"    ? std::string("test ECE (15 bins)")
                                    : std::string("predictive diversity (test)")) +
                " per generation, mean ± std over seeds";
      p.xlabel = "generation";
      p.ylabel = what == "accuracy" ? "accuracy %"
                 : what == "ece"    ? "ECE %"
                                    : "entropy of renormalised non-target probabilities (nats)";
      LineSeries sd{"self-distillation", {}, {}};
      for (size_t g = 0; g < gens.size(); ++g) {
        p.x.push_back(double(g));
        std::vector<double> v;
        for (const Run& r : gens[g]) v.push_back(value(r));
        Stat st = summarize(v);
        sd.y.push_back(st.mean);
        sd.err.push_back(st.sd);
      }
      p.series.push_back(sd);
      for (const char* ref : {"ts", "ls", "beta"}) {  // one-model methods as flat references
        if (!results.count(ref)) continue;
        std::vector<double> v;
        for (const Run& r : results.at(ref)[0]) v.push_back(value(r));
        p.series.push_back({std::string(ref) + " (one model)",
                            std::vector<double>(gens.size(), summarize(v).mean),
                            {}});
      }
      write_csv(base_path + "_generations_" + what + ".csv", p);
      out.generations =
          plot_lines(base_path + "_generations_" + what + ".png", p) || out.generations;
    }
  }

  return out;
}

}  // namespace self_distill_report
