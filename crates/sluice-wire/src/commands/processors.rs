//! Processor commands: `createStreamProcessor`, `listStreamProcessors`, `startStreamProcessor`,
//! `stopStreamProcessor`, `dropStreamProcessor`, `modifyStreamProcessor`,
//! `getStreamProcessorStats`. Requests are checked by the HTTP API's own request functions and
//! carried out by the same controller; options are read both spread at the top level (as
//! mongosh sends them) and under `options`.

use bson::{doc, Bson, Document};
use serde_json::{Map, Value as Json};
use sluice_api::operation::ops;
use sluice_api::processor_requests::{create_request, modify_request, start_request};
use sluice_control::StartOptions;
use sluice_store::{Processor, StoreError, Workspace};

use super::{audit, authorize, target, workspace, Reply};
use crate::convert::{to_bson, to_document, to_engine, to_json};
use crate::error::CommandError;
use crate::session::{arguments, Session};

/// A command's options: the fields of its `options` document and the other top-level
/// arguments, except those named in `skip`.
pub fn options_of(cmd: &Document, skip: &[&str]) -> Map<String, Json> {
    let args = arguments(cmd);
    let mut out = Map::new();
    for (k, v) in &args {
        if k == "options" || skip.contains(&k.as_str()) {
            continue;
        }
        out.insert(k.clone(), to_json(v));
    }
    if let Ok(o) = args.get_document("options") {
        for (k, v) in o {
            out.insert(k.clone(), to_json(v));
        }
    }
    out
}

/// A number of any BSON numeric type.
pub fn number(v: Option<&Bson>) -> Option<f64> {
    match v? {
        Bson::Int32(i) => Some(f64::from(*i)),
        Bson::Int64(i) => Some(*i as f64),
        Bson::Double(d) => Some(*d),
        _ => None,
    }
}

/// A processor of the workspace by name.
pub async fn find(s: &Session, w: &Workspace, name: &str) -> Result<Processor, CommandError> {
    match s.state.store.processor(&w.id, name).await {
        Ok(p) => Ok(p),
        Err(StoreError::NotFound) => Err(CommandError::processor_not_found(name)),
        Err(e) => Err(CommandError::internal(e.to_string())),
    }
}

/// `createStreamProcessor: NAME, pipeline: [...], options: {...}`.
pub async fn create(s: &mut Session, db: &str, cmd: &Document) -> Reply {
    authorize(s, &ops::CREATE_PROCESSOR, "createStreamProcessor")?;
    let name = target(cmd, "createStreamProcessor")?;
    let w = workspace(s, db).await?;
    let mut body = Map::new();
    body.insert("name".into(), Json::String(name.clone()));
    if let Some(p) = cmd.get("pipeline") {
        body.insert("pipeline".into(), to_json(p));
    }
    let options = options_of(cmd, &["pipeline"]);
    if !options.is_empty() {
        body.insert("options".into(), Json::Object(options));
    }
    let req = create_request(&body).map_err(CommandError::from_api)?;
    let p = s
        .state
        .controller
        .create(&w, &req.name, req.pipeline, req.options)
        .await
        .map_err(|e| CommandError::from_control(&name, e))?;
    audit(s, &w, "createProcessor", &p.name).await;
    Ok(Document::new())
}

/// One processor as `listStreamProcessors` shows it.
fn listed(w: &Workspace, p: &Processor) -> Document {
    let mut d = doc! {
        "id": &p.id,
        "name": &p.name,
        "state": p.state.as_str(),
        "tier": p.tier.unwrap_or(w.tier).as_str(),
        "workspace": &w.name,
        "lastModified": bson::DateTime::from_millis(p.updated_at),
        "pipeline": to_bson(p.pipeline.clone()),
        "options": to_bson(p.options.clone()),
    };
    if let Some(m) = &p.error_msg {
        d.insert("errorMsg", m);
    }
    d
}

/// A query filter over listed documents, compiled by the engine's `$match`.
pub fn filter_of(cmd: &Document) -> Result<Option<sluice_mql::query::Filter>, CommandError> {
    match cmd.get("filter") {
        None | Some(Bson::Null) => Ok(None),
        Some(Bson::Document(f)) if f.is_empty() => Ok(None),
        Some(Bson::Document(f)) => {
            let f = to_engine(f).ok_or_else(|| CommandError::bad_value("filter is not a valid document"))?;
            sluice_mql::query::compile_filter(&f).map(Some).map_err(|e| CommandError::bad_value(e.to_string()))
        }
        Some(_) => Err(CommandError::type_mismatch("filter must be a document")),
    }
}

/// Whether `d` passes the filter.
pub fn passes(f: &Option<sluice_mql::query::Filter>, d: &Document) -> bool {
    match f {
        None => true,
        Some(f) => to_engine(d).is_some_and(|e| f.matches(&e)),
    }
}

/// `listStreamProcessors: 1, filter: {...}`.
pub async fn list(s: &mut Session, db: &str, cmd: &Document) -> Reply {
    authorize(s, &ops::LIST_PROCESSORS, "listStreamProcessors")?;
    let w = workspace(s, db).await?;
    let filter = filter_of(cmd)?;
    let all = s.state.store.processors(&w.id).await.map_err(|e| CommandError::internal(e.to_string()))?;
    let items: Vec<Bson> =
        all.iter().map(|p| listed(&w, p)).filter(|d| passes(&filter, d)).map(Bson::Document).collect();
    Ok(doc! {"streamProcessors": items})
}

