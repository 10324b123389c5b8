//! The walls between layers, checked on every test run: a file in src/ may import its own
//! layer or a layer below, never one above, and the pure layers use no async runtime,
//! database driver or terminal crate; and no two files import each other, directly or
//! round a circle. ARCHITECTURE.md draws the same table.
use std::collections::{BTreeMap, BTreeSet};
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

/// Folders whose files may import each other in a circle because they are one unit (named,
/// with the reason, in ARCHITECTURE.md). Empty now: every circle between files was broken.
const ONE_UNIT: &[&str] = &[];

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

/// A file's module path: src/db/poll.rs is `db::poll`, src/lib.rs the crate root.
fn module_path(src: &Path, file: &Path) -> Vec<String> {
    let rel = file.strip_prefix(src).expect("a file under src/");
    let mut path: Vec<String> = rel
        .with_extension("")
        .components()
        .map(|c| c.as_os_str().to_string_lossy().to_string())
        .collect();
    if path == ["lib"] {
        path.clear();
    }
    path
}

/// Every path a file names: each item of its `use` lists (`a::{b, c::d}` gives `a::b` and
/// `a::c::d`) and each `x::y` written inline. Only the leading segments matter later.
fn named_paths(code: &str) -> Vec<Vec<String>> {
    fn expand(prefix: &[String], text: &str, out: &mut Vec<Vec<String>>) {
        let text = text.trim();
        if let Some(open) = text.find('{') {
            let mut head = prefix.to_vec();
            head.extend(segments(&text[..open]));
            let close = text.rfind('}').filter(|&c| c > open).unwrap_or(text.len());
            let inner = &text[open + 1..close];
            let (mut depth, mut start) = (0, 0);
            for (i, ch) in inner.char_indices() {
                match ch {
                    '{' => depth += 1,
                    '}' => depth -= 1,
                    ',' if depth == 0 => {
                        expand(&head, &inner[start..i], out);
                        start = i + 1;
                    }
                    _ => {}
                }
            }
            expand(&head, &inner[start..], out);
        } else {
            let mut path = prefix.to_vec();
            path.extend(segments(text.split(" as ").next().unwrap_or_default()));
            out.push(path);
        }
    }
    fn segments(text: &str) -> Vec<String> {
        text.split("::")
            .map(|s| s.trim().to_string())
            .filter(|s| !s.is_empty() && s != "*")
            .collect()
    }
    let is_ident = |c: char| c.is_alphanumeric() || c == '_';
    let mut out = Vec::new();
    // A `use` declaration starts a line (after `pub`, `pub(crate)` and the like).
    let mut at = 0;
    for line in code.split_inclusive('\n') {
        let trimmed = line.trim_start();
        let decl = trimmed
            .strip_prefix("pub")
            .map(|rest| match rest.strip_prefix('(') {
                Some(r) => r.split_once(')').map_or(rest, |(_, after)| after),
                None => rest,
            })
            .unwrap_or(trimmed)
            .trim_start();
        if let Some(rest) = decl.strip_prefix("use ") {
            let begin = at + (line.len() - rest.len());
            let end = code[begin..].find(';').map_or(code.len(), |e| begin + e);
            expand(&[], &code[begin..end], &mut out);
        }
        at += line.len();
    }
    for (i, _) in code.match_indices("::") {
        let before = &code[..i];
        let start = before
            .char_indices()
            .rev()
            .take_while(|&(_, c)| is_ident(c) || c == ':')
            .last()
            .map_or(i, |(j, _)| j);
        let end = code[i..]
            .char_indices()
            .find(|&(_, c)| !(is_ident(c) || c == ':'))
            .map_or(code.len(), |(e, _)| i + e);
        // `a::{b, c}` was read with the `use` it belongs to.
        if !code[end..].starts_with('{') {
            out.push(segments(&code[start..end]));
        }
    }
    out
}

/// The files of src/ that the file of module `own` imports: `crate::`, `super::` and
/// `self::` paths, and bare paths that start with one of its own child modules, each
/// resolved to the deepest module that is a file.
fn file_imports(
    own: &[String],
    code: &str,
    modules: &BTreeSet<Vec<String>>,
) -> BTreeSet<Vec<String>> {
    let mut out = BTreeSet::new();
    for path in named_paths(code) {
        let Some(first) = path.first() else { continue };
        let full: Vec<String> = match first.as_str() {
            "crate" => path[1..].to_vec(),
            "self" => [own, &path[1..]].concat(),
            "super" => {
                let ups = path.iter().take_while(|s| *s == "super").count();
                [&own[..own.len().saturating_sub(ups)], &path[ups..]].concat()
            }
            _ if modules.contains(&[own, &path[..1]].concat()) => [own, &path[..]].concat(),
            _ => continue,
        };
        if let Some(target) = (0..=full.len())
            .rev()
            .map(|n| full[..n].to_vec())
            .find(|m| modules.contains(m))
        {
            out.insert(target);
        }
    }
    out
}

/// A file and its folder's face (`x.rs` for the files in `x/`) are read as one: the face
/// declares and re-exports its files, and they use what it defines.
fn face_and_file(a: &[String], b: &[String]) -> bool {
    a.len().abs_diff(b.len()) == 1 && (a.starts_with(b) || b.starts_with(a))
}

