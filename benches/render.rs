//! What the client does with each analysis: the TUI frame into a 200x60 TestBackend (as it
//! draws on a steady tick, and as it takes a new poll and draws it), and the JSON and
//! Markdown reports, on generated snapshots of 100 to 100,000 sessions.
//!
//! The details pane of a session holding 50,000 locks: opening it and scrolling it.
//!
//! `cargo bench --bench render`; `cargo test --benches` runs each case once.
mod synth;

use std::path::PathBuf;
use std::time::Duration;

use chrono::Duration as ChronoDuration;
use std::hint::black_box;

use criterion::{BatchSize, BenchmarkId, Criterion, SamplingMode, Throughput};
use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};
use pglocks::analysis::{Analysis, Options, analyze};
use pglocks::db::Privileges;
use pglocks::poller::PollerEvent;
use pglocks::report::{self, Format};
use pglocks::tui::state::{Mode, State};
use pglocks::tui::update::{Msg, update};
use pglocks::tui::view;
use ratatui::Terminal;
use ratatui::backend::TestBackend;

type Group<'a> = criterion::BenchmarkGroup<'a, criterion::measurement::WallTime>;

fn configure(group: &mut Group<'_>, n: usize) {
    group.throughput(Throughput::Elements(n as u64));
    if n >= 10_000 {
        group.sample_size(10).sampling_mode(SamplingMode::Flat);
    } else {
        group.sample_size(30).sampling_mode(SamplingMode::Auto);
    }
}

fn polled(analysis: Analysis) -> Msg {
    Msg::Poller(PollerEvent::Polled {
        analysis: Box::new(analysis),
        latency: Duration::from_millis(3),
    })
}

/// A connected TUI state that has taken one poll, as the loop holds it between polls.
fn state_with(analysis: Analysis) -> State {
    let mut s = State::new(
        "app@db.internal:5432/shop".into(),
        false,
        PathBuf::from("."),
        60.0,
    );
    update(
        &mut s,
        Msg::Poller(PollerEvent::Connected {
            target: "app@db.internal:5432/shop".into(),
            privileges: Privileges {
                role: "oncall".into(),
                is_superuser: false,
                can_read_all_stats: true,
                can_signal: true,
            },
            monitor_pid: 999,
        }),
        synth::t0(),
    );
    update(&mut s, polled(analysis), synth::t0());
    s
}

fn terminal() -> anyhow::Result<Terminal<TestBackend>> {
    Ok(Terminal::new(TestBackend::new(200, 60))?)
}

fn analyses() -> Vec<(usize, Analysis)> {
    synth::SIZES
        .iter()
        .map(|&n| (n, analyze(synth::snapshot(n), &Options::default())))
        .collect()
}

/// A tick with nothing new: the same state drawn again (only the data age moves).
fn bench_frame(c: &mut Criterion, analyses: &[(usize, Analysis)]) -> anyhow::Result<()> {
    let mut group = c.benchmark_group("tui_frame");
    for (n, a) in analyses {
        let state = state_with(a.clone());
        let mut term = terminal()?;
        configure(&mut group, *n);
        let mut tick = 0;
        group.bench_function(BenchmarkId::from_parameter(n), |b| {
            b.iter(|| {
                tick += 1;
                let now = synth::t0() + ChronoDuration::seconds(tick % 60);
                term.draw(|f| view::draw(f, &state, now)).map(|_| ())
            })
        });
    }
    group.finish();
    Ok(())
}

/// A new poll arrives: update() takes it (selection, tree rows) and the frame is drawn.
fn bench_poll_to_frame(c: &mut Criterion, analyses: &[(usize, Analysis)]) -> anyhow::Result<()> {
    let mut group = c.benchmark_group("tui_poll_to_frame");
    for (n, a) in analyses {
        let mut state = state_with(a.clone());
        let mut term = terminal()?;
        configure(&mut group, *n);
        group.bench_function(BenchmarkId::from_parameter(n), |b| {
            b.iter_batched(
                || a.clone(),
                |a| {
                    update(&mut state, polled(a), synth::t0());
                    term.draw(|f| view::draw(f, &state, synth::t0()))
                        .map(|_| ())
                },
                BatchSize::LargeInput,
            )
        });
    }
    group.finish();
    Ok(())
}

fn bench_reports(c: &mut Criterion, analyses: &[(usize, Analysis)]) {
    for (name, format) in [("json", Format::Json), ("markdown", Format::Markdown)] {
        let mut group = c.benchmark_group(name);
        for (n, a) in analyses {
            configure(&mut group, *n);
            group.bench_with_input(BenchmarkId::from_parameter(n), a, |b, a| {
                b.iter(|| report::render(format, black_box(a), &[]).map(|s| s.len()))
            });
        }
        group.finish();
    }
}

fn key(code: KeyCode) -> Msg {
    Msg::Key(KeyEvent::new(code, KeyModifiers::NONE))
}

/// Enter on the session holding 50,000 locks opens its details pane (update + frame), and
/// j scrolls it one line (update + frame). As the poll delivers it, the session lists 201
/// locks and counts the rest; the uncapped case shows what the pane costs without the cap.
fn bench_details(c: &mut Criterion) -> anyhow::Result<()> {
    let mut group = c.benchmark_group("details_pane_50k_locks");
    group.sample_size(20);
    for (case, listed) in [("open_201_listed", 201), ("open_50000_listed", 50_000)] {
        let (snap, holder) = synth::many_locks(1_000, 50_000, listed);
        let mut state = state_with(analyze(snap, &Options::default()));
        let mut term = terminal()?;
        group.bench_function(case, |b| {
            b.iter(|| {
                update(&mut state, key(KeyCode::Esc), synth::t0());
                state.selected = Some(holder);
                update(&mut state, key(KeyCode::Enter), synth::t0());
                term.draw(|f| view::draw(f, &state, synth::t0()))
                    .map(|_| ())
            })
        });
        let scroll = case.replace("open", "scroll");
        let mut lines: u16 = 0;
        group.bench_function(scroll, |b| {
            b.iter(|| {
                // Down through the first 200 lines, then from the top again: every frame
                // shows locks, never the empty space past the end.
                lines = (lines + 1) % 200;
                if lines == 0 {
                    state.mode = Mode::Details { scroll: 0 };
                }
                update(&mut state, key(KeyCode::Char('j')), synth::t0());
                term.draw(|f| view::draw(f, &state, synth::t0()))
                    .map(|_| ())
            })
        });
    }
    group.finish();
    Ok(())
}

fn main() -> anyhow::Result<()> {
    let mut c = Criterion::default()
        .warm_up_time(Duration::from_millis(500))
        .measurement_time(Duration::from_secs(2))
        .configure_from_args();
    let analyses = analyses();
    bench_frame(&mut c, &analyses)?;
    bench_poll_to_frame(&mut c, &analyses)?;
    bench_reports(&mut c, &analyses);
    bench_details(&mut c)?;
    c.final_summary();
    Ok(())
}
