#!/usr/bin/env python3
"""Significant and non-redundant rules on Belgian retail (issue 34), independent of evergreen.

Reads pyfim's rules (tests/fixtures/belgian/rules_sN_c50.tsv: antecedent, consequent, n, n_a, n_c;
see that folder's README) and, for each rule X -> y over the 88,162 baskets:

* p_value: Fisher's exact test, one-sided (positive association), as arules'
  interestMeasure(x, "fishersExactTest") computes it: scipy.stats.fisher_exact on the table
  [[n, n_a - n], [n_c - n, N - n_a - n_c + n]] with alternative="greater";
* p_bonferroni, p_holm, p_bh: the p-values adjusted over all rules of the file, as R's
  p.adjust(method = "bonferroni" | "holm" | "BH");
* improvement: arules' improvement (interestMeasure(x, "improvement")): confidence minus the
  largest confidence of a rule X' -> y in the same file with X' a non-empty proper subset of X, or
  minus 0 when there is none; is.redundant(x) is improvement <= 0. A plain loop over the rules.

Writes tests/fixtures/belgian/significance_sN_c50.tsv: antecedent, consequent, p_value,
p_bonferroni, p_holm, p_bh, improvement (floats as repr), one line per rule in the input's order.

Usage: python3 bench/rules_significance_reference.py [--fixtures tests/fixtures/belgian]
Needs: pip install scipy (made with scipy 1.17.1, Python 3.11)
"""
import argparse
import os
from itertools import combinations

from scipy.stats import fisher_exact

N = 88_162


def adjust(p, method):
    """R's p.adjust for bonferroni, holm and BH."""
    m = len(p)
    order = sorted(range(m), key=lambda i: p[i])
    out = [0.0] * m
    if method == "bonferroni":
        return [min(1.0, x * m) for x in p]
    if method == "holm":
        run = 0.0
        for rank, i in enumerate(order):
            run = max(run, min(1.0, (m - rank) * p[i]))
            out[i] = run
        return out
    if method == "bh":
        run = 1.0
        for rank in range(m - 1, -1, -1):
            i = order[rank]
            run = min(run, min(1.0, m / (rank + 1) * p[i]))
            out[i] = run
        return out
    raise ValueError(method)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--fixtures", default="tests/fixtures/belgian")
    a = ap.parse_args()
    for count in (89, 441):
        rules = []
        with open(os.path.join(a.fixtures, f"rules_s{count}_c50.tsv")) as f:
            for line in f:
                if line.strip():
                    ant, cons, n, n_a, n_c = line.rstrip("\n").split("\t")
                    rules.append((tuple(int(x) for x in ant.split(",")), int(cons), int(n), int(n_a), int(n_c)))
        p = []
        for ant, cons, n, n_a, n_c in rules:
            table = [[n, n_a - n], [n_c - n, N - n_a - n_c + n]]
            p.append(float(fisher_exact(table, alternative="greater").pvalue))
        conf = {(ant, cons): n / n_a for ant, cons, n, n_a, _ in rules}
        improvement = []
        for ant, cons, n, n_a, _ in rules:
            best = 0.0
            for k in range(1, len(ant)):
                for sub in combinations(ant, k):
                    if (sub, cons) in conf:
                        best = max(best, conf[(sub, cons)])
            improvement.append(n / n_a - best)
        adj = {m: adjust(p, m) for m in ("bonferroni", "holm", "bh")}
        path = os.path.join(a.fixtures, f"significance_s{count}_c50.tsv")
        with open(path, "w") as f:
            for i, (ant, cons, *_rest) in enumerate(rules):
                f.write("\t".join([",".join(map(str, ant)), str(cons), repr(p[i]), repr(adj["bonferroni"][i]),
                                   repr(adj["holm"][i]), repr(adj["bh"][i]), repr(improvement[i])]) + "\n")
        redundant = sum(1 for x in improvement if x <= 0)
        significant = sum(1 for x in adj["bonferroni"] if x <= 0.01)
        print(f"{path}: {len(rules)} rules, {redundant} redundant, {significant} significant at 0.01 (Bonferroni)")


if __name__ == "__main__":
    main()
