//! The preflight's one statement: relations, their lockers and the snapshot holders.
use chrono::{DateTime, Utc};
use tokio_postgres::types::Json;

use super::DbError;
use super::connect::Connection;
use super::statement::bounded;
use crate::model::preflight::{Locker, RelationFacts, ServerFacts, SnapshotHolder};

impl Connection {
    /// `names` are (relation name as written, whether the lock is on the table of that
    /// index). Names are quoted here, so any identifier the parser accepted resolves as
    /// PostgreSQL would resolve it, and none can inject SQL.
    pub async fn preflight_facts(
        &self,
        names: &[(Option<String>, String, bool)],
    ) -> Result<ServerFacts, DbError> {
        let quoted: Vec<String> = names
            .iter()
            .map(|(schema, name, _)| match schema {
                Some(s) => format!("{}.{}", quote_ident(s), quote_ident(name)),
                None => quote_ident(name),
            })
            .collect();
        let of_index: Vec<bool> = names.iter().map(|(_, _, i)| *i).collect();
        let row = bounded(self.client.query_one(
            include_str!("../../queries/preflight.sql"),
            &[&quoted, &of_index],
        ))
        .await?;
        let decode = || -> Result<ServerFacts, tokio_postgres::Error> {
            let Json(relations): Json<Vec<RelationFacts>> = row.try_get("relations")?;
            let Json(lockers): Json<Vec<Locker>> = row.try_get("lockers")?;
            let Json(snapshot_holders): Json<Vec<SnapshotHolder>> =
                row.try_get("snapshot_holders")?;
            let taken_at: DateTime<Utc> = row.try_get("taken_at")?;
            Ok(ServerFacts {
                taken_at,
                relations,
                lockers,
                snapshot_holders,
                lock_timeout_default: row
                    .try_get::<_, Option<String>>("lock_timeout_default")?
                    .unwrap_or_else(|| "0".into()),
                block_size: row.try_get("block_size")?,
            })
        };
        decode().map_err(|e| DbError::Query(format!("unexpected preflight row: {e}")))
    }
}

fn quote_ident(s: &str) -> String {
    format!("\"{}\"", s.replace('"', "\"\""))
}
