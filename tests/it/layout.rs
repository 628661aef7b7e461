//! Issue 10: the import rules of the engine seam, checked on the source. Engines turn lines into
//! facts, table families turn facts into tables; a family never imports an engine, the output
//! writer, the CLI, the run, the input reader or another family, and no module imports in a circle.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

/// Every `.rs` file under `dir`.
fn sources(dir: &Path, out: &mut Vec<PathBuf>) {
    for e in std::fs::read_dir(dir).unwrap().flatten() {
        let p = e.path();
        if p.is_dir() {
            sources(&p, out);
        } else if p.extension().is_some_and(|x| x == "rs") {
            out.push(p);
        }
    }
}

/// The `crate::a::b` paths a file's code names (comments and doc links left out).
fn crate_paths(text: &str) -> Vec<Vec<String>> {
    let code: String = text.lines().filter(|l| !l.trim_start().starts_with("//")).collect::<Vec<_>>().join("\n");
    let text = code.as_str();
    let mut out = Vec::new();
    for (i, _) in text.match_indices("crate::") {
        let before = text[..i].chars().last();
        if before.is_some_and(|c| c.is_alphanumeric() || c == '_') {
            continue; // e.g. `evergreen_crate::`
        }
        let rest = &text[i + "crate::".len()..];
        let path: Vec<String> = rest
            .split("::")
            .map(|seg| seg.chars().take_while(|c| c.is_alphanumeric() || *c == '_').collect::<String>())
            .take_while(|seg| !seg.is_empty())
            .take(2)
            .collect();
        if !path.is_empty() {
            out.push(path);
        }
    }
    out
}

/// A file's place: (top module, second level for `tables`/`engine`/`kernels`).
fn place(src: &Path, file: &Path) -> (String, Option<String>) {
    let rel = file.strip_prefix(src).unwrap();
    let parts: Vec<String> = rel.iter().map(|p| p.to_string_lossy().trim_end_matches(".rs").to_string()).collect();
    let top = if parts[0] == "lib" || parts[0] == "main" { "root".to_string() } else { parts[0].clone() };
    (top, parts.get(1).filter(|p| *p != "mod").cloned())
}

/// Issue 10.
#[test]
fn families_import_only_facts_options_and_helpers() {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut files = Vec::new();
    sources(&src, &mut files);
    let mut graph: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    let mut broken = Vec::new();
    for f in &files {
        let text = std::fs::read_to_string(f).unwrap();
        let (top, sub) = place(&src, f);
        for path in crate_paths(&text) {
            let target = path[0].as_str();
            let allowed: &[&str] = match top.as_str() {
                // Families: facts, plain options, expression helpers, errors, array kernels; never one another.
                "tables" => &["tables", "facts", "config", "exprs", "error", "kernels"],
                // Engines: lines to facts; never a table, the writer, the queries, the run or the CLI.
                "engine" => &["engine", "facts", "config", "exprs", "error", "input", "kernels"],
                // Kernels: plain array algorithms.
                "kernels" => &["kernels", "error"],
                "facts" => &[],
                "exprs" | "error" => &["error"],
                "config" => &["config", "error"],
                "input" => &["input", "config", "error", "facts"],
                "output" => &["output", "config", "error", "facts"],
                // Queries read the table registry (names a query may not take), nothing else of a family.
                "queries" => &["queries", "config", "error", "facts", "tables"],
                _ => continue,
            };
            if !allowed.contains(&target) {
                broken.push(format!("{}: imports crate::{}", f.strip_prefix(&src).unwrap().display(), path.join("::")));
            }
            if top == "tables" && target == "tables" {
                if let (Some(own), Some(other)) = (&sub, path.get(1)) {
                    if own != other {
                        broken.push(format!("{}: family {own} imports family {other}", f.display()));
                    }
                }
            }
            if target != top && target != "root" {
                graph.entry(top.clone()).or_default().insert(target.to_string());
            }
        }
    }
    assert!(broken.is_empty(), "import rules broken:\n{}", broken.join("\n"));
    // No circle among the top-level modules.
    fn visit(n: &str, g: &BTreeMap<String, BTreeSet<String>>, path: &mut Vec<String>, done: &mut BTreeSet<String>) -> Option<Vec<String>> {
        if let Some(at) = path.iter().position(|p| p == n) {
            return Some(path[at..].to_vec());
        }
        if done.contains(n) {
            return None;
        }
        path.push(n.to_string());
        for m in g.get(n).into_iter().flatten() {
            if let Some(cycle) = visit(m, g, path, done) {
                return Some(cycle);
            }
        }
        path.pop();
        done.insert(n.to_string());
        None
    }
    let mut done = BTreeSet::new();
    for n in graph.keys() {
        if let Some(cycle) = visit(n, &graph, &mut Vec::new(), &mut done) {
            panic!("import circle: {}", cycle.join(" -> "));
        }
    }
}
