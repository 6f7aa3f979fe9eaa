//! Store records as the contract's JSON: `StreamsTenant`, `StreamsConnection`,
//! `StreamsProcessorWithStats`. Secrets never leave here.

use serde_json::{json, Map, Value as Json};
use sluice_control::LiveStats;
use sluice_store::{Connection, Processor, Workspace};
use sluice_types::ConnectionType;

use crate::call::Ctx;

/// The API path of a workspace.
pub fn workspace_path(group: &str, name: &str) -> String {
    format!("/api/atlas/v2/groups/{}/streams/{}", group, name)
}

/// `StreamsTenant`.
pub fn workspace(ctx: &Ctx, w: &Workspace, conns: &[Connection], hostnames: &[String]) -> Json {
    let path = workspace_path(&w.group_id, &w.name);
    json!({
        "_id": w.id,
        "groupId": w.group_id,
        "name": w.name,
        "dataProcessRegion": {"cloudProvider": w.cloud_provider, "region": w.region},
        "streamConfig": {"tier": w.tier.as_str()},
        "sampleConnections": {"solar": conns.iter().any(|c| c.ctype == ConnectionType::Sample && c.name == "sample_stream_solar")},
        "hostnames": hostnames,
        "connections": conns.iter().map(|c| connection(ctx, w, c)).collect::<Vec<_>>(),
        "links": ctx.self_link(&path),
    })
}

/// A copy of `v` without secret values; HTTPS header values are masked (they carry tokens).
pub fn redacted(v: &Json) -> Json {
    match v {
        Json::Object(m) => Json::Object(
            m.iter()
                .filter(|(k, _)| !sluice_types::secrets::is_secret_field(k))
                .map(|(k, v)| (k.clone(), redacted(v)))
                .collect::<Map<_, _>>(),
        ),
        Json::Array(a) => Json::Array(a.iter().map(redacted).collect()),
        other => other.clone(),
    }
}

/// `StreamsConnection` of one type.
pub fn connection(ctx: &Ctx, w: &Workspace, c: &Connection) -> Json {
    let mut body = match redacted(&c.config) {
        Json::Object(m) => m,
        _ => Map::new(),
    };
    if c.ctype == ConnectionType::Https {
        if let Some(Json::Object(h)) = body.get_mut("headers") {
            for v in h.values_mut() {
                *v = json!("********");
            }
        }
    }
    body.insert("id".into(), json!(c.id));
    body.insert("name".into(), json!(c.name));
    body.insert("type".into(), json!(c.ctype.as_str()));
    body.insert("state".into(), json!("READY"));
    body.insert(
        "links".into(),
        ctx.self_link(&format!("{}/connections/{}", workspace_path(&w.group_id, &w.name), c.name)),
    );
    Json::Object(body)
}

/// Milliseconds since the epoch as an ISO-8601 UTC string.
pub fn iso(ms: i64) -> String {
    let secs = ms.div_euclid(1000);
    let days = secs.div_euclid(86_400);
    let rem = secs.rem_euclid(86_400);
    // Civil date from days since the epoch (H. Hinnant's algorithm).
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + i64::from(m <= 2);
    format!(
        "{:04}-{:02}-{:02}T{:02}:{:02}:{:02}.{:03}Z",
        y,
        m,
        d,
        rem / 3600,
        rem % 3600 / 60,
        rem % 60,
        ms.rem_euclid(1000)
    )
}

