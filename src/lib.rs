//! pglocks: who blocks the migration, what queues behind it, and what to do about it.
//!
//! Data flows one way: SQL, rows, a [`model::Snapshot`], then [`analysis::Analysis`]
//! (graph, migrations, findings), then a view or a report.
pub mod analysis;
pub mod args;
pub mod cli;
pub mod cluster;
pub mod command;
pub mod config;
pub mod db;
pub mod ddl;
pub mod diagnose;
pub mod doctor;
pub mod document;
pub mod fleet;
pub mod graph;
pub mod guard;
pub mod humanize;
pub mod lockmode;
pub mod migration;
pub mod model;
pub mod output;
pub mod pipeline;
pub mod poller;
pub mod preflight;
pub mod record;
pub mod redact;
pub mod report;
pub mod situation;
pub mod sqltext;
pub mod stage;
pub mod tree;
pub mod tui;
pub mod words;
