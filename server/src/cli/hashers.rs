//! `kratos hashers argon2 calibrate <requests-per-minute>`: finds argon2id parameters for this
//! machine (see [`crate::hash::calibrate`]), with Kratos's flags. Progress goes to stderr, the
//! chosen parameters to stdout as a `hashers.argon2` block (or JSON with `--format json`).

use std::time::{Duration, Instant};

use serde_json::json;

use crate::config::{ByteSize, ConfigHandle, Options, format_go_duration, parse_go_duration};
use crate::error::{Error, Result};
use crate::hash::calibrate::{
    Calibration, CalibrationEvent, CalibrationOptions, LoadTestReport, calibrate,
};
use crate::hash::{Algorithm, Argon2Params, HasherConfig};

#[derive(clap::Subcommand, Debug)]
pub enum HashersCommand {
    /// Argon2id tooling.
    Argon2 {
        #[command(subcommand)]
        command: Argon2Command,
    },
}

#[derive(clap::Subcommand, Debug)]
pub enum Argon2Command {
    /// Computes optimal Argon2 parameters for this machine.
    ///
    /// Password hashing trades security against resource use and login latency; a hash should
    /// take between half a second and a second. The values depend on the machine: run this where
    /// the server runs, and set the memory dedicated to hashing if memory is constrained.
    Calibrate(CalibrateArgs),
    /// Hashes a list of passwords, to benchmark the hashing parameters.
    Hash(HashArgs),
}

#[derive(clap::Args, Debug)]
pub struct HashArgs {
    /// The passwords to hash.
    #[arg(required = true)]
    passwords: Vec<String>,
    /// Run all hashing operations in parallel.
    #[arg(long)]
    parallel: bool,
    /// Number of iterations.
    #[arg(long)]
    iterations: Option<u32>,
    /// Memory to use.
    #[arg(long, value_parser = parse_size)]
    memory: Option<ByteSize>,
    /// Number of threads (lanes) to use.
    #[arg(long)]
    parallelism: Option<u32>,
    /// Length of the salt in bytes.
    #[arg(long = "salt-length")]
    salt_length: Option<u32>,
    /// Length of the key in bytes.
    #[arg(long = "key-length")]
    key_length: Option<u32>,
    #[command(flatten)]
    config: super::ConfigArgs,
}

#[derive(clap::Args, Debug)]
pub struct CalibrateArgs {
    /// The login requests per minute the parameters must sustain.
    requests_per_minute: u32,
    /// Runs per probe; the mean of all runs is taken as the result.
    #[arg(short = 'r', long = "probe-runs", default_value_t = 2)]
    probe_runs: u32,
    /// Amount of memory to start probing at.
    #[arg(short = 'm', long = "start-memory", value_parser = parse_size, default_value = "128MB")]
    start_memory: ByteSize,
    /// Maximum memory allowed (0 means no limit).
    #[arg(long = "max-memory", value_parser = parse_size, default_value = "0B")]
    max_memory: ByteSize,
    /// Amount by which the memory is adjusted in every step while probing.
    #[arg(long = "adjust-memory-by", value_parser = parse_size, default_value = "512MB")]
    adjust_memory: ByteSize,
    /// Number of iterations to start probing at.
    #[arg(short = 'i', long = "start-iterations", default_value_t = 1)]
    start_iterations: u32,
    /// Maximum number of concurrent hashing operations in the load test.
    #[arg(long = "max-concurrent", default_value_t = 16)]
    max_concurrent: u8,
    /// Amount of memory dedicated to password hashing; the server tries not to use more.
    #[arg(long = "dedicated-memory", value_parser = parse_size)]
    dedicated_memory: Option<ByteSize>,
    /// Minimal duration a hashing operation (~ a login request) takes.
    #[arg(long = "min-duration", value_parser = parse_duration)]
    min_duration: Option<Duration>,
    /// Expected deviation of the time a hashing operation takes.
    #[arg(long = "expected-deviation", value_parser = parse_duration)]
    expected_deviation: Option<Duration>,
    /// Number of threads (lanes) to use.
    #[arg(long)]
    parallelism: Option<u32>,
    /// Length of the salt in bytes.
    #[arg(long = "salt-length")]
    salt_length: Option<u32>,
    /// Length of the key in bytes.
    #[arg(long = "key-length")]
    key_length: Option<u32>,
    /// How long each load test sends requests (kratos-rs extension; Kratos uses 20s).
    #[arg(long = "load-sample-time", value_parser = parse_duration, default_value = "20s")]
    load_sample_time: Duration,
    /// Output format of the result: `yaml` (a `hashers` block for kratos.yml) or `json`.
    #[arg(long, default_value = "yaml")]
    format: OutputFormat,
    /// Print only the result, no progress.
    #[arg(short = 'q', long)]
    quiet: bool,
    #[command(flatten)]
    config: super::ConfigArgs,
}

