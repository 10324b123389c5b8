//! The live terminal UI: `state` (what is shown), `update` (keys and polls in, effects
//! out), `view` (a pure draw), `terminal` (restore on every path) and `app` (the loop).
pub mod app;
mod groups;
pub mod guarded;
pub mod keys;
pub mod mouse;
pub mod multi;
pub mod replay;
pub mod ring;
mod selection;
pub mod state;
pub mod strip;
pub mod terminal;
pub mod theme;
pub mod update;
pub mod view;
