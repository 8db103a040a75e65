//! The core of `kratos hashers argon2 calibrate`: find argon2id memory and iterations so that
//! one hash takes about the expected duration, then check the result under the expected login
//! load and adjust.
//!
//! The procedure follows Kratos's command:
//! 1. raise memory in `adjust_memory` steps until a hash takes longer than expected (never
//!    beyond `max_memory`), step back, then lower memory (halving the step when needed) until a
//!    hash is faster than expected;
//! 2. raise iterations until a hash is slower than expected, step back, then lower them until
//!    it is faster again (stopping at 1);
//! 3. run up to five load tests of `requests_per_minute` through a [`HashPool`] sized like the
//!    server's, and adjust after each: too fast → more memory (if `max_memory` leaves room) or
//!    one more iteration; hashing memory above `dedicated_memory` → less memory; the slowest
//!    request above expected + deviation, or a deviation above the expected one → one iteration
//!    less (or 64 MiB less memory at one iteration); otherwise settle.
//!
//! Differences: the load test goes through our bounded pool, so its memory is what the pool
//! would allow and its latency includes queueing (what a login would see); the memory
//! correction shrinks the per-hash memory by the excess divided by the hashes that ran at once
//! (Kratos divides by requests per minute); and every loop has a step limit.
//!
//! The search itself ([`search`]) and the adjustment ([`judge`]) are pure functions of the
//! measurements, so they are tested with a model instead of a clock.

use std::time::{Duration, Instant};

use super::config::{Algorithm, Argon2Params, HasherConfig};
use super::generate::argon2_instance;
use super::pool::{HashPool, PoolLimits};
use crate::error::{Error, Result};

const MIB: u32 = 1024;
/// The memory step of the load-test adjustments (Kratos's 64 MB).
const LOAD_ADJUST_KIB: u32 = 64 * MIB;
/// No search loop takes more steps than this.
const MAX_STEPS: usize = 256;
/// Kratos runs at most five load tests.
const MAX_LOAD_TESTS: usize = 5;

/// What to calibrate for. `Default` gives Kratos's defaults.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CalibrationOptions {
    /// How long one hash should take (`hashers.argon2.expected_duration`, 500 ms).
    pub expected_duration: Duration,
    /// The deviation tolerated under load (`hashers.argon2.expected_deviation`, 500 ms).
    pub expected_deviation: Duration,
    /// Hashing memory allowed at once (`hashers.argon2.dedicated_memory`, 1 GB), in KiB.
    pub dedicated_memory_kib: u64,
    /// Memory to start probing at (`--start-memory`), in KiB.
    pub start_memory_kib: u32,
    /// Upper bound for memory (`--max-memory`), in KiB; `None` for no limit.
    pub max_memory_kib: Option<u32>,
    /// Memory step while probing (`--adjust-memory-by`, 512 MB), in KiB.
    pub adjust_memory_kib: u32,
    /// Iterations to start probing at (`--start-iterations`, 1).
    pub start_iterations: u32,
    /// Hashes per probe, averaged (`--probe-runs`, 2).
    pub probe_runs: u32,
    /// `parallelism`, `salt_length` and `key_length` are kept as given; memory and iterations
    /// are ignored (the start values above apply).
    pub base: Argon2Params,
    /// How long each load test sends requests (Kratos: 20 s).
    pub load_sample_time: Duration,
    /// Concurrency of the load test's pool; `None` sizes it like the server's.
    pub max_concurrent: Option<usize>,
}

impl Default for CalibrationOptions {
    fn default() -> Self {
        CalibrationOptions {
            expected_duration: Duration::from_millis(500),
            expected_deviation: Duration::from_millis(500),
            dedicated_memory_kib: 1024 * 1024,
            start_memory_kib: 128 * MIB,
            max_memory_kib: None,
            adjust_memory_kib: 512 * MIB,
            start_iterations: 1,
            probe_runs: 2,
            base: Argon2Params::default(),
            load_sample_time: Duration::from_secs(20),
            max_concurrent: None,
        }
    }
}

