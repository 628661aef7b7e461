//! Issue 33: scheduled runs that read only what is new. `run --state DIR` keeps the lines it read;
//! a later run with the same DIR reads only the new input files and writes every table exactly as
//! a full run over every file would; when it cannot (a file changed or gone, other line settings,
//! another version) it makes a full run and says why, or stops with `--incremental-only`.

use std::path::{Path, PathBuf};
use std::process::Output;

use polars::prelude::*;
use proptest::prelude::*;

use crate::common::*;
use crate::engines::{arb_dump, frame_of, with_switching, Row};
use evergreen::config::{EngineChoice, Settings};
use evergreen::run::{Job, Manifest};

/// Per table its BLAKE3, and the counts, of a written output.
fn written(m: &Manifest) -> (Vec<(String, String)>, evergreen::facts::Counts) {
    (m.tables.iter().map(|(n, t)| (n.clone(), t.blake3.clone())).collect(), m.counts.clone())
}

/// A run over the folder `input` into `out`, with the state folder `state` when given.
fn run_into(
    input: &Path,
    out: &Path,
    state: Option<&Path>,
    as_of: Option<&str>,
    engine: EngineChoice,
    switching: bool,
) -> Result<Manifest, evergreen::Error> {
    let mut s: Settings = settings(input, as_of);
    if switching {
        s = with_switching(s);
    }
    s.out = Some(out.to_path_buf());
    s.engine.engine = Some(engine);
    if engine == EngineChoice::Partitioned {
        s.engine.partitions = Some(3);
    }
    s.engine.state = state.map(Path::to_path_buf);
    let cfg = s.resolve().expect("valid settings");
    evergreen::run::run(&cfg, Job::Run, Vec::new(), false)
}

/// The day `d` days after 2024-01-01.
fn day(d: u8) -> String {
    (chrono::NaiveDate::from_ymd_opt(2024, 1, 1).unwrap() + chrono::Duration::days(d as i64)).to_string()
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 20, .. ProptestConfig::default() })]

    /// SPEC "Incremental runs": after every increment, the tables (and counts) of the incremental
    /// run equal those of a full run over the same files, byte for byte, on the memory and the
    /// partitioned engine. The messy lines are dealt to the increments at random, so orders are
    /// split across increments, returns and late lines come in later files, guests and orders
    /// naming two customers span files, and lines lie in the future of an as-of that moves
    /// (forward, back, or to the default). Half the cases also write issue 34's tables (their
    /// groups are line settings the state keeps). (Issue 33.)
    #[test]
    fn incremental_runs_write_the_tables_of_a_full_run(
        (rows, strings) in arb_dump(),
        deal in prop::collection::vec(0u8..4, 160),
        as_ofs in prop::collection::vec(prop::option::of(20u8..95), 4),
        partitioned in any::<bool>(),
        switching in any::<bool>(),
    ) {
        let d = tempfile::tempdir().unwrap();
        let input = d.path().join("in");
        std::fs::create_dir(&input).unwrap();
        let state = d.path().join("state");
        let engine = if partitioned { EngineChoice::Partitioned } else { EngineChoice::Memory };
        let all = frame_of(&rows, strings);
        let mut committed = false;
        // Files and lines added since the last committed state (a failed run commits nothing).
        let (mut pending_files, mut pending_lines) = (0u64, 0u64);
        for k in 0..4u8 {
            let mine: Vec<bool> = (0..rows.len()).map(|i| deal[i] == k).collect();
            let mask = BooleanChunked::from_slice("m".into(), &mine);
            let mut part = all.filter(&mask).unwrap();
            if part.height() == 0 {
                continue;
            }
            write_parquet(&mut part, &input.join(format!("part-{k}.parquet")));
            pending_files += 1;
            pending_lines += part.height() as u64;
            let as_of = as_ofs[k as usize].map(day);
            let inc = run_into(&input, &d.path().join("inc"), Some(&state), as_of.as_deref(), engine, switching);
            let full = run_into(&input, &d.path().join("full"), None, as_of.as_deref(), EngineChoice::Memory, switching);
            match (inc, full) {
                (Ok(a), Ok(b)) => {
                    let st = a.state.as_ref().expect("a state report");
                    // After the first committed state, every run reads the files added since only.
                    prop_assert_eq!(st.run, if committed { "incremental" } else { "full" });
                    if committed {
                        prop_assert_eq!(st.files_read, pending_files);
                        prop_assert_eq!(st.lines_read, pending_lines);
                    }
                    committed = true;
                    (pending_files, pending_lines) = (0, 0);
                    prop_assert_eq!(written(&a), written(&b));
                    prop_assert_eq!(a.as_of, b.as_of);
                }
                // Both refuse the same dumps (no customer with a purchase order, no usable line).
                (Err(a), Err(b)) => prop_assert_eq!(a.to_string().replace("/inc", "/full"), b.to_string()),
                (a, b) => prop_assert!(false, "incremental {:?} and full {:?} disagree", a.err(), b.err()),
            }
        }
    }
}

