"""evergreen's Spark runner: computes the facts of `evergreen run --engine spark` on a cluster.

evergreen writes this file, the SQL steps beside it (src/engine/spark/sql/*.sql in the repository) and a
job file into a local work folder, then starts `spark-submit runner.py job.json` (or, with
EVERGREEN_SPARK_SERVICE, hands the job to a resident `runner.py --serve SPOOL`: see serve). The runner reads
the dump with Spark, runs the steps in order as temporary views, writes the per-customer, per-item
and per-pair facts as Parquet into the staging folder (copied into the work folder when staging is
remote: hdfs://, s3a://, ...) and the one-row results into result.json. evergreen then computes
every table from those facts with the same code as its local engines.

No line-level data reaches the driver: only one-row statistics are collected. On a failure the
runner writes error.json (kind, message, and the column for schema errors) and exits 3.

The SQL steps hold every rule; this file only fills their ${...} parameters from the job and the
dump's schema, registers each step as a view and writes the outputs.
"""

import json
import os
import re
import sys
import time
import traceback

SCALE = "1180591620717411303424D"  # 2^70
LIMB_BITS = 32
LIMB_LIMIT = "72057594037927936D"  # 2^56: larger values are beyond any exact sum


def limbs(x, name):
    """Columns name_3 .. name_0: trunc(x * 2^70) in four 32-bit BIGINT limbs, for a DOUBLE x
    (null when x is null, non-finite or |x| >= 2^56).

    v = x * 2^70 is exact in a double (a power-of-two scale), |v| < 2^126. Each limb takes the
    next 32 bits from the top: l = trunc(r / 2^(32k)), r = r - l * 2^(32k). Every step is exact in
    double arithmetic (the remainders keep at most 53 significant bits), and all limbs share v's
    sign, so l3 * 2^96 + l2 * 2^64 + l1 * 2^32 + l0 = trunc(v): the integer the local engines add.
    """
    ok = f"abs({x}) < {LIMB_LIMIT}"
    r = f"(CASE WHEN {ok} THEN ({x}) * {SCALE} END)"
    cols = []
    for k in (3, 2, 1):
        unit = f"{float(2 ** (LIMB_BITS * k)):.1f}D"
        limb = f"CAST({r} / {unit} AS BIGINT)"
        cols.append(f"{limb} AS {name}_{k}")
        r = f"({r} - CAST({limb} AS DOUBLE) * {unit})"
    cols.append(f"CAST({r} AS BIGINT) AS {name}_0")
    return ", ".join(cols)


def sum_limbs(name, out=None):
    """SUM of each limb of `name`, as out_3 .. out_0."""
    out = out or name
    return ", ".join(f"SUM({name}_{k}) AS {out}_{k}" for k in (3, 2, 1, 0))


def exact(name):
    """The limbs of `name` joined into one DECIMAL(38,0) (null when it overflows)."""
    parts = [f"CAST({name}_{k} AS DECIMAL(38,0)) * {2 ** (LIMB_BITS * k)}BD" for k in (3, 2, 1)]
    return "(" + " + ".join(parts + [f"CAST({name}_0 AS DECIMAL(38,0))"]) + ")"


class Refused(Exception):
    """An input error found on the cluster (missing column, wrong type): error.json, exit 3."""

    def __init__(self, kind, message, **fields):
        super().__init__(message)
        self.kind = kind
        self.fields = fields


def quote(name):
    return "`" + name.replace("`", "``") + "`"


def type_class(dt):
    """The role class of a Spark type: int, float, str, timestamp, date, decimal or None."""
    name = dt.typeName()
    if name in ("byte", "short", "integer", "long"):
        return "int"
    if name in ("float", "double"):
        return "float"
    if name == "string":
        return "str"
    if name in ("timestamp", "timestamp_ntz"):
        return "timestamp"
    if name == "date":
        return "date"
    if name == "decimal":
        # Parquet UINT_64 reads as DECIMAL(20,0): an integer id like the local reader's UInt64.
        return "int" if dt.scale == 0 else "decimal"
    return None


