"""Build the CDNOW fixture of tests/fixtures/cdnow/ and its reference values, with lifetimes.

Run once, at test-writing time, in a venv that has the MIT-licensed `lifetimes` package (0.11.3)
and pyarrow:

    python3 -m venv /tmp/lt && /tmp/lt/bin/pip install lifetimes==0.11.3 pyarrow
    /tmp/lt/bin/python bench/cdnow_reference.py

It writes
- `transactions.parquet`: CDNOW_sample.txt from the lifetimes package (2,357 customers who made
  their first purchase in Q1 1997, every transaction to June 1998) as an evergreen dump: one order
  per line (`customer_id`, `order_id`, `ts` at midnight UTC, `amount`);
- `summary.csv`: the paper's calibration summary (x, t_x, T in weeks, zbar), as lifetimes ships it
  (`cdnow_customers_summary_with_transactions.csv`);
- `reference.json`: what lifetimes computes (scipy's optimiser, cephes' hyp2f1) on
  1. the paper's summary, in weeks: BG/NBD and Gamma-Gamma parameters, the log-likelihood, and
     P(alive), expected purchases in 39 weeks and expected order value for a few customers;
  2. the summary evergreen's rules give for `--as-of 1997-10-01` (purchase days before that date,
     days as the unit; a purchase has a positive amount, so the 8 zero-value transactions are not
     purchases and their 8 customers not customers): the same, with expected purchases over 90 days;
  3. the holdout check of `--holdout-from 1997-10-01 --as-of 1998-07-01`: the model of 2. predicts
     each customer's repeat purchase days in the 273 holdout days; the actual ones are counted from
     the transactions.
evergreen's values are never used here: the test compares the two.
"""
import json, os
import numpy as np, pandas as pd
import pyarrow as pa, pyarrow.parquet as pq
import lifetimes
from lifetimes import BetaGeoFitter, GammaGammaFitter

DATA = os.path.join(os.path.dirname(lifetimes.__file__), "datasets")
OUT = os.path.join(os.path.dirname(__file__), "..", "tests", "fixtures", "cdnow")

t = pd.read_csv(os.path.join(DATA, "CDNOW_sample.txt"), sep=r"\s+", header=None,
                names=["cid", "id", "date", "qty", "amt"], dtype={"date": str})
t["ts"] = pd.to_datetime(t["date"]).dt.tz_localize("UTC")
dump = pa.table({
    "customer_id": pa.array(t["id"].astype("int64")),
    "order_id": pa.array(np.arange(1, len(t) + 1, dtype="int64")),
    "ts": pa.array(t["ts"].dt.tz_localize(None), pa.timestamp("us")),
    "amount": pa.array(t["amt"].astype("float64")),
})
pq.write_table(dump, os.path.join(OUT, "transactions.parquet"))

paper = pd.read_csv(os.path.join(DATA, "cdnow_customers_summary_with_transactions.csv"))
paper.to_csv(os.path.join(OUT, "summary.csv"), index=False)

PICK = [1, 2, 3, 18, 100, 720, 1005, 2000]


def ll_sum(bgf, x, tx, T):
    r, alpha, a, b = (bgf.params_[k] for k in ["r", "alpha", "a", "b"])
    return float(-BetaGeoFitter._negative_log_likelihood(
        np.log([r, alpha, a, b]), x.values, tx.values, T.values, np.ones(len(x)), 0.0) * len(x))


def fit(x, tx, T, m, ids, horizon):
    bgf = BetaGeoFitter().fit(x, tx, T)
    rep = x > 0
    ggf = GammaGammaFitter().fit(x[rep], m[rep])
    sel = ids.isin(PICK)
    out = {
        "bgnbd": {k: float(bgf.params_[k]) for k in ["r", "alpha", "a", "b"]},
        "bgnbd_log_likelihood": ll_sum(bgf, x, tx, T),
        "gamma_gamma": {k: float(ggf.params_[k]) for k in ["p", "q", "v"]},
        "horizon": horizon,
        "customers": [],
    }
    pa_ = bgf.conditional_probability_alive(x[sel], tx[sel], T[sel])
    ep = bgf.conditional_expected_number_of_purchases_up_to_time(horizon, x[sel], tx[sel], T[sel])
    ev = ggf.conditional_expected_average_profit(x[sel], m[sel])
    for i, cid in enumerate(ids[sel]):
        out["customers"].append({
            "customer_id": int(cid), "x": int(x[sel].iloc[i]), "t_x": float(tx[sel].iloc[i]),
            "T": float(T[sel].iloc[i]), "p_alive": float(np.atleast_1d(pa_)[i]),
            "expected_purchases": float(np.atleast_1d(ep)[i]),
            "expected_order_value": float(np.atleast_1d(ev)[i]),
        })
    return out


ref = {"lifetimes_version": lifetimes.__version__}
ref["paper_weeks"] = fit(paper["x"], paper["t_x"], paper["T"], paper["zbar"], paper["ID"], 39.0)

# evergreen's rules at as_of 1997-10-01: purchase days before it, days as the unit.
D = pd.Timestamp("1997-10-01", tz="UTC")
purchases = t[t["amt"].round(2) > 0]
cal = purchases[purchases["ts"] < D]
days = cal.groupby(["id", "ts"]).amt.sum().reset_index().sort_values(["id", "ts"])
g = days.groupby("id")
s = pd.DataFrame({"first": g.ts.min(), "last": g.ts.max(), "n": g.ts.count(), "tot": g.amt.sum(),
                  "first_amt": g.amt.first()})
s["x"] = s.n - 1
s["t_x"] = (s["last"] - s["first"]).dt.days.astype(float)
s["T"] = (D - s["first"]).dt.days.astype(float)
s["m"] = np.where(s.x > 0, (s.tot - s.first_amt) / s.x.clip(lower=1), 0.0)
s = s.reset_index()
ref["evergreen_days"] = fit(s["x"], s["t_x"], s["T"], s["m"], s["id"], 90.0)

E = pd.Timestamp("1998-07-01", tz="UTC")
bgf = BetaGeoFitter().fit(s["x"], s["t_x"], s["T"])
horizon = float((E - D).days)
pred = bgf.conditional_expected_number_of_purchases_up_to_time(horizon, s["x"], s["t_x"], s["T"])
hold = purchases[(purchases["ts"] >= D) & (purchases["ts"] < E)]
actual = hold.groupby("id").ts.nunique().reindex(s["id"]).fillna(0).astype(int)
ref["holdout"] = {
    "holdout_days": horizon,
    "customers": int(len(s)),
    "predicted_purchases": float(pred.sum()),
    "actual_purchases": int(actual.sum()),
    "purchases_mae": float((pred.values - actual.values).__abs__().mean()),
    "per_customer": [{"customer_id": int(c), "predicted": float(pred[i]), "actual": int(actual.iloc[i])}
                     for i, c in enumerate(s["id"]) if c in PICK],
}
with open(os.path.join(OUT, "reference.json"), "w") as f:
    json.dump(ref, f, indent=1)
print(json.dumps({k: (v if not isinstance(v, dict) else {kk: vv for kk, vv in v.items() if kk != "customers"}) for k, v in ref.items()}, indent=1))
