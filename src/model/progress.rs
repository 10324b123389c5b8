//! What a running command reports about itself (pg_stat_progress_*), and its pace over the
//! last polls. The server gives phase and counters; the rate and the ETA are ours.
use std::collections::VecDeque;

use chrono::{DateTime, Utc};
use foldhash::HashMap;
use serde::{Deserialize, Serialize};

use super::{Snapshot, Text};

#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct Progress {
    /// "CREATE INDEX CONCURRENTLY", "VACUUM FULL", "VACUUM", "ANALYZE", "COPY FROM", ...
    pub command: Text,
    pub phase: Text,
    /// The table worked on, when it lives in the monitor's database.
    #[serde(default)]
    pub relation: Option<Text>,
    /// What `done` and `total` count: "blocks", "tuples" or "bytes".
    pub unit: Text,
    #[serde(default)]
    pub done: Option<i64>,
    /// Absent or 0 when the server does not know yet (or never will, e.g. COPY FROM STDIN).
    #[serde(default)]
    pub total: Option<i64>,
    /// CREATE INDEX CONCURRENTLY's waits for older transactions: how many, and which now.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub lockers_done: Option<i64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub lockers_total: Option<i64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub current_locker_pid: Option<i32>,
    /// VACUUM and ANALYZE only: age(pg_class.relfrozenxid) of the table, and the
    /// autovacuum_freeze_max_age that applies to it (the table's own, if lower).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub xid_age: Option<i64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub freeze_max_age: Option<i64>,
    /// VACUUM and ANALYZE only: deadlock_timeout in milliseconds, after which a lock waiter
    /// cancels an ordinary autovacuum that blocks it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub deadlock_timeout_ms: Option<i64>,
    /// Units per second over the last polls of this phase; set by [`Tracker`].
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rate_per_s: Option<f64>,
    /// Seconds until `done` reaches `total` at that rate (this phase only).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub eta_s: Option<f64>,
}

impl Progress {
    /// done/total as a fraction, when both are known.
    pub fn fraction(&self) -> Option<f64> {
        match (self.done, self.total) {
            (Some(d), Some(t)) if t > 0 => Some((d as f64 / t as f64).clamp(0.0, 1.0)),
            _ => None,
        }
    }

    /// "VACUUM public.t: scanning heap 38/885 blocks (4%), 9.5 blocks/s, ETA 1m33s"
    pub fn describe(&self) -> String {
        let mut out = self.command.to_string();
        if let Some(r) = &self.relation {
            out.push(' ');
            out.push_str(r);
        }
        out.push_str(": ");
        out.push_str(&self.phase);
        // CREATE INDEX CONCURRENTLY's waiting phases keep the block counters of the phase
        // before; only the older transactions it waits for mean anything then.
        let waiting = self.phase.starts_with("waiting for");
        match (self.done, self.total.filter(|&t| t > 0 && !waiting)) {
            (Some(d), Some(t)) => out.push_str(&format!(
                " {d}/{t} {} ({:.0}%)",
                self.unit,
                self.fraction().unwrap_or(0.0) * 100.0
            )),
            (Some(d), None) if d > 0 && !waiting => out.push_str(&format!(" {d} {}", self.unit)),
            _ => {}
        }
        if let (Some(d), Some(t)) = (self.lockers_done, self.lockers_total)
            && t > 0
        {
            out.push_str(&format!(", waited for {d} of {t} older transactions"));
        }
        if let Some(r) = self.rate_per_s.filter(|_| !waiting) {
            out.push_str(&format!(", {} {}/s", rate(r), self.unit));
        }
        if let Some(eta) = self.eta_s.filter(|_| !waiting) {
            out.push_str(&format!(", ETA {}", crate::humanize::age(eta)));
        }
        out
    }
}

fn rate(r: f64) -> String {
    if r >= 100.0 {
        format!("{r:.0}")
    } else {
        format!("{r:.1}")
    }
}

/// How many polls the rate looks back over: long enough to smooth a stall of one poll,
/// short enough to follow a change of pace.
const WINDOW: usize = 8;

/// The recent counters of each running command, kept between polls by whoever polls (the
/// poller); it writes `rate_per_s` and `eta_s` into each new snapshot.
#[derive(Debug, Default)]
pub struct Tracker {
    seen: HashMap<i32, Seen>,
}

#[derive(Debug)]
struct Seen {
    /// Which command and phase the samples belong to: a new phase restarts its counters.
    key: (Option<DateTime<Utc>>, Text, Text),
    samples: VecDeque<(DateTime<Utc>, i64)>,
}

