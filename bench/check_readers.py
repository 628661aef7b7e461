#!/usr/bin/env python3
"""Check that every table evergreen writes opens in old and current readers.

Polars can write Arrow "view" types (string_view, binary_view) into the Arrow schema it stores in
the Parquet footer. pyarrow < 15 cannot even open such a file ("ArrowInvalid: Unrecognized type:
24"), so pandas on pyarrow 14, and everything built on it, cannot read the table. Unsigned
integers (Spark and Hive have none) and timestamps in a unit other than microseconds are the other
classic traps. So this script runs evergreen on every sample in data-samples/, then reads each
*.parquet it wrote with pyarrow (read_table + to_pandas) and with DuckDB, checks the row counts
against _manifest.json, and checks the Arrow schema: no view types, no unsigned integers,
timestamps in microseconds. It prints one line per table and exits 1 on any problem.

It runs under whatever pyarrow is installed; .ci/run runs it with pyarrow==14.0.2, pandas==2.1.4.
When pyarrow cannot open a file, the Arrow schema in the footer is decoded by hand (footer_columns)
to name the column it chokes on.

Usage: python3 bench/check_readers.py [--bin target/debug/evergreen]
"""
import argparse
import base64
import glob
import json
import os
import struct
import subprocess
import sys
import tempfile

import duckdb
import pandas
import pyarrow as pa
import pyarrow.parquet as pq

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))

# (output folder, evergreen arguments), run from the repo root.
RUNS = [
    ("run1", ["run", "--input", "data-samples/transactions.parquet"]),
    ("run2", ["run", "--config", "data-samples/online_retail.toml", "--input", "data-samples/online_retail.parquet"]),
    ("basket", ["basket", "--input", "data-samples/baskets.parquet", "--order-col", "basket_id", "--item-col", "item"]),
    # The CLV family (issue 12): clv, clv_params, clv_holdout, customers with lifecycle_stage.
    ("clv", ["run", "--clv", "--input", "data-samples/transactions.parquet", "--holdout-from", "2024-10-01"]),
    # The pattern family (issue 13): itemsets and rules (list columns of integer and of string
    # items), sequence_pairs.
    ("patterns1", ["run", "--itemsets", "--sequences", "--input", "data-samples/transactions.parquet",
                   "--itemset-min-support", "5", "--min-followers", "3"]),
    ("patterns2", ["patterns", "--sequences", "--config", "data-samples/online_retail.toml",
                   "--input", "data-samples/online_retail.parquet", "--itemset-min-support", "0.01",
                   "--min-followers", "2"]),
    # Issue 14: tiers, week cohorts, kpis, profit_deciles, customer_tags, and the migration tables
    # against an earlier snapshot ({work} is the work folder).
    ("early", ["run", "--input", "data-samples/transactions.parquet", "--as-of", "2024-10-01"]),
    ("trends", ["run", "--input", "data-samples/transactions.parquet", "--tier", "gold:monetary=1000,frequency=5",
                "--cohort-period", "week", "--compare-with", "{work}/early"]),
    # Issue 15: names, a customer attribute, the line filters, top_pairs and segment_descriptions.
    ("bi", ["run", "--config", "data-samples/online_retail.toml", "--input", "data-samples/online_retail.parquet",
            "--product-name-col", "Description", "--customer-attr", "Country", "--where", "Quantity < 1000",
            "--exclude-items", "data-samples/online_retail_not_products.txt"]),
]
# A root of two as_of partitions (issue 15): Spark reads each table across them, the as_of column
# of the files and of the folders agreeing.
ROOT_RUNS = [["run", "--input", "data-samples/transactions.parquet", "--as-of", d, "--partition-by-as-of"]
             for d in ("2024-10-01", "2024-12-01")]
QUERY = ("run1", "customers")  # `evergreen query` writes SELECT * FROM this table to q.parquet


def type_problem(kind: str):
    """Why a column of this Arrow type (its name as pyarrow prints it) is a problem, or None."""
    if kind.endswith("_view"):
        return "a view type, which pyarrow < 15 cannot open (ArrowInvalid: Unrecognized type)"
    if kind.startswith("uint"):
        return "unsigned integer: Spark, Hive and older readers have no unsigned types"
    if kind.startswith("timestamp[") and not kind.startswith("timestamp[us"):
        return "timestamps must be in microseconds"
    return None


