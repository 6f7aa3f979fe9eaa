//! The controller runs real engine executions on the sample stream and keeps the store in step.

use std::sync::atomic::{AtomicI64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use serde_json::json;
use sluice_control::*;
use sluice_store::*;
use sluice_types::{ConnectionType, ProcessorState, Tier};

fn scratch() -> std::path::PathBuf {
    let d = std::env::temp_dir().join(format!("sluice-control-test-{}-{}", std::process::id(), new_id()));
    let _ = std::fs::remove_dir_all(&d);
    d
}

async fn setup() -> (Arc<Controller>, Workspace) {
    let (c, ws, _, _) = setup_parts().await;
    (c, ws)
}

/// A controller with the store and checkpoint directory it runs on, so a test can start a
/// second controller over the same ones (a server restart).
async fn setup_parts() -> (Arc<Controller>, Workspace, Arc<SqliteStore>, std::path::PathBuf) {
    setup_with_clock(sluice_engine::system_clock()).await
}

/// A clock the test moves by hand, in milliseconds since the epoch.
fn test_clock() -> (Arc<AtomicI64>, sluice_engine::Clock) {
    let now = Arc::new(AtomicI64::new(1_800_000_000_000));
    let read = now.clone();
    (now, Arc::new(move || read.load(Ordering::SeqCst)))
}

/// Like [`setup_parts`], the processors keeping time by `clock`.
async fn setup_with_clock(
    clock: sluice_engine::Clock,
) -> (Arc<Controller>, Workspace, Arc<SqliteStore>, std::path::PathBuf) {
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
    let store = Arc::new(store);
    let dir = scratch();
    (Controller::with_clock(store.clone(), Arc::new(FsCheckpointStore::new(&dir, 3)), clock), ws, store, dir)
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
    // A connection used in a role its type has no connector for.
    let p = json!([{"$source": {"connectionName": "sample_stream_solar"}},
        {"$merge": {"into": {"connectionName": "kafka", "db": "d", "coll": "c"}}}]);
    let e = c.create(&ws, "k", p, json!({})).await.unwrap_err();
    assert!(matches!(&e, ControlError::Invalid(m) if m.contains("type Kafka cannot be used as $merge")), "{}", e);
    // Connector fields are checked when the processor is created, naming the field.
    let p = json!([{"$source": {"connectionName": "kafka", "topic": "t", "config": {"auto_offset_reset": "middle"}}}]);
    let e = c.create(&ws, "k", p, json!({})).await.unwrap_err();
    assert!(matches!(&e, ControlError::Invalid(m) if m.contains("auto_offset_reset")), "{}", e);
    let p = json!([{"$source": {"connectionName": "sample_stream_solar"}}, {"$emit": {"connectionName": "kafka"}}]);
    let e = c.create(&ws, "k", p, json!({})).await.unwrap_err();
    assert!(matches!(&e, ControlError::Invalid(m) if m.contains("$emit.topic is required")), "{}", e);
    // A broker that cannot be reached: created, but refused at start naming the connection; the
    // processor is FAILED with that reason.
    let p = json!([{"$source": {"connectionName": "sample_stream_solar"}}, {"$emit": {"connectionName": "kafka", "topic": "t"}}]);
    c.create(&ws, "k", p, json!({})).await.unwrap();
    let e = c.start(&ws, "k", StartOptions::default()).await.unwrap_err();
    assert!(matches!(&e, ControlError::StartFailed(m) if m.contains("connection kafka")), "{}", e);
    let stored = c.store().processor(&ws.id, "k").await.unwrap();
    assert_eq!(stored.state, ProcessorState::Failed);
    assert!(stored.error_msg.is_some_and(|m| m.contains("connection kafka")));
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

fn solar_window() -> serde_json::Value {
    json!([
        {"$source": {"connectionName": "sample_stream_solar"}},
        {"$tumblingWindow": {"interval": {"size": 1, "unit": "hour"},
            "pipeline": [{"$group": {"_id": "$device_id", "n": {"$count": {}}}}]}}
    ])
}

fn inputs(c: &Controller, id: &str) -> u64 {
    c.live_stats(id).map_or(0, |s| s.engine.input_messages)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pause_freezes_reading_and_resume_continues_where_it_paused() {
    // The sample stream emits 5 events a second of the run's clock, which this test moves.
    let (now, clock) = test_clock();
    let (c, ws, _, _) = setup_with_clock(clock).await;
    let advance = |ms: i64| now.fetch_add(ms, Ordering::SeqCst);
    let p = c.create(&ws, "solar", solar_window(), json!({})).await.unwrap();
    let e = c.pause(&ws, "solar").await.unwrap_err();
    assert_eq!(e.to_string(), "status cannot be changed from [CREATED] to Paused");
    c.start(&ws, "solar", StartOptions::default()).await.unwrap();
    // The stream starts pacing at its first poll: move the clock until it has read a second's worth.
    wait_for(|| {
        advance(100);
        inputs(&c, &p.id) >= 3
    })
    .await;

    let paused = c.pause(&ws, "solar").await.unwrap();
    assert_eq!(paused.state, ProcessorState::Paused);
    let s = c.live_stats(&p.id).unwrap();
    assert!(s.paused);
    assert_eq!(s.checkpoints, 1, "a pause takes a checkpoint");
    let at_pause = s.engine.input_messages;
    // A minute of the stream's time: a running processor would have 300 events to read at once.
    advance(60_000);
    tokio::time::sleep(Duration::from_millis(100)).await;
    assert_eq!(inputs(&c, &p.id), at_pause, "a paused processor read its source");
    assert!(c.live_stats(&p.id).unwrap().engine.operators[0].state_size_bytes > 0, "state kept");
    assert_eq!(
        c.pause(&ws, "solar").await.unwrap_err().to_string(),
        "status cannot be changed from [PAUSED] to Paused"
    );
    assert_eq!(
        c.start(&ws, "solar", StartOptions::default()).await.unwrap_err().to_string(),
        "status cannot be changed from [PAUSED] to Started"
    );

    let resumed = c.resume(&ws, "solar").await.unwrap();
    assert_eq!(resumed.state, ProcessorState::Started);
    assert!(!c.live_stats(&p.id).unwrap().paused);
    // It goes on at the stream's own pace from where it paused: no burst of the paused minute's
    // 300 events.
    wait_for(|| {
        advance(200);
        inputs(&c, &p.id) > at_pause
    })
    .await;
    assert!(inputs(&c, &p.id) < at_pause + 50, "{} events after the resume", inputs(&c, &p.id) - at_pause);
    assert_eq!(
        c.resume(&ws, "solar").await.unwrap_err().to_string(),
        "status cannot be changed from [STARTED] to Resumed"
    );

    // A paused processor can be stopped.
    c.pause(&ws, "solar").await.unwrap();
    assert_eq!(c.stop(&ws, "solar").await.unwrap().state, ProcessorState::Stopped);
    assert_eq!(
        c.pause(&ws, "solar").await.unwrap_err().to_string(),
        "status cannot be changed from [STOPPED] to Paused"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn stop_checkpoints_and_start_resumes_unless_asked_to_start_fresh() {
    let (c, ws) = setup().await;
    let p = c.create(&ws, "solar", solar_window(), json!({})).await.unwrap();
    c.start(&ws, "solar", StartOptions::default()).await.unwrap();
    wait_for(|| inputs(&c, &p.id) >= 3).await;
    c.stop(&ws, "solar").await.unwrap();
    let store = c.store().clone();
    let logs = || async { store.logs(&ws.id, LogKind::Operational, 0, i64::MAX).await.unwrap() };

    // :start resumes: the counters and the source position go on from the checkpoint.
    c.start(&ws, "solar", StartOptions::default()).await.unwrap();
    let s = c.live_stats(&p.id).unwrap();
    let resumed_from = s.engine.input_messages;
    assert!(resumed_from >= 3, "restarted from zero: {}", resumed_from);
    assert!(s.engine.operators[0].state_size_bytes > 0, "window state not restored");
    assert!(logs().await.iter().any(|l| l.line.contains(r#""restoredCheckpoint":1"#)), "{:?}", logs().await);
    c.stop(&ws, "solar").await.unwrap();

    // resumeFromCheckpoint: false drops the state.
    let fresh = StartOptions { resume_from_checkpoint: Some(false), ..Default::default() };
    c.start(&ws, "solar", fresh).await.unwrap();
    let s = c.live_stats(&p.id).unwrap();
    assert!(s.engine.input_messages < resumed_from, "{} after a fresh start", s.engine.input_messages);
    c.stop(&ws, "solar").await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_pipeline_change_the_checkpoint_cannot_follow_needs_a_fresh_start() {
    let (c, ws) = setup().await;
    let p = c.create(&ws, "solar", solar_window(), json!({})).await.unwrap();
    c.start(&ws, "solar", StartOptions::default()).await.unwrap();
    wait_for(|| inputs(&c, &p.id) >= 1).await;
    c.stop(&ws, "solar").await.unwrap();

    // A stateless stage may be added: the window's state still fits.
    let mut with_match = solar_window();
    with_match.as_array_mut().unwrap().insert(1, json!({"$match": {"obs.watts": {"$gte": 0}}}));
    let m = Modification { pipeline: Some(with_match), ..Default::default() };
    c.modify(&ws, "solar", m).await.unwrap();
    c.start(&ws, "solar", StartOptions::default()).await.unwrap();
    assert!(inputs(&c, &p.id) >= 1);
    c.stop(&ws, "solar").await.unwrap();

    // Another window size cannot take over the state: refused, unless the state is dropped.
    let mut other = solar_window();
    other[1]["$tumblingWindow"]["interval"]["size"] = json!(2);
    let m = Modification { pipeline: Some(other.clone()), ..Default::default() };
    let e = c.modify(&ws, "solar", m).await.unwrap_err();
    assert!(matches!(&e, ControlError::Invalid(m) if m.contains("resumeFromCheckpoint to false")), "{}", e);
    let m = Modification { pipeline: Some(other), resume_from_checkpoint: Some(false), ..Default::default() };
    c.modify(&ws, "solar", m).await.unwrap();
    c.start(&ws, "solar", StartOptions::default()).await.unwrap();
    assert!(inputs(&c, &p.id) <= 1, "the dropped state came back");
    c.stop(&ws, "solar").await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_restarted_server_resumes_running_processors_from_their_periodic_checkpoints() {
    let (c, ws, store, dir) = setup_parts().await;
    let p = c.create(&ws, "solar", solar_window(), json!({"checkpointIntervalMs": 100})).await.unwrap();
    c.start(&ws, "solar", StartOptions::default()).await.unwrap();
    wait_for(|| c.live_stats(&p.id).is_some_and(|s| s.checkpoints >= 2 && s.engine.input_messages >= 3)).await;
    let seq = c.live_stats(&p.id).unwrap().last_checkpoint.unwrap().seq;
    assert!(seq >= 2);
    // A paused processor stays paused across the restart.
    c.create(&ws, "idle", solar_window(), json!({})).await.unwrap();
    c.start(&ws, "idle", StartOptions::default()).await.unwrap();
    c.pause(&ws, "idle").await.unwrap();
    c.shutdown().await;

    let again = Controller::new(store.clone(), Arc::new(FsCheckpointStore::new(&dir, 3)));
    assert_eq!(again.recover().await.unwrap(), 1);
    let s = again.live_stats(&p.id).unwrap();
    assert!(s.engine.input_messages >= 3, "resumed from zero");
    assert_eq!(store.processor(&ws.id, "idle").await.unwrap().state, ProcessorState::Paused);
    // Its resume after the restart starts from the checkpoint its pause took.
    again.resume(&ws, "idle").await.unwrap();
    assert_eq!(store.processor(&ws.id, "idle").await.unwrap().state, ProcessorState::Started);
    again.shutdown().await;
    let _ = std::fs::remove_dir_all(dir);
}
