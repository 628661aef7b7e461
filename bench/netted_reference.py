"""Reference for issue 31's returns rule: the netted CLV summary of data-samples/online_retail.parquet
and lifetimes' Gamma-Gamma fitted on it, computed once at test-writing time from the README's rules
alone (pandas; evergreen's output is never read here):

    /tmp/lt/bin/python bench/netted_reference.py

Rules (README, docs/input.md, docs/clv.md): a line's amount is Quantity * UnitPrice; lines without a
customer are guest lines; an order's net is the sum of its lines rounded to cents, a purchase order
has net > 0; a customer's net spend is the sum of all their lines (return invoices included); the
purchase days are the UTC dates of their purchase orders' earliest lines; x = purchase days - 1;
the spend model reads (net spend - the first purchase day's purchase-order amounts) / x, never
below 0. as-of is the day after the last line (the default). lifetimes' GammaGammaFitter is fitted
on the customers with x > 0 and a positive average, as evergreen fits it.

Writes tests/fixtures/online_retail_netted.json: every customer's x and average (to 1e-9), and the
fitted p, q, gamma.
"""
import json
import os

import numpy as np
import pandas as pd
from lifetimes import GammaGammaFitter

ROOT = os.path.join(os.path.dirname(__file__), "..")
t = pd.read_parquet(os.path.join(ROOT, "data-samples", "online_retail.parquet"))
t = t[t["InvoiceNo"].notna() & t["InvoiceDate"].notna() & t["Quantity"].notna() & t["UnitPrice"].notna()]
t = t.assign(amount=t["Quantity"] * t["UnitPrice"])
# An order naming two customers is rejected whole (none in this sample; checked).
named = t[t["CustomerID"].notna()]
assert (named.groupby("InvoiceNo")["CustomerID"].nunique() <= 1).all()
c = named.assign(customer=named["CustomerID"].astype("int64"))
orders = c.groupby("InvoiceNo").agg(customer=("customer", "first"), ts=("InvoiceDate", "min"),
                                     net=("amount", "sum")).reset_index()
orders["purchase"] = orders["net"].round(2) > 0
orders["day"] = orders["ts"].dt.floor("D")
spend = c.groupby("customer")["amount"].sum()
p = orders[orders["purchase"]]
first_day = p.groupby("customer")["day"].min()
days = p.groupby("customer")["day"].nunique()
first_value = p[p["day"] == p["customer"].map(first_day)].groupby("customer")["net"].sum()
x = days - 1
avg = ((spend.reindex(x.index) - first_value.reindex(x.index)) / x.where(x > 0)).clip(lower=0.0)
fit = x[(x > 0) & (avg > 0)].index
# On this sample the spend likelihood is highest as q and gamma grow together (no heterogeneity in
# the customers' mean spend): lifetimes' fit stops there with a ConvergenceError. What the data
# identify is p, the scale gamma / q (the mean spend is p * gamma / (q - 1)) and the likelihood, so
# those are kept, from lifetimes' own negative log-likelihood minimised as its fit does (BFGS over
# the log parameters, from its start of ones).
from scipy.optimize import minimize
fx, fm = x[fit].values.astype(float), avg[fit].values
w = np.ones(len(fit))
try:
    gg = GammaGammaFitter().fit(x[fit], avg[fit])
    lp = np.log([gg.params_[k] for k in ["p", "q", "v"]])
except Exception:  # lifetimes.utils.ConvergenceError
    lp = minimize(GammaGammaFitter._negative_log_likelihood, np.zeros(3), args=(fx, fm, w, 0.0), method="BFGS",
                  options={"gtol": 1e-10}).x
p_, q_, v_ = np.exp(lp)
# The supremum the fit runs towards: q held at 1e8 (past where the likelihood still moves in the
# 3rd decimal), p and gamma / q maximised by lifetimes' own likelihood.
Q = 1e8
nll_q = lambda a: GammaGammaFitter._negative_log_likelihood(np.array([a[0], np.log(Q), a[1] + np.log(Q)]), fx, fm, w, 0.0)
lim = minimize(nll_q, np.array([np.log(p_), np.log(v_ / q_)]), method="Nelder-Mead",
               options={"xatol": 1e-10, "fatol": 1e-12, "maxiter": 20000}).x
out = {
    "customers": {str(k): [int(x[k]), None if x[k] == 0 else float(avg[k])] for k in x.index},
    "gamma_gamma": {"p": float(p_), "gamma_over_q": float(v_ / q_), "q": float(q_),
                    "log_likelihood": float(-GammaGammaFitter._negative_log_likelihood(lp, fx, fm, w, 0.0) * len(fit))},
    "gamma_gamma_at_q_1e8": {"p": float(np.exp(lim[0])), "gamma_over_q": float(np.exp(lim[1])),
                             "log_likelihood": float(-nll_q(lim) * len(fit))},
    "fitted_customers": int(len(fit)),
}
with open(os.path.join(ROOT, "tests", "fixtures", "online_retail_netted.json"), "w") as f:
    json.dump(out, f)
print(len(x), len(fit), out["gamma_gamma"])
big = avg.sort_values(ascending=False).head(3)
print(big)
