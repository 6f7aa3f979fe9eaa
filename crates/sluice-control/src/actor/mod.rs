//! One actor per processor: a task that owns the processor's run and its stored row, and takes
//! lifecycle requests over a channel, one at a time. Requests about different processors never
//! wait on each other: a start stuck on an unreachable broker holds up its own processor only.
//!
//! The run is in one of the states of [`RunState`], each handled by a file of its own
//! ([`idle`], [`running`], [`paused`]); whether a request is allowed at all is the one transition
//! table's decision ([`crate::lifecycle::transition`]), asked before the state's handler runs.

mod idle;
mod paused;
mod running;

use std::sync::Arc;

use sluice_engine::{HealthEvent, ResetTo};
use sluice_store::{Processor, Workspace};
use tokio::sync::mpsc::{self, unbounded_channel, UnboundedReceiver};
use tokio::sync::oneshot;

use crate::error::ControlError;
use crate::lifecycle::{transition, Action};
use crate::recovery::Recovery;
use crate::request::{Modification, StartOptions};
use crate::runner::{Exit, Running};
use crate::services::{RunLinks, Services};

/// How many requests may wait for one processor's actor; more wait for room.
const QUEUE: usize = 64;

/// A lifecycle request about one processor.
#[derive(Debug)]
pub(crate) enum Request {
    /// `:start` / `:startWith`.
    Start(StartOptions),
    /// `:stop`.
    Stop,
    /// `:pause`.
    Pause,
    /// `:resume`.
    Resume,
    /// PATCH.
    Modify(Modification),
    /// DELETE: the actor ends after it.
    Delete,
    /// `:resetOffsets`.
    ResetOffsets(ResetTo),
    /// DELETE of one stage's saved state (by pipeline index).
    DropStageState(usize),
    /// Server start: run again a processor the store says is STARTED; with what a recovery of
    /// many read for them all.
    Recover(Option<Arc<Recovery>>),
}

impl Request {
    /// The transition table's name for the request; `None` for what is not a user's action.
    fn action(&self) -> Option<Action> {
        Some(match self {
            Request::Start(_) => Action::Start,
            Request::Stop => Action::Stop,
            Request::Pause => Action::Pause,
            Request::Resume => Action::Resume,
            Request::Modify(_) => Action::Modify,
            Request::Delete => Action::Delete,
            Request::ResetOffsets(_) | Request::DropStageState(_) => Action::Reset,
            Request::Recover(_) => return None,
        })
    }
}

/// Where a request's answer goes: the processor's row as the request left it.
type Reply = oneshot::Sender<Result<Processor, ControlError>>;

enum Message {
    Do(Request, Reply),
    /// Stop the run without changing the stored state (server shutdown), then end.
    Shutdown(oneshot::Sender<()>),
}

/// Where a processor's run stands.
pub(crate) enum RunState {
    /// Not running: created, stopped, failed, or not yet recovered after a server start.
    Idle,
    /// Running.
    Running(Running),
    /// Alive but not reading: its state is in memory and checkpointed.
    Paused(Running),
}

/// What a state's handler works with.
pub(crate) struct Ctx {
    /// The stores and the run views.
    pub services: Arc<Services>,
    /// Where this processor's runs report their end and their health.
    pub links: RunLinks,
}

/// The way to one processor's actor.
#[derive(Clone)]
pub(crate) struct ActorHandle {
    tx: mpsc::Sender<Message>,
}

impl ActorHandle {
    /// Starts the actor of processor `processor_id` on the current runtime.
    pub fn spawn(services: Arc<Services>, processor_id: String) -> ActorHandle {
        let (tx, rx) = mpsc::channel(QUEUE);
        let (exits, exits_rx) = unbounded_channel();
        let (health, health_rx) = unbounded_channel();
        let span = tracing::info_span!(
            "processor",
            id = %processor_id,
            group = tracing::field::Empty,
            workspace = tracing::field::Empty,
            name = tracing::field::Empty
        );
        let links = RunLinks { exits, health };
        let actor = Actor {
            id: processor_id,
            ctx: Ctx { services, links },
            state: RunState::Idle,
            handled_any: false,
            named: None,
        };
        tokio::spawn(tracing::Instrument::instrument(actor.run(rx, exits_rx, health_rx), span));
        ActorHandle { tx }
    }

    /// Asks the actor to carry out `request` and waits for its answer.
    pub async fn ask(&self, request: Request) -> Result<Processor, ControlError> {
        let (reply, answer) = oneshot::channel();
        // An actor that is gone ended with its processor's deletion.
        self.tx.send(Message::Do(request, reply)).await.map_err(|_| ControlError::NotFound)?;
        answer.await.map_err(|_| ControlError::Internal("the processor's actor ended without answering".into()))?
    }

    /// Stops the run, if any, leaving the stored state as it is, and ends the actor.
    pub async fn shutdown(&self) {
        let (done, wait) = oneshot::channel();
        if self.tx.send(Message::Shutdown(done)).await.is_ok() {
            let _ = wait.await;
        }
    }
}

struct Actor {
    id: String,
    ctx: Ctx,
    state: RunState,
    /// Whether it has handled a request yet: until then its processor's row is as it was
    /// before the actor began (every change of the row goes through its actor).
    handled_any: bool,
    /// The processor's name as the span last recorded it.
    named: Option<String>,
}