/// One probe: the mean time of `probe_runs` hashes with these parameters.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Probe {
    pub memory_kib: u32,
    pub iterations: u32,
    pub duration: Duration,
}

/// The outcome of one load test.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LoadTestReport {
    pub params: Argon2Params,
    /// Requests sent (requests per minute scaled to the sample time).
    pub requests: usize,
    /// Requests that finished before the deadline.
    pub completed: usize,
    pub total_time: Duration,
    /// Request latencies, queueing included.
    pub median: Duration,
    pub std_deviation: Duration,
    pub min: Duration,
    pub max: Duration,
    /// The most hashing memory in use at once, in KiB.
    pub peak_memory_kib: u64,
    /// The most hashes running at once.
    pub peak_running: usize,
}

impl LoadTestReport {
    /// Not every request finished in time: the machine cannot sustain this load.
    pub fn overloaded(&self) -> bool {
        self.completed < self.requests
    }
}

/// Progress, reported as it happens (the CLI prints it).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum CalibrationEvent {
    Probed(Probe),
    LoadTested(LoadTestReport),
    Adjusted {
        params: Argon2Params,
        reason: String,
    },
}

/// The result: the chosen parameters and everything measured on the way.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Calibration {
    pub params: Argon2Params,
    pub probes: Vec<Probe>,
    pub load_tests: Vec<LoadTestReport>,
    /// Whether the last load test accepted the parameters. If not, Kratos asks the operator to
    /// pick from the measurements; `params` are then the last ones tried.
    pub settled: bool,
}

/// What to do after a load test.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Verdict {
    Accept,
    Adjust {
        params: Argon2Params,
        reason: String,
    },
}

/// The smallest memory argon2 accepts for these lanes.
fn min_memory(params: &Argon2Params) -> u32 {
    params.parallelism.saturating_mul(8).max(8)
}

/// Phase 1 and 2: the single-hash search. `probe` measures one parameter set.
pub fn search(
    options: &CalibrationOptions,
    mut probe: impl FnMut(&Argon2Params) -> Result<Duration>,
    mut on_probe: impl FnMut(&Probe),
) -> Result<(Argon2Params, Vec<Probe>)> {
    let desired = options.expected_duration;
    let mut params = options.base;
    params.memory_kib = options.start_memory_kib.max(min_memory(&params));
    params.iterations = options.start_iterations.max(1);
    let mut adjust = options.adjust_memory_kib;
    let mut probes = Vec::new();
    let mut measure = |params: &Argon2Params, probes: &mut Vec<Probe>| -> Result<Duration> {
        let duration = probe(params)?;
        let p = Probe {
            memory_kib: params.memory_kib,
            iterations: params.iterations,
            duration,
        };
        on_probe(&p);
        probes.push(p);
        Ok(duration)
    };
    let too_many =
        || Error::internal("argon2 calibration did not converge; adjust the start values");

    // Raise memory until a hash is slower than desired, then step back.
    let mut steps = 0;
    loop {
        if let Some(max) = options.max_memory_kib
            && params.memory_kib > max
        {
            params.memory_kib = max.max(min_memory(&params));
            break;
        }
        if measure(&params, &mut probes)? > desired {
            if params.memory_kib <= adjust {
                adjust >>= 1;
            }
            params.memory_kib = params
                .memory_kib
                .saturating_sub(adjust)
                .max(min_memory(&params));
            break;
        }
        params.memory_kib = params.memory_kib.checked_add(adjust).ok_or_else(too_many)?;
        steps += 1;
        if steps > MAX_STEPS || adjust == 0 {
            return Err(too_many());
        }
    }

    // Lower memory until a hash is faster than desired.
    for _ in 0..MAX_STEPS {
        if measure(&params, &mut probes)? < desired {
            break;
        }
        while params.memory_kib <= adjust && adjust > 0 {
            adjust >>= 1;
        }
        let lowered = params
            .memory_kib
            .saturating_sub(adjust)
            .max(min_memory(&params));
        if adjust == 0 || lowered == params.memory_kib {
            break; // at argon2's minimum; iterations cannot go lower either
        }
        params.memory_kib = lowered;
    }

    // Raise iterations until a hash is slower than desired, then step back.
    let mut steps = 0;
    loop {
        if measure(&params, &mut probes)? > desired {
            if params.iterations > 1 {
                params.iterations -= 1;
            }
            break;
        }
        params.iterations = params.iterations.checked_add(1).ok_or_else(too_many)?;
        steps += 1;
        if steps > MAX_STEPS {
            return Err(too_many());
        }
    }

    // Lower iterations until a hash is faster than desired (or at 1).
    for _ in 0..MAX_STEPS {
        if measure(&params, &mut probes)? < desired || params.iterations == 1 {
            break;
        }
        params.iterations -= 1;
    }

    Ok((params, probes))
}

