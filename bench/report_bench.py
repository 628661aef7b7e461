#!/usr/bin/env python3
"""Issue 16's report benchmark: `evergreen report` on a large run's output, against DuckDB computing
the same charted numbers from the same Parquet tables, in the same run.

The output comes from `evergreen run --clv` on a generated dump (bench/scale.py's generator,
--lines; kept in --work). evergreen side: the whole `evergreen report` process (read the tables,
aggregate, draw the SVG, write the page). Peer side: DuckDB (in-process, so no process start) runs
the SQL of every chart's rows (R x F grid, lapse buckets, CLV deciles, P(alive) bands, the top pairs,
cohorts, segments, deciles, kpis) and fetches them: no drawing, no page, so the ratio favours the
peer. The R x F grid, lapse buckets and CLV deciles of both sides are compared too.
--repeat K rounds alternate the two; medians, the ratio evergreen / peer, and the page's size.
Fails (exit 1) when the median report takes 1 s or more or the page is 2 MB or more.

Usage:
  python3 bench/report_bench.py --bin target/release/evergreen --lines 10M --repeat 5 --work bench/data
Needs: pip install duckdb
"""
import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
from scale import dump_for, size  # noqa: E402


def page_data(path: str) -> dict:
    html = open(path, encoding="utf-8").read()
    start = html.index('<script type="application/json" id="evergreen-data">')
    start = html.index(">", start) + 1
    return json.loads(html[start:html.index("</script>", start)])


def peer(out: str, width: int) -> dict:
    import duckdb
    t = lambda name: f"read_parquet('{os.path.join(out, name + '.parquet')}')"  # noqa: E731
    con = duckdb.connect()
    q = {
        "rf_heatmap": f"SELECT r_score, f_score, count(*), sum(round(monetary * 100)::BIGINT) / 100.0 "
                      f"FROM {t('customers')} GROUP BY ALL ORDER BY 1, 2",
        "lapse_buckets": f"SELECT lapse_bucket_order, lapse_bucket, count(*), sum(round(monetary * 100)::BIGINT) / 100.0 "
                         f"FROM {t('customers')} GROUP BY ALL ORDER BY 1",
        "clv_deciles": f"SELECT clv_decile, count(*), sum(round(clv * 100)::BIGINT) / 100.0, min(clv), max(clv) "
                       f"FROM {t('clv')} WHERE clv_decile IS NOT NULL GROUP BY ALL ORDER BY 1",
        "p_alive_recency": f"SELECT recency_days // {width} * {width} AS f, count(*), avg(p_alive) FROM {t('clv')} "
                           f"WHERE p_alive IS NOT NULL AND recency_days IS NOT NULL GROUP BY ALL ORDER BY 1",
        "top_pairs": f"SELECT least(product_id, partner_id) a, greatest(product_id, partner_id) b, "
                     f"any_value(pair_orders) o, any_value(support), any_value(lift) l FROM {t('top_pairs')} "
                     # Ranked by orders together beyond chance, o × (1 − 1/l) (issue 26).
                     f"GROUP BY ALL ORDER BY o - o / l DESC, o DESC, l DESC, a, b LIMIT 15",
        "cohort_retention": f"SELECT cohort, period_index, cohort_customers, active_customers, retention FROM {t('cohorts')} "
                            f"WHERE cohort >= (SELECT min(c) FROM (SELECT DISTINCT cohort c FROM {t('cohorts')} "
                            f"ORDER BY c DESC LIMIT 24)) AND period_index <= 24 ORDER BY 1, 2",
        "segments": f"SELECT segment, segment_order, customers, customer_share, revenue, revenue_share "
                    f"FROM {t('segment_summary')} ORDER BY segment_order NULLS LAST, segment",
        "revenue_concentration": f"SELECT decile, customers, customer_share, revenue_share FROM {t('purchase_deciles')} ORDER BY 1",
        "monetary_deciles": f"SELECT decile, customers, revenue, revenue_share, cumulative_revenue_share "
                            f"FROM {t('monetary_deciles')} ORDER BY 1",
        "kpis": f"SELECT * FROM {t('kpis')}",
    }
    return {k: con.execute(v).fetchall() for k, v in q.items()}


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--bin", default=os.path.join(os.path.dirname(HERE), "target/release/evergreen"))
    ap.add_argument("--lines", default="1M")
    ap.add_argument("--repeat", type=int, default=5)
    ap.add_argument("--work", default=None, help="folder for the dump and the output (kept)")
    a = ap.parse_args()

    work = a.work or tempfile.mkdtemp(prefix="evergreen-report-bench-")
    os.makedirs(work, exist_ok=True)
    n = size(a.lines)
    dump = dump_for(work, n, "shuffled")
    out = os.path.join(work, f"out-clv-{n}")
    if not os.path.exists(os.path.join(out, "_SUCCESS")):
        subprocess.run([a.bin, "-q", "run", "--input", dump, "--out", out, "--clv"], check=True)
    page = os.path.join(work, f"report-{n}.html")
    ours, theirs = [], []
    for _ in range(a.repeat):
        t = time.perf_counter()
        subprocess.run([a.bin, "-q", "report", "--tables", out, "--out", page], check=True)
        ours.append(time.perf_counter() - t)
        data = page_data(page)
        charts = {c["id"]: c for c in data["charts"]}
        rows = charts["p_alive_recency"]["rows"]
        width = rows[0]["recency_to"] - rows[0]["recency_from"] + 1
        t = time.perf_counter()
        got = peer(out, width)
        theirs.append(time.perf_counter() - t)
    # The same numbers on both sides.
    rf = [(r["r_score"], r["f_score"], r["customers"], round(r["revenue"], 2)) for r in charts["rf_heatmap"]["rows"]]
    assert rf == [(x[0], x[1], x[2], round(x[3], 2)) for x in got["rf_heatmap"]], "R x F differs"
    lapse = [(r["lapse_bucket"], r["customers"], round(r["revenue"], 2)) for r in charts["lapse_buckets"]["rows"]]
    assert lapse == [(x[1], x[2], round(x[3], 2)) for x in got["lapse_buckets"]], "lapse buckets differ"
    clv = [(r["clv_decile"], r["customers"], round(r["clv"], 2)) for r in charts["clv_deciles"]["rows"]]
    assert clv == [(x[0], x[1], round(x[2], 2)) for x in got["clv_deciles"]], "CLV deciles differ"
    pairs = [(r["lift"], r["pair_orders"]) for r in charts["top_pairs"]["rows"]]
    assert pairs == [(x[4], x[2]) for x in got["top_pairs"]], "top pairs differ"
    assert len(charts["cohort_retention"]["rows"]) == len(got["cohort_retention"]), "cohort cells differ"

    mo, mp = statistics.median(ours), statistics.median(theirs)
    paired = statistics.median(o / p for o, p in zip(ours, theirs))
    kb = os.path.getsize(page) / 1024
    customers = data["headline"]["customers"]
    print(f"report of a {n:,}-line run's output ({customers:,} customers, {len(charts)} charts):")
    print(f"  evergreen report (whole process: read, aggregate, draw, write): median {mo:.3f}s  {[round(x, 3) for x in ours]}")
    print(f"  DuckDB, the same charted rows (in-process, no drawing):          median {mp:.3f}s  {[round(x, 3) for x in theirs]}")
    print(f"  ratio evergreen / peer: {mo / mp:.2f} (of medians), {paired:.2f} (median of paired rounds)")
    print(f"  page: {kb:.0f} KB ({page})")
    if mo >= 1.0 or kb >= 2048:
        print("FAIL: the report must take under 1 s and stay under 2 MB")
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
