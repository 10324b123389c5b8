//! `pglocks demo`: a throwaway cluster, a staged stalled migration, and the live view on it.
use anyhow::{Context, Result};

use crate::cli::{AnalysisArgs, DemoArgs};
use crate::cluster::Cluster;
use crate::db::conninfo::{Overrides, ProcessEnv, resolve};
use crate::stage::{Stage, migration_pileup};

pub async fn run(args: &DemoArgs) -> Result<()> {
    eprintln!("pglocks demo: starting a throwaway PostgreSQL…");
    let cluster = tokio::task::spawn_blocking(|| Cluster::start(&[]))
        .await
        .context("starting the demo cluster")??;
    let dsn = cluster.dsn("postgres");
    eprintln!(
        "pglocks demo: staging a migration stuck behind a long query, with {} sessions queued behind it…",
        args.queued
    );
    let mut stage = Stage::new(&dsn).await?;
    migration_pileup(&mut stage, usize::from(args.queued), true).await?;
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
