//! Issue 10: one seam, two engines. Contract tests written once and run against every engine: the
//! partitioned engine, forced onto small dumps with many partitions, writes every table with the
//! same BLAKE3 as the memory engine; its spill folder never outlives the run; a memory limit too
//! small for the customer facts is a one-line error; pair counting stays linear in items.

use std::path::Path;

use polars::prelude::*;
use proptest::prelude::*;

use crate::common::*;
use evergreen::config::{EngineChoice, Settings};

/// Per table its name and the BLAKE3 of its Parquet bytes; the counts; the engine's name.
type Digests = (Vec<(String, String)>, evergreen::facts::Counts, String);

/// Every table of a run (BLAKE3 of its Parquet bytes), the counts and the engine.
fn digests(s: Settings) -> Result<Digests, evergreen::Error> {
    let cfg = s.resolve().expect("valid settings");
    let t = evergreen::run::compute(&cfg, &mut evergreen::run::Stopwatch::start())?;
    let mut out = Vec::new();
    for (name, mut df) in t.tables {
        let bytes = evergreen::output::table_bytes(&mut df).unwrap();
        out.push((name, blake3::hash(&bytes).to_hex().to_string()));
    }
    out.sort();
    Ok((out, t.counts, t.engine.name.to_string()))
}

/// The issue-34 tables too: two groups over the messy dump's own numeric columns (the same
/// predicates for integer and string ids), two periods, product_hierarchy of 4 products, and
/// sequence_patterns of up to 3 steps at most 20 days apart.
pub(crate) fn with_switching(mut s: Settings) -> Settings {
    s.patterns.max_sequence_len = Some(3);
    s.patterns.sequence_max_gap = Some(20);
    s.switching.group = vec!["big=cost > 8".into(), "two=quantity = 2".into()];
    s.switching.period_a = Some("2024-01-01..2024-01-31".into());
    s.switching.period_b = Some("2024-02-01..2024-03-15".into());
    s.switching.product_hierarchy = Some(4);
    s
}

fn with_engine(mut s: Settings, engine: EngineChoice, partitions: Option<u32>) -> Settings {
    s.engine.engine = Some(engine);
    s.engine.partitions = partitions;
    s
}

/// Random messy dumps: string or integer ids, guests, orders naming two customers, returns,
/// null amounts, future lines, several products per order, lines in any order.
/// (customer, order, day, amount in cents, product/hour, conflict flag) per line.
pub(crate) type Row = (u8, u16, u8, i32, u8, bool);

pub(crate) fn arb_dump() -> impl Strategy<Value = (Vec<Row>, bool)> {
    (prop::collection::vec((0u8..14, 0u16..60, 0u8..90, -800i32..6000, 0u8..9, any::<bool>()), 1..160), any::<bool>())
}

