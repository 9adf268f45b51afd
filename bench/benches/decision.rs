//! Decision engine bench: one permission decision (hub + connection matrix) per iteration,
//! Hubkeep against casbin-rs and cedar-policy, after checking that all three agree on every
//! input. Criterion writes `criterion/decision/{hubkeep,casbin,cedar}/new/estimates.json`
//! under the target directory; the report reads `mean.point_estimate` (ns per decision).

use std::hint::black_box;
use std::time::Duration;

use criterion::{Criterion, criterion_group, criterion_main};
use hubkeep_bench::peers::{all_inputs, engines, hubkeep_decide, mismatches, random_inputs};

/// The inputs cycled through (a power of two, so the index wraps with a mask).
const SAMPLE: usize = 4096;
const SEED: u64 = 0x4855_424B_4545_5031;

fn decision(c: &mut Criterion) {
    let (casbin, cedar) = engines().expect("the casbin enforcer and the Cedar policy load");

    let wrong = mismatches(&casbin, &cedar, &all_inputs());
    assert!(
        wrong.is_empty(),
        "the engines disagree, nothing to compare:\n{}",
        wrong.join("\n")
    );

    let inputs = random_inputs(SAMPLE, SEED);
    let casbin_requests: Vec<_> = inputs.iter().map(|i| casbin.prepare(i)).collect();
    let cedar_requests: Vec<_> = inputs.iter().map(|i| cedar.prepare(i)).collect();

    let mut group = c.benchmark_group("decision");
    group
        .warm_up_time(Duration::from_secs(1))
        .measurement_time(Duration::from_secs(3));
    group.bench_function("hubkeep", |b| {
        let mut n = 0usize;
        b.iter(|| {
            n = n.wrapping_add(1);
            hubkeep_decide(black_box(&inputs[n & (SAMPLE - 1)]))
        });
    });
    group.bench_function("casbin", |b| {
        let mut n = 0usize;
        b.iter(|| {
            n = n.wrapping_add(1);
            casbin.decide_prepared(black_box(&casbin_requests[n & (SAMPLE - 1)]))
        });
    });
    group.bench_function("cedar", |b| {
        let mut n = 0usize;
        b.iter(|| {
            n = n.wrapping_add(1);
            cedar.decide_prepared(black_box(&cedar_requests[n & (SAMPLE - 1)]))
        });
    });
    group.finish();
}

criterion_group!(benches, decision);
criterion_main!(benches);
