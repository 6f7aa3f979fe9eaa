//! `sluice bench merge`: `$merge` documents/s into a real MongoDB-wire server, next to the
//! server's own insert rate through the driver, in the same run.
//!
//! 1. The server alone: the driver's `insert_many` of N solar readings, 1,024 at a time, and the
//!    same readings as `update` commands of 1,024 upserts (`$set` by `_id`), which is the work
//!    `$merge` asks of the server.
//! 2. `$merge` of the same readings into an empty collection (every statement an upsert that
//!    inserts), 1,024 per batch as the engine writes them.
//! 3. `$merge` of them again (every statement an upsert that merges into an existing document).

use std::time::{Duration, Instant};

use mongodb::bson;
use sluice_connectors::mongodb::{to_driver, MergeOptions, MergeSink, MongoConnection};
use sluice_connectors::{SolarConfig, SolarSource};
use sluice_engine::{Sink, Source, SourceRecord};
use sluice_mql::{Document, Str, Value};

use crate::bench::peak_rss_mib;

/// Documents per write, as the engine batches them.
const BATCH: usize = 1024;

/// Settings of one `$merge` benchmark run.
pub struct MergeBench {
    /// The server's URI.
    pub uri: String,
    /// Documents written in each measure.
    pub docs: u64,
}

/// N solar readings with `_id`s 0..N, in batches.
fn readings(n: u64) -> Result<Vec<Vec<Document>>, String> {
    let mut src = SolarSource::new(SolarConfig { rate_per_sec: None, ..SolarConfig::default() });
    let mut batches = Vec::new();
    let mut id = 0i64;
    while id < n as i64 {
        let mut recs = Vec::new();
        src.poll(BATCH.min((n as i64 - id) as usize), &mut recs).map_err(|e| e.to_string())?;
        let batch: Vec<Document> = recs
            .into_iter()
            .filter_map(|r| match r {
                SourceRecord::Doc(mut d, _) => {
                    d.insert(Str::from("_id"), Value::Int64(id));
                    id += 1;
                    Some(d)
                }
                _ => None,
            })
            .collect();
        batches.push(batch);
    }
    Ok(batches)
}

fn unique(prefix: &str) -> String {
    let nanos = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map(|d| d.as_nanos()).unwrap_or(0);
    format!("sluice_bench_{}_{}", prefix, nanos)
}

fn merge_all(uri: &str, db: &str, coll: &str, batches: &[Vec<Document>]) -> Result<Duration, String> {
    let into: Document =
        [(Str::from("db"), Value::str(db)), (Str::from("coll"), Value::str(coll))].into_iter().collect();
    let mut sink = MergeSink::open(&MongoConnection::new("bench", uri), MergeOptions::parse(&into, &Document::new())?)?;
    let started = Instant::now();
    for b in batches {
        sink.write(b).map_err(|e| e.to_string())?;
        let refused = sink.take_rejected();
        if !refused.is_empty() {
            return Err(format!("the server refused {} documents: {}", refused.len(), refused[0].reason));
        }
    }
    Ok(started.elapsed())
}

/// The readings as unordered `update` commands of upserts by `_id`, straight through the driver.
fn upsert_all(client: &mongodb::sync::Client, db: &str, batches: &[Vec<Document>]) -> Result<Duration, String> {
    let commands: Vec<bson::Document> = batches
        .iter()
        .map(|b| -> Result<bson::Document, String> {
            let updates: Vec<bson::Document> = b
                .iter()
                .map(|d| {
                    let doc = to_driver(d)?;
                    let id = doc.get("_id").cloned().unwrap_or(bson::Bson::Null);
                    Ok(bson::doc! {"q": {"_id": id}, "u": {"$set": doc}, "upsert": true})
                })
                .collect::<Result<_, String>>()?;
            Ok(bson::doc! {"update": "upserted", "updates": updates, "ordered": false})
        })
        .collect::<Result<_, _>>()?;
    let started = Instant::now();
    for c in commands {
        client.database(db).run_command(c).run().map_err(|e| e.to_string())?;
    }
    Ok(started.elapsed())
}

/// Runs the benchmark and prints its figures.
pub fn run(b: MergeBench) -> Result<(), String> {
    let batches = readings(b.docs)?;
    let db = unique("merge");
    println!("server {}, {} solar readings, {} per write", b.uri, b.docs, BATCH);
    let rate = |d: Duration| b.docs as f64 / d.as_secs_f64().max(1e-9);

    let client = mongodb::sync::Client::with_uri_str(&b.uri).map_err(|e| e.to_string())?;
    let bare = client.database(&db).collection::<bson::Document>("bare");
    let driver_batches: Vec<Vec<bson::Document>> =
        batches.iter().map(|b| b.iter().map(to_driver).collect::<Result<_, _>>()).collect::<Result<_, _>>()?;
    let started = Instant::now();
    for batch in driver_batches {
        bare.insert_many(batch).run().map_err(|e| e.to_string())?;
    }
    let alone = started.elapsed();
    println!("server alone: insert_many {:>10.0} documents/s", rate(alone));
    let upserts = upsert_all(&client, &db, &batches)?;
    println!("server alone: update with upserts {:>10.0} documents/s", rate(upserts));

    let inserted = merge_all(&b.uri, &db, "merged", &batches)?;
    println!(
        "sluice: $merge into an empty collection {:>10.0} documents/s ({:.2} of the server's upserts)",
        rate(inserted),
        upserts.as_secs_f64() / inserted.as_secs_f64()
    );
    let merged = merge_all(&b.uri, &db, "merged", &batches)?;
    println!(
        "sluice: $merge onto existing documents {:>10.0} documents/s ({:.2} of the server's upserts)",
        rate(merged),
        upserts.as_secs_f64() / merged.as_secs_f64()
    );
    let count = client.database(&db).collection::<bson::Document>("merged").count_documents(bson::doc! {}).run();
    if count.map_err(|e| e.to_string())? != b.docs {
        return Err("the merged collection does not hold every document once".into());
    }
    client.database(&db).drop().run().map_err(|e| e.to_string())?;
    if let Some(mib) = peak_rss_mib() {
        println!("peak memory: {:.0} MiB", mib);
    }
    Ok(())
}
