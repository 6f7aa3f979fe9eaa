//! A session end to end without a socket: SCRAM as a client computes it (RFC 5802), over the
//! speculative `hello` path and `saslStart`, a wrong proof and a key made before SCRAM
//! credentials were kept, and what an unauthenticated connection may do.

use std::sync::Arc;

use base64::Engine;
use bson::spec::BinarySubtype;
use bson::{doc, Binary, Bson, Document};
use hmac::{KeyInit, Mac};
use sha2::{Digest, Sha256};
use sluice_control::Controller;
use sluice_store::{ApiKey, FsCheckpointStore, MetadataStore, Project, SqliteStore, Workspace};
use sluice_types::{Role, Tier};
use sluice_wire::scram::{credential, Mechanism};
use sluice_wire::session::Session;
use sluice_wire::{commands, WireLimits, WireState};

const PROJECT: &str = "aaaaaaaaaaaaaaaaaaaaaaaa";

async fn state() -> Arc<WireState> {
    let store = SqliteStore::open_in_memory().await.unwrap();
    store
        .insert_project(&Project { id: PROJECT.into(), name: "p".into(), org_id: "b".repeat(24), created_at: 1 })
        .await
        .unwrap();
    for (public, scram) in [("withscram", true), ("oldkey", false)] {
        let k = ApiKey {
            public_key: public.into(),
            project_id: PROJECT.into(),
            roles: vec![Role::ProjectOwner],
            ha1_md5: String::new(),
            ha1_sha256: String::new(),
            description: String::new(),
            created_at: 1,
        };
        store.insert_api_key(&k).await.unwrap();
        if scram {
            store.insert_scram_credential(&credential(Mechanism::Sha256, public, "secret")).await.unwrap();
        }
    }
    let w = Workspace {
        id: "c".repeat(24),
        group_id: PROJECT.into(),
        name: "ws".into(),
        cloud_provider: "AWS".into(),
        region: "VIRGINIA_USA".into(),
        tier: Tier::SP10,
        created_at: 1,
    };
    store.insert_workspace(&w, &[]).await.unwrap();
    let store: Arc<dyn MetadataStore> = Arc::new(store);
    let dir = std::env::temp_dir().join(format!("sluice-wire-auth-{}", std::process::id()));
    let controller = Controller::new(store.clone(), Arc::new(FsCheckpointStore::new(dir, 1)));
    WireState::new(sluice_api::AppState::new(store, controller, Vec::new(), 0), WireLimits::default())
}

fn bin(b: &[u8]) -> Bson {
    Bson::Binary(Binary { subtype: BinarySubtype::Generic, bytes: b.to_vec() })
}

fn b64(b: &[u8]) -> String {
    base64::engine::general_purpose::STANDARD.encode(b)
}

fn hmac(key: &[u8], data: &[u8]) -> Vec<u8> {
    let mut m = <hmac::Hmac<Sha256> as KeyInit>::new_from_slice(key).unwrap();
    m.update(data);
    m.finalize().into_bytes().to_vec()
}

fn payload(d: &Document) -> String {
    match d.get("payload") {
        Some(Bson::Binary(b)) => String::from_utf8(b.bytes.clone()).unwrap(),
        other => panic!("no payload: {:?}", other),
    }
}

/// The client's final message for `password`, given its first message and the server's.
fn client_final(client_first_bare: &str, server_first: &str, password: &str) -> String {
    let field = |k: &str| server_first.split(',').find_map(|p| p.strip_prefix(k)).unwrap().to_string();
    let (nonce, salt, i) = (field("r="), field("s="), field("i=").parse::<u32>().unwrap());
    let salt = base64::engine::general_purpose::STANDARD.decode(salt).unwrap();
    let mut salted = [0u8; 32];
    pbkdf2::pbkdf2_hmac::<Sha256>(password.as_bytes(), &salt, i, &mut salted);
    let client_key = hmac(&salted, b"Client Key");
    let stored = Sha256::digest(&client_key).to_vec();
    let without_proof = format!("c=biws,r={}", nonce);
    let auth = format!("{},{},{}", client_first_bare, server_first, without_proof);
    let sig = hmac(&stored, auth.as_bytes());
    let proof: Vec<u8> = client_key.iter().zip(&sig).map(|(a, b)| a ^ b).collect();
    format!("{},p={}", without_proof, b64(&proof))
}