fn evergreen(a: &[&str]) -> Output {
    run_clean(a)
}

fn stderr(o: &Output) -> String {
    stderr_of(o)
}

/// A folder `in/` with the messy lines dealt to two files, and the state and output paths.
struct Scheduled {
    dir: tempfile::TempDir,
}

impl Scheduled {
    /// 120 lines: guests, returns (every 17th line), several products an order; day 1 holds 70.
    fn lines() -> DataFrame {
        let rows: Vec<Row> = (0..120u16)
            .map(|i| ((i % 13) as u8, i / 3, (i % 80) as u8, if i % 17 == 0 { -900 } else { 1000 + 37 * i as i32 }, (i % 7) as u8, false))
            .collect();
        frame_of(&rows, false)
    }
    fn new() -> Scheduled {
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir(dir.path().join("in")).unwrap();
        let s = Scheduled { dir };
        write_parquet(&mut Scheduled::lines().slice(0, 70), &s.file("day1.parquet"));
        s
    }
    fn file(&self, name: &str) -> PathBuf {
        self.dir.path().join("in").join(name)
    }
    fn add_day2(&self) {
        write_parquet(&mut Scheduled::lines().slice(70, 50), &self.file("day2.parquet"));
    }
    fn p(&self, name: &str) -> String {
        self.dir.path().join(name).display().to_string()
    }
    fn run(&self, extra: &[&str]) -> Output {
        let (input, out, state) = (self.p("in"), self.p("out"), self.p("state"));
        let mut a = vec!["run", "-i", &input, "-o", &out, "--state", &state];
        a.extend_from_slice(extra);
        evergreen(&a)
    }
    /// The last run's tables are those of a full run (no state) over the same files with `extra`.
    fn assert_tables_of_a_full_run(&self, extra: &[&str]) {
        let (input, full) = (self.p("in"), self.p("full"));
        let mut a = vec!["run", "-i", &input, "-o", &full];
        a.extend_from_slice(extra);
        let o = evergreen(&a);
        assert!(o.status.success(), "{}", stderr(&o));
        assert_eq!(manifest(&self.dir.path().join("full"))["tables"], self.manifest()["tables"]);
    }
    /// [`Scheduled::run`] stopped (aborted) at the crash point `step` (`EVERGREEN_TEST_CRASH_AT`).
    fn run_crashing_at(&self, step: &str, extra: &[&str]) {
        let (input, out, state) = (self.p("in"), self.p("out"), self.p("state"));
        let killed = bin()
            .args(["run", "-q", "-i", &input, "-o", &out, "--state", &state])
            .args(extra)
            .env("EVERGREEN_TEST_CRASH_AT", step)
            .output()
            .unwrap();
        assert!(!killed.status.success(), "the run was to stop at {step}");
    }
    fn manifest(&self) -> serde_json::Value {
        manifest(&self.dir.path().join("out"))
    }
}