def arrow_columns(schema):
    """(column path, type name) for every field of a pyarrow schema, nested fields included."""
    def walk(name, t):
        yield name, str(t).split("<")[0]
        if pa.types.is_dictionary(t):
            yield from walk(name, t.value_type)
        for i in range(t.num_fields):
            yield from walk(f"{name}.{t.field(i).name}", t.field(i).type)
    for f in schema:
        yield from walk(f.name, f.type)


# Arrow IPC flatbuffer type ids (format/Schema.fbs, union Type) with pyarrow's names for them.
TYPE_NAMES = {1: "null", 3: "float", 4: "binary", 5: "string", 6: "bool", 7: "decimal", 8: "date", 9: "time",
              11: "interval", 12: "list", 13: "struct", 14: "union", 15: "fixed_size_binary",
              16: "fixed_size_list", 17: "map", 18: "duration", 19: "large_binary", 20: "large_string",
              21: "large_list", 22: "run_end_encoded", 23: "binary_view", 24: "string_view",
              25: "list_view", 26: "large_list_view"}


def footer_columns(path):
    """(column path, type name) from the Arrow schema the writer stored in the Parquet footer
    (key ARROW:schema: an IPC Schema message, base64), read without pyarrow."""
    row = duckdb.execute("SELECT value FROM parquet_kv_metadata(?) WHERE key = 'ARROW:schema'", [path]).fetchone()
    if not row:
        return []
    buf = base64.b64decode(row[0])
    buf = buf[8:] if buf[:4] == b"\xff\xff\xff\xff" else buf[4:]  # continuation marker, length

    def num(fmt, pos):
        return struct.unpack_from(fmt, buf, pos)[0]

    def slot(table, i):  # position of field i of a flatbuffer table, None if absent
        if table is None:
            return None
        vtable = table - num("<i", table)
        if 4 + 2 * i >= num("<H", vtable) or not num("<H", vtable + 4 + 2 * i):
            return None
        return table + num("<H", vtable + 4 + 2 * i)

    def ref(table, i):  # target of an offset field (table, string or vector)
        p = slot(table, i)
        return None if p is None else p + num("<I", p)

    def scalar(table, i, fmt, default):
        p = slot(table, i)
        return default if p is None else num(fmt, p)

    def tables(table, i):  # a vector of tables
        v = ref(table, i)
        return [] if v is None else [v + 4 + 4 * k + num("<I", v + 4 + 4 * k) for k in range(num("<I", v))]

    def walk(field, prefix):
        s = ref(field, 0)
        name = prefix + (buf[s + 4:s + 4 + num("<I", s)].decode() if s is not None else "")
        type_id, t = scalar(field, 2, "<B", 0), ref(field, 3)
        if type_id == 2:  # Int { bitWidth: int; is_signed: bool }
            kind = ("int" if scalar(t, 1, "<?", False) else "uint") + str(scalar(t, 0, "<i", 0))
        elif type_id == 10:  # Timestamp { unit: TimeUnit = SECOND; timezone: string }
            kind = f"timestamp[{['s', 'ms', 'us', 'ns'][scalar(t, 0, '<h', 0)]}]"
        else:
            kind = TYPE_NAMES.get(type_id, f"arrow type {type_id}")
        yield name, kind
        for child in tables(field, 5):
            yield from walk(child, name + ".")

    schema = ref(num("<I", 0), 2)  # Message.header (a Schema)
    return [c for f in tables(schema, 1) for c in walk(f, "")]  # Schema.fields


