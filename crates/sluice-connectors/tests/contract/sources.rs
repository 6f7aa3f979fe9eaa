//! Every source through the contract: each test prepares an input and plugs the connector's
//! factory (the registry's, or `open_source` for the built-in ones) into the harness.

use std::io::BufReader;
use std::sync::atomic::{AtomicI64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use serde_json::json;
use sluice_connectors::{connector, open_source, ConnectionRef, JsonLinesSource, SolarConfig, Use};
use sluice_engine::{Source, SourceRecord};
use sluice_mql::Value;
use sluice_pipeline::{parse_pipeline_json, SourceSpec};
use sluice_types::ConnectionType;

use crate::read::{Extent, Order};
use crate::source_checks::{source_contract, SourceUnderTest};
use crate::support::{kafka, mongodb};
use crate::{brief_wait, scratch_file};

/// The `$source` stage of a pipeline made of it alone.
fn source_spec(stage: &str) -> SourceSpec {
    parse_pipeline_json(&format!("[{{\"$source\": {}}}]", stage)).expect("valid $source").source
}

/// The whole record: what a replay must give again.
fn whole(r: &SourceRecord) -> SourceRecord {
    r.clone()
}

/// A sample reading without its timestamp: a paced stream stamps each reading with the time it
/// is read, so a replay gives the same readings at a new time.
fn without_timestamp(r: &SourceRecord) -> SourceRecord {
    match r {
        SourceRecord::Doc(d, _) => {
            let mut d = d.clone();
            d.remove("timestamp");
            SourceRecord::Doc(d, 0)
        }
        other => other.clone(),
    }
}

fn nothing_to_check(_: &Value) {}

#[test]
fn sample_solar_unpaced() {
    let spec = source_spec(r#"{"connectionName": "sample_stream_solar"}"#);
    let config = SolarConfig { rate_per_sec: None, ..SolarConfig::default() };
    let open = || open_source(&spec, config.clone()).expect("sample opens");
    source_contract(&SourceUnderTest {
        name: "sample (unpaced)",
        open: &open,
        records: 20,
        extent: Extent::Endless,
        order: Order::Total,
        idle: &|| panic!("an unpaced sample stream always has records"),
        identity: whole,
        saved: &nothing_to_check,
        feed: None,
    });
}

#[test]
fn sample_solar_paced_by_a_test_clock() {
    let now = Arc::new(AtomicI64::new(1_700_000_000_000));
    let clock = now.clone();
    let config = SolarConfig {
        rate_per_sec: Some(5.0),
        clock: Arc::new(move || clock.load(Ordering::SeqCst)),
        ..SolarConfig::default()
    };
    let spec = source_spec(r#"{"connectionName": "sample_stream_solar"}"#);
    let open = || open_source(&spec, config.clone()).expect("sample opens");
    // Nothing due yet: let a second pass on the test's clock.
    let idle = || {
        now.fetch_add(1_000, Ordering::SeqCst);
    };
    source_contract(&SourceUnderTest {
        name: "sample (paced)",
        open: &open,
        records: 20,
        extent: Extent::Endless,
        order: Order::Total,
        idle: &idle,
        identity: without_timestamp,
        saved: &nothing_to_check,
        feed: None,
    });
}

#[test]
fn inline_documents() {
    let docs: Vec<String> = (0..10).map(|i| format!(r#"{{"_id": {}, "n": {}}}"#, i, i * 10)).collect();
    let spec = source_spec(&format!(r#"{{"documents": [{}]}}"#, docs.join(", ")));
    let open = || open_source(&spec, SolarConfig::default()).expect("documents open");
    source_contract(&SourceUnderTest {
        name: "documents",
        open: &open,
        records: 10,
        extent: Extent::Bounded,
        order: Order::Total,
        idle: &|| panic!("inline documents are never idle"),
        identity: whole,
        saved: &nothing_to_check,
        feed: None,
    });
}

#[test]
fn json_lines_file() {
    // Blank lines are skipped; a malformed line is a record (for the DLQ); CRLF endings are fine.
    let text =
        "{\"n\": 0}\n{\"n\": 1}\r\n\n{\"n\": 2}\n{\"broken\": \n  \n{\"n\": 3}\n{\"n\": 4}\n{\"n\": 5}\n{\"n\": 6}";
    let path = scratch_file("lines.jsonl", text.as_bytes());
    let open = || -> Box<dyn Source> {
        let file = std::fs::File::open(&path).expect("input file");
        Box::new(JsonLinesSource::new("lines", BufReader::new(file)))
    };
    source_contract(&SourceUnderTest {
        name: "JSON lines",
        open: &open,
        records: 8,
        extent: Extent::Bounded,
        order: Order::Total,
        idle: &|| panic!("a file is never idle"),
        identity: whole,
        saved: &nothing_to_check,
        feed: None,
    });
    let _ = std::fs::remove_file(&path);
}

/// Kafka: a topic of three partitions holding 15 documents and an undecodable message, read
/// from the start (`earliest`, the input written first) or from `latest` (Atlas's default: the
/// input written once the first source has started).
fn kafka_contract(name: &str, from_latest: bool) {
    let b = kafka::broker();
    let (topic, group) = (kafka::unique_topic("contract-src"), kafka::unique_topic("contract-group"));
    kafka::create_topic(&b, &topic, 3);
    let feed = || {
        let values: Vec<String> = (0..15).map(|i| format!(r#"{{"n": {}}}"#, i)).collect();
        let mut msgs: Vec<kafka::Msg<'_>> = values
            .iter()
            .enumerate()
            .map(|(i, v)| kafka::Msg { key: Some(b"k"), value: v.as_bytes(), partition: Some(i as i32 % 3) })
            .collect();
        // Undecodable input is a record too, and its offset is part of the position.
        msgs.insert(7, kafka::Msg { key: None, value: b"not json {", partition: Some(1) });
        kafka::produce(&b, &topic, &msgs);
    };
    if !from_latest {
        feed();
    }
    let settings = json!({"bootstrapServers": b});
    let conn = ConnectionRef { name: "kafka", ctype: ConnectionType::Kafka, config: &settings };
    let reset = if from_latest { "latest" } else { "earliest" };
    let spec = source_spec(&format!(
        r#"{{"connectionName": "kafka", "topic": "{}", "config": {{"auto_offset_reset": "{}", "group_id": "{}"}}}}"#,
        topic, reset, group
    ));
    let kafka = connector(ConnectionType::Kafka).expect("a Kafka connector");
    let open = || {
        kafka
            .open_source(&conn, kafka.check(&Use::Source(&spec)).expect("options check"), "contract")
            .expect("Kafka source opens")
    };
    // Commits are asynchronous: wait until the group's offsets are the position's.
    let saved = |position: &Value| {
        let mut want: Vec<Option<i64>> = vec![None; 3];
        let items = position.as_document().and_then(|d| d.get("partitions")).and_then(Value::as_array);
        for item in items.unwrap_or_default().iter().filter_map(Value::as_document) {
            let p = item.get("partition").and_then(Value::as_exact_i64).expect("partition") as usize;
            want[p] = item.get("offset").and_then(Value::as_exact_i64);
        }
        let start = Instant::now();
        loop {
            let got = kafka::committed(&b, &group, &topic, 3);
            if got == want {
                return;
            }
            assert!(start.elapsed() < Duration::from_secs(20), "committed offsets {:?}, position {:?}", got, want);
            brief_wait();
        }
    };
    source_contract(&SourceUnderTest {
        name,
        open: &open,
        records: 16,
        extent: Extent::Unbounded,
        order: Order::PerPartition,
        idle: &brief_wait,
        identity: whole,
        saved: &saved,
        feed: if from_latest { Some(&feed) } else { None },
    });
}

#[test]
fn kafka_from_earliest() {
    kafka_contract("Kafka (earliest)", false);
}

#[test]
fn kafka_from_latest() {
    kafka_contract("Kafka (latest)", true);
}

/// A change stream of a new collection: six inserts, two updates and a delete, read from a
/// minute back (the changes made first) or from now (the changes made once the first source
/// has started, Atlas's default).
fn change_stream_contract(name: &str, from_now: bool) {
    let db = mongodb::unique_db("contract_cs");
    let feed = || {
        let docs: Vec<String> = (0..6).map(|i| format!(r#"{{"_id": {}, "n": {}}}"#, i, i)).collect();
        mongodb::insert(&db, "c", &docs.iter().map(String::as_str).collect::<Vec<_>>());
        let c = mongodb::client().database(&db).collection::<::mongodb::bson::Document>("c");
        for id in [1, 4] {
            c.update_one(::mongodb::bson::doc! {"_id": id}, ::mongodb::bson::doc! {"$set": {"n": 100}}).run().unwrap();
        }
        c.delete_one(::mongodb::bson::doc! {"_id": 2}).run().unwrap();
    };
    let config = if from_now {
        "{}".to_string()
    } else {
        feed();
        // The collection is new: a minute back reaches its first change and nothing before it.
        let since = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_millis() - 60_000;
        format!(r#"{{"startAtOperationTime": {{"$date": {}}}}}"#, since)
    };
    let settings = json!({"connectionString": mongodb::uri()});
    let conn = ConnectionRef { name: "mongo", ctype: ConnectionType::Cluster, config: &settings };
    let spec =
        source_spec(&format!(r#"{{"connectionName": "mongo", "db": "{}", "coll": "c", "config": {}}}"#, db, config));
    let mongo = connector(ConnectionType::Cluster).expect("a MongoDB connector");
    let open = || {
        mongo
            .open_source(&conn, mongo.check(&Use::Source(&spec)).expect("options check"), "contract")
            .expect("change stream opens")
    };
    source_contract(&SourceUnderTest {
        name,
        open: &open,
        records: 9,
        extent: Extent::Unbounded,
        order: Order::Total,
        idle: &brief_wait,
        identity: whole,
        saved: &nothing_to_check,
        feed: if from_now { Some(&feed) } else { None },
    });
}

#[test]
fn change_stream_from_a_time() {
    change_stream_contract("change stream (startAtOperationTime)", false);
}

#[test]
fn change_stream_from_now() {
    change_stream_contract("change stream (from now)", true);
}