#[tokio::test]
async fn speculative_hello_then_sasl_continue_authenticates_on_the_workspace() {
    let mut s = Session::new(state().await);
    let r = commands::run(&mut s, "admin", &doc! {"listStreamProcessors": 1}).await;
    assert_eq!(r.get_i32("code"), Ok(13), "{:?}", r);
    assert_eq!(commands::run(&mut s, "admin", &doc! {"ping": 1}).await.get_f64("ok"), Ok(1.0));

    let first_bare = "n=withscram,r=clientnonce";
    let hello = commands::run(
        &mut s,
        "admin",
        &doc! {"hello": 1, "saslSupportedMechs": "ws.withscram", "speculativeAuthenticate":
            {"saslStart": 1, "mechanism": "SCRAM-SHA-256", "payload": bin(format!("n,,{}", first_bare).as_bytes()), "db": "ws"}},
    )
    .await;
    let mechs = vec![Bson::String("SCRAM-SHA-256".into()), Bson::String("SCRAM-SHA-1".into())];
    assert_eq!(hello.get_array("saslSupportedMechs").unwrap(), &mechs);
    let spec = hello.get_document("speculativeAuthenticate").unwrap();
    let server_first = payload(spec);
    assert!(server_first.starts_with("r=clientnonce"), "{}", server_first);
    let fin = client_final(first_bare, &server_first, "secret");
    let r = commands::run(&mut s, "ws", &doc! {"saslContinue": 1, "conversationId": 1, "payload": bin(fin.as_bytes())})
        .await;
    assert_eq!(r.get_f64("ok"), Ok(1.0), "{:?}", r);
    assert!(payload(&r).starts_with("v="));
    let r = commands::run(&mut s, "ws", &doc! {"saslContinue": 1, "conversationId": 1, "payload": bin(b"")}).await;
    assert_eq!(r.get_bool("done"), Ok(true));

    // Sent to admin, as mongosh does: the workspace is the one authenticated against.
    let r = commands::run(&mut s, "admin", &doc! {"listWorkspaceDefaults": 1}).await;
    assert_eq!(r.get_str("defaultTierSize"), Ok("SP10"), "{:?}", r);
    let r = commands::run(&mut s, "admin", &doc! {"atlasVersion": 1}).await;
    assert_eq!((r.get_i32("code"), r.get_str("codeName")), (Ok(59), Ok("CommandNotFound")));
}

#[tokio::test]
async fn a_wrong_key_and_a_key_without_scram_credentials_are_refused() {
    let st = state().await;
    let mut s = Session::new(st.clone());
    let first_bare = "n=withscram,r=abc";
    let r = commands::run(
        &mut s,
        "ws",
        &doc! {"saslStart": 1, "mechanism": "SCRAM-SHA-256", "payload": bin(format!("n,,{}", first_bare).as_bytes())},
    )
    .await;
    let fin = client_final(first_bare, &payload(&r), "not-the-secret");
    let r = commands::run(&mut s, "ws", &doc! {"saslContinue": 1, "conversationId": 1, "payload": bin(fin.as_bytes())})
        .await;
    assert_eq!((r.get_f64("ok"), r.get_i32("code")), (Ok(0.0), Ok(18)), "{:?}", r);
    let r = commands::run(&mut s, "ws", &doc! {"listStreamProcessors": 1}).await;
    assert_eq!(r.get_i32("code"), Ok(13));

    // An unknown key is refused only at the proof, as a wrong one is; its salt does not vary.
    let mut salts = Vec::new();
    for _ in 0..2 {
        let mut s = Session::new(st.clone());
        let first_bare = "n=nosuchkey,r=abc";
        let r = commands::run(
            &mut s,
            "ws",
            &doc! {"saslStart": 1, "mechanism": "SCRAM-SHA-256", "payload": bin(format!("n,,{}", first_bare).as_bytes())},
        )
        .await;
        assert_eq!(r.get_f64("ok"), Ok(1.0), "{:?}", r);
        let server_first = payload(&r);
        salts.push(server_first.split(',').find(|p| p.starts_with("s=")).unwrap().to_string());
        let fin = client_final(first_bare, &server_first, "anything");
        let r =
            commands::run(&mut s, "ws", &doc! {"saslContinue": 1, "conversationId": 1, "payload": bin(fin.as_bytes())})
                .await;
        assert_eq!(r.get_i32("code"), Ok(18), "{:?}", r);
    }
    assert_eq!(salts[0], salts[1]);

    let mut s = Session::new(st);
    let r = commands::run(
        &mut s,
        "ws",
        &doc! {"saslStart": 1, "mechanism": "SCRAM-SHA-256", "payload": bin(b"n,,n=oldkey,r=abc")},
    )
    .await;
    assert_eq!(r.get_i32("code"), Ok(18), "{:?}", r);
    assert!(r.get_str("errmsg").unwrap().contains("sluice keys enable-wire"), "{:?}", r);
    let r = commands::run(&mut s, "ws", &doc! {"saslStart": 1, "mechanism": "PLAIN", "payload": bin(b"x")}).await;
    assert_eq!(r.get_i32("code"), Ok(2), "{:?}", r);
}