def check(label, path, rows):
    """Problems reading one table file whose manifest says it has `rows` rows."""
    problems, columns = [], None
    try:
        table = pq.read_table(path)
        columns = list(arrow_columns(table.schema))
        n = len(table.to_pandas())
        if n != rows:
            problems.append(f"pyarrow+pandas read {n} rows, the manifest says {rows}")
    except Exception as e:  # noqa: BLE001 - any failure to read is the finding
        problems.append(f"pyarrow {pa.__version__}/pandas {pandas.__version__} cannot read it: "
                        f"{type(e).__name__}: {e}")
    if columns is None:
        try:
            columns = footer_columns(path)
        except Exception as e:  # noqa: BLE001
            problems.append(f"cannot decode the footer's Arrow schema either: {e}")
            columns = []
    try:
        n = len(duckdb.execute("SELECT * FROM read_parquet(?)", [path]).fetchall())
        if n != rows:
            problems.append(f"duckdb read {n} rows, the manifest says {rows}")
    except Exception as e:  # noqa: BLE001
        problems.append(f"duckdb {duckdb.__version__} cannot read it: {e}")
    for column, kind in columns:
        why = type_problem(kind)
        if why:
            problems.append(f"column `{column}` is {kind}: {why}")
    return [f"{label}: {p}" for p in problems]


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--bin", default=os.path.join(ROOT, "target/debug/evergreen"))
    ap.add_argument("--spark", action="store_true",
                    help="also read every table with the pyspark installed here (CI: Spark 3.5)")
    args = ap.parse_args()
    evergreen = os.path.abspath(args.bin)
    if not os.access(evergreen, os.X_OK):
        print(f"FAIL: no evergreen binary at {evergreen} (pass --bin)")
        return 1
    print(f"readers: pyarrow {pa.__version__}, pandas {pandas.__version__}, duckdb {duckdb.__version__}")
    with tempfile.TemporaryDirectory(prefix="evergreen-readers-") as work:
        return check_all(evergreen, work, args.spark)


def check_spark(work, expected) -> list:
    """Every table read by Spark (a 3.x in CI): its rows counted and every value decoded (collect),
    and each table of a root of as_of partitions read across the partitions."""
    from pyspark.sql import SparkSession

    spark = (SparkSession.builder.master("local[1]").config("spark.ui.enabled", "false")
             .config("spark.sql.catalogImplementation", "in-memory").getOrCreate())
    spark.sparkContext.setLogLevel("ERROR")
    print(f"readers: Spark {spark.version}")
    problems = []
    for path, (label, rows) in sorted(expected.items(), key=lambda kv: kv[1][0]):
        try:
            got = len(spark.read.parquet(path).collect())
            if got != rows:
                problems.append(f"spark {label}: {got} rows, the manifest says {rows}")
        except Exception as e:  # noqa: BLE001 - any failure to read is the finding
            problems.append(f"spark {label}: {' '.join(str(e).split())[:300]}")
    root = os.path.join(work, "root")
    parts = sorted(glob.glob(os.path.join(root, "as_of=*")))
    for name in sorted(os.path.basename(p)[:-8] for p in glob.glob(os.path.join(parts[-1], "*.parquet"))):
        want = sum(json.load(open(os.path.join(p, "_manifest.json")))["tables"][name]["rows"] for p in parts)
        try:
            df = spark.read.option("basePath", root).parquet(os.path.join(root, "as_of=*", f"{name}.parquet"))
            dates = {r[0] for r in df.select("as_of").distinct().collect()}
            if df.count() != want or len(dates) != len(parts):
                problems.append(f"spark root/{name}: {df.count()} rows over {len(dates)} as_of, expected {want} over {len(parts)}")
        except Exception as e:  # noqa: BLE001
            problems.append(f"spark root/{name}: {' '.join(str(e).split())[:300]}")
    spark.stop()
    for p in problems:
        print(f"FAIL {p}")
    print(f"spark: {len(expected)} tables and {len(parts)} partitions read" + (" with problems" if problems else ""))
    return problems


