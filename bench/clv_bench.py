#!/usr/bin/env python3
"""CLV fit speed (issue 12): evergreen against lifetimes, the fastest peer, on the same summary.

1. Simulates a dump from the BG/NBD and Gamma-Gamma generative processes (CDNOW-like parameters
   in days: r = 0.243, alpha = 30.8, a = 0.81, b = 2.47; p = 6.25, q = 3.74, gamma = 15.44), with
   each customer's first purchase uniform over the last 365 days: one order per purchase.
2. Runs `evergreen clv` on it (release build) --repeat times; the fit and prediction time is the
   manifest's `clv.seconds.fit + predict` (the summary, rows collapsed, the three purchase models'
   and Gamma-Gamma's fits with standard errors, the chosen model's P(alive), expected and
   discounted purchases, purchase probabilities and next purchase dates); also printed: the whole `clv_tables` stage (with the
   table's values, order and deciles) and the wall time of the command (reading the dump included).
3. Gives lifetimes 0.11.3 the summary evergreen wrote (clv.parquet: repeat_purchases,
   repeat_span_days, customer_age_days, avg_repeat_order_value), with identical rows collapsed
   into weights as lifetimes allows, and times BetaGeoFitter, ModifiedBetaGeoFitter and
   ParetoNBDFitter (fit, P(alive), expected purchases over 90 days: --lifetimes-models) and
   GammaGammaFitter (fit, expected order value).
4. Prints medians, the ratio, and how far the parameters agree (significant digits).

lifetimes runs in its own venv (it needs an old-API autograd and scipy):
    python3 -m venv /tmp/lt && /tmp/lt/bin/pip install lifetimes==0.11.3 pyarrow
    python3 bench/clv_bench.py --customers 1M --lifetimes-python /tmp/lt/bin/python
"""
import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import textwrap
import time

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
AS_OF = "2025-01-01"


def size(s: str) -> int:
    s = s.strip().upper()
    mult = {"K": 1_000, "M": 1_000_000}.get(s[-1], 1)
    return int(float(s.rstrip("KM")) * mult)


def simulate(n: int, path: str, seed: int = 12) -> int:
    """BG/NBD purchase days and Gamma-Gamma values for n customers; writes the dump, returns lines."""
    rng = np.random.default_rng(seed)
    r, alpha, a, b = 0.243, 30.8, 0.81, 2.47
    p, q, g = 6.25, 3.74, 15.44
    lam = rng.gamma(r, 1.0 / alpha, n)
    drop = rng.beta(a, b, n)
    nu = rng.gamma(q, 1.0 / g, n)  # per-customer Gamma scale of the values
    age = rng.integers(1, 366, n).astype(float)  # T in days
    cust, when = [np.arange(n)], [np.zeros(n)]
    t = np.zeros(n)
    alive = np.ones(n, bool)
    while alive.any():
        idx = np.flatnonzero(alive)
        t[idx] += rng.exponential(1.0 / np.maximum(lam[idx], 1e-12))
        ok = t[idx] < age[idx]
        buy = idx[ok]
        cust.append(buy)
        when.append(t[buy])
        alive[idx[~ok]] = False
        died = buy[rng.random(buy.size) < drop[buy]]
        alive[died] = False
    cust = np.concatenate(cust)
    when = np.concatenate(when)
    as_of = np.datetime64(AS_OF, "us")
    first = as_of - (age[cust] * 86_400e6).astype("timedelta64[us]")
    ts = first + (when * 86_400e6).astype("timedelta64[us]")
    amount = np.round(rng.gamma(p, 1.0 / nu[cust]), 2) + 0.01
    order = np.arange(cust.size)
    tab = pa.table({"customer_id": cust.astype("int64"), "order_id": order.astype("int64"),
                    "ts": pa.array(ts, pa.timestamp("us")), "amount": amount})
    pq.write_table(tab, path)
    return cust.size


LIFETIMES = textwrap.dedent("""
    import json, sys, time, warnings
    import numpy as np, pyarrow.parquet as pq, pandas as pd
    from lifetimes import BetaGeoFitter, GammaGammaFitter, ModifiedBetaGeoFitter, ParetoNBDFitter
    warnings.filterwarnings("ignore")
    clv, repeat = sys.argv[1], int(sys.argv[2])
    every = {"bgnbd": BetaGeoFitter, "mbgnbd": ModifiedBetaGeoFitter, "pareto_nbd": ParetoNBDFitter}
    models = [(k, every[k]) for k in sys.argv[3].split(",")]
    d = pq.read_table(clv, columns=["repeat_purchases", "repeat_span_days", "customer_age_days",
                                    "avg_repeat_order_value"]).to_pandas()
    out = {"times": []}
    for _ in range(repeat):
        t0 = time.perf_counter()
        # Identical (x, t_x, T) rows collapsed into weights (lifetimes' `weights`).
        s = d.groupby(["repeat_purchases", "repeat_span_days", "customer_age_days"]).size().reset_index(name="w")
        rep = d[(d.repeat_purchases > 0) & (d.avg_repeat_order_value > 0)]
        g = rep.groupby(["repeat_purchases", "avg_repeat_order_value"]).size().reset_index(name="w")
        ggf = GammaGammaFitter().fit(g.repeat_purchases, g.avg_repeat_order_value, weights=g.w)
        ev = ggf.conditional_expected_average_profit(d.repeat_purchases, d.avg_repeat_order_value.fillna(0))
        fitted = {}
        for name, cls in models:
            t1 = time.perf_counter()
            f = cls().fit(s.repeat_purchases, s.repeat_span_days, s.customer_age_days, weights=s.w)
            f.conditional_probability_alive(s.repeat_purchases, s.repeat_span_days, s.customer_age_days)
            f.conditional_expected_number_of_purchases_up_to_time(90, s.repeat_purchases, s.repeat_span_days, s.customer_age_days)
            fitted[name] = f
            out.setdefault("model_times", {}).setdefault(name, []).append(time.perf_counter() - t1)
        out["times"].append(time.perf_counter() - t0)
    bgf = fitted["bgnbd"]
    for name, f in fitted.items():
        out[name] = {k: float(v) for k, v in f.params_.items()}
    out["gamma_gamma"] = {k: float(ggf.params_[k]) for k in ["p", "q", "v"]}
    out["rows"] = [int(len(s)), int(len(g))]
    print(json.dumps(out))
""")