/// Phase 3's decision after one load test.
pub fn judge(report: &LoadTestReport, options: &CalibrationOptions) -> Verdict {
    let mut params = report.params;
    let expected = options.expected_duration;
    let deviation = options.expected_deviation;
    let lighter = |mut params: Argon2Params| {
        if params.iterations > 1 {
            params.iterations -= 1;
        } else {
            params.memory_kib = params
                .memory_kib
                .saturating_sub(LOAD_ADJUST_KIB)
                .max(min_memory(&params));
        }
        params
    };

    if !report.overloaded() && report.median < expected {
        let room = options.max_memory_kib.is_some_and(|max| {
            report.peak_memory_kib + u64::from(LOAD_ADJUST_KIB) < u64::from(max)
        });
        if room {
            params.memory_kib = params.memory_kib.saturating_add(LOAD_ADJUST_KIB);
        } else {
            params.iterations = params.iterations.saturating_add(1);
        }
        return Verdict::Adjust {
            params,
            reason: format!(
                "the median {:?} is under the expected {:?}",
                report.median, expected
            ),
        };
    }
    if report.peak_memory_kib > options.dedicated_memory_kib {
        let excess = report.peak_memory_kib - options.dedicated_memory_kib;
        let per_hash = excess.div_ceil(report.peak_running.max(1) as u64);
        let lowered = u64::from(params.memory_kib).saturating_sub(per_hash);
        params.memory_kib = u32::try_from(lowered)
            .unwrap_or(u32::MAX)
            .max(min_memory(&params));
        return Verdict::Adjust {
            params,
            reason: format!(
                "hashing used {} KiB, more than the dedicated {} KiB",
                report.peak_memory_kib, options.dedicated_memory_kib
            ),
        };
    }
    if report.overloaded() || report.max > expected + deviation {
        return Verdict::Adjust {
            params: lighter(params),
            reason: format!(
                "the slowest request took {:?}, more than the acceptable {:?}{}",
                report.max,
                expected + deviation,
                if report.overloaded() {
                    " (some did not finish)"
                } else {
                    ""
                }
            ),
        };
    }
    if report.std_deviation > deviation {
        return Verdict::Adjust {
            params: lighter(params),
            reason: format!(
                "the deviation {:?} is more than the expected {:?}",
                report.std_deviation, deviation
            ),
        };
    }
    Verdict::Accept
}

/// The mean time of `runs` argon2id hashes of a fixed password with `params`, on memory kept
/// between hashes as the server's hashing threads do (a first, cold hash is not counted).
pub fn measure(params: &Argon2Params, runs: u32) -> Result<Duration> {
    let argon = argon2_instance(params)?;
    let salt = vec![0x5a; usize::try_from(params.salt_length).unwrap_or(16)];
    let mut key = vec![0u8; usize::try_from(params.key_length).unwrap_or(32)];
    super::memory::keep_on_this_thread(u64::from(params.memory_kib));
    let mut hash = || {
        super::memory::hash_into(&argon, b"password", &salt, &mut key)
            .map_err(|err| Error::internal(format!("argon2: {err}")))
    };
    hash()?;
    let runs = runs.max(1);
    let start = Instant::now();
    for _ in 0..runs {
        hash()?;
    }
    let elapsed = start.elapsed();
    super::memory::keep_on_this_thread(0);
    Ok(elapsed / runs)
}

