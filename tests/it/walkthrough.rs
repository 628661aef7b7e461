//! Issue 15 (point 8): the README's "real dump in five minutes" walk-through runs as written. The
//! commands are read from the README's block marked `<!-- walkthrough -->`, `cargo run --` becomes
//! the test binary and `out/` a temporary folder.

use crate::common::*;

/// Split a shell command line into words: blanks separate, '...' and "..." quote.
fn words(line: &str) -> Vec<String> {
    let (mut out, mut cur, mut quote, mut any) = (Vec::new(), String::new(), None::<char>, false);
    for ch in line.chars() {
        match (quote, ch) {
            (Some(q), c) if c == q => quote = None,
            (Some(_), c) => cur.push(c),
            (None, '\'' | '"') => {
                quote = Some(ch);
                any = true;
            }
            (None, c) if c.is_whitespace() => {
                if any || !cur.is_empty() {
                    out.push(std::mem::take(&mut cur));
                }
                any = false;
            }
            (None, c) => cur.push(c),
        }
    }
    if any || !cur.is_empty() {
        out.push(cur);
    }
    out
}

/// Issue 15.
#[test]
fn readme_walkthrough_runs_as_written() {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR"));
    let readme = std::fs::read_to_string(root.join("README.md")).unwrap();
    let block = readme.split("<!-- walkthrough -->").nth(1).expect("the README marks its walk-through");
    let block = block.split("```sh").nth(1).unwrap().split("```").next().unwrap();
    let tmp = tempfile::tempdir().unwrap();
    let mut ran = 0;
    for line in block.lines().map(str::trim).filter(|l| !l.is_empty() && !l.starts_with('#')) {
        let w = words(line);
        assert_eq!(w[..3], ["cargo", "run", "--"], "{line}");
        let args: Vec<String> = w[3..]
            .iter()
            .map(|a| match a.strip_prefix("out/") {
                Some(rest) => tmp.path().join(rest).display().to_string(),
                None => a.clone(),
            })
            .collect();
        let o = bin().current_dir(root).args(&args).env_remove("EVERGREEN_OUT").output().unwrap();
        assert!(o.status.success(), "{line}\n{}", String::from_utf8_lossy(&o.stderr));
        if args[0] == "query" {
            let text = String::from_utf8_lossy(&o.stdout);
            assert!(text.lines().count() > 5, "{line}: printed no rows\n{text}");
        }
        ran += 1;
    }
    assert!(ran >= 7, "only {ran} commands");
    // The filters did what the walk-through says.
    let m = manifest(&tmp.path().join("retail-uk"));
    assert!(m["counts"]["filtered_lines"].as_u64().unwrap() > 0);
    let m = manifest(&tmp.path().join("retail"));
    assert!(m["config"]["columns"]["filter"]["exclude_items"]["count"].as_u64().unwrap() >= 10);
}