/// The `stats` object (numbers, as Atlas sends them).
pub fn stats(p: &Processor, live: Option<&LiveStats>) -> Json {
    let default = LiveStats::default();
    let l = live.unwrap_or(&default);
    let e = &l.engine;
    let mut s = json!({
        "name": p.name,
        "processorId": p.id,
        "status": p.state.as_str(),
        "scaleFactor": 1,
        "inputMessageCount": e.input_messages,
        "inputMessageSize": e.input_bytes,
        "outputMessageCount": e.output_messages,
        "outputMessageSize": e.output_bytes,
        "dlqMessageCount": e.dlq_messages,
        "dlqMessageSize": e.dlq_bytes,
        "stateSize": e.operators.iter().map(|o| o.state_size_bytes).sum::<u64>(),
        "operatorStats": e.operators.iter().map(|o| {
            let mut op = json!({
                "name": o.name,
                "inputMessageCount": o.input_messages,
                "outputMessageCount": o.output_messages,
                "dlqMessageCount": o.dlq_messages,
                "stateSize": o.state_size_bytes,
            });
            if let Some(w) = o.watermark {
                op["watermark"] = json!(iso(w));
            }
            op
        }).collect::<Vec<_>>(),
    });
    if let Some(w) = e.watermark {
        s["watermark"] = json!(iso(w));
    }
    // Sluice: where this run's time goes. A slow sink holds the engine in its writes, and the
    // source is read no faster than the sink takes its output.
    if live.is_some() {
        s["sourceReadMillis"] = json!(e.source_read_nanos / 1_000_000);
        s["sinkWriteMillis"] = json!(e.sink_write_nanos / 1_000_000);
    }
    // Atlas's shape: percentiles of the processing latency, and the period they cover.
    if let Some(l) = e.latency {
        s["latency"] = json!({"p50": l.p50_us, "p99": l.p99_us, "start": iso(l.start_ms), "end": iso(l.end_ms), "unit": "microseconds"});
    }
    if !e.partitions.is_empty() {
        s["kafkaPartitions"] = json!(e
            .partitions
            .iter()
            .map(|p| json!({
                "topic": p.topic,
                "partition": p.partition,
                "currentOffset": p.current,
                "endOffset": p.end,
                "lag": p.lag(),
                "isIdle": p.idle,
            }))
            .collect::<Vec<_>>());
    }
    if live.is_some() && l.started_at_ms > 0 {
        s["startedAt"] = json!(iso(l.started_at_ms));
    }
    if let Some(ms) = l.first_output_after_ms {
        s["firstOutputAfterMs"] = json!(ms);
    }
    // Sluice: what checkpointing costs this run.
    if live.is_some() {
        s["checkpointCount"] = json!(l.checkpoints);
    }
    // Sluice: external systems failing the run now; its connectors retry them while the
    // processor stays STARTED, up to its `retryLimitMs`.
    if live.is_some() {
        s["retryCount"] = json!(l.retries);
    }
    if !l.troubles.is_empty() {
        s["connectionErrors"] = json!(l
            .troubles
            .iter()
            .map(|t| json!({
                "connection": t.connection,
                "error": t.message,
                "since": iso(t.since_ms),
                "attempts": t.attempts,
            }))
            .collect::<Vec<_>>());
    }
    if let Some(c) = l.last_checkpoint {
        s["lastCheckpoint"] = json!({
            "id": c.seq,
            "time": iso(c.taken_at_ms),
            "durationMillis": c.duration_ms,
            "sizeBytes": c.size_bytes,
        });
    }
    s
}

/// `StreamsProcessorWithStats`.
pub fn processor(ctx: &Ctx, w: &Workspace, p: &Processor, live: Option<&LiveStats>) -> Json {
    let mut b = json!({
        "_id": p.id,
        "name": p.name,
        "pipeline": p.pipeline,
        "state": p.state.as_str(),
        "options": p.options,
        "stats": stats(p, live),
        "links": ctx.self_link(&format!("{}/processor/{}", workspace_path(&w.group_id, &w.name), p.name)),
    });
    b["tier"] = json!(p.tier.unwrap_or(w.tier).as_str());
    if let Some(m) = &p.error_msg {
        b["errorMsg"] = json!(m);
    }
    b
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn iso_dates() {
        assert_eq!(iso(0), "1970-01-01T00:00:00.000Z");
        assert_eq!(iso(1_723_498_861_788), "2024-08-12T21:41:01.788Z");
        assert_eq!(iso(951_782_400_000), "2000-02-29T00:00:00.000Z");
    }

    #[test]
    fn secrets_are_dropped_at_any_depth() {
        let v = json!({"authentication": {"username": "u", "password": "p"}, "list": [{"secret": 1, "k": 2}]});
        assert_eq!(redacted(&v), json!({"authentication": {"username": "u"}, "list": [{"k": 2}]}));
    }
}