pub(crate) fn frame_of(rows: &[Row], strings: bool) -> DataFrame {
    // customer 0 is a guest line; the order mostly decides the customer, sometimes not (conflicts).
    let customer: Vec<Option<i64>> = rows
        .iter()
        .map(|r| if r.0 == 0 { None } else if r.5 && r.0 % 5 == 0 { Some(r.0 as i64) } else { Some((r.1 as i64 * 7) % 11 + 1) })
        .collect();
    let amount: Vec<Option<f64>> =
        rows.iter().map(|r| if r.3 % 97 == 0 { None } else { Some(r.3 as f64 / 100.0 + 0.005 * (r.4 % 2) as f64) }).collect();
    let ts: Vec<i64> = rows.iter().map(|r| micros("2024-01-01 08:00") + r.2 as i64 * 86_400_000_000 + r.4 as i64 * 3_600_000_000).collect();
    let mut df = if strings {
        df!(
            "customer_id" => customer.iter().map(|c| c.map(|c| format!("C{c:03}"))).collect::<Vec<_>>(),
            "order_id" => rows.iter().map(|r| format!("O-{}", r.1)).collect::<Vec<_>>(),
            "ts" => ts,
            "amount" => amount,
            "product_id" => rows.iter().map(|r| format!("P{}", r.4)).collect::<Vec<_>>(),
            "cost" => rows.iter().map(|r| r.3 as f64 / 250.0).collect::<Vec<_>>(),
            "quantity" => rows.iter().map(|r| (r.4 % 3 + 1) as f64).collect::<Vec<_>>(),
        )
    } else {
        df!(
            "customer_id" => customer,
            "order_id" => rows.iter().map(|r| r.1 as i64).collect::<Vec<_>>(),
            "ts" => ts,
            "amount" => amount,
            "product_id" => rows.iter().map(|r| r.4 as i64).collect::<Vec<_>>(),
            "cost" => rows.iter().map(|r| r.3 as f64 / 250.0).collect::<Vec<_>>(),
            "quantity" => rows.iter().map(|r| (r.4 % 3 + 1) as f64).collect::<Vec<_>>(),
        )
    }
    .unwrap();
    df.apply("ts", |s| s.cast(&DataType::Datetime(TimeUnit::Microseconds, None)).unwrap()).unwrap();
    df
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 32, .. ProptestConfig::default() })]

    /// SPEC: every table is identical whichever engine, partitioning or input order produced it.
    /// (Issue 10.)
    #[test]
    fn partitioned_tables_equal_memory_tables(
        (rows, strings) in arb_dump(),
        parts in 1u32..9,
        as_of in prop::option::of(0u8..90),
        switching in any::<bool>(),
    ) {
        let (_d, p) = dump_frame(&mut frame_of(&rows, strings));
        let day = as_of.map(|d| (chrono::NaiveDate::from_ymd_opt(2024, 1, 1).unwrap() + chrono::Duration::days(d as i64)).to_string());
        let s = settings(&p, day.as_deref());
        // Half the cases also write gain_loss, cross_shop, revenue_tree and product_hierarchy (issue 34).
        let s = if switching { with_switching(s) } else { s };
        let memory = digests(with_engine(s.clone(), EngineChoice::Memory, None));
        let partitioned = digests(with_engine(s.clone(), EngineChoice::Partitioned, Some(parts)));
        match (memory, partitioned) {
            (Ok((m, mc, me)), Ok((q, qc, qe))) => {
                prop_assert_eq!(me, "memory");
                prop_assert_eq!(qe, "partitioned");
                prop_assert_eq!(mc, qc);
                prop_assert_eq!(m, q);
            }
            // Both engines refuse the same dumps (no customer with a purchase, no usable line).
            (Err(a), Err(b)) => prop_assert_eq!(a.to_string(), b.to_string()),
            (a, b) => prop_assert!(false, "engines disagree: memory {:?} partitioned {:?}", a.map(|x| x.2), b.map(|x| x.2)),
        }
        // The same lines in reverse order: the same tables.
        let mut reversed = frame_of(&rows, strings);
        reversed = reversed.reverse();
        let (_d2, p2) = dump_frame(&mut reversed);
        let mut s2 = settings(&p2, day.as_deref());
        s2.out = s.out.clone();
        (s2.switching, s2.patterns) = (s.switching.clone(), s.patterns.clone());
        if let (Ok(a), Ok(b)) = (digests(with_engine(s, EngineChoice::Memory, None)), digests(with_engine(s2, EngineChoice::Partitioned, Some(parts)))) {
            prop_assert_eq!(a.0, b.0);
        }
    }
}

/// The basket job (products and pairs only, item column, no customers) through both engines.
/// (Issue 10.)
#[test]
fn basket_job_equal_across_engines() {
    let rows: Vec<Row> =
        (0..400).map(|i| ((i % 13) as u8, (i * 7 % 97) as u16, (i % 50) as u8, (i * 37 % 900) - 50, (i * 11 % 9) as u8, i % 3 == 0)).collect();
    let (_d, p) = dump_frame(&mut frame_of(&rows, false));
    let out = p.parent().unwrap();
    let run = |engine: &str, dir: &str| {
        let o = bin()
            .args(["basket", "-i", p.to_str().unwrap(), "-o", out.join(dir).to_str().unwrap(), "--engine", engine, "--partitions", "5"])
            .output()
            .unwrap();
        assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
        manifest(&out.join(dir))
    };
    let (m, q) = (run("memory", "m"), run("partitioned", "q"));
    for t in ["products", "basket_pairs"] {
        assert_eq!(m["tables"][t]["blake3"], q["tables"][t]["blake3"], "{t}");
    }
    assert_eq!(q["engine"]["name"], "partitioned");
    assert_eq!(q["engine"]["partitions"], 5);
}

