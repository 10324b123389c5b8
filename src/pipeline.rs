//! The one way from a polled Snapshot to the analysed document: redact if asked, pin the
//! migrations the caller already knows, analyse. The poller, `snapshot`, `record`, the
//! timeline and replay all go through here.
use crate::analysis::{Analysis, Options, Situation};
use crate::model::Snapshot;

/// A session the caller knows to be a migration, and the reason to show for it.
#[derive(Debug, Clone, PartialEq)]
pub struct Pin {
    pub pid: i32,
    pub reason: Option<String>,
}

/// `snapshot`, redacted when `redact`, analysed with `opts`. A pinned session that the
/// rules do not already take for a migration is pinned, with the pin's reason if it has
/// one; the rules' own reason stands for the others.
pub fn analysed(snapshot: Snapshot, opts: &Options, redact: bool, pins: &[Pin]) -> Analysis {
    let snapshot = if redact {
        crate::redact::snapshot(snapshot)
    } else {
        snapshot
    };
    let situation = Situation::of(snapshot, opts);
    let missing: Vec<&Pin> = pins
        .iter()
        .filter(|p| !situation.migrations.contains_key(&p.pid))
        .collect();
    if missing.is_empty() {
        return Analysis::of(situation, opts);
    }
    let mut pinned = opts.clone();
    pinned
        .rules
        .pinned_pids
        .extend(missing.iter().map(|p| p.pid));
    let mut situation = Situation::of(situation.snapshot, &pinned);
    for p in missing {
        if let Some(reason) = &p.reason {
            situation.migrations.insert(p.pid, reason.clone());
        }
    }
    Analysis::of(situation, &pinned)
}
