//! The live terminal UI: `state` (what is shown), `update` (keys and polls in, effects
//! out), `view` (a pure draw), `terminal` (restore on every path) and `app` (the loop).
pub mod app;
mod groups;
pub mod mouse;
pub mod multi;
pub mod replay;
pub mod ring;
pub mod state;
pub mod strip;
mod table;
pub mod terminal;
pub mod theme;
pub mod update;
pub mod view;

use crate::cli::{AnalysisArgs, ConnArgs, TuiArgs};

pub async fn run(conn: &ConnArgs, analysis: &AnalysisArgs, tui: &TuiArgs) -> anyhow::Result<()> {
    if !conn.servers.is_empty() {
        return app::run_fleet(crate::fleet::resolve_servers(conn)?, analysis, tui).await;
    }
    let params = crate::headless::conn_params(conn)?;
    app::run(params, analysis, tui).await
}
