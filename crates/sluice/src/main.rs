//! The `sluice` binary: `serve` the management API, client commands for credentials, `run` a
//! pipeline, `bench` the engine.

mod admin;
mod allocator;
mod api_client;
mod bench;
mod bench_api;
mod bench_baseline;
mod bench_checkpoint;
mod bench_cluster;
mod bench_control;
mod bench_kafka;
mod bench_lines;
mod bench_merge;
mod bench_server;
mod clients;
mod js_limits;
mod metadata;
mod node;
mod processor_cmds;
mod run;
mod serve;

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
    /// Run the management API (Atlas Admin API v2 Streams) and the processors.
    Serve(serve::ServeArgs),
    /// Manage projects in a server's store (its data dir, or `--store`).
    #[command(subcommand)]
    Projects(clients::ProjectsCmd),
    /// Manage API keys (HTTP Digest) in a server's store.
    #[command(subcommand)]
    Keys(clients::CredentialCmd),
    /// Manage service accounts (OAuth 2 client credentials) in a server's store.
    #[command(subcommand, name = "service-accounts")]
    ServiceAccounts(clients::CredentialCmd),
    /// A running server's processors, through its API with an API key: list, get, start, stop,
    /// pause, resume, reset-offsets.
    #[command(subcommand)]
    Processors(processor_cmds::ProcessorsCmd),
    /// Run one pipeline to completion (file input) or until Ctrl-C (sample stream).
    Run(run::RunArgs),
    /// Measure engine throughput, batch latency and memory on generated solar events.
    Bench(bench::BenchArgs),
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let result = match cli.command {
        Command::Serve(args) => serve::serve(args),
        Command::Projects(cmd) => clients::projects(cmd),
        Command::Keys(cmd) => clients::credentials(cmd, false),
        Command::ServiceAccounts(cmd) => clients::credentials(cmd, true),
        Command::Processors(cmd) => processor_cmds::processors(cmd),
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
