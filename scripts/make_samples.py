#!/usr/bin/env python3
"""Make the small, real-looking dumps in data-samples/ (deterministic: fixed seed).

transactions.parquet   default column names: customer_id (int, nulls = guests), order_id, ts,
                       product_id, quantity, amount, cost
online_retail.parquet  the UCI "Online Retail" layout: InvoiceNo (string, 'C' = cancellation),
                       StockCode (string, e.g. 85099B), Description, Quantity, InvoiceDate
                       (ns timestamp), UnitPrice, CustomerID (float with nulls), Country
baskets.parquet        basket-only: basket_id, item (no customer, date or amount)

Usage: python3 scripts/make_samples.py [OUT_DIR]   (needs pyarrow)
"""
import datetime as dt
import random
import sys

import pyarrow as pa
import pyarrow.parquet as pq

out = sys.argv[1] if len(sys.argv) > 1 else "data-samples"
rng = random.Random(20261123)
START = dt.datetime(2024, 1, 1)
DAYS = 365

N_PRODUCTS = 400
products = list(range(1000, 1000 + N_PRODUCTS))
prices = {p: round(rng.choice([0.42, 0.85, 1.25, 1.65, 2.1, 2.95, 3.75, 4.95, 7.95, 12.75, 19.95]) * rng.uniform(0.8, 1.2), 2) for p in products}
# Popular products are picked more often (Zipf-like), with a few "bundles" bought together.
weights = [1.0 / (i + 1) ** 0.8 for i in range(N_PRODUCTS)]
bundles = [rng.sample(products[:60], 3) for _ in range(15)]


def basket(size):
    items = set(rng.choices(products, weights=weights, k=size))
    if rng.random() < 0.35:
        items.update(rng.choice(bundles))
    return sorted(items)


def customer_pool(n):
    # Pareto-distributed value: a few customers buy very often.
    return [(cid, rng.paretovariate(1.2)) for cid in n]


def transactions():
    cols = {k: [] for k in ["customer_id", "order_id", "ts", "product_id", "quantity", "amount", "cost"]}
    custs = customer_pool(range(1, 1501))
    total_w = sum(w for _, w in custs)
    order_id = 500000
    for cid, w in custs:
        n_orders = max(1, min(60, int(round(w * 6000 / total_w * 3))))
        first = rng.randint(0, DAYS - 1)
        for _ in range(n_orders):
            order_id += 1
            day = rng.randint(first, DAYS - 1)
            ts = START + dt.timedelta(days=day, seconds=rng.randint(8 * 3600, 20 * 3600))
            items = basket(max(1, int(rng.expovariate(1 / 4))))
            lines = []
            for p in items:
                q = rng.choice([1, 1, 1, 2, 2, 3, 4, 6, 12])
                lines.append((p, q, round(q * prices[p], 2)))
            if rng.random() < 0.02:  # a promotion: zero-value order
                lines = [(p, q, 0.0) for p, q, _ in lines]
            for p, q, a in lines:
                for k, v in zip(cols, [cid, order_id, ts, p, q, a, round(a * rng.uniform(0.4, 0.7), 2)]):
                    cols[k].append(v)
            if rng.random() < 0.05:  # a later return of one line, as its own order
                order_id += 1
                p, q, a = rng.choice(lines)
                rts = ts + dt.timedelta(days=rng.randint(1, 20))
                for k, v in zip(cols, [cid, order_id, rts, p, -q, -a, -round(a * 0.55, 2)]):
                    cols[k].append(v)
    # Guest orders: no customer.
    for _ in range(1200):
        order_id += 1
        ts = START + dt.timedelta(days=rng.randint(0, DAYS - 1), seconds=rng.randint(0, 86399))
        for p in basket(max(1, int(rng.expovariate(1 / 3)))):
            q = rng.choice([1, 1, 2, 3])
            a = round(q * prices[p], 2)
            for k, v in zip(cols, [None, order_id, ts, p, q, a, round(a * 0.5, 2)]):
                cols[k].append(v)
    table = pa.table({
        "customer_id": pa.array(cols["customer_id"], pa.int64()),
        "order_id": pa.array(cols["order_id"], pa.int64()),
        "ts": pa.array(cols["ts"], pa.timestamp("us")),
        "product_id": pa.array(cols["product_id"], pa.int64()),
        "quantity": pa.array(cols["quantity"], pa.int32()),
        "amount": pa.array(cols["amount"], pa.float64()),
        "cost": pa.array(cols["cost"], pa.float64()),
    })
    pq.write_table(table, f"{out}/transactions.parquet", compression="zstd")
    return table.num_rows


