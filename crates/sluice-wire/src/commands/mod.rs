//! Command dispatch: the command's name is its first field. Before authentication only the
//! handshake commands answer; every other command is checked against the HTTP API's role
//! table for the operation it performs.

mod auth;
mod handshake;
mod processors;
pub mod sample;
mod workspace;

use bson::{doc, Document};
use sluice_api::auth::Principal;
use sluice_api::operation::Operation;
use sluice_store::{StoreError, Workspace};

use crate::error::CommandError;
use crate::session::Session;

/// What a command handler returns: the reply's fields (without `ok`), or the error.
pub type Reply = Result<Document, CommandError>;

/// Runs an `OP_MSG` command sent to `db`; the reply document, `ok` included.
pub async fn run(s: &mut Session, db: &str, cmd: &Document) -> Document {
    let name = cmd.keys().next().cloned().unwrap_or_default();
    finish(dispatch(s, db, &name, cmd).await)
}

/// Runs a legacy `OP_QUERY` command: only the handshake is served this way.
pub async fn run_legacy(s: &mut Session, cmd: &Document) -> Document {
    let name = cmd.keys().next().cloned().unwrap_or_default();
    let r = match name.as_str() {
        "hello" | "isMaster" | "ismaster" => handshake::hello(s, &name, cmd).await,
        _ => Err(CommandError::unsupported_op_query(&name)),
    };
    finish(r)
}

fn finish(r: Reply) -> Document {
    match r {
        Ok(mut d) => {
            d.insert("ok", 1.0);
            d
        }
        Err(e) => e.to_document(),
    }
}

async fn dispatch(s: &mut Session, db: &str, name: &str, cmd: &Document) -> Reply {
    // Handshake commands: answered before authentication.
    match name {
        "hello" | "isMaster" | "ismaster" => return handshake::hello(s, name, cmd).await,
        "buildInfo" | "buildinfo" => return Ok(handshake::build_info()),
        "ping" => return Ok(Document::new()),
        "saslStart" => return auth::sasl_start(s, db, cmd).await,
        "saslContinue" => return auth::sasl_continue(s, cmd).await,
        "endSessions" | "killSessions" | "logout" => return Ok(Document::new()),
        _ => {}
    }
    let Some(p) = &s.principal else {
        return Err(CommandError::unauthorized(format!("command {} requires authentication", name)));
    };
    // The same per-caller budget as the HTTP API's.
    s.state.app.limiter.admit(&p.subject).map_err(|e| CommandError::rate_limited(e.detail))?;
    match name {
        "createStreamProcessor" => processors::create(s, db, cmd).await,
        "listStreamProcessors" => processors::list(s, db, cmd).await,
        "startStreamProcessor" => processors::start(s, db, cmd).await,
        "stopStreamProcessor" => processors::stop(s, db, cmd).await,
        "dropStreamProcessor" => processors::drop(s, db, cmd).await,
        "modifyStreamProcessor" => processors::modify(s, db, cmd).await,
        "getStreamProcessorStats" => processors::stats(s, db, cmd).await,
        "startSampleStreamProcessor" => sample::start(s, db, cmd).await,
        "getMoreSampleStreamProcessor" => sample::get_more(s, db, cmd).await,
        "processStreamProcessor" => sample::process(s, db, cmd).await,
        "listStreamConnections" => workspace::connections(s, db, cmd).await,
        "listWorkspaceDefaults" => workspace::defaults(s, db).await,
        "connectionStatus" => Ok(handshake::connection_status(s)),
        "getParameter" => handshake::get_parameter(cmd),
        "getCmdLineOpts" => Ok(doc! {"argv": ["sluice", "serve"], "parsed": {}}),
        "getLog" => handshake::get_log(cmd),
        "hostInfo" => Ok(handshake::host_info()),
        _ => Err(CommandError::command_not_found(name)),
    }
}

/// The caller, if its roles allow `op` (the HTTP API's role table).
pub fn authorize<'a>(s: &'a Session, op: &Operation, command: &str) -> Result<&'a Principal, CommandError> {
    let p = s
        .principal
        .as_ref()
        .ok_or_else(|| CommandError::unauthorized(format!("command {} requires authentication", command)))?;
    if !op.allows(&p.roles) {
        return Err(CommandError::unauthorized(format!(
            "not authorized to execute command {}: the API key's roles do not allow operation {}",
            command, op.id
        )));
    }
    Ok(p)
}

/// The workspace a connection works on: the database it authenticated against (the
/// connection string's path), else the command's database when it is not `admin`, else the
/// project's only workspace.
pub async fn workspace(s: &Session, db: &str) -> Result<Workspace, CommandError> {
    let p = s.principal.as_ref().ok_or_else(|| CommandError::unauthorized("authentication required"))?;
    let store = &s.state.store;
    let named = s.auth_db.as_deref().filter(|d| *d != "admin").or(Some(db).filter(|d| *d != "admin"));
    match named {
        Some(name) => match store.workspace(&p.project_id, name).await {
            Ok(w) => Ok(w),
            Err(StoreError::NotFound) => {
                Err(CommandError::not_found(format!("no workspace '{}' in the API key's project", name)))
            }
            Err(e) => Err(CommandError::internal(e.to_string())),
        },
        None => {
            let mut all = store.workspaces(&p.project_id).await.map_err(|e| CommandError::internal(e.to_string()))?;
            if all.len() == 1 {
                return Ok(all.remove(0));
            }
            Err(CommandError::bad_value(
                "name the workspace as the database of the connection string: mongodb://HOST:PORT/WORKSPACE",
            ))
        }
    }
}

/// Records who changed what in the workspace's audit log, through the HTTP API's own writer.
pub async fn audit(s: &Session, w: &Workspace, action: &str, target: &str) {
    if let Some(p) = &s.principal {
        s.state.app.audit(&w.id, &p.subject, action, target).await;
    }
}

/// The string value of the command's first field (the processor name).
pub fn target(cmd: &Document, command: &str) -> Result<String, CommandError> {
    match cmd.get(command) {
        Some(bson::Bson::String(s)) if !s.is_empty() => Ok(s.clone()),
        _ => Err(CommandError::type_mismatch(format!("{} takes the processor's name as a string", command))),
    }
}
