//! The only code that talks to PostgreSQL: connecting the way libpq does, polling and
//! signalling. It is also the only code that knows column names.
mod connect;
pub mod conninfo;
mod doctor;
mod error;
mod guard;
mod poll;
pub use poll::LOCKS_LISTED_PER_SESSION;
mod poll_sql;
mod preflight;
mod signal;
mod standby;
mod statement;
pub mod tls;
mod tool_rows;

pub use connect::{Connection, Privileges, connect};
pub use doctor::{DoctorFacts, TimeoutLevels};
pub use error::DbError;
pub use guard::{ClientBackend, GuardCancel};
pub use poll_sql::poll_statement;
pub use signal::{Signal, SignalOutcome};
