//! A processor with no run: created, stopped, failed, or stored as STARTED or PAUSED before the
//! server recovered it. Starting, resuming and recovering open its connections and launch a run;
//! the rest change only the store and the saved state.

use sluice_mql::parse_iso_datetime;
use sluice_store::Processor;
use sluice_types::ProcessorState;

use super::{Ctx, Request, RunState};
use crate::error::ControlError;
use crate::ids::now_ms;
use crate::lifecycle::{transition, Action};
use crate::recovery::Known;
use crate::request::{Modification, StartOptions};
use crate::saved_state;
use crate::services::Lease;

/// Carries out `request` for a processor without a run; `to` is the state the table allows.
pub(super) async fn handle(
    ctx: &Ctx,
    mut p: Processor,
    to: ProcessorState,
    request: Request,
) -> (RunState, Result<Processor, ControlError>) {
    let answer = match request {
        Request::Start(opts) => return start(ctx, p, to, opts).await,
        Request::Resume => return launch(ctx, p, to, "resumed").await,
        Request::Recover(recovery) if p.state == ProcessorState::Started => {
            let known = recovery.and_then(|r| r.known(&p));
            return recover(ctx, p, known).await;
        }
        Request::Recover(_) => Ok(p),
        // Stored as running but not yet recovered: only the store changes.
        Request::Stop => ctx.services.record(&mut p, to, "stopped").await.map(|_| p),
        Request::Pause => ctx.services.record(&mut p, to, "paused").await.map(|_| p),
        Request::Modify(m) => modify(ctx, p, m).await,
        Request::Delete => delete(ctx, p).await,
        Request::ResetOffsets(target) => reset_offsets(ctx, p, target).await,
        Request::DropStageState(index) => drop_stage_state(ctx, p, index).await,
    };
    (RunState::Idle, answer)
}

async fn start(
    ctx: &Ctx,
    mut p: Processor,
    to: ProcessorState,
    opts: StartOptions,
) -> (RunState, Result<Processor, ControlError>) {
    let start_at = match start_time(ctx, &p, &opts).await {
        Ok(t) => t,
        Err(e) => return (RunState::Idle, Err(e)),
    };
    if let Some(t) = opts.tier {
        p.tier = Some(t);
    }
    let resume = opts.resume_from_checkpoint.unwrap_or(true);
    let lease = match lease_for(ctx, &p, Action::Start).await {
        Ok(l) => l,
        Err(e) => return (RunState::Idle, Err(e)),
    };
    let (run, restored) = match ctx.services.launch(&p, (resume, start_at), (&lease, None), &ctx.links).await {
        Ok(r) => r,
        // Its connections could not be opened (brokers unreachable, a refused password, an
        // untrusted certificate): the processor shows why, as after a failed run.
        Err(ControlError::StartFailed(m)) => {
            let e = ControlError::StartFailed(m.clone());
            return match mark_failed(ctx, p, m).await {
                Ok(_) => (RunState::Idle, Err(e)),
                Err(stored) => (RunState::Idle, Err(stored)),
            };
        }
        Err(e) => return (RunState::Idle, Err(e)),
    };
    p.state = to;
    p.error_msg = None;
    p.updated_at = now_ms();
    if let Err(e) = ctx.services.store.update_processor(&p).await {
        ctx.services.halt(&p.id, run).await;
        return (RunState::Idle, Err(e.into()));
    }
    ctx.services.log_resumed(&p, "started", restored).await;
    (RunState::Running(run), Ok(p))
}

/// The lease a start or resume runs under. When another node holds it, the processor runs there
/// and the action is refused as the transition table refuses it in the state stored now.
async fn lease_for(ctx: &Ctx, p: &Processor, action: Action) -> Result<Lease, ControlError> {
    match ctx.services.take_lease(&p.id).await? {
        Lease::Elsewhere => {
            let now = ctx.services.store.processor_by_id(&p.id).await?;
            transition(now.state, action)?;
            Err(ControlError::Internal(format!("processor {} runs on another node", p.name)))
        }
        lease => Ok(lease),
    }
}

/// `:startWith {startAtOperationTime}`: the time, for a source that can start at one.
async fn start_time(ctx: &Ctx, p: &Processor, opts: &StartOptions) -> Result<Option<i64>, ControlError> {
    let Some(text) = &opts.start_at_operation_time else { return Ok(None) };
    let ws = ctx.services.store.workspace_by_id(&p.workspace_id).await?;
    let plan = ctx.services.validate(&ws, &p.pipeline, &p.options).await?;
    if plan.source.connection_name.is_none() || plan.source.documents.is_some() {
        return Err(ControlError::Invalid(
            "startAtOperationTime applies to a change stream or Kafka $source only".into(),
        ));
    }
    let t = parse_iso_datetime(text).ok_or_else(|| {
        ControlError::Invalid(format!("startAtOperationTime '{}' is not an ISO 8601 date-time", text))
    })?;
    Ok(Some(t))
}