/// Sends `requests_per_minute`, scaled to `sample_time`, hash requests at random moments
/// through a pool with `limits`, and measures each request's latency.
pub async fn load_test(
    params: Argon2Params,
    limits: PoolLimits,
    requests_per_minute: u32,
    sample_time: Duration,
    deadline: Duration,
) -> Result<LoadTestReport> {
    let config = HasherConfig {
        algorithm: Algorithm::Argon2id,
        argon2: params,
        ..HasherConfig::default()
    };
    let pool = HashPool::with_limits(config, limits)?;
    let requests =
        usize::try_from(u128::from(requests_per_minute) * sample_time.as_millis() / 60_000)
            .unwrap_or(usize::MAX)
            .max(1);
    let sample_nanos = u64::try_from(sample_time.as_nanos())
        .unwrap_or(u64::MAX)
        .max(1);

    let start = Instant::now();
    let mut tasks = tokio::task::JoinSet::new();
    for _ in 0..requests {
        let offset = Duration::from_nanos(rand::random_range(0..sample_nanos));
        let pool = pool.clone();
        tasks.spawn(async move {
            tokio::time::sleep(offset).await;
            let sent = Instant::now();
            pool.hash("password").await.map(|_| sent.elapsed())
        });
    }

    let mut latencies = Vec::with_capacity(requests);
    let finished = tokio::time::timeout(deadline, async {
        while let Some(joined) = tasks.join_next().await {
            let latency =
                joined.map_err(|err| Error::internal(format!("load test task: {err}")))??;
            latencies.push(latency);
        }
        Ok::<_, Error>(())
    })
    .await;
    if let Ok(result) = finished {
        result?;
    }
    tasks.abort_all();
    let total_time = start.elapsed();
    let stats = pool.stats();
    Ok(summarize(
        params,
        requests,
        latencies,
        total_time,
        stats.peak_memory_kib,
        stats.peak_running,
    ))
}

fn summarize(
    params: Argon2Params,
    requests: usize,
    mut latencies: Vec<Duration>,
    total_time: Duration,
    peak_memory_kib: u64,
    peak_running: usize,
) -> LoadTestReport {
    latencies.sort_unstable();
    let completed = latencies.len();
    let median = match completed {
        0 => Duration::ZERO,
        n if n % 2 == 1 => latencies[n / 2],
        n => (latencies[n / 2 - 1] + latencies[n / 2]) / 2,
    };
    let std_deviation = if completed == 0 {
        Duration::ZERO
    } else {
        let secs: Vec<f64> = latencies.iter().map(Duration::as_secs_f64).collect();
        let mean = secs.iter().sum::<f64>() / secs.len() as f64;
        let variance = secs.iter().map(|s| (s - mean).powi(2)).sum::<f64>() / secs.len() as f64;
        Duration::try_from_secs_f64(variance.sqrt()).unwrap_or(Duration::MAX)
    };
    LoadTestReport {
        params,
        requests,
        completed,
        total_time,
        median,
        std_deviation,
        min: latencies.first().copied().unwrap_or_default(),
        max: latencies.last().copied().unwrap_or_default(),
        peak_memory_kib,
        peak_running,
    }
}

