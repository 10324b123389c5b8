//! `pglocks.guard/1` lines: what `pglocks guard` did, beside the polls it made. Each line is
//! one event of one attempt: the attempt starting, a backend found to be the command's, a
//! breaker decision with its reason, the attempt's end, a wait before a retry, the exit.
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

pub const GUARD: &str = "pglocks.guard/1";

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct GuardLine {
    pub format: String,
    pub at: DateTime<Utc>,
    /// 1 for the first run of the command.
    pub attempt: u32,
    #[serde(flatten)]
    pub event: GuardEvent,
}

impl GuardLine {
    pub fn new(attempt: u32, event: GuardEvent) -> GuardLine {
        GuardLine {
            format: GUARD.into(),
            at: Utc::now(),
            attempt,
            event,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "event", rename_all = "snake_case")]
pub enum GuardEvent {
    AttemptStarted {
        command: Vec<String>,
        child_pid: u32,
        /// The application_name the guard gave the command through PGAPPNAME, if it did.
        appname: Option<String>,
        /// `guard --tui`: the file the command's stdout and stderr went to.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        output: Option<String>,
    },
    /// A server backend found to be the command's, and how it was found.
    Backend {
        pid: i32,
        method: String,
    },
    Decision(Decision),
    AttemptEnded {
        /// The command's exit code; None when a signal ended it.
        exit_code: Option<i32>,
        signal: Option<i32>,
        /// The breaker cancelled one of this attempt's statements.
        breaker_tripped: bool,
    },
    /// Before the next attempt: how long, and for whom it waits.
    RetryWait {
        backoff_ms: u64,
        waiting_for: Vec<String>,
    },
    Exit {
        code: i32,
        why: String,
    },
}

/// One breaker decision, with everything its log line says.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Decision {
    /// cancel, terminate, or report (seen, deliberately not acted on)
    pub action: String,
    /// Nothing was signalled: --dry-run.
    #[serde(default)]
    pub dry_run: bool,
    /// The backend signalled (or that would have been).
    pub pid: i32,
    /// The command's backend whose wait led to the decision.
    pub waiter: i32,
    /// lock_wait, queue, idle_blocker or old_snapshots
    pub trigger: String,
    /// The one line the guard printed.
    pub reason: String,
    pub lock: Option<String>,
    pub relation: Option<String>,
    pub root_blocker: Option<String>,
    pub queue: usize,
    pub longest_wait_s: Option<f64>,
    pub wait_s: Option<f64>,
    /// The signal's verified result, in words.
    pub outcome: Option<String>,
    /// From the threshold being crossed to the signal being sent.
    pub latency_ms: Option<f64>,
}

impl GuardLine {
    /// The event as one line of the incident report's timeline; None for the ones that
    /// only the guard's own section lists (backends found).
    pub fn timeline_text(&self) -> Option<String> {
        let n = self.attempt;
        Some(match &self.event {
            GuardEvent::AttemptStarted { command, .. } => {
                format!("Guard: attempt {n} started: {}", command.join(" "))
            }
            GuardEvent::Backend { .. } => return None,
            GuardEvent::Decision(d) => format!("Guard, attempt {n}: {}", d.reason),
            GuardEvent::AttemptEnded {
                exit_code,
                signal,
                breaker_tripped,
            } => format!(
                "Guard: attempt {n} ended: {}{}",
                exit_words(*exit_code, *signal),
                if *breaker_tripped {
                    " (after the breaker cancelled it)"
                } else {
                    ""
                }
            ),
            GuardEvent::RetryWait {
                backoff_ms,
                waiting_for,
            } => {
                let mut text = format!(
                    "Guard: waiting {:.1}s before attempt {}",
                    *backoff_ms as f64 / 1000.0,
                    n + 1
                );
                if !waiting_for.is_empty() {
                    text.push_str(&format!(", and for {} to end", waiting_for.join(", ")));
                }
                text
            }
            GuardEvent::Exit { code, why } => format!("Guard exited {code}: {why}"),
        })
    }
}

/// "exit code 3", "killed by signal 9"
pub fn exit_words(code: Option<i32>, signal: Option<i32>) -> String {
    match (code, signal) {
        (Some(c), _) => format!("exit code {c}"),
        (None, Some(s)) => format!("killed by signal {s}"),
        (None, None) => "exit status unknown".into(),
    }
}
