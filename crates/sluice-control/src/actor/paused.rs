//! A paused processor: its run is alive with its state in memory, not reading. It can be
//! resumed exactly where it paused, stopped, or deleted.

use sluice_store::Processor;
use sluice_types::ProcessorState;

use super::{idle, inconsistent, Ctx, Request, RunState};
use crate::error::ControlError;

/// Carries out `request` for a paused processor; `to` is the state the table allows.
pub(super) async fn handle(
    ctx: &Ctx,
    run: crate::runner::Running,
    mut p: Processor,
    to: ProcessorState,
    request: Request,
) -> (RunState, Result<Processor, ControlError>) {
    match request {
        Request::Resume => match run.handle().resume().await {
            Ok(()) => (RunState::Running(run), ctx.services.record(&mut p, to, "resumed").await.map(|_| p)),
            Err(e) => (RunState::Paused(run), Err(ControlError::StartFailed(e))),
        },
        Request::Stop => {
            ctx.services.halt(&p.id, run).await;
            (RunState::Idle, ctx.services.record(&mut p, to, "stopped").await.map(|_| p))
        }
        Request::Delete => {
            ctx.services.halt(&p.id, run).await;
            (RunState::Idle, idle::delete(ctx, p).await)
        }
        Request::Recover(_) => (RunState::Paused(run), Ok(p)),
        other => {
            let e = inconsistent(&p, &other);
            (RunState::Paused(run), Err(e))
        }
    }
}