/// Every shipped sample through both engines, byte for byte, and with --item-col.
/// (Issue 10.)
#[test]
fn samples_equal_across_engines() {
    let samples = Path::new(env!("CARGO_MANIFEST_DIR")).join("data-samples");
    let dir = tempfile::tempdir().unwrap();
    let cases: Vec<Vec<String>> = vec![
        vec!["-i".into(), samples.join("transactions.parquet").display().to_string()],
        vec![
            "-i".into(),
            samples.join("online_retail.parquet").display().to_string(),
            "--config".into(),
            samples.join("online_retail.toml").display().to_string(),
        ],
    ];
    for (k, args) in cases.iter().enumerate() {
        let mut hashes = Vec::new();
        for engine in ["memory", "partitioned"] {
            let out = dir.path().join(format!("{k}-{engine}"));
            let o = bin()
                .arg("run")
                .args(args)
                .args(["-o", out.to_str().unwrap(), "--engine", engine, "--partitions", "6"])
                .output()
                .unwrap();
            assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
            let m = manifest(&out);
            assert_eq!(m["engine"]["name"], engine);
            hashes.push((m["tables"].clone(), m["counts"].clone()));
        }
        let tables = hashes[0].0.as_object().unwrap();
        for (name, info) in tables {
            assert_eq!(info["blake3"], hashes[1].0[name]["blake3"], "case {k}: table {name}");
        }
        assert_eq!(hashes[0].1, hashes[1].1, "case {k}: counts");
    }
}

/// `--engine auto` picks the partitioned engine when the dump's estimated peak passes the limit,
/// and the spill folder (beside --out by default) is gone after the run.
/// (Issue 10.)
#[test]
fn auto_engine_follows_the_memory_limit_and_spill_is_removed() {
    // 200 lines (about 22 kB at the memory engine's 110 bytes a line), 11 customers.
    let rows: Vec<Row> =
        (0..200).map(|i| (1 + (i % 13) as u8, (i * 7 % 97) as u16, (i % 50) as u8, 100 + i, (i % 9) as u8, false)).collect();
    let (_d, p) = dump_frame(&mut frame_of(&rows, false));
    let root = p.parent().unwrap();
    for (limit, engine) in [("1GB", "memory"), ("10KB", "partitioned")] {
        let out = root.join(format!("out-{engine}"));
        let o = bin()
            .args(["run", "-i", p.to_str().unwrap(), "-o", out.to_str().unwrap(), "--memory-limit", limit])
            .output()
            .unwrap();
        assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
        assert_eq!(manifest(&out)["engine"]["name"], engine, "limit {limit}");
    }
    let left: Vec<String> = std::fs::read_dir(root)
        .unwrap()
        .flatten()
        .map(|e| e.file_name().to_string_lossy().to_string())
        .filter(|n| n.contains("spill"))
        .collect();
    assert!(left.is_empty(), "spill left behind: {left:?}");
}

/// A spill folder of a run that died is removed by the next run; a folder that only looks like
/// one (no marker file: not evergreen's) is kept.
/// (Issue 10.)
#[test]
fn stale_spill_of_a_dead_run_is_removed() {
    let (_d, p) = dump_frame(&mut good_frame());
    let spill = p.parent().unwrap().join("spill");
    // pid 999999999 cannot be alive (Linux pids stay below 2^22).
    let stale = spill.join(".evergreen-spill-999999999-1");
    std::fs::create_dir_all(&stale).unwrap();
    std::fs::write(stale.join("EVERGREEN_SPILL"), "999999999").unwrap();
    std::fs::write(stale.join("lines-0.parquet"), "x").unwrap();
    let lookalike = spill.join(".evergreen-spill-999999998-1");
    std::fs::create_dir_all(&lookalike).unwrap();
    std::fs::write(lookalike.join("notes.txt"), "mine").unwrap();
    let out = p.parent().unwrap().join("out");
    let o = bin()
        .args(["run", "-i", p.to_str().unwrap(), "-o", out.to_str().unwrap(), "--engine", "partitioned"])
        .args(["--spill-dir", spill.to_str().unwrap()])
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    assert!(!stale.exists(), "the dead run's spill folder is removed");
    assert_eq!(std::fs::read_to_string(lookalike.join("notes.txt")).unwrap(), "mine");
    let names: Vec<String> = std::fs::read_dir(&spill).unwrap().flatten().map(|e| e.file_name().to_string_lossy().to_string()).collect();
    assert_eq!(names, vec![".evergreen-spill-999999998-1".to_string()], "only the lookalike is left");
}

