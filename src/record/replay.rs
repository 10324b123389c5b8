//! `pglocks report` and `pglocks replay --at`: reading a recording back.
use std::io::IsTerminal;
use std::path::Path;
use std::time::Duration;

use anyhow::{Result, bail};
use chrono::{DateTime, NaiveTime, Utc};

use super::format::Entry;
use super::reader;
use crate::analysis::Options;
use crate::cli::{ReanalysisArgs, ReplayArgs, ReportArgs};
use crate::model::ActionRecord;
use crate::output::write_new;
use crate::report::json::SnapshotDoc;
use crate::report::{self, Format};

fn options(args: &ReanalysisArgs) -> Options {
    Options {
        long_xact_s: args.long_xact.as_secs_f64(),
        ..Options::default()
    }
}

/// Refuses an output path that cannot be written before any work is done.
fn check_output(path: Option<&Path>) -> Result<()> {
    if let Some(path) = path {
        crate::output::check_new(path)?;
    }
    Ok(())
}

fn emit(path: Option<&Path>, text: &str) -> Result<()> {
    match path {
        Some(p) => write_new(p, text.as_bytes())?,
        None => print!("{text}"),
    }
    Ok(())
}

fn warn(warnings: Vec<String>) {
    for w in warnings {
        eprintln!("pglocks: warning: {w}");
    }
}

/// The Markdown incident report of a recording.
pub fn report_text(path: &Path, args: &ReanalysisArgs) -> Result<(String, Vec<String>)> {
    let mut input = reader::open(path)?;
    let story = super::timeline::build(&mut input, &options(args), args.redact.enabled)?;
    if story.polls == 0 {
        bail!("{}: no polls recorded", path.display());
    }
    Ok((crate::report::incident::render(&story), input.warnings()))
}

pub fn report(args: &ReportArgs) -> Result<()> {
    check_output(args.output.as_deref())?;
    let (text, warnings) = report_text(&args.file, &args.reanalysis)?;
    warn(warnings);
    emit(args.output.as_deref(), &text)
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
            return crate::cli::parse_duration(offset).map(Moment::After);
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

/// The recorded poll at `moment` (the last one at or before it), and the actions taken
/// up to then.
pub fn find(path: &Path, moment: &Moment) -> Result<(SnapshotDoc, Vec<ActionRecord>, Vec<String>)> {
    let mut input = reader::open(path)?;
    let mut chosen: Option<SnapshotDoc> = None;
    let mut first_at: Option<DateTime<Utc>> = None;
    let mut target: Option<DateTime<Utc>> = match moment {
        Moment::At(t) => Some(*t),
        _ => None,
    };
    let mut actions: Vec<ActionRecord> = Vec::new();
    for entry in &mut input {
        let doc = match entry? {
            Entry::Snapshot(doc) => *doc,
            Entry::Action(a) => {
                actions.push(a.action);
                continue;
            }
            Entry::Header(_) | Entry::Guard(_) => continue,
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

pub async fn replay(args: &ReplayArgs) -> Result<()> {
    let Some(at) = args.at.as_deref() else {
        // No moment: step through the whole recording in the TUI.
        let (replay, warnings) = crate::tui::replay::Replay::load(
            &args.file,
            options(&args.reanalysis),
            args.reanalysis.redact.enabled,
        )?;
        warn(warnings);
        return crate::tui::app::run_replay(replay, args.reanalysis.long_xact.as_secs_f64()).await;
    };
    let moment: Moment = at.parse().map_err(anyhow::Error::msg)?;
    check_output(args.output.as_deref())?;
    let (doc, actions, warnings) = find(&args.file, &moment)?;
    warn(warnings);
    let analysis = super::analysis_of(
        &doc,
        &options(&args.reanalysis),
        args.reanalysis.redact.enabled,
    );
    let format = args.format.unwrap_or(if std::io::stdout().is_terminal() {
        Format::Markdown
    } else {
        Format::Json
    });
    let text = report::render(format, &analysis, &actions)?;
    emit(args.output.as_deref(), &text)
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
