//! The Markdown an engineer pastes into the incident doc.
use std::fmt::Write;

use crate::analysis::Analysis;
use crate::humanize::{first_line, opt_age, plural};
use crate::model::{ActionRecord, Session};
use crate::tree::{self, Group, Item, TreeRow};
use crate::words;

/// Beyond this many siblings the tree says how many more; the JSON keeps them all.
const MAX_SIBLINGS: usize = 15;

pub fn render(a: &Analysis, actions: &[ActionRecord]) -> String {
    let mut out = String::new();
    let server = &a.snapshot.server;
    let _ = writeln!(
        out,
        "# pglocks snapshot {}\n",
        a.snapshot.taken_at.format("%Y-%m-%d %H:%M:%S UTC")
    );
    let _ = writeln!(out, "**{}**\n", escape(&a.headline()));
    let _ = writeln!(
        out,
        "PostgreSQL {} · {} · {} waiting on locks · max_connections {}\n",
        server.version,
        plural(a.snapshot.sessions.len(), "session", "sessions"),
        a.waiting_count(),
        server.max_connections
    );
    wait_tree(&mut out, a);
    findings(&mut out, a);
    sessions_table(&mut out, a);
    if !actions.is_empty() {
        let _ = writeln!(
            out,
            "## Actions\n\n| at | action | pid | result |\n|---|---|---|---|"
        );
        for act in actions {
            let _ = writeln!(
                out,
                "| {} | {} | {} | {} |",
                act.at.format("%H:%M:%S"),
                act.action,
                act.pid,
                cell(&act.result)
            );
        }
        out.push('\n');
    }
    out
}

pub(crate) fn wait_tree(out: &mut String, a: &Analysis) {
    let _ = writeln!(out, "## Wait tree\n");
    // Identical waiters are one line here as on screen; the JSON lists every session.
    let rows = tree::items(a, &|_| false);
    if rows.is_empty() {
        let _ = writeln!(out, "Nobody is waiting on a lock.\n");
        return;
    }
    // (shown, hidden) per depth for the current sibling group, so that a pile-up of
    // hundreds collapses into one line.
    let mut groups: Vec<(usize, usize)> = Vec::new();
    let mut skip_below: Option<usize> = None;
    for item in &rows {
        let (d, line) = match item {
            Item::Row(r) | Item::Member(r, _) => (r.depth, tree_line(a, r)),
            Item::Group(g) => (g.depth, group_line(a, g)),
        };
        if skip_below.is_some_and(|s| d > s) {
            continue;
        }
        skip_below = None;
        close_groups(out, &mut groups, d + 1);
        groups.resize(d + 1, (0, 0));
        let group = &mut groups[d];
        group.0 += 1;
        if d > 0 && group.0 > MAX_SIBLINGS {
            group.1 += 1;
            skip_below = Some(d);
            continue;
        }
        let _ = writeln!(out, "{}- {line}", "  ".repeat(d));
    }
    close_groups(out, &mut groups, 0);
    out.push('\n');
}

fn close_groups(out: &mut String, groups: &mut Vec<(usize, usize)>, keep: usize) {
    while groups.len() > keep {
        let depth = groups.len() - 1;
        if let Some((_, hidden)) = groups.pop().filter(|g| g.1 > 0) {
            let _ = writeln!(
                out,
                "{}- … and {hidden} more (the JSON lists them all)",
                "  ".repeat(depth)
            );
        }
    }
}

fn tree_line(a: &Analysis, row: &TreeRow<'_>) -> String {
    let Some(s) = a.session(row.pid) else {
        return format!("pid {} (not visible)", row.pid);
    };
    let mut parts = Vec::new();
    if let Some(e) = row.edge {
        parts.push(format!("{} ⟶", words::edge_from_waiter(e.kind)));
    }
    let tags: Vec<&str> = a.tags(row.pid).iter().map(|t| t.long()).collect();
    let tag = if tags.is_empty() {
        String::new()
    } else {
        format!(" {}", tags.join(" "))
    };
    let pid = format!("**pid {}**{tag}", row.pid);
    match parts.pop() {
        Some(edge) => parts.push(format!("{edge} {pid}")),
        None => parts.push(pid),
    }
    parts.push(who(s));
    parts.push(format!(
        "{} · xact {} · query {}",
        escape(s.state_label()),
        opt_age(a.xact_age(s)),
        opt_age(a.query_age(s))
    ));
    if let Some(l) = s.awaited_lock() {
        parts.push(format!(
            "waits {} for {} on {}",
            opt_age(a.wait_age(s)),
            escape(&l.mode),
            escape(&l.target_label())
        ));
    }
    if let Some(mode) = a
        .graph
        .waiters_of(row.pid)
        .find_map(|e| e.lock.mode_held.as_deref())
    {
        parts.push(format!("holds {}", escape(mode)));
    }
    if s.locks_unlisted > 0 {
        parts.push(format!(
            "holds {} locks, {} listed (the poll lists {} per session)",
            s.locks.len() as u64 + s.locks_unlisted,
            s.locks.len(),
            crate::model::LOCKS_LISTED_PER_SESSION
        ));
    }
    if let Some(p) = &s.progress {
        parts.push(escape(&p.describe()));
    }
    let behind = a.graph.waiting_total(row.pid);
    if behind > 0 {
        parts.push(format!("{behind} waiting on it"));
    }
    if row.repeat {
        parts.push("(shown above)".into());
    } else if let Some(q) = s.query.as_deref() {
        parts.push(format!("`{}`", first_line(q, 80).replace('`', "'")));
    }
    parts.join(" · ")
}

