//! `GET /metrics` (a Sluice extension): the caller's project's processors in the Prometheus text
//! format. Authenticated like every route (a Prometheus scrape config uses a service account's
//! bearer token); any project role may read it.

use std::sync::atomic::AtomicU64;
use std::sync::Arc;

use axum::extract::State;
use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use prometheus_client::encoding::text::encode;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::registry::Registry;
use sluice_control::LiveStats;

use crate::call::Call;
use crate::error::ApiError;
use crate::operation::ops;
use crate::state::AppState;

/// The labels of a sample: workspace and processor first, then the metric's own.
type Labels = Vec<(&'static str, String)>;
/// A whole-number counter per label set (exposed with `_total`).
type Counts = Family<Labels, Counter>;
/// A whole-number gauge per label set.
type Levels = Family<Labels, Gauge>;

/// The processor metrics of one scrape, built from the controller's live stats.
#[derive(Default)]
struct Metrics {
    up: Levels,
    input_messages: Counts,
    input_bytes: Counts,
    output_messages: Counts,
    output_bytes: Counts,
    dlq_messages: Counts,
    state_bytes: Levels,
    watermark_seconds: Family<Labels, Gauge<f64, AtomicU64>>,
    checkpoints: Counts,
    sink_write_seconds: Family<Labels, Counter<f64, AtomicU64>>,
    kafka_partition_lag: Levels,
}

/// Converts a count to a gauge's `i64`, saturating (no count of this server reaches it).
fn level(v: u64) -> i64 {
    i64::try_from(v).unwrap_or(i64::MAX)
}

impl Metrics {
    fn registry(&self) -> Registry {
        let mut r = Registry::default();
        r.register("sluice_processor_up", "1 when the processor is STARTED.", self.up.clone());
        r.register("sluice_processor_input_messages", "Records read from the source.", self.input_messages.clone());
        r.register("sluice_processor_input_bytes", "Bytes read from the source.", self.input_bytes.clone());
        r.register("sluice_processor_output_messages", "Documents written to the sink.", self.output_messages.clone());
        r.register("sluice_processor_output_bytes", "Bytes written to the sink.", self.output_bytes.clone());
        r.register(
            "sluice_processor_dlq_messages",
            "Documents sent to the dead-letter queue.",
            self.dlq_messages.clone(),
        );
        r.register("sluice_processor_state_bytes", "Operator state held, in bytes.", self.state_bytes.clone());
        r.register(
            "sluice_processor_watermark_seconds",
            "The source watermark, in seconds since the epoch.",
            self.watermark_seconds.clone(),
        );
        r.register("sluice_processor_checkpoints", "Checkpoints taken by the current run.", self.checkpoints.clone());
        r.register(
            "sluice_processor_sink_write_seconds",
            "Time spent writing the sink (backpressure).",
            self.sink_write_seconds.clone(),
        );
        r.register(
            "sluice_processor_kafka_partition_lag",
            "Messages of a Kafka partition not read yet.",
            self.kafka_partition_lag.clone(),
        );
        r
    }

    /// Records one running processor's stats under `labels`.
    fn record(&self, labels: &Labels, s: &LiveStats) {
        let e = &s.engine;
        // A fresh registry per scrape: a counter starts at 0, so adding the total sets it.
        self.input_messages.get_or_create(labels).inc_by(e.input_messages);
        self.input_bytes.get_or_create(labels).inc_by(e.input_bytes);
        self.output_messages.get_or_create(labels).inc_by(e.output_messages);
        self.output_bytes.get_or_create(labels).inc_by(e.output_bytes);
        self.dlq_messages.get_or_create(labels).inc_by(e.dlq_messages);
        self.state_bytes.get_or_create(labels).set(level(e.operators.iter().map(|o| o.state_size_bytes).sum()));
        if let Some(w) = e.watermark {
            self.watermark_seconds.get_or_create(labels).set(w as f64 / 1000.0);
        }
        self.checkpoints.get_or_create(labels).inc_by(s.checkpoints);
        self.sink_write_seconds.get_or_create(labels).inc_by(e.sink_write_nanos as f64 / 1e9);
        for p in &e.partitions {
            if let Some(lag) = p.lag() {
                let mut l = labels.clone();
                l.push(("topic", p.topic.to_string()));
                l.push(("partition", p.partition.to_string()));
                self.kafka_partition_lag.get_or_create(&l).set(lag);
            }
        }
    }
}

/// GET `/metrics`
pub async fn metrics(State(state): State<Arc<AppState>>, call: Call) -> Result<Response, ApiError> {
    let group = call.principal.project_id.clone();
    call.authorize(&state, &ops::METRICS, &group).await?;
    let m = Metrics::default();
    for w in state.store.workspaces(&group).await? {
        for p in state.store.processors(&w.id).await? {
            let labels: Labels = vec![("workspace", w.name.clone()), ("processor", p.name.clone())];
            let mut with_state = labels.clone();
            with_state.push(("state", p.state.as_str().to_string()));
            m.up.get_or_create(&with_state).set(i64::from(p.state.as_str() == "STARTED"));
            if let Some(stats) = state.controller.stats_of(&p).await {
                m.record(&labels, &stats);
            }
        }
    }
    let mut text = String::new();
    encode(&mut text, &m.registry()).map_err(|_| ApiError::unexpected("the metrics could not be encoded"))?;
    let mut r = (StatusCode::OK, text).into_response();
    r.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/openmetrics-text; version=1.0.0; charset=utf-8"),
    );
    Ok(r)
}
