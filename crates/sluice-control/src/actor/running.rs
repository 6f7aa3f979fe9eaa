//! A processor whose run is reading: it can be stopped, paused or deleted, and its run may end
//! by itself (a bounded source ended, or it failed).

use sluice_store::Processor;
use sluice_types::ProcessorState;

use super::{idle, inconsistent, Ctx, Request, RunState};
use crate::error::ControlError;
use crate::ids::now_ms;
use crate::runner::{ExitReason, Running};

/// Carries out `request` for a running processor; `to` is the state the table allows.
pub(super) async fn handle(
    ctx: &Ctx,
    run: Running,
    mut p: Processor,
    to: ProcessorState,
    request: Request,
) -> (RunState, Result<Processor, ControlError>) {
    match request {
        Request::Stop => {
            ctx.services.halt(&p.id, run).await;
            (RunState::Idle, ctx.services.record(&mut p, to, "stopped").await.map(|_| p))
        }
        Request::Pause => match run.handle().pause().await {
            Ok(()) => (RunState::Paused(run), ctx.services.record(&mut p, to, "paused").await.map(|_| p)),
            Err(e) => (RunState::Running(run), Err(ControlError::StartFailed(e))),
        },
        Request::Delete => {
            ctx.services.halt(&p.id, run).await;
            (RunState::Idle, idle::delete(ctx, p).await)
        }
        Request::Recover(_) => (RunState::Running(run), Ok(p)),
        other => {
            let e = inconsistent(&p, &other);
            (RunState::Running(run), Err(e))
        }
    }
}

/// The run ended by itself: the processor is STOPPED when its source ended, FAILED with the
/// reason when it failed.
pub(super) async fn on_exit(ctx: &Ctx, processor_id: &str, run: Running, reason: ExitReason) -> RunState {
    ctx.services.halt(processor_id, run).await;
    if reason == ExitReason::LeaseLost {
        // Another node runs the processor now: the stored state and its log are its own.
        tracing::warn!("run stopped: this node lost the processor's lease");
        return RunState::Idle;
    }
    let Ok(mut p) = ctx.services.store.processor_by_id(processor_id).await else { return RunState::Idle };
    let (state, msg, what, domain) = match reason {
        ExitReason::Failed(m, d) => (ProcessorState::Failed, Some(m), "failed", Some(d.as_str())),
        _ => (ProcessorState::Stopped, None, "source ended", None),
    };
    p.state = state;
    p.error_msg = msg.clone();
    p.updated_at = now_ms();
    if let Err(e) = ctx.services.store.update_processor(&p).await {
        tracing::error!(error = %e, "cannot record the end of a run");
    }
    // The one log line of the failure (the span names the processor).
    match (&msg, domain) {
        (Some(m), Some(d)) => tracing::error!(error = %m, domain = d, "processor failed"),
        _ => tracing::info!(event = what, "processor run ended"),
    }
    let line = serde_json::json!({"processor": p.name, "processorId": p.id, "event": what,
        "state": p.state.as_str(), "error": msg, "domain": domain});
    ctx.services.append(&p.workspace_id, line).await;
    RunState::Idle
}