def column_exprs(job, schema, every_file):
    """The canonical column expressions of step 1 for one group of files, from the roles and their
    types. `every_file`: the column names every file of the dump has (an optional role is used only
    when all of them have it, like the local reader)."""
    types = {f.name: f.dataType for f in schema.fields}
    found = ", ".join(types)

    def need(role, name, expected):
        if name not in types:
            raise Refused("missing_column", f"column `{name}` ({role}) not found", column=name, role=role,
                          expected=expected, found=found)
        return type_class(types[name])

    def bad(role, name, expected):
        found_type = types[name].simpleString()
        return Refused("bad_column", f"column `{name}` ({role}) is {found_type}", column=name, role=role,
                       expected=expected, found=found_type)

    def id_expr(role, name):
        kind = need(role, name, "Int64 or String ids")
        if kind in ("int", "float"):
            return f"CAST({quote(name)} AS BIGINT)"
        if kind == "str":
            # A blank string is no id (read as null), like the local engines' reader.
            return f"CASE WHEN {quote(name)} RLIKE '^(?U)\\\\s*$' THEN NULL ELSE {quote(name)} END"
        raise bad(role, name, "integer or string ids")

    def number(role, name):
        kind = need(role, name, "numbers")
        if kind not in ("int", "float", "decimal"):
            raise bad(role, name, "numbers")
        return f"CAST({quote(name)} AS DOUBLE)"

    roles = job["roles"]
    present = {}

    def used(role):
        """The column of a role the run uses: required roles must exist; optional ones are used
        when the dump has them (the local engines' rule)."""
        r = roles.get(role)
        if r is None:
            present[role] = False
            return None
        if r["name"] in every_file or r["required"]:
            present[role] = True
            return r["name"]
        present[role] = False
        return None

    excluded = job.get("exclude_items")

    def without_excluded(role, name, expr):
        """--exclude-items: a listed id reads as no product (or item), like the local reader; ids
        are matched as the column is read (integers for an integer column)."""
        if not excluded:
            return expr
        if need(role, name, "ids") in ("int", "float"):
            values = []
            for i in excluded:
                try:
                    values.append(str(int(i, 10)))
                except ValueError:
                    raise Refused("bad_excluded_item", f"`{i}` is not an integer id", id=i, role=role, column=name)
        else:
            values = ["'" + i.replace("\\", "\\\\").replace("'", "\\'") + "'" for i in excluded]
        return f"(CASE WHEN {expr} IN ({', '.join(values)}) THEN NULL ELSE {expr} END)"

    out = {}
    name = used("customer")
    out["customer_id"] = id_expr("customer", name) if name else "CAST(NULL AS BIGINT)"
    out["order_id"] = id_expr("order", used("order"))
    for key, role in (("product_id", "product"), ("item", "item")):
        name = used(role)
        out[key] = without_excluded(role, name, id_expr(role, name)) if name else "CAST(NULL AS STRING)"
    ts = used("timestamp")
    if ts:
        kind = need("timestamp", ts, "timestamps")
        q = quote(ts)
        if kind in ("timestamp", "date"):
            out["ts"] = f"unix_micros(CAST({q} AS TIMESTAMP))"
        elif kind == "int":
            # Nanosecond timestamps, read as longs (spark.sql.legacy.parquet.nanosAsLong), floored
            # to microseconds as the local reader does (also before 1970).
            out["ts"] = f"(CASE WHEN {q} >= 0 THEN {q} div 1000 ELSE -((999 - {q}) div 1000) END)"
        elif kind == "str":
            s = f"trim({q})"
            out["ts"] = f"unix_micros(COALESCE(CAST({s} AS TIMESTAMP), to_timestamp({s}, 'yyyyMMdd')))"
        else:
            raise bad("timestamp", ts, "timestamps")
    else:
        out["ts"] = "CAST(NULL AS BIGINT)"
    r = roles.get("amount")
    if r is None:
        present["amount"] = False
        out["amount"] = "1.0D"
    elif r["name"] in every_file:
        present["amount"] = True
        out["amount"] = number("amount", r["name"])
    elif r["required"]:
        # An expression over numeric columns (Spark SQL; the local engines read it as Polars SQL).
        present["amount"] = True
        out["amount"] = f"({r['name']})"
    else:
        present["amount"] = False
        out["amount"] = "1.0D"
    for role in ("cost", "quantity"):
        name = used(role)
        out[role] = number(role, name) if name else "CAST(NULL AS DOUBLE)"
    # The line's discount: a column, or list price - amount; a null or non-finite one is none.
    d = roles.get("discount")
    if d is None:
        present["discount"] = False
        out["discount"] = "0D"
    else:
        present["discount"] = True
        value = number("list price" if d["list_price"] else "discount", d["name"])
        if d["list_price"]:
            value = f"({value} - CAST({out['amount']} AS DOUBLE))"
        out["discount"] = (f"(CASE WHEN {value} IS NULL OR isnan({value}) OR abs({value}) = double('Infinity') "
                           f"THEN 0D ELSE {value} END)")
    # Names and attributes (issue 15): the product name as a string, each attribute as a string or
    # an integer (the local reader's types).
    pn = job.get("product_name")
    if pn:
        if need("product name", pn, "strings") != "str":
            raise bad("product name", pn, "strings")
        out["product_name"] = f"CAST({quote(pn)} AS STRING)"
    else:
        out["product_name"] = "CAST(NULL AS STRING)"
    attrs = []
    for i, a in enumerate(job.get("customer_attrs") or []):
        kind = need("customer attribute", a, "strings or integers")
        if kind not in ("str", "int"):
            raise bad("customer attribute", a, "strings or integers")
        attrs.append(f", CAST({quote(a)} AS {'STRING' if kind == 'str' else 'BIGINT'}) AS __attr_{i}")
    out["attrs"] = "".join(attrs)
    # --where: the predicate over the dump's own columns (checked in `checked_where`).
    out["where_kept"] = f"({job['where']})" if job.get("where") else "TRUE"
    # --group (issue 34): the first group whose predicate is true on the line, 1..; 0 for none.
    groups = job.get("groups") or []
    if groups:
        whens = " ".join(f"WHEN coalesce(({g['predicate']}), FALSE) THEN {i + 1}" for i, g in enumerate(groups))
        out["line_group"] = f"CAST(CASE {whens} ELSE 0 END AS INT)"
    else:
        out["line_group"] = "CAST(0 AS INT)"
    out["present"] = present
    return out


