//! The live view (`pglocks` with no command): one server, or several with `--server`.
use crate::args::{AnalysisArgs, ConnArgs, TuiArgs};

pub async fn run(conn: &ConnArgs, analysis: &AnalysisArgs, tui: &TuiArgs) -> anyhow::Result<()> {
    if !conn.servers.is_empty() {
        return crate::tui::app::run_fleet(crate::fleet::resolve_servers(conn)?, analysis, tui)
            .await;
    }
    let params = conn.resolve()?;
    crate::tui::app::run(params, analysis, tui).await
}