def check_all(evergreen, work, spark=False) -> int:
    table_name, query_table = QUERY
    commands = [[*(a.replace("{work}", work) for a in args), "--out", os.path.join(work, out)] for out, args in RUNS]
    commands.append(["query", "--tables", os.path.join(work, table_name), "--out", os.path.join(work, "q.parquet"),
                     f"SELECT * FROM {query_table}"])
    commands += [[*args, "--out", os.path.join(work, "root")] for args in ROOT_RUNS]
    for args in commands:
        done = subprocess.run([evergreen, "-q", *args], cwd=ROOT, capture_output=True, text=True)
        if done.returncode != 0:
            print(f"FAIL: evergreen {' '.join(args)} exited {done.returncode}:\n{done.stderr.strip()}")
            return 1

    expected = {}  # parquet file -> (label, rows)
    for out, _ in RUNS:
        with open(os.path.join(work, out, "_manifest.json")) as f:
            for name, t in json.load(f)["tables"].items():
                expected[os.path.join(work, out, t["file"])] = (f"{out}/{name}", t["rows"])
    expected[os.path.join(work, "q.parquet")] = (f"query (SELECT * FROM {query_table})",
                                                 expected[os.path.join(work, table_name, f"{query_table}.parquet")][1])

    failures = []
    written = set(glob.glob(os.path.join(work, "**", "*.parquet"), recursive=True))
    written = {w for w in written if not w.startswith(os.path.join(work, "root") + os.sep)}
    for path in sorted(written - set(expected)):
        failures.append(f"{os.path.relpath(path, work)}: written but not in the manifest")
        print(f"FAIL {failures[-1]}")
    for path, (label, rows) in sorted(expected.items(), key=lambda kv: kv[1][0]):
        problems = check(label, path, rows) if path in written else [f"{label}: in the manifest but not written"]
        print(f"ok   {label}: {rows} rows" if not problems else "FAIL " + "\n     ".join(problems))
        failures += problems
    failures += check_xlsx(evergreen, work, table_name)
    if spark:
        failures += check_spark(work, expected)
    if failures:
        print(f"check_readers: {len(failures)} problem(s); old readers (pandas on pyarrow < 15, Spark) "
              f"cannot use these tables as written")
        return 1
    print(f"check_readers: all {len(expected)} tables readable by pyarrow {pa.__version__} and duckdb"
          + (" (and Spark, above)" if spark else ""))
    return 0


def check_xlsx(evergreen, work, table_name) -> list:
    """`query --out FILE.xlsx` (issue 15) read back by pandas (openpyxl) equals the same query written
    as Parquet: numbers, text, booleans, dates and timestamps (to the millisecond)."""
    sql = ("SELECT customer_id, first_purchase_at, CAST(first_purchase_at AS DATE) AS first_day, monetary, "
           "segment, declining, recent_spend FROM customers ORDER BY customer_id")
    paths = {ext: os.path.join(work, f"x.{ext}") for ext in ("xlsx", "parquet")}
    for path in paths.values():
        done = subprocess.run([evergreen, "-q", "query", "--tables", os.path.join(work, table_name), "--out", path, sql],
                              cwd=ROOT, capture_output=True, text=True)
        if done.returncode != 0:
            return [f"query --out {path}: exit {done.returncode}: {done.stderr.strip()}"]
    try:
        x = pandas.read_excel(paths["xlsx"])
    except ImportError as e:
        return [f"xlsx: cannot read it back ({e}); install openpyxl"]
    q = pq.read_table(paths["parquet"]).to_pandas()
    problems = []
    if list(x.columns) != list(q.columns) or len(x) != len(q):
        return [f"xlsx: columns {list(x.columns)} / {len(x)} rows, expected {list(q.columns)} / {len(q)}"]
    for c in q.columns:
        a, b = x[c], q[c]
        if str(b.dtype).startswith("datetime") or c == "first_day":
            a = pandas.to_datetime(a).dt.round("ms")
            b = pandas.to_datetime(b).dt.round("ms")
        if not (a.reset_index(drop=True) == b.reset_index(drop=True)).all():
            problems.append(f"xlsx: column {c} differs from the Parquet result")
    print(f"{'ok  ' if not problems else 'FAIL'} query --out .xlsx: {len(x)} rows, {len(x.columns)} columns read back by openpyxl")
    # Issue 26: dates before 1900-03-01 (Excel's phantom 29 February 1900) read back as written.
    early = os.path.join(work, "early.xlsx")
    sql = ("SELECT CAST('1900-01-15' AS DATE) AS a, CAST('1900-02-28' AS DATE) AS b, CAST('1900-03-01' AS DATE) AS c "
           "FROM customers LIMIT 1")
    done = subprocess.run([evergreen, "-q", "query", "--tables", os.path.join(work, table_name), "--out", early, sql],
                          cwd=ROOT, capture_output=True, text=True)
    if done.returncode != 0:
        return problems + [f"query --out {early}: exit {done.returncode}: {done.stderr.strip()}"]
    got = [pandas.Timestamp(v).date().isoformat() for v in pandas.read_excel(early).iloc[0]]
    if got != ["1900-01-15", "1900-02-28", "1900-03-01"]:
        problems.append(f"xlsx: early dates read back as {got}")
    print(f"{'ok  ' if not problems else 'FAIL'} query --out .xlsx: 1900 dates read back as {got}")
    return problems


if __name__ == "__main__":
    sys.exit(main())
