//! Lifecycle requests sent to the node that runs the processor: the request and the answer as
//! JSON, and the client that carries them. Nodes prove themselves to each other with the token
//! every node derives from the shared sealing key; the user's own credentials and role were
//! checked by the node the user called.

use std::time::Duration;

use serde_json::{json, Value as Json};
use sluice_store::StoreError;
use sluice_types::{ProcessorState, Tier};

use crate::actor::Request;
use crate::error::ControlError;
use crate::lifecycle::{Action, TransitionError};
use crate::request::StartOptions;

/// The header that carries the node token.
pub const TOKEN_HEADER: &str = "x-sluice-node-token";
/// Where a node takes requests forwarded by the others (`{}`: the processor's id).
pub const PATH: &str = "/api/sluice/v1/internal/processors/{processorId}";
/// How long a forwarded request may take: a start waits on the processor's systems.
const FORWARD_TIMEOUT: Duration = Duration::from_secs(120);

/// A request as forwarded; `None` for the requests that never need the run's node.
pub(crate) fn request_json(r: &Request) -> Option<Json> {
    Some(match r {
        Request::Start(o) => json!({
            "action": "start",
            "tier": o.tier.map(Tier::as_str),
            "resumeFromCheckpoint": o.resume_from_checkpoint,
            "startAtOperationTime": o.start_at_operation_time,
        }),
        Request::Stop => json!({"action": "stop"}),
        Request::Pause => json!({"action": "pause"}),
        Request::Resume => json!({"action": "resume"}),
        Request::Delete => json!({"action": "delete"}),
        Request::Modify(_) | Request::ResetOffsets(_) | Request::DropStageState(_) | Request::Recover(_) => {
            return None
        }
    })
}

/// The request a forwarded body carries.
pub(crate) fn request_of(body: &Json) -> Result<Request, String> {
    let text = |k: &str| body.get(k).and_then(Json::as_str);
    Ok(match text("action") {
        Some("start") => Request::Start(StartOptions {
            tier: match text("tier") {
                Some(t) => Some(Tier::parse(t).ok_or_else(|| format!("unknown tier {:?}", t))?),
                None => None,
            },
            resume_from_checkpoint: body.get("resumeFromCheckpoint").and_then(Json::as_bool),
            start_at_operation_time: text("startAtOperationTime").map(str::to_string),
        }),
        Some("stop") => Request::Stop,
        Some("pause") => Request::Pause,
        Some("resume") => Request::Resume,
        Some("delete") => Request::Delete,
        other => return Err(format!("unknown forwarded action {:?}", other)),
    })
}

/// An error as forwarded back.
pub(crate) fn error_json(e: &ControlError) -> Json {
    let (kind, extra) = match e {
        ControlError::NotFound => ("notFound", json!({})),
        ControlError::Duplicate => ("duplicate", json!({})),
        ControlError::Invalid(_) => ("invalid", json!({})),
        ControlError::Transition(t) => {
            ("transition", json!({"from": t.from.as_str(), "action": t.action.target_word()}))
        }
        ControlError::StartFailed(_) => ("startFailed", json!({})),
        ControlError::Store(_) => ("store", json!({})),
        ControlError::Internal(_) => ("internal", json!({})),
    };
    let message = match e {
        ControlError::Invalid(m) | ControlError::StartFailed(m) | ControlError::Internal(m) => m.clone(),
        ControlError::Store(StoreError::Backend(m)) => m.clone(),
        other => other.to_string(),
    };
    let mut j = json!({"kind": kind, "message": message});
    if let (Some(o), Some(x)) = (j.as_object_mut(), extra.as_object()) {
        o.extend(x.clone());
    }
    j
}

/// The error a forwarded answer carries.
pub(crate) fn error_of(j: &Json) -> ControlError {
    let text = |k: &str| j.get(k).and_then(Json::as_str).unwrap_or_default().to_string();
    let message = text("message");
    match text("kind").as_str() {
        "notFound" => ControlError::NotFound,
        "duplicate" => ControlError::Duplicate,
        "invalid" => ControlError::Invalid(message),
        "transition" => match (ProcessorState::parse(&text("from")), action_of(&text("action"))) {
            (Some(from), Some(action)) => ControlError::Transition(TransitionError { from, action }),
            _ => ControlError::Internal(format!("an unreadable refusal from the processor's node: {}", j)),
        },
        "startFailed" => ControlError::StartFailed(message),
        "store" => ControlError::Store(StoreError::Backend(message)),
        _ => ControlError::Internal(message),
    }
}

fn action_of(word: &str) -> Option<Action> {
    [Action::Start, Action::Stop, Action::Pause, Action::Resume, Action::Modify, Action::Delete, Action::Reset]
        .into_iter()
        .find(|a| a.target_word() == word)
}

/// Carries requests to the other nodes.
pub(crate) struct Peers {
    client: reqwest::Client,
    token: String,
}

impl Peers {
    /// Calls signed with `token`.
    pub fn new(token: String) -> Result<Peers, String> {
        let client = reqwest::Client::builder()
            .timeout(FORWARD_TIMEOUT)
            .build()
            .map_err(|e| format!("cannot make the client of calls between nodes: {}", e))?;
        Ok(Peers { client, token })
    }

    /// Whether a call presents this cluster's token (compared in constant time).
    pub fn accepts(&self, presented: &str) -> bool {
        let (a, b) = (presented.as_bytes(), self.token.as_bytes());
        a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
    }

    /// Sends `body` (a [`request_json`]) about processor `processor_id` to the node at `address`.
    pub async fn forward(&self, address: &str, processor_id: &str, body: &Json) -> Result<(), ControlError> {
        let url = format!("http://{}{}", address, PATH.replace("{processorId}", processor_id));
        let unreachable = |e: reqwest::Error| {
            ControlError::Internal(format!("the node at {} that runs the processor did not answer: {}", address, e))
        };
        let answer =
            self.client.post(&url).header(TOKEN_HEADER, &self.token).json(body).send().await.map_err(unreachable)?;
        let ok = answer.status().is_success();
        let j: Json = answer.json().await.map_err(unreachable)?;
        if ok {
            Ok(())
        } else {
            Err(error_of(&j))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn requests_and_errors_cross_unchanged() {
        let start = Request::Start(StartOptions {
            tier: Some(Tier::SP30),
            resume_from_checkpoint: Some(false),
            start_at_operation_time: Some("2026-01-01T00:00:00Z".into()),
        });
        for r in [start, Request::Stop, Request::Pause, Request::Resume, Request::Delete] {
            let j = request_json(&r).unwrap();
            assert_eq!(format!("{:?}", request_of(&j).unwrap()), format!("{:?}", r));
        }
        assert!(request_json(&Request::Recover(None)).is_none());
        assert!(request_of(&json!({"action": "explode"})).is_err());
        let errors = [
            ControlError::NotFound,
            ControlError::Duplicate,
            ControlError::Invalid("bad".into()),
            ControlError::Transition(TransitionError { from: ProcessorState::Stopped, action: Action::Pause }),
            ControlError::StartFailed("refused".into()),
            ControlError::Store(StoreError::Backend("down".into())),
            ControlError::Internal("oops".into()),
        ];
        for e in errors {
            assert_eq!(error_of(&error_json(&e)), e);
        }
    }

    #[test]
    fn only_the_same_token_is_accepted() {
        let p = Peers::new("abc123".into()).unwrap();
        assert!(p.accepts("abc123"));
        assert!(!p.accepts("abc124") && !p.accepts("abc12") && !p.accepts(""));
    }
}
