//! The offline replay: a recording loaded into memory, a cursor over its polls, and a
//! playback clock. Pure except for `load`, so stepping and playing are plain tests.
use std::path::Path;

use anyhow::{Result, bail};
use chrono::{DateTime, Utc};

use crate::analysis::{Analysis, Options};
use crate::model::ActionRecord;
use crate::record::{Entry, analysis_of, reader};
use crate::report::json::SnapshotDoc;

pub const SPEEDS: [f64; 6] = [1.0, 2.0, 4.0, 8.0, 16.0, 64.0];

pub struct Replay {
    pub source: String,
    pub frames: Vec<SnapshotDoc>,
    pub actions: Vec<ActionRecord>,
    /// Sessions waiting on a lock, per frame: the timeline bar.
    pub waiting: Vec<usize>,
    pub index: usize,
    pub speed_index: usize,
    /// While playing: the wall-clock instant playback (re)started, and the recorded time
    /// it started from. Recorded time advances at `speed` times the wall clock.
    pub playing: Option<(DateTime<Utc>, DateTime<Utc>)>,
    options: Options,
    redact: bool,
}

impl Replay {
    /// Reads the whole recording; warnings (a torn last line) are returned for the caller.
    pub fn load(path: &Path, options: Options, redact: bool) -> Result<(Replay, Vec<String>)> {
        Replay::load_server(path, options, redact, None)
    }

    /// `load`, for a recording of several servers: the polls and actions of `server`.
    pub fn load_server(
        path: &Path,
        options: Options,
        redact: bool,
        server: Option<&str>,
    ) -> Result<(Replay, Vec<String>)> {
        let mut input = reader::open(path)?;
        let mut frames = Vec::new();
        let mut actions = Vec::new();
        let mut chosen: Option<String> = None;
        for entry in &mut input {
            match entry? {
                Entry::Snapshot(doc) if doc.server_name == chosen => frames.push(*doc),
                Entry::Action(a) if a.server == chosen => actions.push(a.action),
                Entry::Header(h) => {
                    chosen = crate::record::read_back::choose_server(path, &h, server)?;
                }
                Entry::Snapshot(_) | Entry::Action(_) | Entry::Guard(_) | Entry::Server(_) => {}
            }
        }
        if frames.is_empty() {
            bail!("{}: no polls recorded", path.display());
        }
        let replay = Replay::new(path.display().to_string(), frames, actions, options, redact);
        Ok((replay, input.warnings()))
    }

    pub fn new(
        source: String,
        frames: Vec<SnapshotDoc>,
        mut actions: Vec<ActionRecord>,
        options: Options,
        redact: bool,
    ) -> Replay {
        actions.sort_by_key(|a| a.at);
        Replay {
            source,
            waiting: frames.iter().map(SnapshotDoc::waiting_count).collect(),
            frames,
            actions,
            index: 0,
            speed_index: 0,
            playing: None,
            options,
            redact,
        }
    }

    pub fn speed(&self) -> f64 {
        SPEEDS[self.speed_index.min(SPEEDS.len() - 1)]
    }

    pub fn at(&self) -> DateTime<Utc> {
        self.frames[self.index].taken_at
    }

    /// The current moment, analysed with today's rules.
    pub fn analysis(&self) -> Analysis {
        analysis_of(&self.frames[self.index], &self.options, self.redact)
    }

    /// The actions taken up to the current moment.
    pub fn actions_so_far(&self) -> Vec<ActionRecord> {
        let now = self.at();
        self.actions
            .iter()
            .filter(|a| a.at <= now)
            .cloned()
            .collect()
    }

    pub fn step(&mut self, delta: isize) {
        let last = self.frames.len() - 1;
        self.index = self.index.saturating_add_signed(delta).min(last);
        self.pause();
    }

    pub fn first_blocked(&mut self) -> bool {
        match self.waiting.iter().position(|&w| w > 0) {
            Some(i) => {
                self.index = i;
                self.pause();
                true
            }
            None => false,
        }
    }

