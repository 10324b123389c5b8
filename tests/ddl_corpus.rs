//! Golden corpus for the DDL classifier: every statement the classifier, preflight and
//! rule-table tests use, plus migrations as Rails, Django, Flyway and Alembic write them
//! (tests/data/ddl_corpus.sql). The expected classification of each (kind, outcome, lock
//! and work per relation, condition, safer pattern, documentation rule) is in
//! tests/data/ddl_corpus.expected.json, first written by the classifier built on
//! libpg_query, so that a change of parser or rule shows up as a reviewed diff of that file.
//!
//! `PGLOCKS_BLESS=1 cargo test --test ddl_corpus` rewrites the expected file.
#![allow(clippy::unwrap_used)]

use pglocks::ddl::{self, Outcome};
use serde_json::{Value, json};

const CORPUS: &str = include_str!("data/ddl_corpus.sql");
const EXPECTED: &str = "tests/data/ddl_corpus.expected.json";

/// The inputs: text between `-- @case` lines, each given to the classifier as a whole.
fn cases() -> Vec<(String, String)> {
    let mut out: Vec<(String, String)> = Vec::new();
    for line in CORPUS.lines() {
        if let Some(label) = line.strip_prefix("-- @case") {
            out.push((label.trim().to_string(), String::new()));
        } else if let Some((_, text)) = out.last_mut() {
            text.push_str(line);
            text.push('\n');
        }
    }
    out
}

fn classified() -> Value {
    let all: Vec<Value> = cases()
        .into_iter()
        .map(|(label, input)| {
            let statements: Vec<Value> = ddl::classify(&input)
                .into_iter()
                .map(|mut st| {
                    // The parser's wording is its own; that the text was refused is what counts.
                    if let Outcome::Unknown { reason, position } = &mut st.outcome {
                        *reason = "(parser message)".into();
                        *position = None;
                    }
                    serde_json::to_value(&st).unwrap()
                })
                .collect();
            json!({ "case": label, "input": input, "statements": statements })
        })
        .collect();
    Value::Array(all)
}

#[test]
fn corpus_classifies_as_recorded() {
    let got = classified();
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join(EXPECTED);
    if std::env::var_os("PGLOCKS_BLESS").is_some() {
        let mut text = serde_json::to_string_pretty(&got).unwrap();
        text.push('\n');
        std::fs::write(&path, text).unwrap();
        return;
    }
    let expected: Value = serde_json::from_str(
        &std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display())),
    )
    .unwrap();
    let (got, expected) = (got.as_array().unwrap(), expected.as_array().unwrap());
    assert_eq!(got.len(), expected.len(), "number of cases");
    let mut differ = Vec::new();
    for (g, e) in got.iter().zip(expected) {
        if g != e {
            differ.push(format!(
                "case {} {:?}:\n  expected {}\n  got      {}",
                e["case"],
                e["input"],
                serde_json::to_string(&e["statements"]).unwrap(),
                serde_json::to_string(&g["statements"]).unwrap()
            ));
        }
    }
    assert!(
        differ.is_empty(),
        "{} cases differ:\n{}",
        differ.len(),
        differ.join("\n")
    );
}

#[test]
fn corpus_is_large_and_covers_the_migration_styles() {
    let cases = cases();
    let statements: usize = cases.iter().map(|(_, i)| ddl::classify(i).len()).sum();
    assert!(statements >= 300, "only {statements} statements");
    for style in ["rails", "django", "flyway", "alembic"] {
        assert!(cases.iter().any(|(l, _)| l.starts_with(style)), "{style}");
    }
}
