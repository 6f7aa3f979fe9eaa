//! The `sluice` binary: `run` a pipeline, `bench` the engine.

mod bench;
mod bench_baseline;
mod run;

use std::process::ExitCode;

use clap::{Parser, Subcommand};

/// Sluice: a self-hosted stream processor for MongoDB aggregation pipelines.
#[derive(Parser)]
#[command(name = "sluice", version)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Run one pipeline to completion (file input) or until Ctrl-C (sample stream).
    Run(run::RunArgs),
    /// Measure engine throughput, batch latency and memory on generated solar events.
    Bench(bench::BenchArgs),
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let result = match cli.command {
        Command::Run(args) => run::run(args),
        Command::Bench(args) => bench::bench(args),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {}", e);
            ExitCode::FAILURE
        }
    }
}
