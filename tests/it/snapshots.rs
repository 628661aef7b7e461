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
