//! Audit and operational log downloads: JSON lines, gzip-compressed, in a time range.

use std::io::Write;
use std::sync::Arc;

use axum::extract::{Path, State};
use axum::response::Response;
use sluice_store::LogKind;

use crate::call::Call;
use crate::error::ApiError;
use crate::operation::{ops, Operation};
use crate::reply;
use crate::routes::workspaces::find;
use crate::state::AppState;

/// `startDate`, `endDate` (seconds since the epoch), `spName`.
#[derive(Default)]
pub struct LogQuery {
    start_date: Option<i64>,
    end_date: Option<i64>,
    sp_name: Option<String>,
}

async fn download(
    state: &AppState,
    call: &Call,
    group: &str,
    tenant: &str,
    op: &Operation,
    kind: LogKind,
    q: LogQuery,
) -> Result<Response, ApiError> {
    let ctx = call.begin(state, op, group).await?;
    let w = find(state, &ctx, tenant).await?;
    let from = q.start_date.map(|s| s.saturating_mul(1000)).unwrap_or(i64::MIN);
    let to = q.end_date.map(|s| s.saturating_mul(1000)).unwrap_or(i64::MAX);
    let mut text = String::new();
    for e in state.store.logs(&w.id, kind, from, to).await? {
        let mut line: serde_json::Value =
            serde_json::from_str(&e.line).unwrap_or_else(|_| serde_json::json!({"msg": e.line}));
        if let Some(name) = &q.sp_name {
            if line.get("processor").and_then(|p| p.as_str()) != Some(name.as_str()) {
                continue;
            }
        }
        line["t"] = serde_json::json!(crate::shape::iso(e.at_ms));
        text.push_str(&line.to_string());
        text.push('\n');
    }
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    gz.write_all(text.as_bytes()).map_err(|e| ApiError::unexpected(&e.to_string()))?;
    let data = gz.finish().map_err(|e| ApiError::unexpected(&e.to_string()))?;
    Ok(reply::bytes(data, &ctx.version))
}

/// GET `/groups/{groupId}/streams/{tenantName}:downloadOperationalLogs`
pub async fn operational(state: &AppState, call: &Call, group: &str, tenant: &str) -> Result<Response, ApiError> {
    let q = log_query(call)?;
    download(state, call, group, tenant, &ops::OPERATIONAL_LOGS, LogKind::Operational, q).await
}

/// The log query of a call, or Atlas's 400 naming the parameters.
fn log_query(call: &Call) -> Result<LogQuery, ApiError> {
    match call.query.as_deref() {
        Some(s) => parse_log_query(s).ok_or_else(|| {
            ApiError::new(
                axum::http::StatusCode::BAD_REQUEST,
                "INVALID_QUERY_PARAMETER",
                "startDate and endDate must be seconds since the epoch.",
            )
        }),
        None => Ok(LogQuery::default()),
    }
}

/// GET `/groups/{groupId}/streams/{tenantName}/auditLogs`
pub async fn audit(
    State(state): State<Arc<AppState>>,
    call: Call,
    Path((group, tenant)): Path<(String, String)>,
) -> Result<Response, ApiError> {
    let q = log_query(&call)?;
    download(&state, &call, &group, &tenant, &ops::AUDIT_LOGS, LogKind::Audit, q).await
}

/// Seconds since the epoch: a whole number, also written with a zero fraction (`1636466948.0`,
/// as the contract's own example is).
fn epoch_seconds(v: &str) -> Option<i64> {
    let whole = match v.split_once('.') {
        Some((w, frac)) if !frac.is_empty() && frac.bytes().all(|b| b == b'0') => w,
        Some(_) => return None,
        None => v,
    };
    whole.parse().ok()
}

/// The log query from a raw query string (the operational route shares its path with GET workspace).
fn parse_log_query(q: &str) -> Option<LogQuery> {
    let mut out = LogQuery::default();
    for pair in q.split('&') {
        let (k, v) = pair.split_once('=').unwrap_or((pair, ""));
        match k {
            "startDate" => out.start_date = Some(epoch_seconds(v)?),
            "endDate" => out.end_date = Some(epoch_seconds(v)?),
            "spName" => out.sp_name = Some(v.to_string()),
            _ => {}
        }
    }
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dates_are_whole_seconds_with_or_without_a_zero_fraction() {
        assert_eq!(epoch_seconds("1636466948"), Some(1636466948));
        assert_eq!(epoch_seconds("1636466948.0"), Some(1636466948));
        assert_eq!(epoch_seconds("1636466948.00"), Some(1636466948));
        assert_eq!(epoch_seconds("1636466948.5"), None);
        assert_eq!(epoch_seconds("1636466948."), None);
        assert_eq!(epoch_seconds("soon"), None);
        let q = parse_log_query("startDate=1.0&endDate=2&spName=p1").expect("a query");
        assert_eq!((q.start_date, q.end_date, q.sp_name.as_deref()), (Some(1), Some(2), Some("p1")));
        assert!(parse_log_query("endDate=2.5").is_none());
    }
}