/// SPEC "What forces a full run": a file the state holds that changed is read again, with one
/// log line saying which; `--incremental-only` stops instead (exit 2), touching nothing. (Issue 33.)
#[test]
fn a_changed_input_file_makes_a_full_run_that_says_why() {
    let s = Scheduled::new();
    let o = s.run(&[]);
    assert!(o.status.success(), "{}", stderr(&o));
    assert!(stderr(&o).contains("full run: no state yet"), "{}", stderr(&o));
    s.add_day2();
    let o = s.run(&[]);
    assert!(stderr(&o).contains("incremental run, 1 new of 2 input files"), "{}", stderr(&o));
    assert_eq!(s.manifest()["state"]["run"], "incremental");
    assert_eq!(s.manifest()["state"]["lines_read"], 50);
    // day1 rewritten with one line less: its size and footer change.
    let day1 = read_parquet(&s.file("day1.parquet"));
    write_parquet(&mut day1.slice(0, 69), &s.file("day1.parquet"));
    let before = std::fs::read(s.dir.path().join("out/_manifest.json")).unwrap();
    let o = s.run(&["--incremental-only"]);
    assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
    assert!(stderr(&o).contains("day1.parquet changed"), "{}", stderr(&o));
    assert_eq!(std::fs::read(s.dir.path().join("out/_manifest.json")).unwrap(), before, "nothing written");
    let o = s.run(&[]);
    assert!(o.status.success(), "{}", stderr(&o));
    let err = stderr(&o);
    let warned: Vec<&str> = err.lines().filter(|l| l.contains("full run")).collect();
    assert_eq!(warned.len(), 1, "{}", stderr(&o));
    assert!(warned[0].contains("input file") && warned[0].contains("day1.parquet changed"), "{}", warned[0]);
    assert_eq!(s.manifest()["state"]["run"], "full");
    assert_eq!(s.manifest()["counts"]["lines_read"], 119);
    // A file gone is a full run too.
    std::fs::remove_file(s.file("day2.parquet")).unwrap();
    let o = s.run(&[]);
    assert!(stderr(&o).contains("day2.parquet is no longer among the inputs"), "{}", stderr(&o));
    assert_eq!(s.manifest()["counts"]["lines_read"], 69);
}

/// SPEC "What forces a full run": other line settings (`--where`) make a full run; settings that
/// act after the kept lines (`--zero-net-orders`, money decimals, table options) do not, and the
/// incremental run still writes the full run's tables. (Issue 33.)
#[test]
fn line_settings_force_a_full_run_and_table_settings_do_not() {
    let s = Scheduled::new();
    assert!(s.run(&[]).status.success());
    s.add_day2();
    let o = s.run(&["--zero-net-orders", "purchase", "--money-decimals", "1"]);
    assert!(o.status.success(), "{}", stderr(&o));
    assert_eq!(s.manifest()["state"]["run"], "incremental");
    s.assert_tables_of_a_full_run(&["--zero-net-orders", "purchase", "--money-decimals", "1"]);
    let o = s.run(&["--where", "amount > 0"]);
    assert!(o.status.success(), "{}", stderr(&o));
    assert!(stderr(&o).contains("full run: the line settings differ from the state's (filter)"), "{}", stderr(&o));
    // The excluded ids themselves, not only the file's name and count: product 1, then product 2.
    let ex = s.p("exclude.txt");
    std::fs::write(&ex, "1\n").unwrap();
    assert!(s.run(&["--exclude-items", &ex]).status.success());
    std::fs::write(&ex, "2\n").unwrap();
    let o = s.run(&["--exclude-items", &ex, "--incremental-only"]);
    assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
    assert!(stderr(&o).contains("the line settings differ from the state's (excluded_ids)"), "{}", stderr(&o));
}

/// SPEC "What forces a full run": a state written by another evergreen version is not read.
/// (Issue 33.)
#[test]
fn a_state_of_another_version_makes_a_full_run() {
    let s = Scheduled::new();
    assert!(s.run(&[]).status.success());
    let m = s.dir.path().join("state/_manifest.json");
    let text = std::fs::read_to_string(&m).unwrap();
    let v: serde_json::Value = serde_json::from_str(&text).unwrap();
    let version = v["version"].as_str().unwrap().to_string();
    std::fs::write(&m, text.replace(&format!("\"version\": \"{version}\""), "\"version\": \"0.0.1\"")).unwrap();
    let o = s.run(&[]);
    assert!(o.status.success(), "{}", stderr(&o));
    assert!(stderr(&o).contains("full run: the state was written by evergreen 0.0.1"), "{}", stderr(&o));
}