def product_names(codes):
    """A name in the UCI dump's style (upper case: a colour or material, a motif, a thing) for each
    code, distinct, from a generator of its own so the other columns stay as they were."""
    names_rng = random.Random(52)
    first = ["WHITE", "RED", "PINK", "BLUE", "GREEN", "IVORY", "VINTAGE", "RETRO", "WOODEN", "GLASS",
             "ENAMEL", "ZINC", "PAPER", "CERAMIC", "SET OF 3", "SET OF 6", "JUMBO", "MINI", "SWEETHEART",
             "REGENCY", "FRENCH", "SCANDINAVIAN", "HANGING", "PAINTED"]
    motif = ["HEART", "SPOTTY", "POLKADOT", "FLORAL", "BIRD", "STAR", "ROSE", "PAISLEY", "CHRISTMAS",
             "UNION JACK", "VICTORIAN", "DOLLY GIRL", "SKULL", "STRAWBERRY", "LOVEBIRD", "BAROQUE", "LACE"]
    thing = ["T-LIGHT HOLDER", "LANTERN", "CAKE TIN", "TEA CUP AND SAUCER", "LUNCH BAG", "BUNTING",
             "DOORMAT", "CANDLE", "PHOTO FRAME", "SHOPPING BAG", "NOTEBOOK", "PURSE", "CLOCK", "MUG",
             "TRINKET BOX", "COAT HANGER", "HOT WATER BOTTLE", "CUSHION COVER", "PARTY CUPS", "WALL SIGN"]
    names, taken = {}, set()
    for c in codes:
        while True:
            n = f"{names_rng.choice(first)} {names_rng.choice(motif)} {names_rng.choice(thing)}"
            if n not in taken:
                break
        taken.add(n)
        names[c] = n
    return names


def online_retail():
    codes = [f"{rng.randint(10000, 99999)}{rng.choice(['', '', '', 'A', 'B', 'C'])}" for _ in range(300)]
    descr = product_names(codes)
    price = {c: rng.choice([0.29, 0.42, 0.85, 1.25, 1.65, 2.55, 2.95, 4.95, 8.5]) for c in codes}
    w = [1.0 / (i + 1) ** 0.7 for i in range(len(codes))]
    rows = []
    inv = 536365
    custs = [(12346.0 + i, rng.paretovariate(1.1)) for i in range(900)]
    for cid, wt in custs:
        country = rng.choice(["United Kingdom"] * 8 + ["France", "Germany", "EIRE"])
        for _ in range(max(1, min(40, int(wt * 2)))):
            inv += 1
            ts = START + dt.timedelta(days=rng.randint(0, DAYS - 1), hours=rng.randint(8, 19), minutes=rng.randint(0, 59))
            items = sorted(set(rng.choices(codes, weights=w, k=max(1, int(rng.expovariate(1 / 9))))))
            lines = [(c, rng.choice([1, 2, 3, 6, 12, 24])) for c in items]
            for c, q in lines:
                rows.append((str(inv), c, descr[c], q, ts, price[c], cid, country))
            if rng.random() < 0.04:  # cancellation invoice, negative quantities
                inv += 1
                c, q = rng.choice(lines)
                rows.append((f"C{inv}", c, descr[c], -q, ts + dt.timedelta(hours=rng.randint(1, 72)), price[c], cid, country))
            if rng.random() < 0.02:  # postage line
                rows.append((str(inv), "POST", "POSTAGE", 1, ts, 18.0, cid, country))
    for _ in range(400):  # no customer recorded
        inv += 1
        ts = START + dt.timedelta(days=rng.randint(0, DAYS - 1), hours=rng.randint(8, 19))
        for c in sorted(set(rng.choices(codes, weights=w, k=max(1, int(rng.expovariate(1 / 6)))))):
            rows.append((str(inv), c, descr[c], rng.choice([1, 2, 4]), ts, price[c], None, "United Kingdom"))
    cols = list(zip(*rows))
    table = pa.table({
        "InvoiceNo": pa.array(cols[0], pa.string()),
        "StockCode": pa.array(cols[1], pa.string()),
        "Description": pa.array(cols[2], pa.string()),
        "Quantity": pa.array(cols[3], pa.int64()),
        "InvoiceDate": pa.array(cols[4], pa.timestamp("ns")),
        "UnitPrice": pa.array(cols[5], pa.float64()),
        "CustomerID": pa.array(cols[6], pa.float64()),
        "Country": pa.array(cols[7], pa.string()),
    })
    pq.write_table(table, f"{out}/online_retail.parquet", compression="zstd")
    return table.num_rows


def baskets():
    items = [f"item_{i:04d}" for i in range(800)]
    w = [1.0 / (i + 1) ** 0.9 for i in range(len(items))]
    b, it = [], []
    for bid in range(1, 5001):
        for x in sorted(set(rng.choices(items, weights=w, k=max(1, int(rng.expovariate(1 / 8)))))):
            b.append(bid)
            it.append(x)
    pq.write_table(pa.table({"basket_id": pa.array(b, pa.int64()), "item": pa.array(it, pa.string())}),
                   f"{out}/baskets.parquet", compression="zstd")
    return len(b)


if __name__ == "__main__":
    print("transactions.parquet", transactions(), "lines")
    print("online_retail.parquet", online_retail(), "lines")
    print("baskets.parquet", baskets(), "lines")
