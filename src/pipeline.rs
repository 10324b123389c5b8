//! The one way from a polled Snapshot to the analysed document: redact if asked, pin the
//! migrations the caller already knows, analyse. The poller, `snapshot`, `record`, the
//! timeline and replay all go through here.
use crate::analysis::{Analysis, Options, Situation};
use crate::model::Snapshot;

/// A session the caller knows to be a migration, and the reason to show for it.
#[derive(Debug, Clone, PartialEq)]
pub struct Pin {
    pub pid: i32,
    /// Shown when the rules do not take the session for a migration themselves.
    pub reason: Option<String>,
    /// Said after the rules' own reason when they do take it (`guard`: how it found the
    /// session), so that the screen says both why it is a migration and whose it is.
    pub beside_rules: Option<String>,
}

/// `snapshot`, redacted when `redact`, analysed with `opts`. A pinned session that the
/// rules do not already take for a migration is pinned, with the pin's reason if it has
/// one; the rules' own reason stands for the others, followed by the pin's `beside_rules`.
pub fn analysed(snapshot: Snapshot, opts: &Options, redact: bool, pins: &[Pin]) -> Analysis {
    let snapshot = if redact {
        crate::redact::snapshot(snapshot)
    } else {
        snapshot
    };
    let mut situation = Situation::of(snapshot, opts);
    let (taken, missing): (Vec<&Pin>, Vec<&Pin>) = pins
        .iter()
        .partition(|p| situation.migrations.contains_key(&p.pid));
    for p in taken {
        if let (Some(also), Some(reason)) = (&p.beside_rules, situation.migrations.get_mut(&p.pid))
        {
            *reason = format!("{reason}; {also}");
        }
    }
    if missing.is_empty() {
        return Analysis::of(situation, opts);
    }
    let mut pinned = opts.clone();
    pinned
        .rules
        .pinned_pids
        .extend(missing.iter().map(|p| p.pid));
    let kept = situation.migrations;
    let mut situation = Situation::of(situation.snapshot, &pinned);
    // The rules' reasons (with what was said beside them) stand as they were.
    situation.migrations.extend(kept);
    for p in missing {
        if let Some(reason) = &p.reason {
            situation.migrations.insert(p.pid, reason.clone());
        }
    }
    Analysis::of(situation, &pinned)
}
