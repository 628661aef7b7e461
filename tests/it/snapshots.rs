//! Snapshot tests of the command line's text: the help screens state the semantics that scripts
//! and schedulers rely on, so any change to them must be deliberate. On a difference the test
//! fails with both texts; `EVERGREEN_UPDATE_SNAPSHOTS=1 cargo test snapshots` rewrites the files
//! in tests/snapshots/ after a reviewed change.

use crate::common::*;

fn check(name: &str, actual: &str) {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/snapshots").join(name);
    if std::env::var_os("EVERGREEN_UPDATE_SNAPSHOTS").is_some() {
        std::fs::write(&path, actual).unwrap();
        return;
    }
    let expected = std::fs::read_to_string(&path).unwrap_or_default();
    assert!(
        expected == actual,
        "snapshot {name} differs.\n--- expected ({})\n{expected}\n--- actual\n{actual}",
        path.display()
    );
}

fn stdout(args: &[&str]) -> String {
    // A fixed width and no EVERGREEN_* settings, so the text does not depend on the terminal.
    let mut cmd = bin();
    for (k, _) in std::env::vars().filter(|(k, _)| k.starts_with("EVERGREEN_")) {
        cmd.env_remove(k);
    }
    let o = cmd.args(args).env("COLUMNS", "100").output().unwrap();
    assert!(o.status.success());
    String::from_utf8(o.stdout).unwrap()
}

#[test]
fn top_level_help() {
    check("help.txt", &stdout(&["--help"]));
}

#[test]
fn run_help_states_the_semantics() {
    let text = stdout(&["run", "--help"]);
    // The contract in words, whatever the layout.
    for must in ["ties share a score", "Exit codes: 0 ok", "ts >= D 00:00", "halves away from zero"] {
        assert!(text.contains(must), "run --help lacks `{must}`");
    }
    check("run-help.txt", &text);
}

#[test]
fn basket_help_states_the_measures() {
    let text = stdout(&["basket", "--help"]);
    for must in ["lift", "pair_orders * total / (orders(a) * orders(b))", "ceil(--min-support * total)"] {
        assert!(text.contains(must), "basket --help lacks `{must}`");
    }
    check("basket-help.txt", &text);
}

#[test]
fn patterns_help_states_the_rules() {
    let text = stdout(&["patterns", "--help"]);
    for must in [
        "ceil(F x purchase orders)",
        "first(A) < t <= first(A) + W x 24 h",
        "null when confidence = 1",
        "--max-itemsets",
    ] {
        assert!(text.contains(must), "patterns --help lacks `{must}`");
    }
    check("patterns-help.txt", &text);
}

/// Issue 14.
#[test]
fn compare_help_states_the_rules() {
    let text = stdout(&["compare", "--help"]);
    for must in ["comes from `new`", "goes to `gone`", "same bins, scoring", "new first and gone last"] {
        assert!(text.contains(must), "compare --help lacks `{must}`");
    }
    check("compare-help.txt", &text);
}

#[test]
fn report_help_states_what_the_page_holds() {
    let text = stdout(&["report", "--help"]);
    for must in ["no script, nothing fetched", "evergreen-data", "15 pairs", "latest complete"] {
        assert!(text.contains(must), "report --help lacks `{must}`");
    }
    check("report-help.txt", &text);
}

/// Each subcommand lists only the groups of flags it uses: `basket` has no score, query, CLV,
/// pattern or trend flags, `clv` no pair or score flags, `patterns` no score or CLV flags; a flag
/// of another command is an argument error (exit 2), not silently ignored.
/// (Issue 28: `basket --help` listed all 71 of `run`'s flags.)
#[test]
fn each_subcommand_lists_only_its_own_flags() {
    let has = |cmd: &str, flag: &str| {
        stdout(&[cmd, "--help"]).lines().any(|l| {
            let l = l.trim_start();
            l.starts_with(flag) || l.get(4..).is_some_and(|rest| l.starts_with('-') && rest.starts_with(flag))
        })
    };
    for flag in ["--bins", "--queries", "--clv", "--itemsets", "--trend-days", "--tier", "--compare-with"] {
        assert!(!has("basket", flag), "basket lists {flag}");
    }
    for flag in ["--min-pair-orders", "--bins", "--itemsets", "--trend-days"] {
        assert!(!has("clv", flag), "clv lists {flag}");
    }
    for flag in ["--bins", "--clv", "--trend-days", "--queries"] {
        assert!(!has("patterns", flag), "patterns lists {flag}");
    }
    for (cmd, flag) in [("basket", "--min-pair-orders"), ("clv", "--horizon-days"), ("patterns", "--max-len"), ("run", "--bins")] {
        assert!(has(cmd, flag), "{cmd} lacks {flag}");
    }
    for flag in ["--input", "--out", "--config", "--as-of", "--money-decimals", "--engine", "--where", "--publish"] {
        for cmd in ["run", "basket", "clv", "patterns"] {
            assert!(has(cmd, flag), "{cmd} lacks {flag}");
        }
    }
    let o = bin().args(["basket", "-i", "x.parquet", "-o", "o", "--clv"]).output().unwrap();
    assert_eq!(o.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&o.stderr).contains("--clv"));
}