/// Resumes a PAUSED processor whose paused run is gone (the server restarted): it starts again
/// from the checkpoint the pause took.
async fn launch(
    ctx: &Ctx,
    mut p: Processor,
    to: ProcessorState,
    what: &str,
) -> (RunState, Result<Processor, ControlError>) {
    let lease = match lease_for(ctx, &p, Action::Resume).await {
        Ok(l) => l,
        Err(e) => return (RunState::Idle, Err(e)),
    };
    let run = match ctx.services.launch(&p, (true, None), (&lease, None), &ctx.links).await {
        Ok((run, _)) => run,
        Err(e) => return (RunState::Idle, Err(e)),
    };
    match ctx.services.record(&mut p, to, what).await {
        Ok(()) => (RunState::Running(run), Ok(p)),
        Err(e) => {
            ctx.services.halt(&p.id, run).await;
            (RunState::Idle, Err(e))
        }
    }
}

/// Server start: runs again a processor stored as STARTED; one that cannot start is marked
/// FAILED with the reason.
async fn recover(ctx: &Ctx, p: Processor, known: Option<Known>) -> (RunState, Result<Processor, ControlError>) {
    let lease = match ctx.services.take_lease(&p.id).await {
        Ok(Lease::Elsewhere) => return (RunState::Idle, Ok(p)),
        Ok(l) => l,
        Err(e) => return (RunState::Idle, Err(e)),
    };
    match ctx.services.launch(&p, (true, None), (&lease, known), &ctx.links).await {
        Ok((run, restored)) => {
            // No caller waits on a server start's log line: it is written with the others
            // (one durable write for all) while the processors already run.
            let (services, logged) = (ctx.services.clone(), p.clone());
            tokio::spawn(async move { services.log_resumed(&logged, "recovered", restored).await });
            (RunState::Running(run), Ok(p))
        }
        Err(e) => (RunState::Idle, mark_failed(ctx, p, e.to_string()).await),
    }
}

/// A processor that could not start: FAILED with the reason, in the store and the workspace's
/// operational log.
async fn mark_failed(ctx: &Ctx, mut p: Processor, reason: String) -> Result<Processor, ControlError> {
    p.state = ProcessorState::Failed;
    p.error_msg = Some(reason.clone());
    p.updated_at = now_ms();
    ctx.services.store.update_processor(&p).await?;
    tracing::warn!(processor = %p.name, error = %reason, "processor could not start");
    let line = serde_json::json!({"processor": p.name, "processorId": p.id, "event": "failed to start",
        "state": p.state.as_str(), "error": reason});
    ctx.services.append(&p.workspace_id, line).await;
    Ok(p)
}

/// Changes the name, pipeline or options.
async fn modify(ctx: &Ctx, mut p: Processor, m: Modification) -> Result<Processor, ControlError> {
    let ws = ctx.services.store.workspace_by_id(&p.workspace_id).await?;
    let pipeline = m.pipeline.unwrap_or_else(|| p.pipeline.clone());
    let options = m.options.unwrap_or_else(|| p.options.clone());
    ctx.services.validate(&ws, &pipeline, &options).await?;
    ctx.services.keep_or_drop_state(&p.id, &pipeline, m.resume_from_checkpoint).await?;
    p.name = m.name.unwrap_or(p.name);
    p.pipeline = pipeline;
    p.options = options;
    if m.tier.is_some() {
        p.tier = m.tier;
    }
    p.updated_at = now_ms();
    ctx.services.store.update_processor(&p).await?;
    Ok(p)
}

/// Deletes the processor and its saved state.
pub(super) async fn delete(ctx: &Ctx, p: Processor) -> Result<Processor, ControlError> {
    ctx.services.store.delete_processor(&p.id).await?;
    ctx.services.drop_state(&p.id).await?;
    Ok(p)
}

/// Moves the source of a processor that is not running: earliest, latest and times are
/// resolved now, against the source's servers.
async fn reset_offsets(ctx: &Ctx, p: Processor, target: sluice_engine::ResetTo) -> Result<Processor, ControlError> {
    let ws = ctx.services.store.workspace_by_id(&p.workspace_id).await?;
    let crate::services::Wired { plan, wiring, conns } = ctx.services.wire(&ws, &p.pipeline, &p.options).await?;
    let (store, id, pipeline) = (ctx.services.checkpoints.clone(), p.id.clone(), p.pipeline.clone());
    tokio::task::spawn_blocking(move || {
        let source = crate::endpoints::open_source_of(&plan, wiring, &conns, &id)?;
        saved_state::reset_offsets(store, &id, &pipeline, &plan, source, &target)
    })
    .await?
    .map_err(ControlError::Invalid)?;
    ctx.services.log(&p, "offsets reset").await;
    Ok(p)
}

/// Drops the saved state of one stage: its windows start empty at the next start.
async fn drop_stage_state(ctx: &Ctx, p: Processor, index: usize) -> Result<Processor, ControlError> {
    let ws = ctx.services.store.workspace_by_id(&p.workspace_id).await?;
    let plan = ctx.services.validate(&ws, &p.pipeline, &p.options).await?;
    let (store, id, pipeline) = (ctx.services.checkpoints.clone(), p.id.clone(), p.pipeline.clone());
    tokio::task::spawn_blocking(move || saved_state::drop_stage_state(store, &id, &pipeline, &plan, index))
        .await?
        .map_err(ControlError::Invalid)?;
    ctx.services.log(&p, &format!("state of stage {} dropped", index)).await;
    Ok(p)
}