#[derive(clap::ValueEnum, Clone, Copy, Debug, PartialEq, Eq)]
enum OutputFormat {
    Yaml,
    Json,
}

fn parse_size(s: &str) -> std::result::Result<ByteSize, String> {
    ByteSize::parse(s)
}

fn parse_duration(s: &str) -> std::result::Result<Duration, String> {
    parse_go_duration(s)
}

fn kib(size: ByteSize) -> u32 {
    u32::try_from(size.as_kib()).unwrap_or(u32::MAX)
}

pub async fn run(cmd: HashersCommand) -> Result<()> {
    let HashersCommand::Argon2 { command } = cmd;
    match command {
        Argon2Command::Calibrate(args) => run_calibrate(args).await,
        Argon2Command::Hash(args) => run_hash(args).await,
    }
}

/// `hash`: hashes each password with argon2id (sequentially, or all at once with `--parallel`)
/// and prints how long each took and the total.
async fn run_hash(args: HashArgs) -> Result<()> {
    let mut params = Argon2Params::default();
    if !args.config.config.is_empty() {
        let (config, _) =
            ConfigHandle::load(Options::from_process_env(args.config.config.clone(), false))?;
        params = crate::app::hasher_config(&config.get()).argon2;
    }
    if let Some(v) = args.iterations {
        params.iterations = v;
    }
    if let Some(v) = args.memory {
        params.memory_kib = kib(v);
    }
    if let Some(v) = args.parallelism {
        params.parallelism = v.max(1);
    }
    if let Some(v) = args.salt_length {
        params.salt_length = v;
    }
    if let Some(v) = args.key_length {
        params.key_length = v;
    }
    let config = HasherConfig {
        algorithm: Algorithm::Argon2id,
        argon2: params,
        ..HasherConfig::default()
    };
    let start = Instant::now();
    let config = std::sync::Arc::new(config);
    let hash_one = move |(n, password): (usize, String)| {
        let config = config.clone();
        move || {
            // Memory is kept between hashes as the server's hashing threads do.
            crate::hash::memory::keep_on_this_thread(u64::from(params.memory_kib));
            let started = Instant::now();
            let result = crate::hash::hash_password(password.as_bytes(), &config);
            (n, started.elapsed(), result)
        }
    };
    let jobs: Vec<(usize, String)> = args.passwords.into_iter().enumerate().collect();
    let results = if args.parallel {
        let handles: Vec<_> = jobs
            .into_iter()
            .map(|job| tokio::task::spawn_blocking(hash_one(job)))
            .collect();
        let mut results = Vec::with_capacity(handles.len());
        for handle in handles {
            let result = handle
                .await
                .map_err(|err| Error::internal(format!("hashing task: {err}")))?;
            println!("password {}: {}", result.0, format_go_duration(result.1));
            results.push(result);
        }
        results
    } else {
        tokio::task::spawn_blocking(move || {
            jobs.into_iter()
                .map(|job| {
                    let result = hash_one(job)();
                    println!("password {}: {}", result.0, format_go_duration(result.1));
                    result
                })
                .collect::<Vec<_>>()
        })
        .await
        .map_err(|err| Error::internal(format!("hashing task: {err}")))?
    };
    for (_, _, result) in results {
        result?;
    }
    println!("total: {}", format_go_duration(start.elapsed()));
    Ok(())
}

async fn run_calibrate(args: CalibrateArgs) -> Result<()> {
    let options = options(&args)?;
    let quiet = args.quiet;
    let expected = options.expected_duration;
    if !quiet {
        eprintln!(
            "Probing memory and iterations so that one hash takes about {}:",
            format_go_duration(expected)
        );
    }
    let result = calibrate(options.clone(), args.requests_per_minute, move |event| {
        if !quiet {
            print_event(event, args.requests_per_minute);
        }
    })
    .await?;
    if !result.settled {
        eprintln!(
            "Could not automatically determine good parameters. Have a look at all the measurements taken and select acceptable values yourself."
        );
    } else if !quiet {
        eprintln!("These values look good to me.\n");
    }
    println!("{}", render(&result, &options, args.format)?);
    Ok(())
}

