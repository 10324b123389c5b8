//! A Snapshot with everything derived from it: the [`Situation`] (graph, migrations,
//! headline) and the findings the rules make from it, built in one step. Read by every
//! renderer.
use std::ops::Deref;

use crate::diagnose;
use crate::model::{Finding, Snapshot};

pub use crate::situation::{Options, Situation};

#[derive(Debug, Clone)]
pub struct Analysis {
    situation: Situation,
    pub findings: Vec<Finding>,
}

pub fn analyze(snapshot: Snapshot, opts: &Options) -> Analysis {
    Analysis::of(Situation::of(snapshot, opts), opts)
}

impl Analysis {
    /// The rules run once, on a finished situation.
    pub fn of(situation: Situation, opts: &Options) -> Analysis {
        let findings = diagnose::findings(&situation, opts);
        Analysis {
            situation,
            findings,
        }
    }

    pub fn into_snapshot(self) -> Snapshot {
        self.situation.snapshot
    }
}

/// Everything derived before the rules reads through: `a.graph`, `a.session(pid)`.
impl Deref for Analysis {
    type Target = Situation;

    fn deref(&self) -> &Situation {
        &self.situation
    }
}
