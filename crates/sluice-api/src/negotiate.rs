//! Versioned media types. A request names a date in `Accept: application/vnd.atlas.DATE+json`;
//! the answer uses the newest version of the operation not later than that date. Without a
//! version, Atlas assumes 2023-01-01, earlier than every Streams version, so it is refused
//! with 406 as an earlier date is.

use crate::error::ApiError;
use crate::operation::{Format, Operation};

/// The date Atlas assumes when a request names none.
const DEFAULT_DATE: &str = "2023-01-01";

/// The version an operation answers with.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Version {
    /// The date of the version.
    pub date: &'static str,
    /// The response format.
    pub format: Format,
}

impl Version {
    /// The response content type.
    pub fn content_type(&self) -> String {
        match self.format {
            Format::Json => format!("application/vnd.atlas.{}+json;charset=utf-8", self.date),
            Format::Gzip => format!("application/vnd.atlas.{}+gzip", self.date),
        }
    }
}

/// `(date, format)` of the first Atlas media type in an Accept header.
fn requested(accept: &str) -> Option<(&str, &str)> {
    accept.split(',').find_map(|part| {
        let media = part.split(';').next()?.trim();
        let rest = media.strip_prefix("application/vnd.atlas.")?;
        let (date, fmt) = rest.split_once('+')?;
        let valid = date.len() == 10
            && date.bytes().enumerate().all(|(i, b)| if i == 4 || i == 7 { b == b'-' } else { b.is_ascii_digit() });
        valid.then_some((date, fmt))
    })
}

/// Chooses the version of `op` for an Accept header.
pub fn negotiate(op: &Operation, accept: Option<&str>) -> Result<Version, ApiError> {
    let (date, fmt) = match accept.and_then(requested) {
        Some(x) => x,
        None => {
            // A header naming an Atlas media type we cannot read is an error, not a default.
            if accept.is_some_and(|a| a.contains("application/vnd.atlas.")) {
                return Err(ApiError::invalid_version());
            }
            (DEFAULT_DATE, "json")
        }
    };
    let want = match fmt {
        "json" => Format::Json,
        "gzip" => Format::Gzip,
        _ => return Err(ApiError::invalid_version()),
    };
    if want != op.format {
        return Err(ApiError::invalid_version());
    }
    // Dates in ISO form compare as strings.
    let date = op.versions.iter().rev().find(|v| **v <= date).ok_or_else(ApiError::invalid_version)?;
    Ok(Version { date, format: op.format })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::operation::ops;

    fn date(op: &Operation, accept: Option<&str>) -> Result<&'static str, &'static str> {
        negotiate(op, accept).map(|v| v.date).map_err(|e| e.code)
    }

    #[test]
    fn newest_version_not_later_than_the_date() {
        assert_eq!(date(&ops::CREATE_WORKSPACE, Some("application/vnd.atlas.2023-02-01+json")), Ok("2023-02-01"));
        // The seeds send later dates than the contract lists: they must work.
        assert_eq!(date(&ops::CREATE_WORKSPACE, Some("application/vnd.atlas.2025-03-12+json")), Ok("2023-02-01"));
        assert_eq!(date(&ops::STOP_PROCESSOR, Some("application/vnd.atlas.2024-11-13+json")), Ok("2024-05-30"));
        assert_eq!(
            date(&ops::START_PROCESSOR, Some("text/html, application/vnd.atlas.2025-03-12+json;q=0.9")),
            Ok("2024-05-30")
        );
    }

    #[test]
    fn earlier_dates_missing_versions_and_wrong_formats_get_406() {
        assert_eq!(
            date(&ops::START_PROCESSOR, Some("application/vnd.atlas.2024-05-29+json")),
            Err("INVALID_VERSION_DATE")
        );
        assert_eq!(
            date(&ops::START_PROCESSOR_WITH, Some("application/vnd.atlas.2024-11-13+json")),
            Err("INVALID_VERSION_DATE")
        );
        assert_eq!(date(&ops::GET_WORKSPACE, None), Err("INVALID_VERSION_DATE"));
        assert_eq!(date(&ops::GET_WORKSPACE, Some("application/json")), Err("INVALID_VERSION_DATE"));
        assert_eq!(
            date(&ops::GET_WORKSPACE, Some("application/vnd.atlas.yesterday+json")),
            Err("INVALID_VERSION_DATE")
        );
        assert_eq!(
            date(&ops::GET_WORKSPACE, Some("application/vnd.atlas.2024-01-01+gzip")),
            Err("INVALID_VERSION_DATE")
        );
        assert_eq!(date(&ops::AUDIT_LOGS, Some("application/vnd.atlas.2024-01-01+json")), Err("INVALID_VERSION_DATE"));
        assert_eq!(date(&ops::AUDIT_LOGS, Some("application/vnd.atlas.2024-01-01+gzip")), Ok("2023-02-01"));
    }
}
