//! `pglocks demo`: a throwaway cluster, a staged stalled migration, and the live view on it.
use anyhow::{Context, Result};
use clap::Args as ClapArgs;

use crate::args::{AnalysisArgs, Redact, TuiArgs};
use crate::cluster::Cluster;
use crate::db::conninfo::{Overrides, ProcessEnv, resolve};
use crate::stage::{Stage, causes, migration_pileup};

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Scenario {
    Pileup,
    Wraparound,
    ToolLock,
    CicSnapshot,
    Rewrite,
}

#[derive(Debug, ClapArgs)]
pub struct Args {
    /// How many sessions queue behind the stalled migration (0 to 90: the demo server has 100 connections)
    #[arg(long, default_value_t = 25, value_parser = clap::value_parser!(u16).range(0..=90))]
    pub queued: u16,
    /// What to stage: pileup (a migration behind a long query), wraparound (behind an
    /// anti-wraparound autovacuum), tool-lock (migration tools' advisory locks), cic-snapshot
    /// (CREATE INDEX CONCURRENTLY waiting for an old snapshot), rewrite (an index build
    /// with progress, writes queued behind it)
    #[arg(long, value_enum, default_value_t = Scenario::Pileup)]
    pub scenario: Scenario,
    #[command(flatten)]
    pub redact: Redact,
    #[command(flatten)]
    pub tui: TuiArgs,
}

pub async fn run(args: &Args) -> Result<()> {
    // Checked before anything starts, so that a machine without a server gets one line.
    crate::cluster::find_bindir()?;
    eprintln!("pglocks demo: starting a throwaway PostgreSQL…");
    // The wraparound scenario needs the launcher to look every second; harmless otherwise.
    let cluster = tokio::task::spawn_blocking(|| Cluster::start(causes::WRAPAROUND_SETTINGS))
        .await
        .context("starting the demo cluster")??;
    let dsn = cluster.dsn("postgres");
    let mut stage = Stage::new(&dsn).await?;
    match args.scenario {
        Scenario::Pileup => {
            eprintln!(
                "pglocks demo: staging a migration stuck behind a long query, with {} sessions queued behind it…",
                args.queued
            );
            migration_pileup(&mut stage, usize::from(args.queued), true).await?;
        }
        Scenario::Wraparound => {
            eprintln!(
                "pglocks demo: staging an ALTER TABLE behind an autovacuum that runs to prevent wraparound (a few seconds)…"
            );
            causes::wraparound(&mut stage, 200_000).await?;
        }
        Scenario::ToolLock => {
            eprintln!(
                "pglocks demo: staging the advisory locks of Flyway, Rails, golang-migrate, Prisma and Sqitch…"
            );
            causes::tool_locks(&mut stage, "postgres").await?;
        }
        Scenario::CicSnapshot => {
            eprintln!(
                "pglocks demo: staging CREATE INDEX CONCURRENTLY waiting for an idle repeatable-read transaction…"
            );
            causes::cic_snapshot(&mut stage).await?;
        }
        Scenario::Rewrite => {
            eprintln!("pglocks demo: staging a slow CREATE INDEX with writes queued behind it…");
            causes::slow_index_build(&mut stage, 100_000).await?;
        }
    }
    eprintln!("pglocks demo: try `pglocks snapshot \"{dsn}\"` in another terminal while this runs");
    let params = resolve(Some(&dsn), &Overrides::default(), &ProcessEnv)?;
    let analysis = AnalysisArgs {
        migration_app: crate::migration::DEFAULT_MIGRATION_APPS.into(),
        long_xact: std::time::Duration::from_secs(60),
        redact: args.redact,
        ..AnalysisArgs::default()
    };
    let result = crate::tui::app::run(params, &analysis, &args.tui).await;
    drop(stage);
    drop(cluster);
    result
}
