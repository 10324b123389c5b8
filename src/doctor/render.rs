//! The doctor's report for people: one line per item, the action under it.
use std::fmt::Write;

use super::{Report, Status};

pub fn markdown(r: &Report) -> String {
    let mut out = format!(
        "# pglocks doctor: {} (PostgreSQL {}), role {}\n\n",
        r.target, r.server_version, r.role
    );
    for c in &r.checks {
        let status = match c.status {
            Status::Ok => "ok",
            Status::Note => "NOTE",
            Status::Degraded => "DEGRADED",
        };
        let _ = writeln!(out, "- **{status}** {}: {}", c.item, c.finding);
        if let Some(action) = &c.action {
            let _ = writeln!(out, "  - Do: {action}");
        }
    }
    let degraded = r
        .checks
        .iter()
        .filter(|c| c.status == Status::Degraded)
        .count();
    out.push('\n');
    if degraded == 0 {
        out.push_str("Verdict: pglocks can fully work here.\n");
    } else {
        let _ = writeln!(
            out,
            "Verdict: pglocks works here only in part ({degraded} item(s) degraded; exit 2)."
        );
    }
    out
}
