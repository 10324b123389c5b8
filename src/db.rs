//! The only code that talks to PostgreSQL: connecting the way libpq does, polling and
//! signalling. It is also the only code that knows column names.
mod connect;
pub mod conninfo;
mod doctor;
mod error;
mod guard;
mod poll;
pub use poll::LOCKS_LISTED_PER_SESSION;
mod preflight;
mod signal;
mod standby;
pub mod tls;
mod tool_rows;

pub use connect::{Connection, Privileges, connect};
pub use doctor::{DoctorFacts, TimeoutLevels};
pub use error::DbError;
pub use guard::{ClientBackend, GuardCancel};
pub use poll::poll_statement;
pub use signal::{Signal, SignalOutcome};
