//! The per-poll analysis: the wait graph alone, and the whole of `analyze` (graph,
//! migrations, findings), on generated snapshots of 100 to 100,000 sessions, plus one long
//! chain, the worst shape for the graph walks.
//!
//! `cargo bench --bench analysis`; `cargo test --benches` runs each case once.
mod synth;

use std::time::Duration;

use std::hint::black_box;

use criterion::{BatchSize, BenchmarkId, Criterion, SamplingMode, Throughput};
use pglocks::analysis::{Options, analyze};
use pglocks::graph;
use pglocks::model::Snapshot;

fn configure(
    group: &mut criterion::BenchmarkGroup<'_, criterion::measurement::WallTime>,
    n: usize,
) {
    group.throughput(Throughput::Elements(n as u64));
    if n >= 10_000 {
        // One iteration takes milliseconds to a second: few, equal samples keep it short.
        group.sample_size(10).sampling_mode(SamplingMode::Flat);
    } else {
        group.sample_size(30).sampling_mode(SamplingMode::Auto);
    }
}

fn bench_graph(c: &mut Criterion) {
    let mut group = c.benchmark_group("graph");
    for n in synth::SIZES {
        let snap = synth::snapshot(n);
        configure(&mut group, n);
        group.bench_with_input(BenchmarkId::from_parameter(n), &snap, |b, snap| {
            b.iter(|| graph::build(black_box(snap)))
        });
    }
    group.finish();
}

/// analyze() over the snapshots `make` generates, one per size.
fn bench_analysis_of(c: &mut Criterion, name: &str, sizes: &[usize], make: fn(usize) -> Snapshot) {
    let opts = Options::default();
    let mut group = c.benchmark_group(name);
    for &n in sizes {
        let snap = make(n);
        configure(&mut group, n);
        // analyze() owns its snapshot; the clone is made outside the timing.
        group.bench_with_input(BenchmarkId::from_parameter(n), &snap, |b, snap| {
            b.iter_batched(
                || snap.clone(),
                |s| analyze(s, &opts),
                BatchSize::LargeInput,
            )
        });
    }
    group.finish();
}

fn bench_analyze(c: &mut Criterion) {
    bench_analysis_of(c, "analyze", &synth::SIZES, synth::snapshot);
}

fn bench_chain(c: &mut Criterion) {
    bench_analysis_of(c, "analyze_chain", &[1_000, 10_000, 100_000], synth::chain);
}

fn main() {
    let mut c = Criterion::default()
        .warm_up_time(Duration::from_millis(500))
        .measurement_time(Duration::from_secs(2))
        .configure_from_args();
    bench_graph(&mut c);
    bench_analyze(&mut c);
    bench_chain(&mut c);
    c.final_summary();
}
