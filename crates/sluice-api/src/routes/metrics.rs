//! `GET /metrics` (a Sluice extension): the caller's project's processors in the Prometheus text
//! format. Authenticated like every route (a Prometheus scrape config uses a service account's
//! bearer token); any project role may read it.

use std::fmt::Write as _;
use std::sync::Arc;

use axum::extract::State;
use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use sluice_control::LiveStats;

use crate::call::Call;
use crate::error::ApiError;
use crate::operation::ops;
use crate::state::AppState;

/// One metric family: name, type, help, and its samples (labels, value).
struct Family {
    name: &'static str,
    kind: &'static str,
    help: &'static str,
    samples: Vec<(String, f64)>,
}

fn escape(v: &str) -> String {
    v.replace('\\', "\\\\").replace('"', "\\\"").replace('\n', "\\n")
}

/// The families and how each reads a processor's stats.
type Reading = fn(&LiveStats) -> Vec<(String, f64)>;

fn one(v: u64) -> Vec<(String, f64)> {
    vec![(String::new(), v as f64)]
}

const FAMILIES: &[(&str, &str, &str, Reading)] = &[
    ("sluice_processor_input_messages_total", "counter", "Records read from the source.", |s| {
        one(s.engine.input_messages)
    }),
    ("sluice_processor_input_bytes_total", "counter", "Bytes read from the source.", |s| one(s.engine.input_bytes)),
    ("sluice_processor_output_messages_total", "counter", "Documents written to the sink.", |s| {
        one(s.engine.output_messages)
    }),
    ("sluice_processor_output_bytes_total", "counter", "Bytes written to the sink.", |s| one(s.engine.output_bytes)),
    ("sluice_processor_dlq_messages_total", "counter", "Documents sent to the dead-letter queue.", |s| {
        one(s.engine.dlq_messages)
    }),
    ("sluice_processor_state_bytes", "gauge", "Operator state held, in bytes.", |s| {
        one(s.engine.operators.iter().map(|o| o.state_size_bytes).sum())
    }),
    ("sluice_processor_watermark_seconds", "gauge", "The source watermark, in seconds since the epoch.", |s| {
        s.engine.watermark.map(|w| vec![(String::new(), w as f64 / 1000.0)]).unwrap_or_default()
    }),
    ("sluice_processor_checkpoints_total", "counter", "Checkpoints taken by the current run.", |s| one(s.checkpoints)),
    ("sluice_processor_sink_write_seconds_total", "counter", "Time spent writing the sink (backpressure).", |s| {
        vec![(String::new(), s.engine.sink_write_nanos as f64 / 1e9)]
    }),
    ("sluice_processor_kafka_partition_lag", "gauge", "Messages of a Kafka partition not read yet.", |s| {
        s.engine
            .partitions
            .iter()
            .filter_map(|p| {
                let lag = p.lag()?;
                Some((format!(",topic=\"{}\",partition=\"{}\"", escape(&p.topic), p.partition), lag as f64))
            })
            .collect()
    }),
];

/// GET `/metrics`
pub async fn metrics(State(state): State<Arc<AppState>>, call: Call) -> Result<Response, ApiError> {
    let group = call.principal.project_id.clone();
    call.authorize(&state, &ops::METRICS, &group).await?;
    let mut families: Vec<Family> =
        FAMILIES.iter().map(|(name, kind, help, _)| Family { name, kind, help, samples: Vec::new() }).collect();
    let mut up = Family {
        name: "sluice_processor_up",
        kind: "gauge",
        help: "1 when the processor is STARTED.",
        samples: Vec::new(),
    };
    for w in state.store.workspaces(&group).await? {
        for p in state.store.processors(&w.id).await? {
            let labels = format!("workspace=\"{}\",processor=\"{}\"", escape(&w.name), escape(&p.name));
            up.samples.push((
                format!("{},state=\"{}\"", labels, p.state.as_str()),
                f64::from(u8::from(p.state.as_str() == "STARTED")),
            ));
            let Some(stats) = state.controller.stats_of(&p).await else { continue };
            for (family, (_, _, _, read)) in families.iter_mut().zip(FAMILIES) {
                for (extra, v) in read(&stats) {
                    family.samples.push((format!("{}{}", labels, extra), v));
                }
            }
        }
    }
    families.insert(0, up);
    let mut text = String::new();
    for f in families {
        let _ = writeln!(text, "# HELP {} {}", f.name, f.help);
        let _ = writeln!(text, "# TYPE {} {}", f.name, f.kind);
        for (labels, v) in f.samples {
            let _ = writeln!(text, "{}{{{}}} {}", f.name, labels, v);
        }
    }
    let mut r = (StatusCode::OK, text).into_response();
    r.headers_mut().insert(header::CONTENT_TYPE, HeaderValue::from_static("text/plain; version=0.0.4; charset=utf-8"));
    Ok(r)
}
