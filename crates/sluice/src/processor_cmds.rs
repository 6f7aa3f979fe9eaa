//! `sluice processors ...`: a running server's processors from the command line, through the
//! Atlas Admin API with an API key (HTTP Digest): list, get, and the lifecycle actions, Sluice's
//! pause, resume and offset reset included.

use clap::{Args, Subcommand};
use reqwest::Method;
use serde_json::{json, Value as Json};

use crate::api_client::DigestClient;

/// Which server, project, workspace and key.
#[derive(Args)]
pub struct Target {
    /// The server's address.
    #[arg(long, env = "SLUICE_URL", default_value = "http://127.0.0.1:8080")]
    url: String,
    /// The project (group) id.
    #[arg(long, env = "SLUICE_GROUP")]
    group: String,
    /// The workspace.
    #[arg(long, short = 'w', env = "SLUICE_WORKSPACE")]
    workspace: String,
    /// The API key's public key.
    #[arg(long, env = "SLUICE_PUBLIC_KEY")]
    public_key: String,
    /// The API key's private key.
    #[arg(long, env = "SLUICE_PRIVATE_KEY", hide_env_values = true)]
    private_key: String,
}

/// A processor of the target's workspace.
#[derive(Args)]
pub struct Named {
    #[command(flatten)]
    target: Target,
    /// The processor's name.
    name: String,
}

/// What to do.
#[derive(Subcommand)]
pub enum ProcessorsCmd {
    /// The workspace's processors with their stats.
    List(Target),
    /// One processor with its stats.
    Get(Named),
    /// `:start`: resumes from its last checkpoint.
    Start(Named),
    /// `:stop`: takes a checkpoint and stops.
    Stop(Named),
    /// `:pause` (Sluice): stops reading, keeps its place and state.
    Pause(Named),
    /// `:resume` (Sluice): goes on exactly where it paused.
    Resume(Named),
    /// `:resetOffsets` (Sluice) of a processor that is not running.
    ResetOffsets {
        #[command(flatten)]
        named: Named,
        /// earliest, latest or timestamp.
        #[arg(long)]
        to: String,
        /// With `--to timestamp`: an ISO 8601 date-time.
        #[arg(long)]
        timestamp: Option<String>,
    },
}

fn base(t: &Target) -> String {
    format!("/api/atlas/v2/groups/{}/streams/{}", t.group, t.workspace)
}

async fn call(t: &Target, method: Method, path: &str, body: Option<Json>) -> Result<(), String> {
    let mut c = DigestClient::new(&t.url, &t.public_key, &t.private_key).await?;
    let (status, answer) = c.send(method, path, body.as_ref()).await?;
    let text = serde_json::to_string_pretty(&answer).unwrap_or_default();
    if !status.is_success() {
        return Err(format!("{}: {}", status, text));
    }
    println!("{}", text);
    Ok(())
}

async fn run_async(cmd: ProcessorsCmd) -> Result<(), String> {
    let action =
        |n: &Named, verb: &str, body: Json| (format!("{}/processor/{}:{}", base(&n.target), n.name, verb), Some(body));
    let (target, method, (path, body)) = match &cmd {
        ProcessorsCmd::List(t) => (t, Method::GET, (format!("{}/processors", base(t)), None)),
        ProcessorsCmd::Get(n) => (&n.target, Method::GET, (format!("{}/processor/{}", base(&n.target), n.name), None)),
        ProcessorsCmd::Start(n) => (&n.target, Method::POST, action(n, "start", json!({}))),
        ProcessorsCmd::Stop(n) => (&n.target, Method::POST, action(n, "stop", json!({}))),
        ProcessorsCmd::Pause(n) => (&n.target, Method::POST, action(n, "pause", json!({}))),
        ProcessorsCmd::Resume(n) => (&n.target, Method::POST, action(n, "resume", json!({}))),
        ProcessorsCmd::ResetOffsets { named, to, timestamp } => {
            let mut body = json!({"to": to});
            if let Some(ts) = timestamp {
                body["timestamp"] = json!(ts);
            }
            (&named.target, Method::POST, action(named, "resetOffsets", body))
        }
    };
    call(target, method, &path, body).await
}

/// Runs one client command against the server.
pub fn processors(cmd: ProcessorsCmd) -> Result<(), String> {
    let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().map_err(|e| e.to_string())?;
    rt.block_on(run_async(cmd))
}
