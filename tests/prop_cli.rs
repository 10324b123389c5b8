//! Hostile command lines: every duration and number flag of every command gets arbitrary
//! text. Parsing answers with a value inside the flag's bounds or a one-line error, and
//! never panics (`--interval 1e20` used to exit 101 from `Duration::from_secs_f64`).
// The whole file is test code, helpers included.
#![allow(clippy::unwrap_used)]

use std::process::{Command, Stdio};
use std::time::Duration;

use clap::Parser;
use pglocks::args::{MAX_INTERVAL, MAX_LONG_XACT, MIN_INTERVAL, MIN_LONG_XACT};
use pglocks::cli::{Cli, Command as Sub};
use proptest::prelude::*;

/// (arguments before the value, flag) for every duration and number flag.
const FLAGS: &[(&[&str], &str)] = &[
    (&[], "--interval"),
    (&[], "--long-xact"),
    (&[], "--migration-pid"),
    (&["snapshot"], "--long-xact"),
    (&["snapshot"], "--migration-pid"),
    (&["record", "-o", "x.jsonl"], "--interval"),
    (&["record", "-o", "x.jsonl"], "--long-xact"),
    (&["report", "x.jsonl"], "--long-xact"),
    (&["replay", "x.jsonl"], "--long-xact"),
    (&["snapshot"], "--feedback-xmin-age"),
    (&["report", "x.jsonl"], "--feedback-xmin-age"),
    (&["replay", "x.jsonl"], "--at"),
    (&["demo"], "--queued"),
    (&["demo"], "--interval"),
    (&["preflight", "-c", "select 1"], "--large-table"),
    (&["snapshot"], "--port"),
    (&["guard"], "--interval"),
    (&["guard"], "--max-lock-wait"),
    (&["guard"], "--max-queue"),
    (&["guard"], "--retries"),
    (&["guard"], "--backoff"),
    (&["guard"], "--blocker-wait"),
    (&["guard"], "--terminate-idle-blockers"),
];

/// Text that looks like what a person might type, and text that does not.
fn value() -> impl Strategy<Value = String> {
    prop_oneof![
        any::<String>(),
        "[-+]?[0-9]{1,30}(\\.[0-9]{0,8})?([eE][-+]?[0-9]{1,4})?",
        "[0-9]{1,25} ?(ns|us|ms|s|sec|m|min|h|d|w|M|y)",
        "[0-9]{1,6}(ms|s|m|h) ?[0-9]{1,6}(ms|s|m|h)",
        "\\+?(inf|-inf|NaN|infinity|1e400|-0|0x10|1_000)",
    ]
}

fn parse(prefix: &[&str], flag: &str, value: &str) -> Result<Cli, clap::Error> {
    let mut args = vec!["pglocks"];
    args.extend_from_slice(prefix);
    args.push(flag);
    args.push(value);
    if prefix.first() == Some(&"guard") {
        // The guard needs its command after `--`, or nothing else would be checked.
        args.extend(["--", "true"]);
    }
    Cli::try_parse_from(args)
}

/// Whatever parsed is within the bounds the flag promises.
fn check_bounds(cli: &Cli) {
    let interval = |d: Duration| assert!((MIN_INTERVAL..=MAX_INTERVAL).contains(&d), "{d:?}");
    let long_xact = |d: Duration| assert!((MIN_LONG_XACT..=MAX_LONG_XACT).contains(&d), "{d:?}");
    match &cli.command {
        None => {
            interval(cli.tui.interval);
            long_xact(cli.analysis.long_xact);
        }
        Some(Sub::Record(r)) => {
            interval(r.interval);
            long_xact(r.analysis.long_xact);
        }
        Some(Sub::Snapshot(s)) => long_xact(s.analysis.long_xact),
        Some(Sub::Report(r)) => long_xact(r.reanalysis.long_xact),
        Some(Sub::Replay(r)) => long_xact(r.reanalysis.long_xact),
        Some(Sub::Demo(d)) => {
            interval(d.tui.interval);
            assert!(d.queued <= 90);
        }
        Some(Sub::Preflight(_)) => {}
        Some(Sub::Guard(g)) => interval(g.interval),
        Some(Sub::Doctor(_) | Sub::Completions(_) | Sub::Man | Sub::Config(_)) => {}
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    #[test]
    fn every_duration_and_number_flag_parses_or_says_why(v in value()) {
        for (prefix, flag) in FLAGS {
            match parse(prefix, flag, &v) {
                Ok(cli) => check_bounds(&cli),
                Err(e) => {
                    let text = e.to_string();
                    prop_assert!(!text.trim().is_empty());
                }
            }
        }
        // `--at +DURATION` is read when the recording is opened.
        let _ = format!("+{v}").parse::<pglocks::record::read_back::Moment>();
    }
}

/// The cases from the issue, through the binary: exit 1 with one line, not 101.
#[test]
fn the_binary_refuses_out_of_range_durations_in_one_line() {
    for args in [
        &["record", "-o", "x.jsonl", "--interval", "1e20"][..],
        &["record", "-o", "x.jsonl", "--interval", "0"],
        &["record", "-o", "x.jsonl", "--interval", "100ms"],
        &["snapshot", "--long-xact", "1e20"],
        &["snapshot", "--long-xact", "0"],
        &["--interval", "99999999999999999999999h"],
        &["demo", "--queued", "100000"],
    ] {
        let out = Command::new(env!("CARGO_BIN_EXE_pglocks"))
            .args(args)
            .stdin(Stdio::null())
            .output()
            .unwrap();
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(1), "{args:?}: {stderr}");
        assert_eq!(stderr.lines().count(), 1, "{args:?}: {stderr}");
        assert!(stderr.starts_with("pglocks: "), "{args:?}: {stderr}");
    }
    let interval = parse(&[], "--interval", "200ms").unwrap();
    assert_eq!(interval.tui.interval, MIN_INTERVAL);
}

/// Issue 13.9: `--redact` is one flag that every command takes (preflight and demo lacked
/// it), so a command added later cannot forget it without this test noticing.
#[test]
fn every_command_takes_redact() {
    use clap::CommandFactory;
    let cli = Cli::command();
    let has = |c: &clap::Command| c.get_arguments().any(|a| a.get_long() == Some("redact"));
    assert!(has(&cli), "the live view");
    // These print what pglocks itself is made of, never anything read from a server.
    let local = ["completions", "man", "config"];
    for sub in cli
        .get_subcommands()
        .filter(|s| !local.contains(&s.get_name()))
    {
        assert!(has(sub), "pglocks {} has no --redact", sub.get_name());
    }
}