/// The whole calibration: [`search`] with real measurements, then up to five load tests of
/// `requests_per_minute`, adjusting with [`judge`] after each. Takes minutes with Kratos's
/// defaults (each load test lasts `load_sample_time`).
pub async fn calibrate<F>(
    options: CalibrationOptions,
    requests_per_minute: u32,
    on_event: F,
) -> Result<Calibration>
where
    F: FnMut(&CalibrationEvent) + Send + 'static,
{
    let search_options = options.clone();
    let (searched, mut on_event) = tokio::task::spawn_blocking(move || {
        let mut on_event = on_event;
        let runs = search_options.probe_runs;
        let result = search(
            &search_options,
            |params| measure(params, runs),
            |probe| on_event(&CalibrationEvent::Probed(*probe)),
        );
        (result, on_event)
    })
    .await
    .map_err(|err| Error::internal(format!("calibration task: {err}")))?;
    let (mut params, probes) = searched?;

    let deadline =
        (options.load_sample_time + options.expected_duration + options.expected_deviation) * 11
            / 10;
    let mut load_tests = Vec::new();
    for _ in 0..MAX_LOAD_TESTS {
        let config = HasherConfig {
            algorithm: Algorithm::Argon2id,
            argon2: params,
            dedicated_memory_kib: options.dedicated_memory_kib,
            ..HasherConfig::default()
        };
        let mut limits = PoolLimits::for_config(&config);
        if let Some(max) = options.max_concurrent {
            limits.max_concurrent = max.max(1);
        }
        let report = load_test(
            params,
            limits,
            requests_per_minute,
            options.load_sample_time,
            deadline,
        )
        .await?;
        on_event(&CalibrationEvent::LoadTested(report.clone()));
        let verdict = judge(&report, &options);
        load_tests.push(report);
        match verdict {
            Verdict::Accept => {
                return Ok(Calibration {
                    params,
                    probes,
                    load_tests,
                    settled: true,
                });
            }
            Verdict::Adjust {
                params: next,
                reason,
            } => {
                on_event(&CalibrationEvent::Adjusted {
                    params: next,
                    reason,
                });
                params = next;
            }
        }
    }
    Ok(Calibration {
        params,
        probes,
        load_tests,
        settled: false,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A deterministic cost model instead of a clock: 1 µs per KiB per iteration.
    fn model(params: &Argon2Params) -> Result<Duration> {
        Ok(Duration::from_micros(
            u64::from(params.memory_kib) * u64::from(params.iterations),
        ))
    }

    fn options(start_memory_mib: u32, max_memory_mib: Option<u32>) -> CalibrationOptions {
        CalibrationOptions {
            start_memory_kib: start_memory_mib * MIB,
            max_memory_kib: max_memory_mib.map(|m| m * MIB),
            base: Argon2Params {
                parallelism: 2,
                ..Argon2Params::default()
            },
            ..CalibrationOptions::default()
        }
    }

    fn search_model(options: &CalibrationOptions) -> (Argon2Params, Vec<Probe>) {
        let mut seen = 0;
        let (params, probes) = search(options, model, |_| seen += 1).unwrap();
        assert_eq!(seen, probes.len(), "every probe is reported");
        (params, probes)
    }

    #[test]
    fn fills_the_duration_with_iterations_after_coarse_memory_steps() {
        // 64 MiB ≈ 65 ms; +512 MiB overshoots, so memory stays at 64 MiB and iterations rise
        // until just under 500 ms: 7 × 65.5 ms = 459 ms, 8 × = 524 ms.
        let (params, probes) = search_model(&options(64, None));
        assert_eq!((params.memory_kib, params.iterations), (64 * MIB, 7));
        assert_eq!(params.parallelism, 2, "kept from the base");
        assert!(model(&params).unwrap() < Duration::from_millis(500));
        let after = Argon2Params {
            iterations: params.iterations + 1,
            ..params
        };
        assert!(model(&after).unwrap() > Duration::from_millis(500));
        assert_eq!(probes.first().map(|p| p.memory_kib), Some(64 * MIB));
    }

    #[test]
    fn respects_the_memory_limit() {
        let (params, _) = search_model(&options(64, Some(256)));
        assert_eq!((params.memory_kib, params.iterations), (256 * MIB, 1));
    }

    #[test]
    fn lowers_memory_when_the_start_is_too_slow() {
        // 1 GiB ≈ 1074 ms → back to 512 MiB (537 ms, still too slow) → halve the step → 256 MiB.
        let (params, _) = search_model(&options(1024, None));
        assert_eq!((params.memory_kib, params.iterations), (256 * MIB, 1));
    }

    #[test]
    fn stops_at_argon2s_minimum_when_everything_is_too_slow() {
        let slow = |_: &Argon2Params| Ok(Duration::from_secs(10));
        let (params, probes) = search(&options(64, None), slow, |_| {}).unwrap();
        assert_eq!(params.iterations, 1);
        assert_eq!(params.memory_kib, 16, "8 KiB per lane, 2 lanes");
        assert!(probes.len() < 64);
    }

    #[test]
    fn probe_errors_end_the_search() {
        let failing = |_: &Argon2Params| Err(Error::internal("boom"));
        assert!(search(&options(64, None), failing, |_| {}).is_err());
    }

    #[test]
    fn gives_up_instead_of_looping_forever() {
        let instant = |_: &Argon2Params| Ok(Duration::ZERO);
        assert!(search(&options(64, None), instant, |_| {}).is_err());
    }

    fn report(
        median_ms: u64,
        max_ms: u64,
        std_ms: u64,
        peak_mib: u64,
        peak_running: usize,
    ) -> LoadTestReport {
        LoadTestReport {
            params: Argon2Params {
                memory_kib: 128 * MIB,
                iterations: 2,
                parallelism: 2,
                salt_length: 16,
                key_length: 32,
            },
            requests: 10,
            completed: 10,
            total_time: Duration::from_secs(20),
            median: Duration::from_millis(median_ms),
            std_deviation: Duration::from_millis(std_ms),
            min: Duration::from_millis(median_ms / 2),
            max: Duration::from_millis(max_ms),
            peak_memory_kib: peak_mib * 1024,
            peak_running,
        }
    }

    fn adjusted(verdict: Verdict) -> Argon2Params {
        match verdict {
            Verdict::Adjust { params, .. } => params,
            Verdict::Accept => panic!("expected an adjustment"),
        }
    }

    #[test]
    fn judge_follows_kratos_rules() {
        let opts = options(64, None);
        // Good: accepted.
        assert_eq!(
            judge(&report(600, 900, 100, 256, 2), &opts),
            Verdict::Accept
        );
        // Too fast without a memory limit: one more iteration.
        assert_eq!(
            adjusted(judge(&report(300, 400, 50, 256, 2), &opts)).iterations,
            3
        );
        // Too fast with room under the memory limit: 64 MiB more.
        let limited = options(64, Some(2048));
        assert_eq!(
            adjusted(judge(&report(300, 400, 50, 256, 2), &limited)).memory_kib,
            192 * MIB
        );
        // Too slow: one iteration less…
        assert_eq!(
            adjusted(judge(&report(700, 1200, 100, 256, 2), &opts)).iterations,
            1
        );
        // …and at one iteration, 64 MiB less.
        let mut one = report(700, 1200, 100, 256, 2);
        one.params.iterations = 1;
        assert_eq!(adjusted(judge(&one, &opts)).memory_kib, 64 * MIB);
        // Too much deviation: lighter too.
        assert_eq!(
            adjusted(judge(&report(600, 900, 600, 256, 2), &opts)).iterations,
            1
        );
        // Over the dedicated memory (1 GiB) by 512 MiB with 4 hashes at once: 128 MiB less each.
        let over = adjusted(judge(&report(600, 900, 100, 1536, 4), &opts));
        assert_eq!(
            over.memory_kib, 16,
            "clamped at argon2's minimum for 2 lanes"
        );
        let mut big = report(600, 900, 100, 1536, 4);
        big.params.memory_kib = 512 * MIB;
        assert_eq!(adjusted(judge(&big, &opts)).memory_kib, 384 * MIB);
        // Requests that never finished count as too slow, even with a fast median.
        let mut overloaded = report(100, 200, 10, 256, 2);
        overloaded.completed = 5;
        assert_eq!(adjusted(judge(&overloaded, &opts)).iterations, 1);
    }

    #[test]
    fn summary_statistics() {
        let ms = Duration::from_millis;
        let r = summarize(
            Argon2Params::default(),
            4,
            vec![ms(40), ms(10), ms(30), ms(20)],
            ms(100),
            1024,
            2,
        );
        assert_eq!((r.min, r.max, r.median), (ms(10), ms(40), ms(25)));
        // Population standard deviation of 10, 20, 30, 40 ms is √125 ≈ 11.18 ms.
        assert_eq!(r.std_deviation.as_micros(), 11180);
        assert!(!r.overloaded());
        let empty = summarize(Argon2Params::default(), 3, vec![], ms(100), 0, 0);
        assert!(empty.overloaded());
        assert_eq!(empty.median, Duration::ZERO);
    }

    #[tokio::test]
    async fn load_test_sends_the_scaled_number_of_requests_through_a_bounded_pool() {
        let params = Argon2Params {
            memory_kib: 64,
            iterations: 1,
            parallelism: 1,
            salt_length: 16,
            key_length: 32,
        };
        let limits = PoolLimits {
            max_concurrent: 1,
            memory_budget_kib: 1024,
        };
        // 600 per minute for 200 ms: 2 requests.
        let r = load_test(
            params,
            limits,
            600,
            Duration::from_millis(200),
            Duration::from_secs(600),
        )
        .await
        .unwrap();
        assert_eq!((r.requests, r.completed), (2, 2));
        assert_eq!(r.peak_running, 1);
        assert_eq!(r.peak_memory_kib, 64);
        assert!(r.min <= r.median && r.median <= r.max);
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn full_calibration_runs_end_to_end() {
        // Real measurements, so only the shape of the result is asserted, never its timing.
        let options = CalibrationOptions {
            expected_duration: Duration::from_millis(2),
            expected_deviation: Duration::from_millis(50),
            start_memory_kib: 64,
            max_memory_kib: Some(2 * MIB),
            adjust_memory_kib: 256,
            probe_runs: 1,
            base: Argon2Params {
                parallelism: 1,
                ..Argon2Params::default()
            },
            load_sample_time: Duration::from_millis(100),
            max_concurrent: Some(1),
            ..CalibrationOptions::default()
        };
        let events = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
        let sink = events.clone();
        let result = calibrate(options.clone(), 1200, move |event| {
            sink.lock().unwrap().push(event.clone());
        })
        .await
        .unwrap();

        assert!(!result.probes.is_empty());
        assert!((1..=MAX_LOAD_TESTS).contains(&result.load_tests.len()));
        assert!(result.params.memory_kib <= 2 * MIB && result.params.memory_kib >= 8);
        assert!(result.params.iterations >= 1);
        assert_eq!(
            (result.params.parallelism, result.params.salt_length),
            (1, 16)
        );
        assert_eq!(
            result.settled,
            judge(result.load_tests.last().unwrap(), &options) == Verdict::Accept
        );
        let events = events.lock().unwrap();
        let probed = events
            .iter()
            .filter(|e| matches!(e, CalibrationEvent::Probed(_)))
            .count();
        let tested = events
            .iter()
            .filter(|e| matches!(e, CalibrationEvent::LoadTested(_)))
            .count();
        assert_eq!(
            (probed, tested),
            (result.probes.len(), result.load_tests.len())
        );
        // 1200 per minute for 100 ms: 2 requests per load test.
        assert!(result.load_tests.iter().all(|r| r.requests == 2));
    }

    #[test]
    fn measure_runs_real_argon2() {
        let params = Argon2Params {
            memory_kib: 64,
            iterations: 1,
            parallelism: 1,
            salt_length: 16,
            key_length: 32,
        };
        assert!(measure(&params, 2).unwrap() > Duration::ZERO);
        let invalid = Argon2Params {
            memory_kib: 4,
            ..params
        };
        assert!(measure(&invalid, 1).is_err());
    }
}
