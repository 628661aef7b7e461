//! Issue 10 (and 28: the whole crate): the import rules, checked on the source. Engines turn lines
//! into facts, table families turn facts into tables; a family never imports an engine, the output
//! writer, the CLI, the run, the input reader or another family; every module has its rule; no
//! top-level modules import in a circle, and no two files of one folder do (`super::` included).

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

/// A file's code: its lines without the comment lines (doc links name modules too).
fn code_of(text: &str) -> String {
    text.lines().filter(|l| !l.trim_start().starts_with("//")).collect::<Vec<_>>().join("\n")
}

/// The `crate::a::b` paths a file's code names (comments and doc links left out).
fn crate_paths(text: &str) -> Vec<Vec<String>> {
    let code = code_of(text);
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
            // The crate root's re-exports (`crate::Error`, `crate::Config`) name their modules.
            let target = match path[0].as_str() {
                "Error" | "Result" => "error",
                "Config" => "config",
                t => t,
            };
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
                // Input: files to canonical lines (array kernels read what Polars reads slowly: ISO timestamps).
        "input" => &["input", "config", "error", "facts", "kernels"],
                "output" => &["output", "config", "error", "facts"],
                // Queries read the table registry (names a query may not take), nothing else of a family.
                "queries" => &["queries", "config", "error", "facts", "tables"],
                "connstr" => &["connstr", "config", "error"],
                // Earlier outputs read back: the writer's layout and the queries' table names.
                "snapshot" => &["snapshot", "error", "output", "queries"],
                "publish" => &["publish", "connstr", "error", "output", "snapshot"],
                // The report reads finished outputs (and the table registry), never an engine or the run.
                "report" => &["report", "error", "output", "snapshot", "tables"],
                // The run: the one place that wires engines, families, queries and the writer.
                "run" => &[
                    "run", "config", "connstr", "engine", "error", "exprs", "facts", "input", "kernels", "output",
                    "queries", "snapshot", "tables",
                ],
                // The command line: parses, hands a Config to the run, prints; never computes a table.
                "cli" => &[
                    "cli", "config", "connstr", "error", "output", "run", "publish", "queries", "report", "snapshot",
                ],
                "root" => continue,
                other => {
                    broken.push(format!("{}: module `{other}` has no import rule in tests/it/layout.rs", f.display()));
                    continue;
                }
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

/// The files of one folder never import one another in a circle (`super::x` or the folder's
/// `crate::` path): e.g. two engine passes, or a pass and an engine. A folder's `mod.rs` is left
/// out (it declares and re-exports its files).
/// (Issue 28: `activity`, `attributes`, `customers` and `memory` imported each other.)
#[test]
fn no_two_files_of_a_folder_import_each_other_in_a_circle() {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut files = Vec::new();
    sources(&src, &mut files);
    let mut circles = Vec::new();
    // folder -> file -> siblings it names
    let mut graphs: BTreeMap<PathBuf, BTreeMap<String, BTreeSet<String>>> = BTreeMap::new();
    for f in &files {
        let stem = f.file_stem().unwrap().to_string_lossy().to_string();
        let folder = f.parent().unwrap().to_path_buf();
        if stem == "mod" || folder == src {
            continue;
        }
        let siblings: BTreeSet<String> = std::fs::read_dir(&folder)
            .unwrap()
            .flatten()
            .map(|e| e.path())
            .filter(|p| p.is_dir() || p.extension().is_some_and(|x| x == "rs"))
            .map(|p| p.file_stem().unwrap().to_string_lossy().to_string())
            .filter(|n| n != "mod" && *n != stem)
            .collect();
        let module: Vec<String> =
            folder.strip_prefix(&src).unwrap().iter().map(|p| p.to_string_lossy().to_string()).collect();
        let prefixes = ["super::".to_string(), format!("crate::{}::", module.join("::"))];
        let text = std::fs::read_to_string(f).unwrap();
        let code = code_of(&text);
        // A glob of the parent (`use super::*`) would hide which siblings a file uses.
        if code.contains("use super::*;") || code.contains(&format!("use crate::{}::*;", module.join("::"))) {
            circles.push(format!("{}: imports its parent with a glob; name what it uses", f.strip_prefix(&src).unwrap().display()));
        }
        let mut named = BTreeSet::new();
        for prefix in &prefixes {
            for (i, _) in code.match_indices(prefix.as_str()) {
                if code[..i].chars().last().is_some_and(|c| c.is_alphanumeric() || c == '_' || c == ':') {
                    continue; // `super::super::` or a longer path
                }
                let rest = &code[i + prefix.len()..];
                // `super::x`, or each name of `super::{x, y::z}`
                let names: Vec<String> = if let Some(group) = rest.strip_prefix('{') {
                    let inner = &group[..group.find('}').unwrap_or(group.len())];
                    inner.split(',').map(|p| p.trim().split("::").next().unwrap_or("").to_string()).collect()
                } else {
                    vec![rest.chars().take_while(|c| c.is_alphanumeric() || *c == '_').collect()]
                };
                named.extend(names.into_iter().filter(|n| siblings.contains(n)));
            }
        }
        graphs.entry(folder).or_default().insert(stem, named);
    }
    for (folder, g) in &graphs {
        for (a, bs) in g {
            for b in bs {
                // a names b; a circle when b reaches a.
                let mut seen = BTreeSet::new();
                let mut stack = vec![b.clone()];
                while let Some(n) = stack.pop() {
                    if n == *a {
                        circles.push(format!("{}: {a} -> {b} -> ... -> {a}", folder.strip_prefix(&src).unwrap().display()));
                        break;
                    }
                    if seen.insert(n.clone()) {
                        stack.extend(g.get(&n).into_iter().flatten().cloned());
                    }
                }
            }
        }
    }
    assert!(circles.is_empty(), "files importing each other in a circle:\n{}", circles.join("\n"));
}

/// Issue 28: a chart, a family and an engine each have one obvious home. Every file of
/// `src/report/charts/` is a chart listed in `BUILDERS` under its own name (the KPI lines, drawn
/// from several partitions, apart); every table family made from facts has its step in the run's
/// registry and its code under `src/tables/`; every engine has its file or folder in `src/engine/`.
#[test]
fn every_chart_family_and_engine_has_one_home() {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let stems = |dir: &Path| -> BTreeSet<String> {
        std::fs::read_dir(dir)
            .unwrap()
            .flatten()
            .map(|e| e.path().file_stem().unwrap().to_string_lossy().to_string())
            .filter(|n| n != "mod")
            .collect()
    };
    let charts: BTreeSet<String> = evergreen::report::charts::BUILDERS.iter().map(|(id, _)| id.to_string()).collect();
    let files = stems(&src.join("report/charts"));
    let unlisted: Vec<&String> = files.iter().filter(|f| !charts.contains(*f) && *f != "kpi_lines").collect();
    let homeless: Vec<&String> = charts.iter().filter(|c| !files.contains(*c)).collect();
    assert!(unlisted.is_empty() && homeless.is_empty(), "chart files not listed: {unlisted:?}; charts without a file: {homeless:?}");

    use evergreen::tables::Family;
    let registered: Vec<Family> = evergreen::run::families::FAMILIES.iter().map(|(f, _)| *f).collect();
    let tables = stems(&src.join("tables"));
    for (table, family) in evergreen::tables::REGISTRY {
        let home = format!("{family:?}").to_lowercase();
        assert!(tables.contains(&home), "table {table}: family {family:?} has no src/tables/{home}.rs or folder");
        if family != Family::Snapshots {
            assert!(registered.contains(&family), "table {table}: family {family:?} has no step in run::families::FAMILIES");
        }
    }

    let engines = stems(&src.join("engine"));
    for e in [evergreen::engine::Engine::Memory, evergreen::engine::Engine::Partitioned, evergreen::engine::Engine::Spark] {
        let home = format!("{e:?}").to_lowercase();
        assert!(engines.contains(&home), "engine {e:?} has no src/engine/{home}.rs or folder");
    }
}