/// A spill folder that cannot be written: exit 5, the previous output untouched.
/// (Issue 10.)
#[test]
fn unwritable_spill_is_exit_5_and_keeps_the_previous_output() {
    let (_d, p) = dump_frame(&mut good_frame());
    let root = p.parent().unwrap();
    let out = root.join("out");
    let ok = bin().args(["run", "-i", p.to_str().unwrap(), "-o", out.to_str().unwrap()]).output().unwrap();
    assert!(ok.status.success());
    let before = std::fs::read(out.join("customers.parquet")).unwrap();
    // A regular file where the spill folder should go.
    let blocker = root.join("not-a-folder");
    std::fs::write(&blocker, "x").unwrap();
    let o = bin()
        .args(["run", "-i", p.to_str().unwrap(), "-o", out.to_str().unwrap(), "--engine", "partitioned"])
        .args(["--spill-dir", blocker.join("spill").to_str().unwrap()])
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(5), "{}", String::from_utf8_lossy(&o.stderr));
    let err = String::from_utf8_lossy(&o.stderr);
    assert_eq!(err.trim().lines().count(), 1, "one line: {err}");
    assert!(err.contains("spill"), "{err}");
    assert_eq!(std::fs::read(out.join("customers.parquet")).unwrap(), before);
}

/// A limit too small for the customer facts: a one-line error (exit 2) saying how much it needs.
/// (Issue 10.)
#[test]
fn limit_below_the_customer_facts_says_what_it_needs() {
    let n = 3000i64;
    let mut df = df!(
        "customer_id" => (0..n).collect::<Vec<_>>(),
        "order_id" => (0..n).collect::<Vec<_>>(),
        "ts" => (0..n).map(|i| micros("2024-01-01 00:00") + i * 1_000_000).collect::<Vec<_>>(),
        "amount" => (0..n).map(|i| 1.0 + i as f64).collect::<Vec<_>>(),
    )
    .unwrap();
    df.apply("ts", |s| s.cast(&DataType::Datetime(TimeUnit::Microseconds, None)).unwrap()).unwrap();
    let (_d, p) = dump_frame(&mut df);
    let out = p.parent().unwrap().join("out");
    let o = bin()
        .args(["run", "-i", p.to_str().unwrap(), "-o", out.to_str().unwrap(), "--memory-limit", "100KB"])
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(2), "{}", String::from_utf8_lossy(&o.stderr));
    let err = String::from_utf8_lossy(&o.stderr);
    assert_eq!(err.trim().lines().count(), 1, "{err}");
    // 3000 customers at 160 bytes: 480 000 bytes at least.
    let needs: u64 = err.split("need about ").nth(1).and_then(|r| r.split(' ').next()).and_then(|v| v.parse().ok()).expect(&err);
    assert!(needs >= 480_000, "{err}");
    assert!(!out.exists(), "nothing written");
}

/// Pair counting with 1M distinct items: the work follows pair occurrences, not items² (a
/// quadratic pass over 1M items would be 10^12 steps). Checked against a plain count.
/// (Issue 10.)
#[test]
fn pairs_with_a_million_items_stay_linear() {
    let n_items = 1_000_000usize;
    let mut offsets = vec![0usize];
    let mut items = Vec::new();
    let mut x: u64 = 12345;
    for _ in 0..200_000 {
        let len = 2 + (x % 4) as usize;
        for _ in 0..len {
            x = x.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
            // Half the baskets draw from 1000 popular items, so pairs repeat.
            let it = if x >> 63 == 0 { (x >> 33) as usize % 1000 } else { (x >> 20) as usize % n_items };
            items.push(it as u32);
        }
        offsets.push(items.len());
    }
    let started = std::time::Instant::now();
    let got = evergreen::kernels::pairs::count_pairs_within(&offsets, &items, n_items, 2, None, 1 << 16);
    let took = started.elapsed();
    let mut want = std::collections::HashMap::<(u32, u32), u32>::new();
    for w in offsets.windows(2) {
        let mut b: Vec<u32> = items[w[0]..w[1]].to_vec();
        b.sort_unstable();
        b.dedup();
        for i in 0..b.len() {
            for j in i + 1..b.len() {
                *want.entry((b[i], b[j])).or_insert(0) += 1;
            }
        }
    }
    let mut want: Vec<(u32, u32, u32)> = want.into_iter().filter(|e| e.1 >= 2).map(|((a, b), n)| (a, b, n)).collect();
    want.sort_unstable();
    assert_eq!(got.pairs, want);
    assert!(took.as_secs_f64() < 20.0, "{took:?}");
}

