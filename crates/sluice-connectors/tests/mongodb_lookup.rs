//! `$lookup` and `$cachedLookup` against a real MongoDB-wire server, through the engine:
//! MongoDB's equality (arrays, null and missing, numbers across types), pipelines with `let`,
//! per-document errors to the DLQ, and the cache's TTL.

mod support;

use sluice_connectors::mongodb::{LookupEnricher, LookupOptions, MongoConnection};
use sluice_connectors::{DocumentsSource, MemorySink, TestLog};
use sluice_engine::{EnrichRequest, Enricher, Executor, ExecutorConfig, StepOutcome};
use sluice_mql::expr::Scope;
use sluice_mql::json::parse_document;
use sluice_mql::{Document, Value};
use sluice_pipeline::{parse_pipeline_json, Stage};
use support::mongodb::{insert, unique_db, uri};

const DEVICES: [&str; 6] = [
    r#"{"_id": 1, "sku": "a", "site": "north"}"#,
    r#"{"_id": 2, "sku": "b", "site": "south"}"#,
    r#"{"_id": 3, "sku": ["a", "c"], "site": "north"}"#,
    r#"{"_id": 4, "sku": null}"#,
    r#"{"_id": 5}"#,
    r#"{"_id": 6, "sku": 7}"#,
];

fn enricher(stage: &Stage) -> LookupEnricher {
    let Stage::Enrich(e) = stage else { panic!("an enrichment stage") };
    let opts = LookupOptions::parse(&e.options, e.stage == "$cachedLookup").expect("valid lookup");
    LookupEnricher::open(&MongoConnection::new("m", &uri()), opts).expect("opens")
}

/// Runs `[$source documents, stage]` and returns (output, dead letters).
fn run(docs: &[&str], stage: &str) -> (Vec<Document>, Vec<Document>) {
    let plan = parse_pipeline_json(&format!(r#"[{{"$source": {{"documents": [{}]}}}}, {}]"#, docs.join(","), stage))
        .expect("plan");
    let enrichers: Vec<Box<dyn Enricher>> = vec![Box::new(enricher(&plan.stages[0]))];
    let (out, dlq) = (TestLog::new(100), TestLog::new(100));
    let mut exec = Executor::with_enrichers(
        &plan,
        Box::new(DocumentsSource::new(plan.source.documents.clone().unwrap_or_default())),
        Box::new(MemorySink::new("out", out.clone())),
        Box::new(MemorySink::new("dlq", dlq.clone())),
        enrichers,
        ExecutorConfig::new("lookup-test"),
    )
    .expect("executor");
    while exec.step().expect("step") != StepOutcome::Finished {}
    (out.all(), dlq.all())
}

/// The `_id`s of the documents at `field`, in order.
fn ids(d: &Document, field: &str) -> Vec<i64> {
    let Some(Value::Array(items)) = d.get(field) else { panic!("{} is not an array in {:?}", field, d) };
    items
        .iter()
        .map(|m| m.as_document().and_then(|m| m.get("_id")).and_then(Value::as_exact_i64).expect("_id"))
        .collect()
}

#[test]
fn equality_follows_mongodb() {
    let db = unique_db("lookup");
    insert(&db, "devices", &DEVICES);
    let (out, dlq) = run(
        &[
            r#"{"sku": "a"}"#,
            r#"{"sku": "c"}"#,
            r#"{"sku": ["b", "zz"]}"#,
            r#"{"sku": "none"}"#,
            r#"{"other": 1}"#,
            r#"{"sku": 7.0}"#,
        ],
        &format!(
            r#"{{"$lookup": {{"from": {{"connectionName": "m", "db": "{}", "coll": "devices"}},
                "localField": "sku", "foreignField": "sku", "as": "matches"}}}}"#,
            db
        ),
    );
    assert!(dlq.is_empty(), "{:?}", dlq);
    let got: Vec<Vec<i64>> = out.iter().map(|d| ids(d, "matches")).collect();
    assert_eq!(got, vec![vec![1, 3], vec![3], vec![2], vec![], vec![4, 5], vec![6]]);
}

