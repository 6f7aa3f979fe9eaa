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

/// `(date, format)` of the Atlas media types in an Accept header, in order.
fn atlas_media_types(accept: &str) -> impl Iterator<Item = (&str, &str)> {
    accept.split(',').filter_map(|part| {
        let media = part.split(';').next()?.trim();
        let rest = media.strip_prefix("application/vnd.atlas.")?;
        let (date, fmt) = rest.split_once('+')?;
        is_calendar_date(date).then_some((date, fmt))
    })
}

/// `(date, format)` of the Atlas media type an Accept header asks for: the first in the
/// operation's format (a client may accept `+json` and `+gzip` alike), else the first.
fn requested(accept: &str, format: Format) -> Option<(&str, &str)> {
    let name = match format {
        Format::Json => "json",
        Format::Gzip => "gzip",
    };
    atlas_media_types(accept).find(|(_, f)| *f == name).or_else(|| atlas_media_types(accept).next())
}

/// Whether `date` is `YYYY-MM-DD` naming a day that exists (Atlas answers 406 for `2023-13-45`).
fn is_calendar_date(date: &str) -> bool {
    let b = date.as_bytes();
    let shape = b.len() == 10
        && b.iter().enumerate().all(|(i, c)| if i == 4 || i == 7 { *c == b'-' } else { c.is_ascii_digit() });
    if !shape {
        return false;
    }
    // The shape check makes these digit runs.
    let num = |r: std::ops::Range<usize>| date[r].parse::<u32>().unwrap_or(0);
    let (year, month, day) = (num(0..4), num(5..7), num(8..10));
    (1..=12).contains(&month) && day >= 1 && day <= sluice_mql::days_in_month(i64::from(year), month)
}

/// Chooses the version of `op` for an Accept header.
pub fn negotiate(op: &Operation, accept: Option<&str>) -> Result<Version, ApiError> {
    let (date, fmt) = match accept.and_then(|a| requested(a, op.format)) {
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
    fn a_header_accepting_both_formats_gets_the_operations_own() {
        let both = "application/vnd.atlas.2025-03-12+json, application/vnd.atlas.2025-03-12+gzip";
        assert_eq!(date(&ops::AUDIT_LOGS, Some(both)), Ok("2023-02-01"));
        assert_eq!(date(&ops::GET_WORKSPACE, Some(both)), Ok("2023-02-01"));
        assert_eq!(date(&ops::AUDIT_LOGS, Some("application/vnd.atlas.2025-03-12+json")), Err("INVALID_VERSION_DATE"));
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
        for not_a_day in ["2023-13-45", "2023-00-10", "2023-02-29", "2024-04-31", "2024-01-00"] {
            let accept = format!("application/vnd.atlas.{}+json", not_a_day);
            assert_eq!(date(&ops::GET_WORKSPACE, Some(&accept)), Err("INVALID_VERSION_DATE"), "{}", not_a_day);
        }
        assert_eq!(date(&ops::GET_WORKSPACE, Some("application/vnd.atlas.2024-02-29+json")), Ok("2023-02-01"));
        assert_eq!(
            date(&ops::GET_WORKSPACE, Some("application/vnd.atlas.2024-01-01+gzip")),
            Err("INVALID_VERSION_DATE")
        );
        assert_eq!(date(&ops::AUDIT_LOGS, Some("application/vnd.atlas.2024-01-01+json")), Err("INVALID_VERSION_DATE"));
        assert_eq!(date(&ops::AUDIT_LOGS, Some("application/vnd.atlas.2024-01-01+gzip")), Ok("2023-02-01"));
    }
}