impl Actor {
    async fn run(
        mut self,
        mut rx: mpsc::Receiver<Message>,
        mut exits: UnboundedReceiver<Exit>,
        mut health: UnboundedReceiver<HealthEvent>,
    ) {
        loop {
            tokio::select! {
                message = rx.recv() => match message {
                    Some(Message::Do(request, reply)) => {
                        let deleted = matches!(request, Request::Delete);
                        let answer = self.handle(request).await;
                        let ended = deleted && answer.is_ok();
                        let _ = reply.send(answer);
                        if ended {
                            return;
                        }
                    }
                    Some(Message::Shutdown(done)) => {
                        self.stop_run().await;
                        let _ = done.send(());
                        return;
                    }
                    // The controller is gone: leave the stored state for the next server start.
                    None => return self.stop_run().await,
                },
                Some(exit) = exits.recv() => self.on_exit(exit).await,
                Some(event) = health.recv() => self.on_health(event).await,
            }
        }
    }

    /// Asks the table, then the current state's handler.
    async fn handle(&mut self, request: Request) -> Result<Processor, ControlError> {
        // A run whose node lost the lease (found paused, say) runs elsewhere now: it is dropped.
        if let RunState::Running(run) | RunState::Paused(run) = &self.state {
            if run.fence.as_ref().is_some_and(|f| !f.holds()) {
                tracing::warn!("dropping a run whose lease this node lost");
                self.stop_run().await;
            }
        }
        // A recovery's row is taken when nothing could have changed it since it was read.
        let first = !std::mem::replace(&mut self.handled_any, true);
        let read = match &request {
            Request::Recover(Some(recovery)) if first => recovery.row(&self.id),
            _ => None,
        };
        let p = match read {
            Some(p) => p,
            None => self.ctx.services.store.processor_by_id(&self.id).await?,
        };
        let known = match &request {
            Request::Recover(Some(recovery)) => recovery.known(&p).map(|k| k.ws),
            _ => None,
        };
        self.name_span(&p, known).await;
        let to = match request.action() {
            Some(action) => transition(p.state, action)?,
            None => p.state,
        };
        let (next, answer) = match std::mem::replace(&mut self.state, RunState::Idle) {
            RunState::Idle => idle::handle(&self.ctx, p, to, request).await,
            RunState::Running(run) => running::handle(&self.ctx, run, p, to, request).await,
            RunState::Paused(run) => paused::handle(&self.ctx, run, p, to, request).await,
        };
        self.state = next;
        answer
    }

    /// Records the processor's group, workspace and name on its span (again after a rename);
    /// its workspace is read unless already `known`.
    async fn name_span(&mut self, p: &Processor, known: Option<Workspace>) {
        if self.named.as_deref() == Some(p.name.as_str()) {
            return;
        }
        let span = tracing::Span::current();
        let ws = match known {
            Some(ws) => Ok(ws),
            None => self.ctx.services.store.workspace_by_id(&p.workspace_id).await,
        };
        if let Ok(ws) = ws {
            span.record("group", ws.group_id.as_str());
            span.record("workspace", ws.name.as_str());
        }
        span.record("name", p.name.as_str());
        self.named = Some(p.name.clone());
    }

    /// A run ended by itself (its source ended, or it failed): the running state records why.
    async fn on_exit(&mut self, exit: Exit) {
        self.state = match std::mem::replace(&mut self.state, RunState::Idle) {
            RunState::Running(run) | RunState::Paused(run) if run.run_id == exit.run_id => {
                running::on_exit(&self.ctx, &self.id, run, exit.reason).await
            }
            // A stopped or older run: whoever stopped it recorded it.
            other => other,
        };
    }

    /// A connection of the run started failing or works again: the workspace's operational log
    /// says so (the stats show it live).
    async fn on_health(&self, event: HealthEvent) {
        let Ok(p) = self.ctx.services.store.processor_by_id(&self.id).await else { return };
        let line = match event {
            HealthEvent::Failing(t) => {
                tracing::warn!(connection = %t.connection, error = %t.message, "connection failing; retrying");
                serde_json::json!({"processor": p.name, "processorId": p.id, "event": "connection failing",
                    "state": p.state.as_str(), "connection": t.connection, "error": t.message,
                    "domain": "external", "retrying": true})
            }
            HealthEvent::Recovered { connection, after_ms, attempts } => {
                tracing::info!(connection = %connection, after_ms, attempts, "connection recovered");
                serde_json::json!({"processor": p.name, "processorId": p.id, "event": "connection recovered",
                    "state": p.state.as_str(), "connection": connection, "failedForMs": after_ms,
                    "failedAttempts": attempts})
            }
        };
        self.ctx.services.append(&p.workspace_id, line).await;
    }

    async fn stop_run(&mut self) {
        if let RunState::Running(run) | RunState::Paused(run) = std::mem::replace(&mut self.state, RunState::Idle) {
            self.ctx.services.halt(&self.id, run).await;
        }
    }
}

/// The answer of a request that the state's handler cannot have been asked: the table allowed
/// it, so the stored state and the run disagree.
fn inconsistent(p: &Processor, request: &Request) -> ControlError {
    ControlError::Internal(format!(
        "processor {} is {} in the store but its run does not match for {:?}",
        p.name,
        p.state.as_str(),
        request
    ))
}