/// Identical waiters as one line, with their pids so that none is lost from the note.
fn group_line(a: &Analysis, g: &Group<'_>) -> String {
    let edge = format!("{} ⟶", words::edge_from_waiter(g.edge.kind));
    let mut parts = vec![format!(
        "{edge} **× {} identical sessions**",
        g.members.len()
    )];
    let app = (!g.key.application.is_empty()).then_some(g.key.application.as_str());
    let user = (!g.key.user.is_empty()).then_some(g.key.user.as_str());
    parts.push(who_of(app, user));
    let waits = format!("waits {}", g.wait_span(a));
    parts.push(format!(
        "{waits} for {} on {}",
        escape(&g.key.mode),
        escape(&g.key.target)
    ));
    parts.push(format!(
        "`{}`",
        first_line(&g.key.statement, 80).replace('`', "'")
    ));
    let pids: Vec<String> = g.members.iter().map(i32::to_string).collect();
    parts.push(format!("pids {}", pids.join(", ")));
    parts.join(" · ")
}

fn who(s: &Session) -> String {
    who_of(s.app_label(), s.user.as_deref())
}

fn who_of(app: Option<&str>, user: Option<&str>) -> String {
    match (app.filter(|a| !a.is_empty()), user) {
        (Some(app), Some(u)) => format!("{} ({})", escape(app), escape(u)),
        (Some(app), None) => escape(app),
        (None, Some(u)) => escape(u),
        (None, None) => "?".into(),
    }
}

pub(crate) fn findings(out: &mut String, a: &Analysis) {
    let _ = writeln!(out, "## Findings\n");
    if a.findings.is_empty() {
        let _ = writeln!(out, "None.\n");
        return;
    }
    for f in &a.findings {
        let sev = words::severity(f.severity);
        let _ = writeln!(
            out,
            "- **{sev}** `{}`: {}\n  - Advice: {}",
            f.code,
            escape(&f.title),
            escape(&f.advice)
        );
    }
    out.push('\n');
}

pub(crate) fn sessions_table(out: &mut String, a: &Analysis) {
    let mut involved: Vec<&Session> = a
        .snapshot
        .sessions
        .iter()
        .filter(|s| a.graph.depth(s.pid).is_some() || a.is_migration(s.pid))
        .collect();
    // Roots first, then by distance from them: the order the tree reads in.
    involved.sort_by_key(|s| (a.graph.depth(s.pid).unwrap_or(usize::MAX), s.pid));
    let _ = writeln!(out, "## Sessions involved\n");
    if involved.is_empty() {
        let _ = writeln!(out, "None.\n");
        return;
    }
    let _ = writeln!(
        out,
        "| pid | application | user | state | xact | query age | wait | lock wanted | blocked by | waiting on it | query |\n|---|---|---|---|---|---|---|---|---|---|---|"
    );
    for s in involved {
        let wanted = s
            .awaited_lock()
            .map(|l| format!("{} on {}", l.mode, l.target_label()))
            .unwrap_or_default();
        let blocked_by: Vec<String> = s.blocked_by.iter().map(i32::to_string).collect();
        let _ = writeln!(
            out,
            "| {} | {} | {} | {} | {} | {} | {} | {} | {} | {} | {} |",
            s.pid,
            cell(s.app_label().unwrap_or("")),
            cell(s.user.as_deref().unwrap_or("")),
            cell(s.state.as_deref().unwrap_or("")),
            opt_age(a.xact_age(s)),
            opt_age(a.query_age(s)),
            opt_age(a.wait_age(s)),
            cell(&wanted),
            blocked_by.join(", "),
            a.graph.waiting_total(s.pid),
            cell(&first_line(s.query.as_deref().unwrap_or(""), 100)),
        );
    }
    out.push('\n');
}

/// Markdown control characters in names and statements must not change the document.
pub(crate) fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in crate::humanize::inert(text).chars() {
        if matches!(c, '*' | '_' | '`' | '[' | ']' | '<' | '>' | '|' | '#') {
            out.push('\\');
        }
        out.push(c);
    }
    out
}

pub(crate) fn cell(text: &str) -> String {
    escape(&text.replace(['\n', '\r'], " "))
}