def checked_where(spark, job, view):
    """--where and each --group's predicate must evaluate on the dump to true/false (the local
    reader's rule): else the run stops naming the option and the expression."""
    checks = [("--where", job["where"])] if job.get("where") else []
    checks += [(f"--group {g['name']}", g["predicate"]) for g in job.get("groups") or []]
    for flag, predicate in checks:
        try:
            dt = spark.sql(f"SELECT ({predicate}) AS k FROM {view} LIMIT 0").schema.fields[0].dataType
        except Exception as e:  # noqa: BLE001 - a parse or resolution error of the user's predicate
            raise Refused("bad_filter", " ".join(str(e).split())[:400], flag=flag, expr=predicate)
        if dt.typeName() not in ("boolean", "void"):
            raise Refused("bad_filter", f"not a true/false condition (it gives {dt.simpleString()})", flag=flag,
                          expr=predicate)


def fill(sql, params):
    """Expand the money macros (${limbs(x, name)}, ${sum_limbs(name[, out])}, ${exact(name)})
    and ${name} parameters in a step."""
    def macro(m):
        args = [a.strip() for a in split_args(m.group(2))]
        return {"limbs": limbs, "sum_limbs": sum_limbs, "exact": exact}[m.group(1)](*args)

    sql = re.sub(r"\$\{(limbs|sum_limbs|exact)\((.*?)\)\}", macro, sql)

    def value(m):
        key = m.group(1)
        if key not in params:
            raise KeyError(f"the SQL names ${{{key}}}, which the runner does not know")
        return str(params[key])

    return re.sub(r"\$\{(\w+)\}", value, sql)


def split_args(text):
    """Split macro arguments on top-level commas (an argument may hold parentheses)."""
    args, depth, cur = [], 0, ""
    for ch in text:
        if ch == "," and depth == 0:
            args.append(cur)
            cur = ""
            continue
        depth += ch == "("
        depth -= ch == ")"
        cur += ch
    return args + [cur]


def sql_literal(v, typ):
    return f"CAST(NULL AS {typ})" if v is None else f"CAST({v} AS {typ})"


def main():
    if sys.argv[1] == "--serve":
        serve(sys.argv[2])
    else:
        sys.exit(handle(sys.argv[1]))


