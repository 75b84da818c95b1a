#!/usr/bin/env python3
"""Merge the JSON of several `examples/self_distill` runs that split one study's seeds.

    python3 scripts/merge_self_distill.py out/sd/a.json out/sd/b.json --out out/sd/merged.json

Every input must have the same configuration except `seed` and `seeds` (checked). Prints a
markdown table, mean ± sample std over all runs of each method and generation, of test accuracy,
NLL, ECE (15 and 20 bins), predictive diversity and, where present, the temperature and the
distillation score; writes the merged runs and summary to --out (atomically). The tuning
records, if any, come from the input that has them.
"""
import argparse
import json
import os
import statistics
import sys

METRICS = [("test_accuracy", "accuracy %", 100), ("test_nll", "NLL", 1),
           ("test_ece15", "ECE15 %", 100), ("test_ece20", "ECE20 %", 100),
           ("test_predictive_diversity", "diversity", 1), ("temperature", "T", 1),
           ("distillation_score", "DS", 1)]
ORDER = ["ce", "ts", "ls", "beta", "selfdistill"]


def stat(values):
    mean = statistics.fmean(values)
    sd = statistics.stdev(values) if len(values) > 1 else 0.0
    return {"mean": mean, "std": sd, "n": len(values), "per_seed": values}


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("inputs", nargs="+")
    ap.add_argument("--out", default="")
    a = ap.parse_args()
    docs = []
    for path in a.inputs:
        with open(path) as f:
            docs.append(json.load(f))
    base = {k: v for k, v in docs[0]["config"].items() if k not in ("seed", "seeds", "threads")}
    for path, d in zip(a.inputs, docs):
        cfg = {k: v for k, v in d["config"].items() if k not in ("seed", "seeds", "threads")}
        diff = {k for k in set(cfg) | set(base) if cfg.get(k) != base.get(k)
                and k not in ("ls_grid", "beta_grid")}
        if diff:
            sys.exit(f"merge_self_distill: {path} differs in {sorted(diff)}")
    groups = {}
    seeds = []
    for d in docs:
        first = d["config"]["seed"]
        seeds += [first + 1000 * s for s in range(d["config"]["seeds"])]
        for r in d["runs"]:
            groups.setdefault((r["method"], r["generation"]), []).append(r)
    if len(set(seeds)) != len(seeds):
        sys.exit(f"merge_self_distill: seeds overlap: {sorted(seeds)}")
    summary = []
    head = "| method | gen | runs | " + " | ".join(m[1] for m in METRICS) + " |"
    print(head)
    print("|" + "---|" * (3 + len(METRICS)))
    for method in ORDER:
        for gen in sorted(g for (m, g) in groups if m == method):
            rs = groups[(method, gen)]
            row = {"method": method, "generation": gen, "runs": len(rs)}
            cells = []
            for key, _, scale in METRICS:
                vals = [r[key] for r in rs if key in r]
                if len(vals) != len(rs):
                    cells.append("–")
                    continue
                s = stat(vals)
                row[key] = s
                digits = 4 if scale == 1 else 2
                cells.append(f"{scale * s['mean']:.{digits}f} ± {scale * s['std']:.{digits}f}")
            summary.append(row)
            print(f"| {method} | {gen} | {len(rs)} | " + " | ".join(cells) + " |")
    if a.out:
        merged = {"config": dict(base, seeds_used=sorted(seeds)), "inputs": a.inputs,
                  "summary": summary, "runs": [r for d in docs for r in d["runs"]]}
        for d in docs:
            if "tuning" in d:
                merged["tuning"] = d["tuning"]
        tmp = a.out + ".tmp"
        with open(tmp, "w") as f:
            json.dump(merged, f, indent=1)
        os.replace(tmp, a.out)
        print(f"wrote {a.out}")


if __name__ == "__main__":
    main()