/// SPEC "Incremental runs": kill -9 during an incremental run, just before the output's swap,
/// leaves the previous output and the previous state whole; the next run reads the new file and
/// writes what a full run writes. (Issue 33.)
#[test]
fn killed_incremental_run_leaves_the_previous_output_and_state() {
    let s = Scheduled::new();
    assert!(s.run(&[]).status.success());
    let out_before = std::fs::read(s.dir.path().join("out/_manifest.json")).unwrap();
    let state_before = std::fs::read(s.dir.path().join("state/_manifest.json")).unwrap();
    s.add_day2();
    let (input, out, state) = (s.p("in"), s.p("out"), s.p("state"));
    let mut child = spawn_held_before_commit(&["run", "-i", &input, "-o", &out, "--state", &state], 20000);
    // Wait until both temporary folders (output and state) are written, then kill.
    wait_until("reached its commit", || {
        let written = std::fs::read_dir(s.dir.path())
            .unwrap()
            .flatten()
            .filter(|e| e.file_name().to_string_lossy().contains("evergreen-tmp"))
            .filter(|e| std::fs::read_dir(e.path()).map(|mut r| r.next().is_some()).unwrap_or(false))
            .count();
        written == 2
    });
    std::thread::sleep(std::time::Duration::from_millis(300));
    child.kill().unwrap();
    child.wait().unwrap();
    assert_eq!(std::fs::read(s.dir.path().join("out/_manifest.json")).unwrap(), out_before);
    assert_eq!(std::fs::read(s.dir.path().join("state/_manifest.json")).unwrap(), state_before);
    let o = s.run(&[]);
    assert!(o.status.success(), "{}", stderr(&o));
    assert_eq!(s.manifest()["state"]["run"], "incremental");
    s.assert_tables_of_a_full_run(&[]);
}

/// Issue 33 (point 1: the output and the state committed together): a run killed between the
/// output's swap and the state's leaves the new output and, beside the state folder, the new state
/// finished and naming that output; the next run swaps that state in first, so it finds the night's
/// files already kept and reads nothing again. A finished state whose output was not swapped in is
/// removed instead (the killed-before-the-swap test above).
#[test]
fn a_run_killed_between_the_two_swaps_has_its_state_swapped_in_by_the_next() {
    let s = Scheduled::new();
    assert!(s.run(&[]).status.success());
    let state_before = std::fs::read(s.dir.path().join("state/_manifest.json")).unwrap();
    s.add_day2();
    s.run_crashing_at("before-state-swap", &[]);
    // The new output (two files read), the previous state.
    let commit = s.manifest()["state"]["commit"].as_str().expect("the output names its state's commit").to_string();
    assert_eq!(s.manifest()["input_files"].as_array().unwrap().len(), 2);
    assert_eq!(std::fs::read(s.dir.path().join("state/_manifest.json")).unwrap(), state_before);
    let o = s.run(&[]);
    assert!(o.status.success(), "{}", stderr(&o));
    assert!(stderr(&o).contains("completed the commit"), "{}", stderr(&o));
    let st = &s.manifest()["state"];
    assert_eq!(st["run"], "incremental", "{st}");
    assert_eq!((st["files_from_state"].as_u64(), st["files_read"].as_u64()), (Some(2), Some(0)), "{st}");
    let kept: serde_json::Value = serde_json::from_slice(&std::fs::read(s.dir.path().join("state/_manifest.json")).unwrap()).unwrap();
    assert_ne!(kept["commit"]["id"].as_str(), Some(commit.as_str()), "the next run committed a state of its own");
    assert_eq!(kept["parts"].as_array().unwrap().len(), 2);
    // Nothing left beside the state folder, and the tables of a full run.
    let left: Vec<String> = std::fs::read_dir(s.dir.path())
        .unwrap()
        .flatten()
        .map(|e| e.file_name().to_string_lossy().to_string())
        .filter(|n| n.contains("evergreen-tmp") || n.contains("evergreen-old"))
        .collect();
    assert!(left.is_empty(), "{left:?}");
    s.assert_tables_of_a_full_run(&[]);
}

/// Issue 33: the previous state that a commit's swap moves out keeps its `_SUCCESS` until it is
/// removed; a run killed right after that swap leaves it beside the new state, and the next run
/// must remove it, never swap the older state back in (each night's output here is its own
/// `--partition-by-as-of` folder, whose manifest still names that older state's commit).
#[test]
fn a_previous_state_left_beside_the_new_one_is_never_swapped_back() {
    let s = Scheduled::new();
    assert!(s.run(&["--partition-by-as-of"]).status.success());
    s.add_day2();
    s.run_crashing_at("after-exchange", &["--partition-by-as-of"]);
    let read = || -> serde_json::Value {
        serde_json::from_slice(&std::fs::read(s.dir.path().join("state/_manifest.json")).unwrap()).unwrap()
    };
    let new_state = read();
    assert_eq!(new_state["parts"].as_array().unwrap().len(), 2, "the new state is in place");
    let o = s.run(&["--partition-by-as-of"]);
    assert!(o.status.success(), "{}", stderr(&o));
    assert!(!stderr(&o).contains("completed the commit"), "{}", stderr(&o));
    let after = read();
    assert_eq!(after["parts"].as_array().unwrap().len(), 2, "{after}");
    assert_eq!(after["commit"]["previous"], new_state["commit"]["id"], "made from the new state, not the older one");
}

