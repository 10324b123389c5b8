//! Documents a recording holds and the reports render, as plain data: the recording's
//! header and action lines, the guard's lines, and the timeline's story. Below record/
//! (which writes and reads them) and report/ (which renders them).
pub mod guard;
pub mod recording;
pub mod story;
