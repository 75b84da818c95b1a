#!/usr/bin/env python3
"""The DPD results table in the paper's form (Lai et al. 2020, Table 1) from `dpd` JSONs (issue 22).

  scripts/summarize_dpd.py out/dpd2/ppo_halfcheetah.json out/dpd2/ppo_swimmer.json ...
  scripts/summarize_dpd.py --extra out/dpd2/ppo_halfcheetah_a001_lr1e-3.json ... -- main JSONs

Per task (one JSON of `dpd --dpd all`): each mode's mean return over all training episodes (the
paper's "Mean"), the mean of the per-seed maximum windowed return (the paper's "Max") and the
final windowed return, as mean ± std (standard error) over seeds; then DPD against the single
learner with the same total steps and against one independent learner with the same steps per
learner: difference of means ± its standard error, Welch's t, and "wins" / "loses" when the
difference is significant at 5% (two-sided), "ties" otherwise. Then the diagnostics: the §4.4
action distance between the two learners at the end (DPD pair against independent pair, mean of
the last 5 curve points per seed), the weights' effective sample size and the loss drop per
distillation step over the run. --extra JSONs (a `--dpd dpd` run with other flags, e.g. another
α or distillation lr) are compared with the main JSON of the same algo and env.
Only the standard library; prints Markdown.
"""
import json
import math
import sys

# two-sided 5% critical values of Student's t, df 1..30 (then 1.96)
T975 = [12.706, 4.303, 3.182, 2.776, 2.571, 2.447, 2.365, 2.306, 2.262, 2.228, 2.201, 2.179,
        2.160, 2.145, 2.131, 2.120, 2.110, 2.101, 2.093, 2.086, 2.080, 2.074, 2.069, 2.064,
        2.060, 2.056, 2.052, 2.048, 2.045, 2.042]
METRICS = [("mean_return_all_episodes", "mean over episodes"), ("max_return", "max"),
           ("final_return", "final")]


def stats(v):
    n = len(v)
    m = sum(v) / n
    sd = math.sqrt(sum((x - m) ** 2 for x in v) / (n - 1)) if n > 1 else float("nan")
    return m, sd, sd / math.sqrt(n) if n > 1 else float("nan")


def welch(a, b):
    """a - b: difference, its standard error, t, verdict."""
    ma, sa, ea = stats(a)
    mb, sb, eb = stats(b)
    se = math.sqrt(ea ** 2 + eb ** 2)
    if not se > 0:
        return ma - mb, se, float("nan"), "n/a"
    t = (ma - mb) / se
    df = se ** 4 / (ea ** 4 / (len(a) - 1) + eb ** 4 / (len(b) - 1))
    crit = T975[min(int(df), 30) - 1] if df >= 1 else T975[0]
    verdict = "ties" if abs(t) < crit else ("wins" if t > 0 else "loses")
    return ma - mb, se, t, verdict


def fmt(v, digits=1):
    m, sd, se = stats(v)
    return f"{m:.{digits}f} ± {sd:.{digits}f} ({se:.{digits}f})"


def values(d, mode, key):
    return d["results"][mode][key]["values"]


def label(d, main=None):
    """α and distillation lr, plus any other DPD setting that differs from `main`'s."""
    dd = d["dpd"]
    out = f"α {dd['alpha']:g}, dis-lr {dd['dis_lr']:g}"
    for k in ("batch", "recent", "weights", "sign", "every", "values"):
        if main is None or dd.get(k) != main["dpd"].get(k):
            out += f", {k} {dd.get(k)}"
    return out


def ok(x):  # the JSON writes NaN as null
    return x is not None and x == x


def diagnostics(d, mode):
    runs = d["results"][mode]["runs"]
    last = []
    for r in runs:
        xs = [x for x in r["action_distance"] if ok(x)]
        if xs:
            last.append(sum(xs[-5:]) / len(xs[-5:]))
    ess, drop, pos = [], [], []
    for r in runs:
        for lj in r.get("rounds", {}).values():
            ess += [x for x in lj.get("ess", []) if ok(x)]
            pos += [x for x in lj.get("positive_fraction", []) if ok(x)]
            drop += [1 - a / b for a, b in zip(lj.get("loss_after", []), lj.get("loss_before", []))
                     if ok(a) and ok(b) and b > 0]
    return last, ess, drop, pos


def median(v):
    v = sorted(v)
    return v[len(v) // 2] if v else float("nan")


def task_table(d, extras):
    algo, env = d["algo"].upper(), d["env"]
    steps = d["steps_per_run"]
    print(f"### {algo} on {env}: {len(values(d, 'single', 'final_return'))} seeds, "
          f"{steps / 1e6:g}M total steps per run (single learner {steps / 1e6:g}M, "
          f"each learner of a pair {steps / 2e6:g}M); DPD: {label(d)}\n")
    print("| run | " + " | ".join(n for _, n in METRICS) + " |")
    print("|---|" + "---|" * len(METRICS))
    names = {"single": f"{algo}, one learner, {steps / 1e6:g}M steps (same total)",
             "indep": f"{algo}, two independent learners, {steps / 2e6:g}M each (same per learner)",
             "dpd": f"DPD-{algo} pair, {steps / 2e6:g}M each"}
    rows = [(names[m], d, m) for m in ("single", "indep", "dpd") if m in d["results"]]
    rows += [(f"DPD-{algo} pair, {label(e, d)} ({len(values(e, 'dpd', 'final_return'))} seeds)", e,
              "dpd") for e in extras]
    for name, src, m in rows:
        print(f"| {name} | " + " | ".join(fmt(values(src, m, k)) for k, _ in METRICS) + " |")
    print("\nDPD minus the baseline (difference ± standard error, Welch's t, verdict at 5%):\n")
    print("| DPD run | against | " + " | ".join(n for _, n in METRICS) + " |")
    print("|---|---|" + "---|" * len(METRICS))
    for name, src, m in rows:
        if m != "dpd":
            continue
        for base in ("single", "indep"):
            if base not in d["results"]:
                continue
            cells = []
            for k, _ in METRICS:
                diff, se, t, v = welch(values(src, m, k), values(d, base, k))
                cells.append(f"{diff:+.1f} ± {se:.1f}, t {t:+.2f}: {v}")
            print(f"| {name} | {base} | " + " | ".join(cells) + " |")
    print("\nDiagnostics (action distance: mean of the last 5 curve points per seed; ESS of "
          f"{d['dpd']['batch']} and loss drop: median over all distillation steps):\n")
    print("| run | final action distance | ESS | fraction ξ > 0 | loss drop per step |")
    print("|---|---|---|---|---|")
    for name, src, m in [(names["indep"], d, "indep")] + [r for r in rows if r[2] == "dpd"]:
        if m not in src["results"]:
            continue
        last, ess, drop, pos = diagnostics(src, m)
        dist = fmt(last, 3) if len(last) > 1 else "n/a"
        if m == "indep":
            print(f"| {name} | {dist.replace(' (', ' (SE ')} | | | |")
        else:
            print(f"| {name} | {dist.replace(' (', ' (SE ')} | {median(ess):.1f} | "
                  f"{median(pos):.2f} | {100 * median(drop):.2f}% |")
    print()


def main(argv):
    extras, mains = [], argv
    if argv and argv[0] == "--extra":
        cut = argv.index("--")
        extras, mains = argv[1:cut], argv[cut + 1:]
    if not mains:
        print(__doc__)
        return 2
    ext = [json.load(open(p)) for p in extras]
    for p in mains:
        d = json.load(open(p))
        task_table(d, [e for e in ext if e["algo"] == d["algo"] and e["env"] == d["env"]])
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