/// SPEC "evergreen state": the state's files, lines, parts and bytes, and the as-of of the run
/// that wrote it. (Issue 33.)
#[test]
fn state_command_prints_what_the_state_holds() {
    let s = Scheduled::new();
    assert!(s.run(&[]).status.success());
    s.add_day2();
    assert!(s.run(&[]).status.success());
    let state = s.p("state");
    let o = evergreen(&["state", &state]);
    assert!(o.status.success(), "{}", stderr(&o));
    let text = String::from_utf8_lossy(&o.stdout).to_string();
    assert!(text.contains("files      2"), "{text}");
    // 120 lines read; the null amounts (i % 97 == 0 of the amount key) are rejected.
    let m: serde_json::Value = serde_json::from_slice(&evergreen(&["state", &state, "--format", "json"]).stdout).unwrap();
    assert_eq!(m["lines_read"], 120);
    assert_eq!(m["parts"].as_array().unwrap().len(), 2);
    let kept: u64 = m["parts"].as_array().unwrap().iter().map(|p| p["lines"].as_u64().unwrap()).sum();
    let rejected: u64 = m["rejected"].as_object().unwrap().values().map(|v| v.as_u64().unwrap()).sum();
    assert_eq!(kept + rejected, 120);
    assert!(text.contains(&format!("lines      120 read, {kept} kept")), "{text}");
    assert!(text.contains("as of      2024-"), "{text}");
    // Not a state folder: exit 2 naming it.
    let o = evergreen(&["state", &s.p("out")]);
    assert_ne!(o.status.code(), Some(0));
    assert!(stderr(&o).contains("not a state folder"), "{}", stderr(&o));
}

/// SPEC "Incremental runs": the Spark engine makes full runs only; `--state` with it is exit 2
/// before any cluster time is spent, as are `--incremental-only` and `--full-run` without
/// `--state`. (Issue 33.)
#[test]
fn state_is_refused_where_it_cannot_apply() {
    let s = Scheduled::new();
    let o = s.run(&["--engine", "spark"]);
    assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
    assert!(stderr(&o).contains("the Spark engine makes full runs only"), "{}", stderr(&o));
    let (input, out) = (s.p("in"), s.p("out"));
    let o = evergreen(&["run", "-i", &input, "-o", &out, "--incremental-only"]);
    assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
    assert!(stderr(&o).contains("--incremental-only needs --state DIR"), "{}", stderr(&o));
    let o = evergreen(&["run", "-i", &input, "-o", &out, "--state", &out]);
    assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
}

/// SPEC "What forces a full run": string timestamps in a local layout are read in the layout the
/// state's files were read in, so a new CSV file whose dates alone could be day-first or
/// month-first (01/02/2024) reads as a full run over every file reads it. (Issue 33.)
#[test]
fn new_csv_files_read_their_dates_in_the_states_layout() {
    let d = tempfile::tempdir().unwrap();
    let input = d.path().join("in");
    std::fs::create_dir(&input).unwrap();
    let header = "customer_id,order_id,ts,amount\n";
    // 25/01: day-first is the only layout that reads the first file.
    std::fs::write(input.join("a.csv"), format!("{header}1,1,25/01/2024 10:00,10.50\n2,2,03/01/2024 11:00,20.00\n")).unwrap();
    let (i, out, full, state) = (
        input.display().to_string(),
        d.path().join("out").display().to_string(),
        d.path().join("full").display().to_string(),
        d.path().join("state").display().to_string(),
    );
    let o = evergreen(&["run", "-i", &i, "-o", &out, "--state", &state]);
    assert!(o.status.success(), "{}", stderr(&o));
    std::fs::write(input.join("b.csv"), format!("{header}1,3,01/02/2024 09:00,5.00\n3,4,02/02/2024 09:30,7.25\n")).unwrap();
    let o = evergreen(&["run", "-i", &i, "-o", &out, "--state", &state, "--incremental-only"]);
    assert!(o.status.success(), "{}", stderr(&o));
    let o = evergreen(&["run", "-i", &i, "-o", &full]);
    assert!(o.status.success(), "{}", stderr(&o));
    let (inc, all) = (manifest(&d.path().join("out")), manifest(&d.path().join("full")));
    assert_eq!(inc["tables"], all["tables"]);
    // 1 February (day-first), so the as-of is 3 February.
    assert_eq!(inc["as_of"], "2024-02-03");
}
