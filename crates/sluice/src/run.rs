//! `sluice run`: one pipeline, from the sample stream or a JSON-lines file, to a file or stdout.

use std::fs::File;
use std::io::{BufReader, BufWriter, IsTerminal, Write};
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use clap::Args;
use sluice_connectors::{open_source, JsonLinesSink, JsonLinesSource, SolarConfig};
use sluice_engine::{Executor, ExecutorConfig, ExecutorStats, Sink, Source};
use sluice_mql::json::JsonMode;
use sluice_pipeline::{parse_pipeline_json, SinkSpec};

/// Arguments of `sluice run`.
#[derive(Args)]
pub struct RunArgs {
    /// The pipeline: a JSON array of stages starting with $source.
    #[arg(long)]
    pipeline: PathBuf,
    /// Read events from this JSON-lines file instead of the $source connection.
    #[arg(long)]
    input: Option<PathBuf>,
    /// Write output documents here (default: stdout).
    #[arg(long)]
    output: Option<PathBuf>,
    /// Write dead-letter documents here (default: stderr).
    #[arg(long)]
    dlq: Option<PathBuf>,
    /// Write canonical Extended JSON instead of relaxed.
    #[arg(long)]
    canonical: bool,
    /// Stop the sample stream after this many events.
    #[arg(long)]
    limit: Option<u64>,
    /// Events per second of the sample stream.
    #[arg(long, default_value_t = 5.0)]
    rate: f64,
    /// Seed of the sample stream: the same seed gives the same devices and readings.
    #[arg(long, default_value_t = 42)]
    seed: u64,
    #[command(flatten)]
    js_limits: crate::js_limits::JsLimitArgs,
}

fn writer(path: &Option<PathBuf>, default: Box<dyn Write + Send>) -> Result<Box<dyn Write + Send>, String> {
    match path {
        Some(p) => File::create(p)
            .map(|f| Box::new(BufWriter::new(f)) as Box<dyn Write + Send>)
            .map_err(|e| format!("cannot create {}: {}", p.display(), e)),
        None => Ok(default),
    }
}

fn progress(stats: &ExecutorStats, started: Instant) -> String {
    let secs = started.elapsed().as_secs_f64().max(1e-9);
    format!(
        "in {} | out {} | dlq {} | {:.0} events/s",
        stats.input_messages,
        stats.output_messages,
        stats.dlq_messages,
        stats.input_messages as f64 / secs
    )
}

/// Runs `sluice run`.
pub fn run(args: RunArgs) -> Result<(), String> {
    args.js_limits.apply();
    let text = std::fs::read_to_string(&args.pipeline)
        .map_err(|e| format!("cannot read {}: {}", args.pipeline.display(), e))?;
    let plan = parse_pipeline_json(&text).map_err(|e| format!("invalid pipeline: {}", e))?;
    // `run` writes to stdout or --output; a sink stage naming a real connection needs the server.
    match &plan.sink {
        None => {}
        Some(SinkSpec::Emit { connection_name, .. }) if connection_name == "__testLog" => {}
        Some(other) => {
            return Err(format!(
                "`sluice run` writes its output to stdout or --output; this pipeline ends in {}, which needs a connection: \
                 remove that stage, or emit to \"__testLog\"",
                match other {
                    SinkSpec::Emit { connection_name, .. } => format!("$emit to '{}'", connection_name),
                    SinkSpec::Merge { .. } => "$merge".to_string(),
                }
            ))
        }
    }
    let source: Box<dyn Source> = match &args.input {
        Some(p) => {
            let f = File::open(p).map_err(|e| format!("cannot open {}: {}", p.display(), e))?;
            Box::new(JsonLinesSource::new(&p.display().to_string(), BufReader::new(f)))
        }
        None => {
            let solar = SolarConfig {
                seed: args.seed,
                rate_per_sec: Some(args.rate),
                limit: args.limit,
                ..SolarConfig::default()
            };
            open_source(&plan.source, solar).map_err(|e| e.to_string())?
        }
    };
    let mode = if args.canonical { JsonMode::Canonical } else { JsonMode::Relaxed };
    let sink: Box<dyn Sink> =
        Box::new(JsonLinesSink::new("output", writer(&args.output, Box::new(std::io::stdout()))?, mode));
    let dlq: Box<dyn Sink> = Box::new(JsonLinesSink::new("dlq", writer(&args.dlq, Box::new(std::io::stderr()))?, mode));
    let mut exec =
        Executor::new(&plan, source, sink, dlq, ExecutorConfig::new("sluice-run")).map_err(|e| e.to_string())?;

    // Ctrl-C sets the flag; the loop below stops cleanly at the next batch and flushes.
    let stop = Arc::new(AtomicBool::new(false));
    signal_hook::flag::register(signal_hook::consts::SIGINT, stop.clone()).map_err(|e| e.to_string())?;
    let tty = std::io::stderr().is_terminal();
    let started = Instant::now();
    let mut last_print = Instant::now();
    let stats = exec
        .run(
            |s| {
                if tty && last_print.elapsed() >= Duration::from_millis(500) {
                    eprint!("\r{}   ", progress(s, started));
                    last_print = Instant::now();
                }
                !stop.load(Ordering::SeqCst)
            },
            || std::thread::sleep(Duration::from_millis(20)),
        )
        .map_err(|e| e.to_string())?;
    if tty {
        eprintln!();
    }
    eprintln!("done: {} in {:.2}s", progress(&stats, started), started.elapsed().as_secs_f64());
    Ok(())
}