/// The calibration options: Kratos's defaults, then `hashers.argon2` from the config files, then
/// the flags.
fn options(args: &CalibrateArgs) -> Result<CalibrationOptions> {
    let mut o = CalibrationOptions::default();
    if !args.config.config.is_empty() {
        let (config, _) =
            ConfigHandle::load(Options::from_process_env(args.config.config.clone(), false))?;
        let cfg = config.get();
        let a = &cfg.hashers.argon2;
        o.base.parallelism = a.effective_parallelism();
        o.base.salt_length = a.salt_length;
        o.base.key_length = a.key_length;
        o.expected_duration = a.expected_duration;
        o.expected_deviation = a.expected_deviation;
        o.dedicated_memory_kib = a.dedicated_memory.as_kib();
    }
    if let Some(v) = args.parallelism {
        o.base.parallelism = v.max(1);
    }
    if let Some(v) = args.salt_length {
        o.base.salt_length = v;
    }
    if let Some(v) = args.key_length {
        o.base.key_length = v;
    }
    if let Some(v) = args.min_duration {
        o.expected_duration = v;
    }
    if let Some(v) = args.expected_deviation {
        o.expected_deviation = v;
    }
    if let Some(v) = args.dedicated_memory {
        o.dedicated_memory_kib = v.as_kib();
    }
    o.start_memory_kib = kib(args.start_memory);
    o.max_memory_kib = (args.max_memory.bytes() > 0).then(|| kib(args.max_memory));
    o.adjust_memory_kib = kib(args.adjust_memory).max(1);
    o.start_iterations = args.start_iterations.max(1);
    o.probe_runs = args.probe_runs.max(1);
    o.max_concurrent = Some(usize::from(args.max_concurrent.max(1)));
    o.load_sample_time = args.load_sample_time;
    if args.requests_per_minute == 0 {
        return Err(Error::internal("requests per minute must be at least 1"));
    }
    Ok(o)
}

fn memory(kib: u32) -> String {
    ByteSize::kib(u64::from(kib)).to_string()
}

fn print_event(event: &CalibrationEvent, requests_per_minute: u32) {
    match event {
        CalibrationEvent::Probed(p) => eprintln!(
            "  took {} with {} of memory and {} iterations",
            format_go_duration(p.duration),
            memory(p.memory_kib),
            p.iterations
        ),
        CalibrationEvent::LoadTested(r) => {
            eprintln!(
                "\nRan a load test simulating {requests_per_minute} login requests per minute with {} of memory and {} iterations:",
                memory(r.params.memory_kib),
                r.params.iterations
            );
            eprint!("{}", load_table(r));
        }
        CalibrationEvent::Adjusted { params, reason } => eprintln!(
            "{reason}; now {} of memory and {} iterations.",
            memory(params.memory_kib),
            params.iterations
        ),
    }
}

fn load_table(r: &LoadTestReport) -> String {
    let header = [
        "TOTAL SAMPLE TIME",
        "MEDIAN REQUEST TIME",
        "STANDARD DEVIATION",
        "MIN REQUEST TIME",
        "MAX REQUEST TIME",
        "MEMORY USED",
    ];
    let row = [
        format_go_duration(r.total_time),
        format_go_duration(r.median),
        format_go_duration(r.std_deviation),
        format_go_duration(r.min),
        format_go_duration(r.max),
        ByteSize::kib(r.peak_memory_kib).to_string(),
    ];
    let widths: Vec<usize> = header
        .iter()
        .zip(&row)
        .map(|(h, v)| h.len().max(v.len()))
        .collect();
    let line = |cells: Vec<&str>| {
        cells
            .iter()
            .zip(&widths)
            .map(|(c, w)| format!("{c:<w$}"))
            .collect::<Vec<_>>()
            .join("\t")
            .trim_end()
            .to_string()
    };
    format!(
        "{}\n{}\n",
        line(header.to_vec()),
        line(row.iter().map(String::as_str).collect())
    )
}

fn render(result: &Calibration, o: &CalibrationOptions, format: OutputFormat) -> Result<String> {
    let p: &Argon2Params = &result.params;
    let value = json!({
        "hashers": {
            "algorithm": "argon2",
            "argon2": {
                "memory": memory(p.memory_kib),
                "iterations": p.iterations,
                "parallelism": p.parallelism,
                "salt_length": p.salt_length,
                "key_length": p.key_length,
                "expected_duration": format_go_duration(o.expected_duration),
                "expected_deviation": format_go_duration(o.expected_deviation),
                "dedicated_memory": ByteSize::kib(o.dedicated_memory_kib).to_string(),
            }
        }
    });
    Ok(match format {
        OutputFormat::Json => serde_json::to_string_pretty(&value)?,
        OutputFormat::Yaml => serde_yaml_ng::to_string(&value)
            .map_err(|err| Error::internal(format!("rendering the result: {err}")))?,
    })
}
