//! Reading a recording back: the incident story of the whole of it, or the poll at one
//! moment with the actions taken up to then.
use std::path::Path;
use std::time::Duration;

use anyhow::{Result, bail};
use chrono::{DateTime, NaiveTime, Utc};

use super::format::Entry;
use super::reader;
use crate::analysis::Options;
use crate::model::ActionRecord;
use crate::report::json::SnapshotDoc;

/// The Markdown incident report of a recording, and the reader's warnings.
pub fn report_text(path: &Path, opts: &Options, redact: bool) -> Result<(String, Vec<String>)> {
    report_as(path, crate::report::Format::Markdown, opts, redact)
}

/// The incident report of a recording in `format`, and the reader's warnings.
pub fn report_as(
    path: &Path,
    format: crate::report::Format,
    opts: &Options,
    redact: bool,
) -> Result<(String, Vec<String>)> {
    let mut input = reader::open(path)?;
    let story = super::timeline::build(&mut input, opts, redact)?;
    if story.polls == 0 {
        bail!("{}: no polls recorded", path.display());
    }
    let text = match format {
        crate::report::Format::Markdown => crate::report::incident::render(&story),
        crate::report::Format::Json => crate::report::incident::json::render(&story)?,
    };
    Ok((text, input.warnings()))
}

/// Which poll `--at` names.
#[derive(Debug, Clone, PartialEq)]
pub enum Moment {
    First,
    Worst,
    Last,
    At(DateTime<Utc>),
    /// Time of day in UTC, on the recording's first day (or the next, past midnight).
    Clock(NaiveTime),
    /// From the first poll.
    After(Duration),
}

impl std::str::FromStr for Moment {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let s = s.trim();
        match s {
            "first" => return Ok(Moment::First),
            "worst" => return Ok(Moment::Worst),
            "last" => return Ok(Moment::Last),
            _ => {}
        }
        if let Some(offset) = s.strip_prefix('+') {
            return crate::humanize::parse_duration(offset).map(Moment::After);
        }
        if let Ok(t) = DateTime::parse_from_rfc3339(s) {
            return Ok(Moment::At(t.with_timezone(&Utc)));
        }
        for fmt in ["%H:%M:%S%.f", "%H:%M"] {
            if let Ok(t) = NaiveTime::parse_from_str(s, fmt) {
                return Ok(Moment::Clock(t));
            }
        }
        Err(format!(
            "invalid --at \"{s}\": expected an RFC 3339 time, HH:MM:SS (UTC), +DURATION, first, worst or last"
        ))
    }
}

/// Which server's polls to read: every poll of a recording of one server, or those of
/// the named one of several (`--server NAME`); a recording of several servers without a
/// name is refused rather than its servers' polls mixed into one.
pub fn choose_server(
    path: &Path,
    header: &super::format::Header,
    wanted: Option<&str>,
) -> Result<Option<String>> {
    let list = header.servers.join(", ");
    match wanted {
        None if header.servers.is_empty() => Ok(None),
        None => bail!(
            "{} records several servers ({list}): choose one with --server NAME",
            path.display()
        ),
        Some(name) if header.servers.iter().any(|s| s == name) => Ok(Some(name.to_string())),
        Some(name) if header.servers.is_empty() => bail!(
            "{} records one server; --server {name} is for a recording of several",
            path.display()
        ),
        Some(name) => bail!("{} has no server {name} (it has {list})", path.display()),
    }
}

/// The recorded poll at `moment` (the last one at or before it), and the actions taken
/// up to then.
pub fn find(path: &Path, moment: &Moment) -> Result<(SnapshotDoc, Vec<ActionRecord>, Vec<String>)> {
    find_on(path, moment, None)
}

/// `find` in a recording of several servers: the polls and actions of `server` only.
pub fn find_on(
    path: &Path,
    moment: &Moment,
    server: Option<&str>,
) -> Result<(SnapshotDoc, Vec<ActionRecord>, Vec<String>)> {
    let mut input = reader::open(path)?;
    let mut chosen_server: Option<String> = None;
    let mut chosen: Option<SnapshotDoc> = None;
    let mut first_at: Option<DateTime<Utc>> = None;
    let mut target: Option<DateTime<Utc>> = match moment {
        Moment::At(t) => Some(*t),
        _ => None,
    };
    let mut actions: Vec<ActionRecord> = Vec::new();
    for entry in &mut input {
        let doc = match entry? {
            Entry::Snapshot(doc) if doc.server_name == chosen_server => *doc,
            Entry::Action(a) => {
                if a.server == chosen_server {
                    actions.push(a.action);
                }
                continue;
            }
            Entry::Header(h) => {
                chosen_server = choose_server(path, &h, server)?;
                continue;
            }
            Entry::Snapshot(_) | Entry::Guard(_) | Entry::Server(_) => continue,
        };
        let first = *first_at.get_or_insert(doc.taken_at);
        if target.is_none() {
            target = match moment {
                Moment::After(d) => chrono::Duration::from_std(*d)
                    .ok()
                    .and_then(|d| first.checked_add_signed(d)),
                Moment::Clock(t) => {
                    let same_day = first.date_naive().and_time(*t).and_utc();
                    Some(if same_day < first {
                        same_day + chrono::Duration::days(1)
                    } else {
                        same_day
                    })
                }
                _ => None,
            };
        }
        let take = match moment {
            Moment::First => chosen.is_none(),
            Moment::Last => true,
            Moment::Worst => chosen
                .as_ref()
                .is_none_or(|c| doc.waiting_count() > c.waiting_count()),
            Moment::At(_) | Moment::Clock(_) | Moment::After(_) => {
                target.is_some_and(|t| doc.taken_at <= t)
            }
        };
        if take {
            chosen = Some(doc);
        }
    }
    let warnings = input.warnings();
    let Some(doc) = chosen else {
        match first_at {
            None => bail!("{}: no polls recorded", path.display()),
            Some(first) => bail!(
                "that moment is before the first poll ({} UTC)",
                first.format("%Y-%m-%d %H:%M:%S")
            ),
        }
    };
    actions.retain(|a| a.at <= doc.taken_at);
    Ok((doc, actions, warnings))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn moments_parse() {
        assert_eq!("worst".parse::<Moment>(), Ok(Moment::Worst));
        assert_eq!(
            "+90s".parse::<Moment>(),
            Ok(Moment::After(Duration::from_secs(90)))
        );
        assert_eq!(
            "14:36:05".parse::<Moment>(),
            Ok(Moment::Clock(NaiveTime::from_hms_opt(14, 36, 5).unwrap()))
        );
        assert!(matches!(
            "2026-11-25T14:36:05Z".parse::<Moment>(),
            Ok(Moment::At(_))
        ));
        let err = "yesterday".parse::<Moment>().unwrap_err();
        assert!(err.starts_with("invalid --at \"yesterday\""), "{err}");
    }
}
