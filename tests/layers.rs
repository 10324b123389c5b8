//! The walls between layers, checked on every test run: a file in src/ may import its own
//! layer or a layer below, never one above, and the pure layers use no async runtime,
//! database driver or terminal crate. ARCHITECTURE.md draws the same table.
use std::collections::BTreeSet;
use std::fs;
use std::path::{Path, PathBuf};

/// Bottom to top. A top-level module of src/ (a file `x.rs` with its folder `x/`) belongs
/// to exactly one layer.
const LAYERS: &[(&str, &[&str])] = &[
    ("documents", &["model", "humanize", "lockmode", "sqltext"]),
    (
        "core",
        &[
            "graph",
            "migration",
            "words",
            "situation",
            "diagnose",
            "analysis",
            "redact",
            "ddl",
            "tree",
            "pipeline",
            "document",
            "report",
        ],
    ),
    ("db", &["db", "output", "cluster"]),
    ("io", &["poller", "record", "stage"]),
    (
        "commands",
        &[
            "command",
            "cli",
            "args",
            "tui",
            "guard",
            "preflight",
            "doctor",
            "config",
            "fleet",
            "main",
            "lib",
        ],
    ),
];

/// Crates the documents and the core must not use: they stay pure and testable without IO.
const IO_CRATES: &[&str] = &["tokio", "tokio_postgres", "ratatui", "crossterm"];

/// Imports that point up, each with the reason it goes away. Empty now; it may only shrink,
/// so an entry added here needs a reason and a plan to remove it.
const ALLOWED_UPWARD: &[(&str, &str)] = &[];

fn layer_of(module: &str) -> Option<usize> {
    LAYERS
        .iter()
        .position(|(_, modules)| modules.contains(&module))
}

fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) {
    for entry in fs::read_dir(dir).expect("src/ is readable") {
        let path = entry.expect("a directory entry").path();
        if path.is_dir() {
            rust_files(&path, out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
}

/// The top-level module a file of src/ belongs to: src/tui/table.rs is in `tui`.
fn module_of(src: &Path, file: &Path) -> String {
    let rel = file.strip_prefix(src).expect("a file under src/");
    let first = rel
        .components()
        .next()
        .expect("a path")
        .as_os_str()
        .to_string_lossy()
        .to_string();
    first.trim_end_matches(".rs").to_string()
}

/// The code of a file without its unit tests (they may reach anywhere) and comments.
fn code(text: &str) -> String {
    let text = text
        .split("#[cfg(test)]")
        .next()
        .unwrap_or_default()
        .to_string();
    text.lines()
        .map(|l| match l.find("//") {
            Some(i) => &l[..i],
            None => l,
        })
        .collect::<Vec<_>>()
        .join("\n")
}

/// Every top-level module named after `crate::`, also inside `use crate::{a, b::c}`.
fn crate_imports(code: &str) -> BTreeSet<String> {
    let mut out = BTreeSet::new();
    let ident = |s: &str| -> String {
        s.chars()
            .take_while(|c| c.is_alphanumeric() || *c == '_')
            .collect()
    };
    for (i, _) in code.match_indices("crate::") {
        let rest = &code[i + "crate::".len()..];
        if let Some(group) = rest.strip_prefix('{') {
            let end = group.find('}').unwrap_or(group.len());
            // Only the first segment of each item counts: `{a::b, c}` names a and c.
            let mut depth = 0;
            let mut start = true;
            for (j, ch) in group[..end].char_indices() {
                match ch {
                    '{' => depth += 1,
                    '}' => depth -= 1,
                    ',' if depth == 0 => start = true,
                    c if start && (c.is_alphanumeric() || c == '_') => {
                        out.insert(ident(&group[j..]));
                        start = false;
                    }
                    _ => {}
                }
            }
        } else {
            let name = ident(rest);
            if !name.is_empty() {
                out.insert(name);
            }
        }
    }
    out
}

fn uses_crate(code: &str, krate: &str) -> bool {
    code.match_indices(&format!("{krate}::")).any(|(i, _)| {
        code[..i]
            .chars()
            .next_back()
            .is_none_or(|c| !(c.is_alphanumeric() || c == '_' || c == ':'))
    })
}

#[test]
fn no_import_points_up_a_layer() {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut files = Vec::new();
    rust_files(&src, &mut files);
    files.sort();
    let mut problems = Vec::new();
    let mut upward_seen = BTreeSet::new();
    for file in &files {
        let module = module_of(&src, file);
        let Some(own) = layer_of(&module) else {
            problems.push(format!(
                "{}: module `{module}` is in no layer of tests/layers.rs",
                file.display()
            ));
            continue;
        };
        let code = code(&fs::read_to_string(file).expect("a readable source file"));
        for target in crate_imports(&code) {
            let Some(theirs) = layer_of(&target) else {
                continue;
            };
            if theirs <= own || target == module {
                continue;
            }
            if ALLOWED_UPWARD.contains(&(module.as_str(), target.as_str())) {
                upward_seen.insert((module.clone(), target.clone()));
                continue;
            }
            problems.push(format!(
                "{}: `{module}` ({}) imports `{target}` ({}), a layer above",
                file.display(),
                LAYERS[own].0,
                LAYERS[theirs].0
            ));
        }
        if own <= layer_of("report").expect("report has a layer") {
            for krate in IO_CRATES {
                if uses_crate(&code, krate) {
                    problems.push(format!(
                        "{}: `{module}` is in the pure {} layer but uses {krate}",
                        file.display(),
                        LAYERS[own].0
                    ));
                }
            }
        }
    }
    // An allowance that is no longer needed is removed, so the list can only shrink.
    for (from, to) in ALLOWED_UPWARD {
        if !upward_seen.contains(&(from.to_string(), to.to_string())) {
            problems.push(format!(
                "ALLOWED_UPWARD lists {from} -> {to}, which no file imports any more: remove it"
            ));
        }
    }
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}

#[test]
fn the_checker_sees_grouped_and_plain_imports() {
    let seen = crate_imports(
        "use crate::{graph::EdgeKind, model::{Session, Snapshot}};\nlet x = crate::tui::run();",
    );
    let names: Vec<&str> = seen.iter().map(String::as_str).collect();
    assert_eq!(names, ["graph", "model", "tui"]);
    assert!(uses_crate("use tokio::time;", "tokio"));
    assert!(!uses_crate("use tokio_postgres::Client;", "tokio"));
    assert!(!uses_crate("let x = my_tokio::y;", "tokio"));
}