def handle(job_path):
    """Run one job file; result.json (exit status 0) or error.json (3) beside it."""
    with open(job_path) as f:
        job = json.load(f)
    here = os.path.dirname(os.path.abspath(job_path))
    result = {"timings": {}}
    started = time.time()
    try:
        run(job, here, result)
    except Refused as e:
        write_json(os.path.join(here, "error.json"), dict(kind=e.kind, message=str(e), **e.fields))
        return 3
    except Exception as e:  # noqa: BLE001 - every failure becomes error.json for evergreen
        kind = "spark"
        message = " ".join(str(e).split())
        name = type(e).__name__
        if "PATH_NOT_FOUND" in message or "Path does not exist" in message:
            kind = "no_input"
        elif "UNRESOLVED_COLUMN" in message or "UNRESOLVED_ROUTINE" in message or "PARSE_SYNTAX_ERROR" in message:
            kind = "bad_expression"
        write_json(os.path.join(here, "error.json"), dict(kind=kind, message=f"{name}: {message}"[:2000],
                                                          trace=traceback.format_exc()[-4000:]))
        return 3
    result["timings"]["total"] = time.time() - started
    write_json(os.path.join(here, "result.json"), result)
    return 0


def serve(spool):
    """A resident runner (`spark-submit runner.py --serve SPOOL`): one Spark session for many jobs.

    evergreen with EVERGREEN_SPARK_SERVICE=SPOOL drops a request (`queue/*.json`: {"job": path})
    instead of starting spark-submit, and waits for the job's result.json or error.json. Jobs run
    one at a time, in name order, each exactly as a submitted runner would run it; between jobs
    the session's temporary views and cached frames are dropped. `heartbeat` is touched every
    second (evergreen gives up on a service whose heartbeat stops); a file `stop` ends the loop.
    """
    import threading

    queue = os.path.join(spool, "queue")
    os.makedirs(queue, exist_ok=True)
    beat = os.path.join(spool, "heartbeat")
    stop = os.path.join(spool, "stop")

    def heartbeat():
        while not os.path.exists(stop):
            with open(beat, "w") as f:
                f.write(str(os.getpid()))
            time.sleep(1)

    from pyspark.sql import SparkSession

    spark = SparkSession.builder.appName("evergreen").getOrCreate()
    threading.Thread(target=heartbeat, daemon=True).start()
    while not os.path.exists(stop):
        requests = sorted(n for n in os.listdir(queue) if n.endswith(".json"))
        for name in requests:
            path = os.path.join(queue, name)
            try:
                with open(path) as f:
                    job_path = json.load(f)["job"]
                os.remove(path)
            except (OSError, ValueError, KeyError):
                continue
            own_handle(job_path)(job_path)
            spark.catalog.clearCache()
            for t in spark.catalog.listTables():
                if t.isTemporary:
                    spark.catalog.dropTempView(t.name)
        time.sleep(0.05)
    spark.stop()