def digits(x: float, y: float) -> float:
    """Significant digits on which x and y agree (-log10 of the relative difference)."""
    if x == y:
        return 16.0
    return float(-np.log10(abs(x - y) / max(abs(x), abs(y))))


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--bin", default=os.path.join(ROOT, "target/release/evergreen"))
    ap.add_argument("--customers", default="1M")
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--lifetimes-python", default=None, help="a python with lifetimes 0.11.3 (skip the peer without it)")
    ap.add_argument("--work", default=None)
    ap.add_argument("--lifetimes-models", default="bgnbd,mbgnbd,pareto_nbd",
                    help="the purchase models lifetimes fits (all three by default, as evergreen does)")
    a = ap.parse_args()
    n = size(a.customers)
    work = a.work or tempfile.mkdtemp(prefix="evergreen-clv-bench-")
    dump = os.path.join(work, f"clv-{n}.parquet")
    if not os.path.exists(dump):
        t = time.perf_counter()
        lines = simulate(n, dump)
        print(f"simulated {n:,} customers, {lines:,} lines in {time.perf_counter() - t:.1f}s", flush=True)
    out = os.path.join(work, "out")
    fits, walls, tables = [], [], []
    for _ in range(a.repeat):
        t = time.perf_counter()
        r = subprocess.run([a.bin, "clv", "--input", dump, "--out", out, "--as-of", AS_OF],
                           stderr=subprocess.PIPE, text=True)
        walls.append(time.perf_counter() - t)
        if r.returncode != 0:
            print(r.stderr)
            return 1
        m = json.load(open(os.path.join(out, "_manifest.json")))
        fits.append(m["clv"]["seconds"]["fit"] + m["clv"]["seconds"]["predict"])
        tables.append(m["timings"]["clv_tables"])
    ev = m["clv"]
    print(f"evergreen clv: fit + predictions median {statistics.median(fits):.3f}s of {a.repeat} "
          f"({', '.join(f'{x:.3f}' for x in fits)}); with the clv table {statistics.median(tables):.3f}s; "
          f"whole command {statistics.median(walls):.2f}s; "
          f"BG/NBD over {ev['bgnbd']['distinct_rows']:,} distinct rows, {ev['bgnbd']['iterations']} iterations, "
          f"peak memory {m['peak_memory_bytes'] / 1e6:.0f} MB", flush=True)
    print("  BG/NBD", {k: round(v, 6) for k, v in ev["bgnbd"]["params"].items()},
          " Gamma-Gamma", {k: round(v, 6) for k, v in ev["gamma_gamma"]["params"].items()})
    if not a.lifetimes_python:
        print("lifetimes: skipped (give --lifetimes-python)")
        return 0
    script = os.path.join(work, "lifetimes_fit.py")
    open(script, "w").write(LIFETIMES)
    r = subprocess.run([a.lifetimes_python, script, os.path.join(out, "clv.parquet"), str(a.repeat), a.lifetimes_models],
                       stdout=subprocess.PIPE, text=True, check=True)
    lt = json.loads(r.stdout)
    lt_med = statistics.median(lt["times"])
    print(f"lifetimes 0.11.3 (weights): fit + predictions median {lt_med:.3f}s "
          f"({', '.join(f'{x:.3f}' for x in lt['times'])}) over {lt['rows'][0]:,} / {lt['rows'][1]:,} rows")
    for name in a.lifetimes_models.split(","):
        print(f"  {name}: lifetimes {statistics.median(lt['model_times'][name]):.3f}s", {k: round(v, 6) for k, v in lt[name].items()})
        print(f"  {name}: evergreen", {k: round(v, 6) for k, v in ev[name]["params"].items()},
              "agree to", f"{min(digits(ev[name]['params'][k], lt[name][k]) for k in lt[name]):.1f}", "digits")
    print("  Gamma-Gamma", {k: round(v, 6) for k, v in lt["gamma_gamma"].items()})
    agree = [digits(ev["bgnbd"]["params"][k], lt["bgnbd"][k]) for k in ["r", "alpha", "a", "b"]]
    agree += [digits(ev["gamma_gamma"]["params"][k], lt["gamma_gamma"][kk]) for k, kk in [("p", "p"), ("q", "q"), ("gamma", "v")]]
    print(f"ratio lifetimes / evergreen (fit + predictions): {lt_med / statistics.median(fits):.1f}x; "
          f"BG/NBD and Gamma-Gamma parameters agree to {min(agree):.1f} significant digits (worst of 7)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
