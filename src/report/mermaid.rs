//! The wait tree as a Mermaid `graph`, which GitHub, GitLab, Notion and Confluence draw
//! from a fenced code block. Arrows point from a blocker to the sessions it holds up.
//!
//! Labels carry statements and names from the server, so every character outside a small
//! safe set is written as a Mermaid entity code (`#35;` for `#`): quotes, brackets, pipes
//! and semicolons would otherwise end the label or the statement.
use std::collections::{BTreeMap, BTreeSet};
use std::fmt::Write;

use crate::analysis::Analysis;
use crate::graph::EdgeKind;
use crate::humanize::{first_line, opt_age};
use crate::tree;
use crate::words;

/// Waiters drawn under one blocker; the rest are summed up in one node.
const MAX_CHILDREN: usize = 8;

/// A fenced ```mermaid block, or None when nobody waits.
pub fn block(a: &Analysis) -> Option<String> {
    graph(a).map(|g| format!("```mermaid\n{g}```\n"))
}

/// The `graph TD` source, or None when nobody waits.
pub fn graph(a: &Analysis) -> Option<String> {
    let rows = tree::rows(a);
    if rows.is_empty() {
        return None;
    }
    // Which sessions get a node: every root, and up to MAX_CHILDREN waiters per blocker
    // (in the tree's order, largest impact first).
    let mut shown: BTreeSet<i32> = BTreeSet::new();
    let mut order: Vec<i32> = Vec::new();
    let mut children: BTreeMap<i32, usize> = BTreeMap::new();
    let mut hidden: BTreeMap<i32, usize> = BTreeMap::new();
    for row in &rows {
        let visible = match row.edge {
            None => true,
            Some(e) => {
                let n = children.entry(e.blocker).or_default();
                *n += 1;
                let fits = *n <= MAX_CHILDREN && shown.contains(&e.blocker);
                if !fits && shown.contains(&e.blocker) && !row.repeat {
                    *hidden.entry(e.blocker).or_default() += 1;
                }
                fits
            }
        };
        if visible && shown.insert(row.pid) {
            order.push(row.pid);
        }
    }
    // Node ids by order of appearance: stable, and free of anything Mermaid could misread.
    let ids: BTreeMap<i32, String> = order
        .iter()
        .enumerate()
        .map(|(i, &pid)| (pid, format!("n{}", i + 1)))
        .collect();
    let node = |pid: i32| ids.get(&pid).cloned().unwrap_or_default();
    let mut out = String::from("graph TD\n");
    for &pid in &order {
        let _ = writeln!(out, "  {}[\"{}\"]", node(pid), label(&node_text(a, pid)));
    }
    for (&blocker, &n) in &hidden {
        let _ = writeln!(
            out,
            "  {}_more[\"{}\"]",
            node(blocker),
            label(&format!("... and {n} more waiting on pid {blocker}"))
        );
    }
    for e in a
        .graph
        .edges
        .iter()
        .filter(|e| shown.contains(&e.waiter) && shown.contains(&e.blocker))
    {
        let (arrow, text) = match e.kind {
            EdgeKind::Holds => (
                "-->",
                format!(
                    "{} {}",
                    words::edge_verb(e.kind),
                    e.lock.mode_held.as_deref().unwrap_or("a lock")
                ),
            ),
            EdgeKind::QueuedAhead => ("-.->", words::edge_verb(e.kind).to_string()),
        };
        let _ = writeln!(
            out,
            "  {} {arrow}|\"{}\"| {}",
            node(e.blocker),
            label(&text),
            node(e.waiter)
        );
    }
    for &blocker in hidden.keys() {
        let _ = writeln!(out, "  {} -.-> {}_more", node(blocker), node(blocker));
    }
    let class_of = |pid: i32| {
        if a.is_migration(pid) {
            Some("migration")
        } else if a.graph.is_root(pid) {
            Some("root")
        } else {
            None
        }
    };
    let _ = writeln!(
        out,
        "  classDef root fill:#fde2e1,stroke:#b42318,stroke-width:2px"
    );
    let _ = writeln!(
        out,
        "  classDef migration fill:#fef0c7,stroke:#b54708,stroke-width:2px"
    );
    for &pid in &order {
        if let Some(class) = class_of(pid) {
            let _ = writeln!(out, "  class {} {class}", node(pid));
        }
    }
    Some(out)
}

fn node_text(a: &Analysis, pid: i32) -> String {
    let Some(s) = a.session(pid) else {
        return format!("pid {pid} (not visible)");
    };
    let tags: Vec<&str> = a.tags(pid).iter().map(|t| t.long()).collect();
    let mut head = format!("pid {pid}");
    if !tags.is_empty() {
        head.push_str(&format!(" {}", tags.join(" ")));
    }
    let who = s.app_label().or(s.user.as_deref()).unwrap_or("?");
    let mut state = format!(
        "{who}, {}, xact {}",
        s.state_label(),
        opt_age(a.xact_age(s))
    );
    if let Some(l) = s.awaited_lock() {
        state.push_str(&format!(
            ", waits {} for {} on {}",
            opt_age(a.wait_age(s)),
            l.mode,
            l.target_label()
        ));
    }
    let behind = a.graph.waiting_total(pid);
    if behind > 0 {
        state.push_str(&format!(", {behind} waiting on it"));
    }
    let query = s
        .query
        .as_deref()
        .map(|q| first_line(q, 60))
        .unwrap_or_default();
    // A line break inside a label; `label` leaves this marker alone.
    [head, state, query]
        .into_iter()
        .filter(|l| !l.is_empty())
        .collect::<Vec<_>>()
        .join(LINE_BREAK)
}

const LINE_BREAK: &str = "\u{0}br\u{0}";

/// Text made safe inside a quoted Mermaid label.
pub fn label(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for (i, part) in text.split(LINE_BREAK).enumerate() {
        if i > 0 {
            out.push_str("<br/>");
        }
        for c in part.chars() {
            match c {
                c if c.is_ascii_alphanumeric() => out.push(c),
                ' ' | '.' | ',' | ':' | '_' | '-' | '+' | '*' | '/' | '=' | '!' | '?' | '@'
                | '%' | '\'' | '(' | ')' | '$' | '~' | '^' => out.push(c),
                c if c.is_control() => out.push(' '),
                c => {
                    let _ = write!(out, "#{};", u32::from(c));
                }
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn labels_cannot_break_out() {
        let hostile = "a\"b]c[d|e;f#g<h>i`j{k}l&m\nn→o";
        let l = label(hostile);
        // Entity codes (#59;) end in a semicolon of their own; nothing else may remain.
        let mut bare = String::new();
        let mut rest = l.as_str();
        while let Some(i) = rest.find('#') {
            bare.push_str(&rest[..i]);
            let code = &rest[i + 1..];
            let digits = code.chars().take_while(char::is_ascii_digit).count();
            assert!(digits > 0 && code[digits..].starts_with(';'), "{l}");
            rest = &code[digits + 1..];
        }
        bare.push_str(rest);
        for c in [
            '"', ']', '[', '|', ';', '<', '>', '`', '{', '}', '&', '\n', '#',
        ] {
            assert!(!bare.contains(c), "{c:?} in {l}");
        }
        assert_eq!(label("x#y"), "x#35;y");
        assert_eq!(label("a→b"), "a#8594;b");
        assert_eq!(
            label(&format!("one{LINE_BREAK}two")),
            "one<br/>two",
            "only our own line breaks become markup"
        );
    }
}