/// The groups of files that reach each other through their imports (two or more files).
fn circles(imports: &BTreeMap<Vec<String>, BTreeSet<Vec<String>>>) -> Vec<Vec<Vec<String>>> {
    let reach = |from: &Vec<String>| -> BTreeSet<Vec<String>> {
        let mut seen = BTreeSet::new();
        let mut todo = vec![from.clone()];
        while let Some(m) = todo.pop() {
            for next in imports.get(&m).into_iter().flatten() {
                if seen.insert(next.clone()) {
                    todo.push(next.clone());
                }
            }
        }
        seen
    };
    let reached: BTreeMap<&Vec<String>, BTreeSet<Vec<String>>> =
        imports.keys().map(|m| (m, reach(m))).collect();
    let mut placed = BTreeSet::new();
    let mut out = Vec::new();
    for (m, from_m) in &reached {
        if placed.contains(*m) || !from_m.contains(*m) {
            continue;
        }
        let circle: Vec<Vec<String>> = from_m
            .iter()
            .filter(|other| reached.get(other).is_some_and(|r| r.contains(*m)))
            .cloned()
            .collect();
        placed.extend(circle.iter().cloned());
        out.push(circle);
    }
    out
}

/// The import graph between the files of a source tree, without a face and its own files.
fn file_graph(src: &Path) -> BTreeMap<Vec<String>, BTreeSet<Vec<String>>> {
    let mut files = Vec::new();
    rust_files(src, &mut files);
    // main.rs is the binary crate: its `crate::` is not the library's.
    files.retain(|f| f.file_name().is_some_and(|n| n != "main.rs"));
    let modules: BTreeSet<Vec<String>> = files.iter().map(|f| module_path(src, f)).collect();
    files
        .iter()
        .map(|f| {
            let own = module_path(src, f);
            let text = fs::read_to_string(f).expect("a readable source file");
            let imports = file_imports(&own, &code(&text), &modules)
                .into_iter()
                .filter(|t| *t != own && !face_and_file(&own, t))
                .collect();
            (own, imports)
        })
        .collect()
}

#[test]
fn no_two_files_import_each_other() {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let graph = file_graph(&src);
    let found = circles(&graph);
    let inside = |c: &Vec<Vec<String>>, unit: &str| {
        c.iter()
            .all(|m| m.join("/").starts_with(&format!("{unit}/")))
    };
    // A unit whose circle was broken leaves the list, so it can only shrink.
    let stale = ONE_UNIT
        .iter()
        .filter(|u| !found.iter().any(|c| inside(c, u)))
        .map(|u| format!("ONE_UNIT lists {u}, whose files no longer form a circle: remove it"));
    let problems: Vec<String> = found
        .iter()
        .filter(|c| !ONE_UNIT.iter().any(|u| inside(c, u)))
        .map(|c| {
            let files: Vec<String> = c
                .iter()
                .map(|m| format!("src/{}.rs", m.join("/")))
                .collect();
            let edges: Vec<String> = c
                .iter()
                .flat_map(|a| {
                    graph[a]
                        .iter()
                        .filter(|b| c.contains(b))
                        .map(move |b| format!("{} -> {}", a.join("/"), b.join("/")))
                })
                .collect();
            format!(
                "these files import each other in a circle: {} ({}); move what they share into \
                 a file they both import, or name the folder in ONE_UNIT and ARCHITECTURE.md",
                files.join(", "),
                edges.join(", ")
            )
        })
        .chain(stale)
        .collect();
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}

#[test]
fn the_circle_checker_resolves_paths_and_finds_circles() {
    let m = |s: &str| -> Vec<String> { s.split('/').map(String::from).collect() };
    let modules: BTreeSet<Vec<String>> = [
        "db",
        "db/poll",
        "db/connect",
        "db/conninfo",
        "db/conninfo/env",
        "model",
    ]
    .iter()
    .map(|s| m(s))
    .collect();
    let code = "use super::{connect::Connection, conninfo::{Env, Host}};\n\
                use crate::model::Session;\nfn f() { self::helper(); env::x(); super::super::model::y(); }";
    let seen = file_imports(&m("db/poll"), code, &modules);
    // `self::` names the file itself; the graph leaves that out.
    let want = ["db/connect", "db/conninfo", "db/poll", "model"].map(m);
    assert_eq!(seen, want.into_iter().collect());
    let seen = file_imports(&m("db/conninfo"), "fn g() { env::pg_vars(e); }", &modules);
    assert_eq!(seen, [m("db/conninfo/env")].into_iter().collect());
    assert!(face_and_file(&m("db/conninfo"), &m("db/conninfo/env")));
    assert!(!face_and_file(&m("db"), &m("db/conninfo/env")));

    let graph: BTreeMap<Vec<String>, BTreeSet<Vec<String>>> = [
        (m("a"), [m("b")].into_iter().collect()),
        (m("b"), [m("c")].into_iter().collect()),
        (m("c"), [m("a")].into_iter().collect()),
        (m("d"), [m("a")].into_iter().collect()),
    ]
    .into_iter()
    .collect();
    assert_eq!(circles(&graph), vec![vec![m("a"), m("b"), m("c")]]);
}
