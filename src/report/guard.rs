//! The guard's part of an incident report: each attempt of the command, each breaker
//! decision with its reason, and how the run ended.
use std::fmt::Write;

use super::markdown::cell;
use crate::document::guard::{GuardEvent, GuardLine, exit_words};

pub fn section(out: &mut String, lines: &[GuardLine]) {
    if lines.is_empty() {
        return;
    }
    let _ = writeln!(out, "## Guarded run\n");
    let attempts = lines.iter().map(|l| l.attempt).max().unwrap_or(0);
    let decisions: Vec<&GuardLine> = lines
        .iter()
        .filter(|l| matches!(l.event, GuardEvent::Decision(_)))
        .collect();
    let exit = lines.iter().rev().find_map(|l| match &l.event {
        GuardEvent::Exit { code, why } => Some(format!("exited {code}: {why}")),
        _ => None,
    });
    let _ = writeln!(
        out,
        "`pglocks guard` ran the command {attempts} time(s) and made {} breaker decision(s); it {}.\n",
        decisions.len(),
        exit.as_deref()
            .unwrap_or("did not record its exit (it was stopped)")
    );
    let _ = writeln!(out, "| attempt | time (UTC) | event |\n|---|---|---|");
    for l in lines {
        let text = match &l.event {
            GuardEvent::AttemptStarted {
                command,
                child_pid,
                appname,
                output,
            } => format!(
                "started {} as process {child_pid}{}{}",
                command.join(" "),
                appname
                    .as_deref()
                    .map(|a| format!(", PGAPPNAME={a}"))
                    .unwrap_or_default(),
                output
                    .as_deref()
                    .map(|o| format!(", its output to {o}"))
                    .unwrap_or_default()
            ),
            GuardEvent::Backend { pid, method } => {
                format!("backend pid {pid} is the command's (found by {method})")
            }
            // The line the guard printed, with the result when it acted.
            GuardEvent::Decision(d) => d.reason.clone(),
            GuardEvent::AttemptEnded {
                exit_code,
                signal,
                breaker_tripped,
            } => format!(
                "the command ended: {}{}",
                exit_words(*exit_code, *signal),
                if *breaker_tripped {
                    ", after the breaker cancelled its statement"
                } else {
                    ""
                }
            ),
            GuardEvent::RetryWait {
                backoff_ms,
                waiting_for,
            } => {
                let mut t = format!("backing off {:.1}s", *backoff_ms as f64 / 1000.0);
                if !waiting_for.is_empty() {
                    t.push_str(&format!(", waiting for {} to end", waiting_for.join(", ")));
                }
                t
            }
            GuardEvent::Exit { code, why } => format!("guard exited {code}: {why}"),
        };
        let text = match l.event {
            GuardEvent::Decision(_) => format!("**{}**", cell(&text)),
            _ => cell(&text),
        };
        let _ = writeln!(
            out,
            "| {} | {} | {text} |",
            l.attempt,
            l.at.format("%H:%M:%S%.3f"),
        );
    }
    out.push('\n');
}