#[test]
fn a_pipeline_with_let_and_its_errors() {
    let db = unique_db("lookup");
    insert(&db, "devices", &DEVICES);
    let stage = format!(
        r#"{{"$lookup": {{"from": {{"connectionName": "m", "db": "{}", "coll": "devices"}},
            "let": {{"s": "$site", "cut": {{"$divide": [10, "$div"]}}}},
            "pipeline": [{{"$match": {{"$expr": {{"$and": [{{"$eq": ["$site", "$$s"]}}, {{"$lt": ["$_id", "$$cut"]}}]}}}}}},
                         {{"$project": {{"_id": 1}}}}, {{"$sort": {{"_id": -1}}}}],
            "as": "same"}}}}"#,
        db
    );
    let (out, dlq) = run(
        &[r#"{"site": "north", "div": 1}"#, r#"{"site": "north", "div": 0}"#, r#"{"site": "south", "div": 2}"#],
        &stage,
    );
    assert_eq!(out.len(), 2, "{:?}", out);
    assert_eq!(ids(&out[0], "same"), vec![3, 1]);
    assert_eq!(ids(&out[1], "same"), vec![2]);
    assert_eq!(dlq.len(), 1, "{:?}", dlq);
    assert_eq!(dlq[0].get("operatorName"), Some(&Value::str("$lookup")));
    let reason = dlq[0].get_path("errInfo.reason").and_then(Value::as_str).unwrap_or_default();
    assert!(reason.contains("let.cut"), "{}", reason);

    // Fields and a pipeline together: the equality match first, then the pipeline.
    let both = format!(
        r#"{{"$lookup": {{"from": {{"connectionName": "m", "db": "{}", "coll": "devices"}},
            "localField": "sku", "foreignField": "sku", "pipeline": [{{"$match": {{"site": "north"}}}}], "as": "m"}}}}"#,
        db
    );
    let (out, _) = run(&[r#"{"sku": "a"}"#, r#"{"sku": "b"}"#], &both);
    assert_eq!((ids(&out[0], "m"), ids(&out[1], "m")), (vec![1, 3], vec![]));
}

fn ask(e: &mut LookupEnricher, docs: &[Document]) -> Vec<Vec<i64>> {
    ask_at(e, docs, 0)
}

/// The answers at `now` on the run's clock (milliseconds, as `$$NOW`).
fn ask_at(e: &mut LookupEnricher, docs: &[Document], now: i64) -> Vec<Vec<i64>> {
    let reqs: Vec<EnrichRequest<'_>> = docs.iter().map(|d| EnrichRequest { doc: d, payload: None }).collect();
    let answers = e.enrich(&reqs, &mut Scope::new(now)).expect("the database answers");
    answers
        .into_iter()
        .map(|a| {
            let mut d = Document::new();
            d.insert("m", a.expect("an answer").value);
            ids(&d, "m")
        })
        .collect()
}

#[test]
fn cached_lookups_reuse_answers_until_the_ttl() {
    let db = unique_db("lookup");
    insert(&db, "devices", &DEVICES);
    let plan = parse_pipeline_json(&format!(
        r#"[{{"$source": {{"documents": []}}}}, {{"$cachedLookup": {{"from": {{"connectionName": "m", "db": "{}", "coll": "devices"}},
            "localField": "sku", "foreignField": "sku", "as": "m", "ttl": {{"size": 400, "unit": "ms"}},
            "maxMemUsageBytes": 1000000}}}}]"#,
        db
    ))
    .unwrap();
    let mut e = enricher(&plan.stages[0]);
    let a = parse_document(r#"{"sku": "a"}"#).unwrap();
    assert_eq!(ask(&mut e, &[a.clone(), a.clone()]), vec![vec![1, 3], vec![1, 3]]);
    insert(&db, "devices", &[r#"{"_id": 9, "sku": "a"}"#]);
    assert_eq!(ask_at(&mut e, std::slice::from_ref(&a), 399), vec![vec![1, 3]], "answered from the cache");
    let (hits, _, bytes) = e.cache_stats().expect("a cache");
    assert!(hits >= 1 && bytes > 0, "hits {} bytes {}", hits, bytes);
    // The run's clock passes the 400 ms TTL.
    assert_eq!(ask_at(&mut e, &[a], 400), vec![vec![1, 3, 9]], "after the TTL the database answers again");
}

#[test]
fn an_unreachable_deployment_fails_open_naming_the_connection() {
    let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let conn = MongoConnection::new(
        "gone",
        &format!("mongodb://127.0.0.1:{}/?serverSelectionTimeoutMS=500&connectTimeoutMS=500", port),
    );
    let opts = LookupOptions::parse(
        &parse_document(
            r#"{"from": {"connectionName": "gone", "db": "d", "coll": "c"}, "localField": "a", "foreignField": "b"}"#,
        )
        .unwrap(),
        false,
    )
    .unwrap();
    let err = LookupEnricher::open(&conn, opts).err().expect("refused");
    assert!(err.contains("connection gone"), "{}", err);
}