impl Tracker {
    pub fn update(&mut self, snapshot: &mut Snapshot) {
        let at = snapshot.taken_at;
        let mut next: HashMap<i32, Seen> = HashMap::default();
        for s in &mut snapshot.sessions {
            let Some(p) = s.progress.as_mut() else {
                continue;
            };
            let Some(done) = p.done else { continue };
            let key = (s.backend_start, p.command.clone(), p.phase.clone());
            let mut seen = match self.seen.remove(&s.pid) {
                Some(seen) if seen.key == key => seen,
                _ => Seen {
                    key,
                    samples: VecDeque::new(),
                },
            };
            if seen.samples.back().is_some_and(|&(t, _)| t >= at) {
                seen.samples.pop_back();
            }
            // A counter that goes back has restarted (PostgreSQL 17 was seen rescanning a
            // table within one phase of CREATE INDEX): its old samples say nothing.
            if seen.samples.back().is_some_and(|&(_, d)| done < d) {
                seen.samples.clear();
            }
            seen.samples.push_back((at, done));
            while seen.samples.len() > WINDOW {
                seen.samples.pop_front();
            }
            estimate(p, &seen.samples);
            next.insert(s.pid, seen);
        }
        self.seen = next;
    }
}

fn estimate(p: &mut Progress, samples: &VecDeque<(DateTime<Utc>, i64)>) {
    let (Some(&(t0, d0)), Some(&(t1, d1))) = (samples.front(), samples.back()) else {
        return;
    };
    let secs = (t1 - t0).num_milliseconds() as f64 / 1000.0;
    if secs <= 0.0 || d1 < d0 {
        return;
    }
    let r = (d1 - d0) as f64 / secs;
    p.rate_per_s = Some(r);
    if let Some(total) = p.total.filter(|&t| t > 0)
        && r > 0.0
    {
        p.eta_s = Some(((total - d1).max(0) as f64) / r);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{ServerInfo, Session};
    use chrono::TimeZone;

    fn snap(at_s: i64, pid: i32, phase: &str, done: i64) -> Snapshot {
        Snapshot {
            taken_at: Utc.with_ymd_and_hms(2026, 1, 1, 0, 0, 0).unwrap()
                + chrono::Duration::seconds(at_s),
            server: ServerInfo {
                version: "15.0".into(),
                version_num: 150000,
                max_connections: 100,
                query_size: None,
            },
            sessions: vec![Session {
                pid,
                progress: Some(Box::new(Progress {
                    command: "VACUUM FULL".into(),
                    phase: phase.into(),
                    unit: "blocks".into(),
                    done: Some(done),
                    total: Some(1000),
                    ..Default::default()
                })),
                ..Default::default()
            }],
            replication: None,
        }
    }

    fn progress(s: &Snapshot) -> &Progress {
        s.sessions[0].progress.as_ref().unwrap()
    }

    #[test]
    fn rate_and_eta_come_from_the_polls_of_the_same_phase() {
        let mut t = Tracker::default();
        let mut a = snap(0, 7, "seq scanning heap", 100);
        t.update(&mut a);
        assert_eq!(progress(&a).rate_per_s, None, "one poll has no pace");
        let mut b = snap(2, 7, "seq scanning heap", 300);
        t.update(&mut b);
        assert_eq!(progress(&b).rate_per_s, Some(100.0));
        assert_eq!(progress(&b).eta_s, Some(7.0));
        let mut c = snap(4, 7, "writing new heap", 10);
        t.update(&mut c);
        assert_eq!(progress(&c).rate_per_s, None, "a new phase starts over");
        let mut back = snap(5, 7, "writing new heap", 5);
        t.update(&mut back);
        assert_eq!(
            progress(&back).rate_per_s,
            None,
            "a counter going back starts over"
        );
        let mut d = snap(5, 8, "writing new heap", 20);
        t.update(&mut d);
        assert_eq!(
            progress(&d).rate_per_s,
            None,
            "another pid is another command"
        );
        assert!(
            progress(&b)
                .describe()
                .contains("300/1000 blocks (30%), 100 blocks/s, ETA 7s"),
            "{}",
            progress(&b).describe()
        );
    }

    #[test]
    fn a_waiting_phase_shows_the_waits_not_stale_counters() {
        let p = Progress {
            command: "CREATE INDEX CONCURRENTLY".into(),
            phase: "waiting for old snapshots".into(),
            unit: "blocks".into(),
            done: Some(44),
            total: Some(45),
            lockers_done: Some(0),
            lockers_total: Some(1),
            rate_per_s: Some(0.0),
            ..Default::default()
        };
        assert_eq!(
            p.describe(),
            "CREATE INDEX CONCURRENTLY: waiting for old snapshots, waited for 0 of 1 older transactions"
        );
    }

    #[test]
    fn the_window_forgets_old_polls() {
        let mut t = Tracker::default();
        let mut last = snap(0, 7, "p", 0);
        for i in 0..20 {
            // Slow at first, then 10 blocks a second.
            let done = if i < 10 { i } else { 10 + (i - 10) * 10 };
            last = snap(i, 7, "p", done);
            t.update(&mut last);
        }
        assert_eq!(progress(&last).rate_per_s, Some(10.0));
    }
}