    /// Jumps to the first poll after the next action that follows the current moment, so
    /// the screen shows what the action did.
    pub fn next_action(&mut self) -> Option<ActionRecord> {
        let now = self.at();
        let action = self.actions.iter().find(|a| a.at > now)?.clone();
        let i = self
            .frames
            .iter()
            .position(|f| f.taken_at >= action.at)
            .unwrap_or(self.frames.len() - 1);
        self.index = i;
        self.pause();
        Some(action)
    }

    pub fn toggle_play(&mut self, now: DateTime<Utc>) {
        self.playing = match self.playing {
            Some(_) => None,
            None => {
                if self.index == self.frames.len() - 1 {
                    self.index = 0;
                }
                Some((now, self.at()))
            }
        };
    }

    pub fn change_speed(&mut self, faster: bool, now: DateTime<Utc>) {
        self.speed_index = if faster {
            (self.speed_index + 1).min(SPEEDS.len() - 1)
        } else {
            self.speed_index.saturating_sub(1)
        };
        if self.playing.is_some() {
            self.playing = Some((now, self.at()));
        }
    }

    /// Stepping or jumping by hand pauses playback: the user wants to look at that moment.
    fn pause(&mut self) {
        self.playing = None;
    }

    /// Advances playback to wall-clock `now`; true if the frame changed.
    pub fn tick(&mut self, now: DateTime<Utc>) -> bool {
        let Some((wall, recorded)) = self.playing else {
            return false;
        };
        let elapsed_ms = (now - wall).num_milliseconds().max(0) as f64 * self.speed();
        let target = recorded + chrono::Duration::milliseconds(elapsed_ms as i64);
        let before = self.index;
        while self.index + 1 < self.frames.len() && self.frames[self.index + 1].taken_at <= target {
            self.index += 1;
        }
        if self.index + 1 == self.frames.len() {
            self.playing = None;
        }
        self.index != before
    }
}

/// The timeline bar: `width` block characters, each as tall as the most sessions that
/// waited in the polls it covers (a short recording stretches, a long one is bucketed),
/// and the column of the current poll.
pub fn timeline_bar(waiting: &[usize], index: usize, width: usize) -> (String, usize) {
    const LEVELS: [char; 9] = [' ', '▁', '▂', '▃', '▄', '▅', '▆', '▇', '█'];
    let n = waiting.len();
    if n == 0 || width == 0 {
        return (String::new(), 0);
    }
    let max = waiting.iter().copied().max().unwrap_or(0).max(1);
    let polls_of = |c: usize| {
        let start = c * n / width;
        let end = ((c + 1) * n / width).max(start + 1).min(n);
        start..end
    };
    let bar = (0..width)
        .map(|c| {
            let h = waiting[polls_of(c)].iter().copied().max().unwrap_or(0);
            // Any wait at all shows at least the lowest block.
            let level = if h == 0 {
                0
            } else {
                (h * 8).div_ceil(max).clamp(1, 8)
            };
            LEVELS[level]
        })
        .collect();
    let index = index.min(n - 1);
    let cursor = (0..width)
        .find(|&c| polls_of(c).contains(&index))
        .unwrap_or(0);
    (bar, cursor)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bar_scales_and_marks_the_cursor() {
        let (bar, at) = timeline_bar(&[0, 1, 2, 4, 8, 0], 3, 6);
        assert_eq!(bar, " ▁▂▄█ ");
        assert_eq!(at, 3);
        // A short recording stretches over the width.
        let (bar, at) = timeline_bar(&[0, 8], 1, 4);
        assert_eq!(bar, "  ██");
        assert_eq!(at, 2);
        let waiting: Vec<usize> = (0..100).collect();
        let (bar, at) = timeline_bar(&waiting, 99, 10);
        assert_eq!(bar.chars().count(), 10);
        assert_eq!(at, 9);
        assert_eq!(timeline_bar(&[], 0, 10), (String::new(), 0));
    }
}
