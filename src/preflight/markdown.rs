//! The preflight report as Markdown, for a deploy log or a pull request comment.
use std::fmt::Write;

use super::document::{Report, SessionReport, StatementReport};
use crate::humanize::{count, first_line, opt_age};
use crate::report::markdown::{cell, escape};

/// Estimated rows as people say them, or "unknown" when the table was never analyzed.
pub use crate::humanize::estimated_rows as rows;

fn bytes(n: Option<i64>) -> String {
    let Some(n) = n else { return "-".into() };
    let n = n as f64;
    let (v, unit) = if n >= 1024.0 * 1024.0 * 1024.0 {
        (n / (1024.0 * 1024.0 * 1024.0), "GB")
    } else if n >= 1024.0 * 1024.0 {
        (n / (1024.0 * 1024.0), "MB")
    } else {
        (n / 1024.0, "kB")
    };
    format!("{v:.1} {unit}")
}

fn who(s: &SessionReport) -> String {
    if let Some(gid) = &s.gid {
        return format!("prepared transaction {gid}");
    }
    let name = s
        .application_name
        .as_deref()
        .filter(|a| !a.is_empty())
        .or(s.user.as_deref())
        .unwrap_or("unknown");
    format!(
        "pid {} ({}, {}, xact {})",
        s.pid,
        escape(name),
        s.state.as_deref().unwrap_or("state hidden"),
        opt_age(s.xact_age_s)
    )
}

fn query(s: &SessionReport) -> String {
    s.query
        .as_deref()
        .map(|q| format!(" · `{}`", first_line(q, 80).replace('`', "'")))
        .unwrap_or_default()
}

pub fn render(r: &Report) -> String {
    let mut out = String::new();
    let _ = writeln!(out, "# pglocks preflight of {}\n", escape(&r.source));
    let verdict = if r.exit_code == 0 {
        "PASS: nothing would wait right now".to_string()
    } else {
        format!("FAIL: {}", r.reasons.join("; "))
    };
    let _ = writeln!(out, "**{}**\n", escape(&verdict));
    let _ = writeln!(
        out,
        "PostgreSQL {} · {} · checked {} · large table above {} rows{}\n",
        r.server.version,
        escape(&r.target),
        r.taken_at.format("%Y-%m-%d %H:%M:%S UTC"),
        count(r.large_table as f64),
        if r.strict { " · --strict" } else { "" }
    );
    out.push_str(
        "| # | statement | lock | relation | rows (est.) | size (est.) | work | would wait for |\n",
    );
    out.push_str("|---|---|---|---|---|---|---|---|\n");
    for s in &r.statements {
        summary_rows(&mut out, s);
    }
    out.push('\n');
    for s in &r.statements {
        details(&mut out, s);
    }
    if !r.advice.is_empty() {
        out.push_str("## Advice\n\n");
        for a in &r.advice {
            let _ = writeln!(
                out,
                "- **{}** `{}`: {}",
                a.severity.to_ascii_uppercase(),
                a.code,
                escape(&a.message)
            );
        }
        out.push('\n');
    }
    out
}

fn summary_rows(out: &mut String, s: &StatementReport) {
    let sql = cell(&first_line(&s.statement.sql, 60));
    if s.locks.is_empty() {
        let _ = writeln!(
            out,
            "| {} | {sql} | - | - | - | - | - | {} |",
            s.index,
            if s.would_wait { "see below" } else { "-" }
        );
        return;
    }
    for l in &s.locks {
        let mut waits: Vec<String> = l
            .blockers
            .iter()
            .map(|b| format!("pid {} ({} {})", b.session.pid, b.kind, b.mode))
            .collect();
        waits.extend(
            s.snapshot_waits
                .iter()
                .map(|h| format!("pid {} (snapshot)", h.pid)),
        );
        let _ = writeln!(
            out,
            "| {} | {sql} | {} | {} | {} | {} | {} | {} |",
            s.index,
            l.mode,
            cell(
                l.relation
                    .as_deref()
                    .unwrap_or(&format!("{} (not found)", l.target))
            ),
            rows(l.rows),
            bytes(l.bytes),
            l.work.as_str(),
            if waits.is_empty() {
                "-".into()
            } else {
                cell(&waits.join(", "))
            }
        );
    }
}

fn details(out: &mut String, s: &StatementReport) {
    let st = &s.statement;
    if st.locks().is_empty() && s.snapshot_waits.is_empty() {
        return;
    }
    let _ = writeln!(
        out,
        "## {}. {}\n\n`{}`\n",
        s.index,
        escape(&st.kind),
        first_line(&st.sql, 200).replace('`', "'")
    );
    for l in &s.locks {
        let _ = writeln!(
            out,
            "- Needs **{}** on {} ({} rows, {}; work: {}). Why: {} ({})",
            l.mode,
            escape(l.relation.as_deref().unwrap_or(&l.target)),
            rows(l.rows),
            bytes(l.bytes),
            l.work.as_str(),
            escape(&l.why),
            l.doc_url
        );
        for b in &l.blockers {
            let _ = writeln!(
                out,
                "  - would wait for {} which {} {}{}",
                who(&b.session),
                if b.kind == "holds" {
                    "holds"
                } else {
                    "is queued for"
                },
                b.mode,
                query(&b.session)
            );
        }
        if let Some(rule) = &l.work_rule {
            let _ = writeln!(out, "- Work ({}): {}", l.work.as_str(), escape(rule));
        }
    }
    for step in st.steps.iter().filter(|s| s.condition.is_some()) {
        let _ = writeln!(
            out,
            "- Note ({}): {}",
            escape(&step.action),
            escape(step.condition.as_deref().unwrap_or_default())
        );
    }
    if st.waits_for_old_snapshots {
        if s.snapshot_waits.is_empty() {
            out.push_str("- No session of this database holds a snapshot now: the build would not wait for old transactions.\n");
        }
        for h in &s.snapshot_waits {
            let _ = writeln!(
                out,
                "- would wait for the snapshot of {}{}",
                who(h),
                query(h)
            );
        }
    }
    out.push('\n');
}
