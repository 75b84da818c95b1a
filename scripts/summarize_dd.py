#!/usr/bin/env python3
"""Mean ± std over distillation seeds of dataset_distill / twin_dd_libtorch results (issue 24).

  scripts/summarize_dd.py out/dd_seeds/soft5_s1.json out/dd_seeds/soft5_s2.json ...
      one row per file and mean ± sample std of the final evaluation (`test_accuracy`) and
      of the mean of the last 5 evaluations (`test_accuracy_mean_last5`), plus the final
      data's sensitivity (std of the accuracy over 5 draws of sigma 1e-4 noise) where recorded,
      and for --val runs the evaluation chosen on validation (`selected_on_validation`).
  scripts/summarize_dd.py --paired A1.json A2.json A3.json -- B1.json B2.json B3.json
      the same for both groups and the paired differences A - B (files paired in order):
      mean ± std and standard error (std / sqrt(n)).
Only the standard library; numbers in percent.
"""
import json
import math
import sys


def stats(v):
    n = len(v)
    m = sum(v) / n
    sd = math.sqrt(sum((x - m) ** 2 for x in v) / (n - 1)) if n > 1 else 0.0
    return m, sd


def load(paths):
    rows = []
    for p in paths:
        with open(p) as f:
            d = json.load(f)
        sens = next((s for s in d.get("sensitivity", []) if abs(s["sigma"] - 1e-4) < 1e-12), None)
        rows.append({
            "path": p,
            "final": 100 * d["test_accuracy"],
            "last5": 100 * d["test_accuracy_mean_last5"],
            "sens_std": None if sens is None else 100 * sens["std"],
            "seconds": d.get("seconds", float("nan")),
            # --val runs: the held-out accuracy of the evaluation with the best validation one
            "selected": (100 * d["selected_on_validation"]["test_accuracy"]
                         if "selected_on_validation" in d else None),
            "selected_at": d.get("selected_on_validation", {}).get("iteration"),
        })
    return rows


def table(name, rows):
    print(f"{name}:")
    for r in rows:
        s = "" if r["sens_std"] is None else f"  sigma 1e-4 std {r['sens_std']:.2f}"
        if r["selected"] is not None:
            s += f"  selected on validation {r['selected']:.2f} (iteration {r['selected_at']})"
        print(f"  {r['path']}: final {r['final']:.2f}  last-5 {r['last5']:.2f}"
              f"  ({r['seconds']:.0f} s){s}")
    keys = ["final", "last5"] + (["selected"] if all(r["selected"] is not None for r in rows) else [])
    for key in keys:
        m, sd = stats([r[key] for r in rows])
        print(f"  {key:6s} {m:.2f} ± {sd:.2f}  (n = {len(rows)})")
    sens = [r["sens_std"] for r in rows if r["sens_std"] is not None]
    if sens:
        m, sd = stats(sens)
        print(f"  sensitivity (std at sigma 1e-4) {m:.2f} ± {sd:.2f}")


def main(argv):
    if not argv:
        print(__doc__)
        return 2
    if argv[0] != "--paired":
        table("runs", load(argv))
        return 0
    try:
        cut = argv.index("--")
    except ValueError:
        print("--paired needs A files -- B files", file=sys.stderr)
        return 2
    a, b = load(argv[1:cut]), load(argv[cut + 1:])
    if len(a) != len(b) or not a:
        print("the two groups need the same, non-zero number of files", file=sys.stderr)
        return 2
    table("A", a)
    table("B", b)
    for key in ("final", "last5"):
        diff = [x[key] - y[key] for x, y in zip(a, b)]
        m, sd = stats(diff)
        print(f"A - B {key:6s} {m:+.2f} ± {sd:.2f}, standard error {sd / math.sqrt(len(diff)):.2f}"
              f"  (per pair: {', '.join(f'{d:+.2f}' for d in diff)})")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