/// `startStreamProcessor: NAME, ...options` (`tier`, `resumeFromCheckpoint`, `startAtOperationTime`).
pub async fn start(s: &mut Session, db: &str, cmd: &Document) -> Reply {
    let options = options_of(cmd, &[]);
    let op = if options.is_empty() { ops::START_PROCESSOR } else { ops::START_PROCESSOR_WITH };
    authorize(s, &op, "startStreamProcessor")?;
    let name = target(cmd, "startStreamProcessor")?;
    let w = workspace(s, db).await?;
    let opts = if options.is_empty() {
        StartOptions::default()
    } else {
        start_request(&options).map_err(CommandError::from_api)?
    };
    s.state.controller.start(&w, &name, opts).await.map_err(|e| CommandError::from_control(&name, e))?;
    audit(s, &w, "start", &name).await;
    Ok(Document::new())
}

/// `stopStreamProcessor: NAME`.
pub async fn stop(s: &mut Session, db: &str, cmd: &Document) -> Reply {
    authorize(s, &ops::STOP_PROCESSOR, "stopStreamProcessor")?;
    let name = target(cmd, "stopStreamProcessor")?;
    let w = workspace(s, db).await?;
    s.state.controller.stop(&w, &name).await.map_err(|e| CommandError::from_control(&name, e))?;
    audit(s, &w, "stop", &name).await;
    Ok(Document::new())
}

/// `dropStreamProcessor: NAME`: stops it if it runs, then deletes it.
pub async fn drop(s: &mut Session, db: &str, cmd: &Document) -> Reply {
    authorize(s, &ops::DELETE_PROCESSOR, "dropStreamProcessor")?;
    let name = target(cmd, "dropStreamProcessor")?;
    let w = workspace(s, db).await?;
    s.state.controller.delete(&w, &name).await.map_err(|e| CommandError::from_control(&name, e))?;
    s.ephemeral.retain(|n| *n != name);
    s.cursors.retain(|_, c| c.processor_name != name);
    audit(s, &w, "deleteProcessor", &name).await;
    Ok(Document::new())
}

/// `modifyStreamProcessor: NAME, pipeline?: [...], name?: NEW, ...options` (`resumeFromCheckpoint`, `dlq`, ...).
pub async fn modify(s: &mut Session, db: &str, cmd: &Document) -> Reply {
    authorize(s, &ops::UPDATE_PROCESSOR, "modifyStreamProcessor")?;
    let name = target(cmd, "modifyStreamProcessor")?;
    let w = workspace(s, db).await?;
    let mut body = Map::new();
    let args = arguments(cmd);
    if let Some(p) = args.get("pipeline") {
        body.insert("pipeline".into(), to_json(p));
    }
    if let Some(n) = args.get("name") {
        body.insert("name".into(), to_json(n));
    }
    let options = options_of(cmd, &["pipeline", "name"]);
    if !options.is_empty() {
        body.insert("options".into(), Json::Object(options));
    }
    let m = modify_request(&body).map_err(CommandError::from_api)?;
    let p = s.state.controller.modify(&w, &name, m).await.map_err(|e| CommandError::from_control(&name, e))?;
    audit(s, &w, "modifyProcessor", &p.name).await;
    Ok(Document::new())
}

/// Size fields of the stats, divided by `scale`.
const SIZE_FIELDS: &[&str] = &["inputMessageSize", "outputMessageSize", "dlqMessageSize", "stateSize"];

/// `getStreamProcessorStats: NAME, scale?: N, verbose?: bool`: the HTTP API's `stats` object
/// (the same numbers), sizes divided by `scale`, per-operator figures only when `verbose`.
pub async fn stats(s: &mut Session, db: &str, cmd: &Document) -> Reply {
    authorize(s, &ops::GET_PROCESSOR, "getStreamProcessorStats")?;
    let name = target(cmd, "getStreamProcessorStats")?;
    let w = workspace(s, db).await?;
    let options = to_document(Json::Object(options_of(cmd, &[])));
    let scale = match number(options.get("scale")) {
        None => 1.0,
        Some(x) if x >= 1.0 => x.floor(),
        Some(_) => return Err(CommandError::bad_value("scale must be a number of at least 1")),
    };
    let verbose = options.get_bool("verbose").unwrap_or(false);
    let p = find(s, &w, &name).await?;
    let live = s.state.controller.stats_of(&p).await;
    let mut st = sluice_api::processor_stats(&p, live.as_ref());
    if let Json::Object(m) = &mut st {
        for f in SIZE_FIELDS {
            if let Some(v) = m.get(*f).and_then(Json::as_u64) {
                m.insert((*f).into(), Json::from((v as f64 / scale).floor() as u64));
            }
        }
        m.insert("scaleFactor".into(), Json::from(scale as u64));
        if !verbose {
            m.remove("operatorStats");
        }
    }
    Ok(doc! {"ns": format!("{}.{}", w.name, p.name), "stats": to_bson(st), "pipeline": to_bson(p.pipeline.clone())})
}
