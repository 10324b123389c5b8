//! The side-by-side rounds: pglocks' poll and the statements it is compared with, in
//! rotating order, pg_stat_statements reset every round so each round gives one sample.
use std::time::{Duration, Instant};

use anyhow::Result;
use pglocks::analysis::{Options, analyze};
use pglocks::db::Connection;

use crate::measure::{Bench, Kind, median, ms};

/// Per statement: round trips, and server exec and plan times, one sample per round.
#[derive(Default)]
pub struct Samples {
    pub round_trip: Vec<f64>,
    pub exec: Vec<f64>,
    pub plan: Vec<f64>,
    pub rows: usize,
}

pub struct Rounds {
    pub samples: Vec<(Kind, Samples)>,
    /// Sessions and waiters pglocks saw in its last poll.
    pub seen: (usize, usize),
}

impl Rounds {
    pub fn median(&self, kind: Kind, f: fn(&Samples) -> &Vec<f64>) -> f64 {
        self.samples
            .iter()
            .find(|(k, _)| *k == kind)
            .map(|(_, s)| median(f(s)))
            .unwrap_or(f64::NAN)
    }

    /// pglocks' server time (exec + plan) over the two bare statements', from medians.
    pub fn server_ratio(&self) -> f64 {
        let server = |k| self.median(k, |s| &s.exec) + self.median(k, |s| &s.plan);
        server(Kind::Pglocks) / (server(Kind::Activity) + server(Kind::Blocking))
    }

    /// The same ratio within each round, then the median of those: the statements of a
    /// round run within milliseconds of each other, so a machine that slows down for a
    /// while (2 shared cores) moves both sides of a round's ratio together.
    pub fn median_round_ratio(&self) -> f64 {
        let server = |k: Kind| -> Vec<f64> {
            self.samples
                .iter()
                .find(|(x, _)| *x == k)
                .map(|(_, s)| s.exec.iter().zip(&s.plan).map(|(e, p)| e + p).collect())
                .unwrap_or_default()
        };
        let (p, a, b) = (
            server(Kind::Pglocks),
            server(Kind::Activity),
            server(Kind::Blocking),
        );
        let ratios: Vec<f64> = p
            .iter()
            .zip(a.iter().zip(&b))
            .filter(|(_, (a, b))| *a + *b > 0.0)
            .map(|(p, (a, b))| p / (a + b))
            .collect();
        median(&ratios)
    }
}

/// `pace`: with Some(d), the statements of a round are spread over d, as a monitor that
/// refreshes every d runs them; the server's caches then go cold between statements, as
/// they do for the TUI, which back-to-back rounds do not show.
pub async fn run(
    bench: &Bench,
    conn: &Connection,
    kinds: &[Kind],
    rounds: usize,
    pace: Option<Duration>,
) -> Result<Rounds> {
    let mut samples: Vec<(Kind, Samples)> =
        kinds.iter().map(|&k| (k, Samples::default())).collect();
    let mut seen = (0usize, 0usize);
    let gap = pace.map(|d| d / kinds.len().max(1) as u32);
    for round in 0..rounds {
        bench.reset().await?;
        for i in 0..kinds.len() {
            if let Some(gap) = gap {
                tokio::time::sleep(gap).await;
            }
            let kind = kinds[(round + i) % kinds.len()];
            let (rt, rows) = if kind == Kind::Pglocks {
                let t = Instant::now();
                let snap = conn.poll(None).await?;
                let rt = t.elapsed();
                let a = analyze(snap, &Options::default());
                seen = (a.snapshot.sessions.len(), a.waiting_count());
                (rt, a.snapshot.sessions.len())
            } else {
                bench.run(kind).await?
            };
            if let Some((_, s)) = samples.iter_mut().find(|(k, _)| *k == kind) {
                s.round_trip.push(ms(rt));
                s.rows = rows;
            }
        }
        for r in bench.statements().await? {
            let Some(kind) = Kind::of_query(&r.query) else {
                continue;
            };
            if let Some((_, s)) = samples.iter_mut().find(|(k, _)| *k == kind) {
                s.exec.push(r.exec_ms / r.calls.max(1) as f64);
                s.plan.push(r.plan_ms / r.calls.max(1) as f64);
            }
        }
    }
    Ok(Rounds { samples, seen })
}
