#!/usr/bin/env python3
"""bench/cuda/ratios.py — pair distillery_cuda/<case> with libtorch_cuda/<case> (and cublas/<case>)
from a Google Benchmark JSON file and print times and ratios.

  bench_cuda --benchmark_format=json --benchmark_out=cuda.json ... ; python3 ratios.py cuda.json

ratio = baseline time / distillery time  (> 1: Distillery faster; < 1: slower)."""
import json
import sys


def main(path):
    data = json.load(open(path))
    ctx = data.get("context", {})
    times = {}
    for b in data["benchmarks"]:
        if b.get("run_type") == "aggregate" and b.get("aggregate_name") != "median":
            continue
        name = b.get("run_name", b["name"])
        scale = {"ns": 1e-3, "us": 1.0, "ms": 1e3, "s": 1e6}[b.get("time_unit", "us")]
        times[name] = (b["real_time"] * scale, b.get("TFLOPS"))
    print(f"gpu: {ctx.get('gpu', '?')}   libtorch: {ctx.get('libtorch', '-')}")
    print(f"{'case':<14} {'distillery us':>14} {'baseline':>16} {'baseline us':>12} {'ratio':>7}")
    cases = sorted({n.split("/", 1)[1] for n in times if n.startswith("distillery_cuda/")})
    for case in cases:
        d, dfl = times[f"distillery_cuda/{case}"]
        for base in ("libtorch_cuda", "cublas"):
            key = f"{base}/{case}"
            if key in times:
                t, fl = times[key]
                extra = f"   ({dfl:.1f} vs {fl:.1f} TFLOP/s)" if dfl and fl else ""
                print(f"{case:<14} {d:>14.1f} {base:>16} {t:>12.1f} {t / d:>7.3f}{extra}")


if __name__ == "__main__":
    main(sys.argv[1] if len(sys.argv) > 1 else "cuda.json")
