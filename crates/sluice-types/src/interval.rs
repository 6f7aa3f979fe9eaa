//! Durations as Atlas Stream Processing writes them: `{size: 10, unit: "second"}`.

use serde::{Deserialize, Serialize};

/// A unit of an Atlas interval (`interval.unit`, `gap.unit`, `allowedLateness.unit`, ...).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum TimeUnit {
    /// Milliseconds.
    Ms,
    /// Seconds.
    Second,
    /// Minutes.
    Minute,
    /// Hours.
    Hour,
    /// Days (24 hours; event time is UTC).
    Day,
}

impl TimeUnit {
    /// Every unit name Atlas accepts, for error messages.
    pub const NAMES: &'static str = "ms, second, minute, hour, day";

    /// Parses a unit name as Atlas spells it (`"ms"`, `"second"`, ...).
    pub fn parse(name: &str) -> Option<TimeUnit> {
        Some(match name {
            "ms" | "millisecond" => TimeUnit::Ms,
            "second" => TimeUnit::Second,
            "minute" => TimeUnit::Minute,
            "hour" => TimeUnit::Hour,
            "day" => TimeUnit::Day,
            _ => return None,
        })
    }

    /// Length of one unit in milliseconds.
    pub fn millis(self) -> i64 {
        match self {
            TimeUnit::Ms => 1,
            TimeUnit::Second => 1_000,
            TimeUnit::Minute => 60_000,
            TimeUnit::Hour => 3_600_000,
            TimeUnit::Day => 86_400_000,
        }
    }
}

/// Why an interval is not valid.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum IntervalError {
    /// `size` is negative (or zero where the caller requires a positive size).
    #[error("size must be a positive integer, got {0}")]
    NotPositive(i64),
    /// `size * unit` does not fit in 64-bit milliseconds.
    #[error("size {0} {1:?} overflows")]
    Overflow(i64, TimeUnit),
}

/// A length of time, `size` units of `unit`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Interval {
    /// How many units.
    pub size: i64,
    /// Which unit.
    pub unit: TimeUnit,
}

impl Interval {
    /// Builds an interval of a non-negative size, checking it fits in milliseconds.
    pub fn new(size: i64, unit: TimeUnit) -> Result<Interval, IntervalError> {
        if size < 0 {
            return Err(IntervalError::NotPositive(size));
        }
        size.checked_mul(unit.millis()).ok_or(IntervalError::Overflow(size, unit))?;
        Ok(Interval { size, unit })
    }

    /// The interval in milliseconds (checked at construction not to overflow).
    pub fn millis(&self) -> i64 {
        self.size.saturating_mul(self.unit.millis())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn units_parse_and_scale() {
        assert_eq!(TimeUnit::parse("second").map(TimeUnit::millis), Some(1000));
        assert_eq!(TimeUnit::parse("day").map(TimeUnit::millis), Some(86_400_000));
        assert_eq!(TimeUnit::parse("week"), None);
    }

    #[test]
    fn interval_rejects_negative_and_overflow() {
        assert_eq!(Interval::new(-1, TimeUnit::Ms), Err(IntervalError::NotPositive(-1)));
        assert!(Interval::new(i64::MAX, TimeUnit::Day).is_err());
        assert_eq!(Interval::new(10, TimeUnit::Second).map(|i| i.millis()), Ok(10_000));
    }
}
