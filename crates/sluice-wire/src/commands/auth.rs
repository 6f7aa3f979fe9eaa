//! `saslStart` / `saslContinue`: SCRAM-SHA-256 (or SCRAM-SHA-1) with an API key, the public key
//! as the user name and the private key as the password. The database authenticated against is
//! the workspace the connection then works on.

use bson::spec::BinarySubtype;
use bson::{doc, Binary, Bson, Document};
use sluice_api::auth::Principal;
use sluice_store::StoreError;

use super::Reply;
use crate::error::CommandError;
use crate::scram::{decoy, parse_client_first, Conversation, Mechanism};
use crate::session::{PendingAuth, Session};

const CONVERSATION_ID: i32 = 1;

fn payload(cmd: &Document) -> Result<Vec<u8>, CommandError> {
    match cmd.get("payload") {
        Some(Bson::Binary(b)) => Ok(b.bytes.clone()),
        Some(Bson::String(s)) => Ok(s.as_bytes().to_vec()),
        _ => Err(CommandError::type_mismatch("payload must be binary data")),
    }
}

fn bin(b: &[u8]) -> Bson {
    Bson::Binary(Binary { subtype: BinarySubtype::Generic, bytes: b.to_vec() })
}

fn failed() -> CommandError {
    CommandError::auth_failed("Authentication failed.")
}

/// `saslStart {mechanism, payload}` sent to the workspace's database.
pub async fn sasl_start(s: &mut Session, db: &str, cmd: &Document) -> Reply {
    let mech_name = cmd.get_str("mechanism").unwrap_or_default();
    let Some(mech) = Mechanism::parse(mech_name) else {
        return Err(CommandError::bad_value(format!(
            "Unsupported mechanism {}: use SCRAM-SHA-256 or SCRAM-SHA-1",
            mech_name
        )));
    };
    let first = parse_client_first(&payload(cmd)?).map_err(|e| CommandError::bad_value(e.to_string()))?;
    // An unknown user gets a decoy conversation that fails at the proof, as a wrong key does:
    // whether a public key exists is not told.
    let key = match s.state.store.api_key(&first.user).await {
        Ok(k) => Some(k),
        Err(StoreError::NotFound) => None,
        Err(e) => return Err(CommandError::internal(e.to_string())),
    };
    let credential = match s.state.store.scram_credential(&first.user, mech.as_str()).await {
        Ok(c) => c,
        Err(StoreError::NotFound) if key.is_none() => decoy(mech, &first.user, &s.state.decoy_secret),
        Err(StoreError::NotFound) => {
            return Err(CommandError::auth_failed(format!(
                "API key {} has no {} credentials: keys created before the wire protocol was added \
                 cannot use it until `sluice keys enable-wire` is run for it, or create a new key",
                first.user,
                mech.as_str()
            )))
        }
        Err(e) => return Err(CommandError::internal(e.to_string())),
    };
    let skip_empty =
        cmd.get_document("options").ok().and_then(|o| o.get_bool("skipEmptyExchange").ok()).unwrap_or(false);
    let conv = Conversation::start(mech, credential, &first);
    let reply = doc! {"conversationId": CONVERSATION_ID, "done": false, "payload": bin(conv.server_first().as_bytes())};
    s.principal = None;
    s.pending_auth = Some(PendingAuth { conversation: conv, key, db: db.to_string(), skip_empty_exchange: skip_empty });
    Ok(reply)
}

/// `saslContinue {conversationId, payload}`: the client's proof, then (unless the client asked
/// to skip it) an empty last exchange.
pub async fn sasl_continue(s: &mut Session, cmd: &Document) -> Reply {
    let Some(pending) = s.pending_auth.take() else {
        // The empty exchange after a successful proof.
        if s.principal.is_some() {
            return Ok(doc! {"conversationId": CONVERSATION_ID, "done": true, "payload": bin(b"")});
        }
        return Err(CommandError::protocol_error("No SASL session state found"));
    };
    let server_final = pending.conversation.finish(&payload(cmd)?).map_err(|_| failed())?;
    let key = pending.key.ok_or_else(failed)?;
    s.principal = Some(Principal { subject: key.public_key, project_id: key.project_id, roles: key.roles });
    s.auth_db = Some(pending.db);
    Ok(
        doc! {"conversationId": CONVERSATION_ID, "done": pending.skip_empty_exchange, "payload": bin(server_final.as_bytes())},
    )
}