def own_handle(job_path):
    """The `handle` of the runner evergreen wrote beside the job (its steps and SQL are the ones that
    binary was built with), so one resident session serves any evergreen version; this file's own
    when there is none."""
    import importlib.util

    path = os.path.join(os.path.dirname(os.path.abspath(job_path)), "runner.py")
    if not os.path.isfile(path):
        return handle
    spec = importlib.util.spec_from_file_location(f"evergreen_runner_{time.time_ns()}", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module.handle


def write_json(path, value):
    tmp = path + ".tmp"
    with open(tmp, "w") as f:
        json.dump(value, f)
    os.replace(tmp, path)


def run(job, here, result):
    from pyspark.sql import SparkSession

    t0 = time.time()
    spark = SparkSession.builder.appName("evergreen").getOrCreate()
    # The rules' arithmetic: UTC for naive timestamps, no ANSI errors (an overflowing money sum
    # becomes null and evergreen's money-range rule refuses the dump with its own message).
    spark.conf.set("spark.sql.session.timeZone", "UTC")
    spark.conf.set("spark.sql.ansi.enabled", "false")
    spark.conf.set("spark.sql.legacy.parquet.nanosAsLong", "true")
    # Shuffle partitions: Spark's default of 200 costs seconds per step on small dumps; unless
    # the user set it, two per core of the cluster (adaptive execution merges small ones).
    if not spark.sparkContext.getConf().contains("spark.sql.shuffle.partitions"):
        spark.conf.set("spark.sql.shuffle.partitions", str(max(4, 2 * spark.sparkContext.defaultParallelism)))
    result["shuffle_partitions"] = int(spark.conf.get("spark.sql.shuffle.partitions"))
    result["spark_version"] = spark.version
    result["master"] = spark.sparkContext.master
    result["default_parallelism"] = spark.sparkContext.defaultParallelism
    result["timings"]["session"] = time.time() - t0
    # The job's Spark jobs and stages are counted (manifest `engine.spark.jobs`/`stages`): what
    # each step costs a cluster beyond its rows (every stage is a scheduling round and most a shuffle).
    sc = spark.sparkContext
    group = f"evergreen-{os.getpid()}-{time.time_ns()}"
    sc.setJobGroup(group, "evergreen", False)
    try:
        run_job(spark, job, here, result)
    finally:
        tracker = sc.statusTracker()
        jobs = tracker.getJobIdsForGroup(group)
        stages = set()
        for j in jobs:
            info = tracker.getJobInfo(j)
            for sid in (info.stageIds if info else []):
                st = tracker.getStageInfo(sid)
                if st is not None and st.numCompletedTasks > 0:  # skipped stages (reused shuffles) ran nothing
                    stages.add(sid)
        result["spark_jobs"] = len(jobs)
        result["spark_stages"] = len(stages)
        sc.setLocalProperty("spark.jobGroup.id", None)


def run_job(spark, job, here, result):

    reader = spark.read
    if job.get("base_path"):
        reader = reader.option("basePath", job["base_path"])
    # Files are read in groups of one schema (Spark takes one schema per read; the local reader
    # lets files differ, e.g. int64 and float64 ids), each group mapped to the canonical columns.
    groups = []
    for path in job["inputs"]:
        df = reader.parquet(path)
        key = df.schema.simpleString()
        for g in groups:
            if g[0] == key:
                g[1].append(path)
                break
        else:
            groups.append([key, [path], df.schema])
    every_file = set.intersection(*[{f.name for f in g[2].fields} for g in groups])
    parts = []
    for i, (_, paths, schema) in enumerate(groups):
        reader.parquet(*paths).createOrReplaceTempView(f"dump_{i}")
        checked_where(spark, job, f"dump_{i}")
        parts.append((f"dump_{i}", column_exprs(job, schema, every_file)))
    present = parts[0][1]["present"]
    result["present"] = present
    plan = dict(job["plan"])
    plan["favourite"] = plan.get("favourite") and present["product"]
    plan["has_product"] = present["product"]
    if plan.get("items") == "item" and not present["item"]:
        plan["items"] = None
    if plan.get("items") == "product_id" and not present["product"]:
        plan["items"] = None
    # "item": the dump has a basket item (the item column, or the product).
    present["item"] = plan.get("items") is not None
    basket = job["basket"]
    # --as-of cuts lines only when the dump has a timestamp (else there is no time rule at all).
    cutoff = job.get("cutoff_micros") if present["timestamp"] else None
    params = {}
    params.update(
        has_timestamp="TRUE" if present["timestamp"] else "FALSE",
        before_as_of="TRUE" if cutoff is None else f"(ts < {int(cutoff)})",
        money_scale=f"{10 ** int(job['money_decimals'])}D",
        # --zero-net-orders purchase: an order whose net rounds to 0 is a purchase too.
        purchase_rule="> -0.5D" if job.get("zero_net_orders_purchase") else ">= 0.5D",
        basket_item=plan.get("items") or "product_id",
        min_pair_orders=sql_literal(basket.get("min_pair_orders"), "BIGINT"),
        min_support=sql_literal(basket.get("min_support"), "DOUBLE"),
        basket_fits="TRUE" if basket.get("max_basket_items") is None else f"(items <= {int(basket['max_basket_items'])})",
        periods=job.get("periods"),
    )
    sql_dir = here
    staging = job["staging"].rstrip("/")
    local = os.path.join(here, "facts")
    remote = not job.get("staging_is_local", False)

    def step(name, extra=None):
        with open(os.path.join(sql_dir, name)) as f:
            return spark.sql(fill(f.read(), dict(params, **(extra or {}))))

    def view(name, file, cache=False):
        df = step(file)
        if cache:
            df = df.persist()
        df.createOrReplaceTempView(name)
        return df

    def one_row(file):
        t = time.time()
        row = step(file).collect()[0].asDict()
        result["timings"][file] = time.time() - t
        return row

    def write(df, name):
        t = time.time()
        df.write.mode("overwrite").parquet(f"{staging}/{name}")
        result["timings"][name] = time.time() - t

    try:
        steps(spark, parts, params, plan, result, step, view, one_row, write)
        if remote:
            staged = ("customers", "customer_days", "day_totals", "items", "pairs", "pattern_orders", "product_names",
                      "customer_attrs", "group_rows", "hierarchy_pairs")
            bring_back(spark, staging, local, [n for n in staged if n in result["timings"]])
    finally:
        if remote:
            delete_staged(spark, staging)


def steps(spark, parts, params, plan, result, step, view, one_row, write):
    """The SQL steps in order (see each file's header)."""
    lines = None
    for name, columns in parts:
        df = step("01_lines.sql", dict(columns, dump=name))
        lines = df if lines is None else lines.unionByName(df)
    lines.createOrReplaceTempView("checked_lines")
    result["line_stats"] = one_row("02_line_stats.sql")
    if result["line_stats"]["lines_read"] == 0:
        return
    view("current_lines", "03_current_lines.sql")
    view("orders", "04_orders.sql", cache=True)
    result["order_stats"] = one_row("05_order_stats.sql")
    spark.createDataFrame([{"purchase_orders": result["order_stats"]["purchase_orders"]}]).createOrReplaceTempView(
        "order_stats")
    if plan["customers"] or plan.get("items"):
        view("purchase_lines", "07_purchase_lines.sql", cache=True)
    if plan["customers"]:
        customers = step("06_customers.sql")
        if plan.get("favourite"):
            customers = customers.join(step("08_favourites.sql"), "customer_id", "left")
        if plan.get("purchase_days"):
            customers = customers.join(step("17_purchase_days.sql"), "customer_id", "left")
        write(customers, "customers")
        if plan.get("activity"):
            write(step("19_customer_days.sql"), "customer_days")
        if plan.get("day_totals"):
            write(step("20_day_totals.sql"), "day_totals")
        n_attrs = len(plan.get("customer_attrs") or [])
        if n_attrs:
            picks = "".join(f", MIN(CASE WHEN __attr_{i} IS NOT NULL THEN named_struct('t', -ts, 'v', __attr_{i}) END).v"
                            f" AS __attr_{i}" for i in range(n_attrs))
            write(step("22_customer_attrs.sql", {"attr_picks": picks}), "customer_attrs")
    if plan.get("groups"):
        (a_from, a_to), (b_from, b_to) = params.get("periods") or ((1, 0), (1, 0))
        write(step("23_group_rows.sql", {"a_from": a_from, "a_to": a_to, "b_from": b_from, "b_to": b_to}),
              "group_rows")
    if plan.get("product_names") and plan.get("has_product"):
        write(step("21_product_names.sql"), "product_names")
    if plan.get("items"):
        view("basket_items", "09_basket_items.sql", cache=True)
        write(step("10_items.sql"), "items")
        if plan.get("pairs", True):
            pt = one_row("11_pair_threshold.sql")
            params["threshold"] = int(pt["threshold"])
            view("fitting_baskets", "12_fitting_baskets.sql", cache=True)
            view("kept_items", "13_kept_items.sql")
            view("pair_baskets", "14_pair_baskets.sql", cache=True)
            write(step("15_pairs.sql"), "pairs")
            stats = one_row("16_pair_stats.sql")
            result["pair_stats"] = dict(threshold=pt["threshold"], baskets_skipped=pt["baskets_skipped"], **stats)
        if plan.get("itemsets") or plan.get("sequences"):
            write(step("18_pattern_orders.sql"), "pattern_orders")
        if plan.get("hierarchy_products"):
            write(step("24_hierarchy_pairs.sql", {"hierarchy_products": int(plan["hierarchy_products"])}),
                  "hierarchy_pairs")
            result["basket_customers"] = one_row("25_basket_customers.sql")["customers"]


def bring_back(spark, staging, local, names):
    """Copy the facts from a staging folder the cluster wrote (hdfs://, s3a://, file://...) into the
    local work folder, file by file through Hadoop's FileSystem (no rows pass through Python)."""
    jvm = spark._jvm
    conf = spark._jsc.hadoopConfiguration()
    fs = jvm.org.apache.hadoop.fs.Path(staging).getFileSystem(conf)
    os.makedirs(local, exist_ok=True)
    for name in names:
        src = jvm.org.apache.hadoop.fs.Path(f"{staging}/{name}")
        dst = jvm.org.apache.hadoop.fs.Path("file://" + os.path.join(local, name))
        fs.copyToLocalFile(False, src, dst, True)


def delete_staged(spark, staging):
    """Delete this run's folder in the staging folder (evergreen named it for this run alone), on
    success and on failure alike."""
    try:
        jvm = spark._jvm
        root = jvm.org.apache.hadoop.fs.Path(staging)
        root.getFileSystem(spark._jsc.hadoopConfiguration()).delete(root, True)
    except Exception:  # noqa: BLE001 - the job's own error matters more
        pass


if __name__ == "__main__":
    main()