/// The table registry names exactly the tables the families write (the queries add theirs).
/// (Issue 10.)
#[test]
fn registry_names_every_family_table() {
    let (_d, p) = dump_frame(&mut good_frame());
    let t = evergreen::run::compute(&settings(&p, None).resolve().unwrap(), &mut evergreen::run::Stopwatch::start()).unwrap();
    let written: Vec<&str> = t.tables.iter().map(|(n, _)| n.as_str()).collect();
    // Without --clv the CLV family writes nothing, without --itemsets/--sequences the pattern
    // family, without --compare-with the snapshots family, without --group or the periods the
    // switching family, without --product-hierarchy the hierarchy family; profit_deciles needs a
    // cost column.
    use evergreen::tables::Family;
    let registry: Vec<&str> = evergreen::tables::REGISTRY
        .iter()
        .filter(|(n, f)| ![Family::Clv, Family::Patterns, Family::Snapshots, Family::Switching, Family::Hierarchy].contains(f) && *n != "profit_deciles")
        .map(|(n, _)| *n)
        .collect();
    let queries = ["segment_descriptions", "segment_summary", "lapsed_customers", "top_customers", "customer_tags"];
    assert_eq!(written.iter().filter(|n| !queries.contains(n)).copied().collect::<Vec<_>>(), registry);
}

/// A run killed while its spill folder is full: the previous output is untouched, and the next run
/// removes the dead run's spill folder (and writes its own output).
/// (Issue 10.)
#[test]
fn killed_partitioned_run_is_cleaned_by_the_next() {
    let (_d, p) = dump_frame(&mut good_frame());
    let root = p.parent().unwrap();
    let out = root.join("out");
    let spill = root.join("spill");
    let ok = bin().args(["run", "-i", p.to_str().unwrap(), "-o", out.to_str().unwrap()]).output().unwrap();
    assert!(ok.status.success());
    let before = std::fs::read(out.join("customers.parquet")).unwrap();
    let args = ["run", "-i", p.to_str().unwrap(), "-o", out.to_str().unwrap(), "--engine", "partitioned", "--spill-dir", spill.to_str().unwrap()];
    let killed = bin().args(args).env("EVERGREEN_TEST_CRASH_AT", "after-spill").output().unwrap();
    assert!(!killed.status.success(), "the hook aborts the run");
    let left: Vec<_> = std::fs::read_dir(&spill).unwrap().flatten().collect();
    assert_eq!(left.len(), 1, "the killed run left its spill folder");
    assert_eq!(std::fs::read(out.join("customers.parquet")).unwrap(), before, "previous output untouched");
    let again = bin().args(args).output().unwrap();
    assert!(again.status.success(), "{}", String::from_utf8_lossy(&again.stderr));
    assert_eq!(std::fs::read_dir(&spill).unwrap().count(), 0, "the dead run's spill folder is gone");
    assert_eq!(manifest(&out)["engine"]["name"], "partitioned");
}

/// Baskets in a Vec, as the streamed pair kernel reads them.
struct InMemory(Vec<Vec<u32>>);

impl evergreen::kernels::pairs::BasketPasses for InMemory {
    type Error = ();
    fn each(&self, f: &mut dyn FnMut(&[u32])) -> Result<(), ()> {
        self.0.iter().for_each(|b| f(b));
        Ok(())
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 48, .. ProptestConfig::default() })]

    /// The streamed pair kernel (baskets read once per pass) finds the in-memory kernel's pairs,
    /// in the same order, with the same counts, whatever the budget.
    /// (Issue 10.)
    #[test]
    fn streamed_pair_kernel_equals_the_in_memory_one(
        baskets in prop::collection::vec(prop::collection::btree_set(0u32..40, 0..9), 0..120),
        threshold in 1u32..4,
        max_items in prop::option::of(2usize..8),
        budget in 1usize..64,
    ) {
        let sets: Vec<Vec<u32>> = baskets.iter().map(|b| b.iter().copied().collect()).collect();
        let mut offsets = vec![0usize];
        let mut items = Vec::new();
        for b in &sets {
            items.extend_from_slice(b);
            offsets.push(items.len());
        }
        let want = evergreen::kernels::pairs::count_pairs_within(&offsets, &items, 40, threshold, max_items, budget);
        let got = evergreen::kernels::pairs::count_pairs_streamed(&InMemory(sets), 40, threshold, max_items, budget).unwrap();
        prop_assert_eq!(got.pairs, want.pairs);
        prop_assert_eq!(got.items_kept, want.items_kept);
        prop_assert_eq!(got.baskets_paired, want.baskets_paired);
        prop_assert_eq!(got.baskets_skipped, want.baskets_skipped);
    }
}

