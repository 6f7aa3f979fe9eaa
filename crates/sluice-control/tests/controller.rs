//! The controller runs real engine executions on the sample stream and keeps the store in step.

use std::sync::Arc;
use std::time::{Duration, Instant};

use serde_json::json;
use sluice_control::*;
use sluice_store::*;
use sluice_types::{ConnectionType, ProcessorState, Tier};

async fn setup() -> (Arc<Controller>, Workspace) {
    let store = SqliteStore::open_in_memory().await.unwrap();
    let project = Project { id: new_id(), name: "p".into(), org_id: new_id(), created_at: 0 };
    store.insert_project(&project).await.unwrap();
    let ws = Workspace {
        id: new_id(),
        group_id: project.id.clone(),
        name: "w".into(),
        cloud_provider: "AWS".into(),
        region: "VIRGINIA_USA".into(),
        tier: Tier::SP10,
        created_at: 0,
    };
    let conns = [
        Connection {
            id: new_id(),
            workspace_id: ws.id.clone(),
            name: "sample_stream_solar".into(),
            ctype: ConnectionType::Sample,
            config: json!({}),
            created_at: 0,
        },
        Connection {
            id: new_id(),
            workspace_id: ws.id.clone(),
            name: "kafka".into(),
            ctype: ConnectionType::Kafka,
            config: json!({"bootstrapServers": "127.0.0.1:1"}),
            created_at: 0,
        },
    ];
    store.insert_workspace(&ws, &conns).await.unwrap();
    (Controller::new(Arc::new(store)), ws)
}

async fn wait_for(mut f: impl FnMut() -> bool) {
    let deadline = Instant::now() + Duration::from_secs(20);
    while !f() {
        assert!(Instant::now() < deadline, "condition not reached within 20 s");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_processor_runs_stops_and_starts_again() {
    let (c, ws) = setup().await;
    let pipeline =
        json!([{"$source": {"connectionName": "sample_stream_solar"}}, {"$match": {"obs.watts": {"$gte": 0}}}]);
    let p = c.create(&ws, "solar", pipeline, json!({})).await.unwrap();
    assert_eq!(p.state, ProcessorState::Created);
    assert_eq!(
        c.create(&ws, "solar", json!([{"$source": {"connectionName": "sample_stream_solar"}}]), json!({})).await,
        Err(ControlError::Duplicate)
    );

    let started = c.start(&ws, "solar", StartOptions { tier: Some(Tier::SP30), ..Default::default() }).await.unwrap();
    assert_eq!(started.state, ProcessorState::Started);
    assert_eq!(started.tier, Some(Tier::SP30));
    wait_for(|| c.live_stats(&p.id).is_some_and(|s| s.engine.output_messages >= 3)).await;
    assert!(c.sample(&p.id, 2).unwrap().len() == 2);
    let err = c.start(&ws, "solar", StartOptions::default()).await.unwrap_err();
    assert_eq!(err.to_string(), "status cannot be changed from [STARTED] to Started");
    assert!(matches!(c.modify(&ws, "solar", Modification::default()).await, Err(ControlError::Transition(_))));

    let stopped = c.stop(&ws, "solar").await.unwrap();
    assert_eq!(stopped.state, ProcessorState::Stopped);
    assert!(c.live_stats(&p.id).is_none());
    assert_eq!(c.store().processor(&ws.id, "solar").await.unwrap().state, ProcessorState::Stopped);
    assert!(matches!(c.stop(&ws, "solar").await, Err(ControlError::Transition(_))));

    c.start(&ws, "solar", StartOptions::default()).await.unwrap();
    wait_for(|| c.live_stats(&p.id).is_some_and(|s| s.engine.input_messages >= 1)).await;
    c.delete(&ws, "solar").await.unwrap();
    assert!(c.live_stats(&p.id).is_none());
    assert_eq!(c.store().processor(&ws.id, "solar").await, Err(StoreError::NotFound));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_pipelines_and_missing_connections_are_refused() {
    let (c, ws) = setup().await;
    let e = c.create(&ws, "x", json!([{"$match": {}}]), json!({})).await.unwrap_err();
    assert!(matches!(&e, ControlError::Invalid(m) if m.contains("$source")), "{}", e);
    let e = c.create(&ws, "x", json!([{"$source": {"connectionName": "nope"}}]), json!({})).await.unwrap_err();
    assert_eq!(
        e,
        ControlError::Invalid(
            "connection named nope does not exist. Check sp.listConnections() for available connections.".into()
        )
    );
    // A connection whose connector this build lacks: created, but refused at start with the reason.
    let p = json!([{"$source": {"connectionName": "sample_stream_solar"}}, {"$emit": {"connectionName": "kafka", "topic": "t"}}]);
    c.create(&ws, "k", p, json!({})).await.unwrap();
    let e = c.start(&ws, "k", StartOptions::default()).await.unwrap_err();
    assert!(matches!(&e, ControlError::StartFailed(m) if m.contains("type Kafka")), "{}", e);
    assert_eq!(c.store().processor(&ws.id, "k").await.unwrap().state, ProcessorState::Created);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_finite_source_ends_in_stopped_and_recover_restarts_started_ones() {
    let (c, ws) = setup().await;
    let docs = json!([{"$source": {"documents": [{"a": 1}, {"a": 2}]}}]);
    let p = c.create(&ws, "docs", docs, json!({})).await.unwrap();
    c.start(&ws, "docs", StartOptions::default()).await.unwrap();
    let store = c.store().clone();
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        if store.processor_by_id(&p.id).await.unwrap().state == ProcessorState::Stopped {
            break;
        }
        assert!(Instant::now() < deadline);
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    // Mark it STARTED as a crashed server would have left it: recover starts it again.
    let mut rec = store.processor_by_id(&p.id).await.unwrap();
    rec.state = ProcessorState::Started;
    store.update_processor(&rec).await.unwrap();
    assert_eq!(c.recover().await.unwrap(), 1);
    let logs = store.logs(&ws.id, LogKind::Operational, 0, i64::MAX).await.unwrap();
    assert!(logs.iter().any(|l| l.line.contains("source ended")), "{:?}", logs);
}
