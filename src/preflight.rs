//! The preflight's logic: what each statement of a migration will lock, how big the tables
//! are, and who would block it right now, as a report with a verdict. The command that
//! reads the migration and the server is `command::preflight`.
pub mod advice;
pub mod document;
pub mod evaluate;
pub mod existence;
pub use crate::model::preflight as facts;
pub mod markdown;

use anyhow::{Result, bail};

use crate::ddl::{Outcome, Statement};
use crate::humanize::first_line;
pub use evaluate::{Report, Settings};

/// Statements PostgreSQL cannot read fail the check before anything is asked of the server:
/// each is named by its number, the line and column where the parser stopped, and the
/// parser's message.
pub fn refuse_unknown(source: &str, statements: &[Statement]) -> Result<()> {
    let bad: Vec<String> = statements
        .iter()
        .enumerate()
        .filter_map(|(i, s)| match &s.outcome {
            Outcome::Unknown { reason, position } => Some(format!(
                "{source}{}: statement {} `{}` is not valid PostgreSQL ({reason})",
                position
                    .map(|p| format!(":{}:{}", p.line, p.column))
                    .unwrap_or_default(),
                i + 1,
                first_line(&s.sql, 80)
            )),
            _ => None,
        })
        .collect();
    if !bad.is_empty() {
        bail!("{}", bad.join("; "));
    }
    Ok(())
}