/// Baskets too large for the limit are counted from the spill, pass by pass: the same tables.
/// (Issue 10.)
#[test]
fn pairs_streamed_from_the_spill_equal_memory() {
    // 2 customers, 600 orders of 10 products each: the basket spill (~26 kB) passes a quarter of 100 kB.
    let n = 6000i64;
    let mut df = df!(
        "customer_id" => (0..n).map(|i| (i / 10) % 2).collect::<Vec<_>>(),
        "order_id" => (0..n).map(|i| i / 10).collect::<Vec<_>>(),
        "ts" => (0..n).map(|i| micros("2024-01-01 00:00") + (i / 10) * 60_000_000).collect::<Vec<_>>(),
        "amount" => (0..n).map(|i| 1.0 + (i % 7) as f64).collect::<Vec<_>>(),
        "product_id" => (0..n).map(|i| (i * 7919 + i / 10) % 23).collect::<Vec<_>>(),
    )
    .unwrap();
    df.apply("ts", |s| s.cast(&DataType::Datetime(TimeUnit::Microseconds, None)).unwrap()).unwrap();
    let (_d, p) = dump_frame(&mut df);
    let root = p.parent().unwrap();
    let run = |dir: &str, extra: &[&str]| {
        let out = root.join(dir);
        let o = bin().args(["run", "-i", p.to_str().unwrap(), "-o", out.to_str().unwrap()]).args(extra).output().unwrap();
        assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
        manifest(&out)
    };
    let m = run("m", &["--engine", "memory"]);
    let q = run("q", &["--engine", "partitioned", "--memory-limit", "100KB"]);
    assert_eq!(q["engine"]["pairs_streamed"], true);
    for t in ["products", "basket_pairs", "customers"] {
        assert_eq!(m["tables"][t]["blake3"], q["tables"][t]["blake3"], "{t}");
    }
}

/// Issue 29: the spill writes each column in its smallest exact form (ints in 4 bytes, timestamps
/// of whole seconds as steps above a base, money of whole cents as cents) and falls back to 8
/// bytes otherwise: microsecond timestamps over two years, amounts that are no whole cents
/// (0.1 + 0.2, -0.0, 1e-9, 2^40), ids beyond 32 bits. Every table equals the memory engine's.
#[test]
fn spill_encodings_round_trip_every_value() {
    let n = 400usize;
    let big = 1i64 << 40;
    let amounts = [0.1 + 0.2, -0.0, 1e-9, 1_099_511_627_776.0, 12.34, -7.5, 0.07, 3.0];
    let mut df = df!(
        "customer_id" => (0..n).map(|i| if i % 9 == 0 { None } else { Some(big + (i as i64 % 37) * (1i64 << 33)) }).collect::<Vec<_>>(),
        "order_id" => (0..n).map(|i| -big + (i as i64 / 3) * 5_000_000_000).collect::<Vec<_>>(),
        "ts" => (0..n).map(|i| micros("2023-01-01 00:00") + (i as i64 * 157_680_000_000_000 / n as i64) + (i as i64 * 7919) % 1_000_000).collect::<Vec<_>>(),
        "amount" => (0..n).map(|i| amounts[i % amounts.len()]).collect::<Vec<_>>(),
        "product_id" => (0..n).map(|i| (i as i64 % 11) - (1i64 << 35)).collect::<Vec<_>>(),
    )
    .unwrap();
    df.apply("ts", |s| s.cast(&DataType::Datetime(TimeUnit::Microseconds, None)).unwrap()).unwrap();
    let (_d, p) = dump_frame(&mut df);
    let s = settings(&p, Some("2028-01-01"));
    let memory = digests(with_engine(s.clone(), EngineChoice::Memory, None)).unwrap();
    for parts in [1, 3] {
        let partitioned = digests(with_engine(s.clone(), EngineChoice::Partitioned, Some(parts))).unwrap();
        assert_eq!(partitioned.2, "partitioned");
        assert_eq!(memory.1, partitioned.1, "counts, {parts} partitions");
        assert_eq!(memory.0, partitioned.0, "tables, {parts} partitions");
    }
}
