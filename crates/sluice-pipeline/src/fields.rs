//! Small readers for stage arguments that turn a wrong field into a stage error.

use sluice_mql::{Document, Value};
use sluice_types::{Interval, TimeUnit};

use crate::PipelineError;

/// A value as JSON, for error messages.
pub(crate) fn show(v: &Value) -> String {
    let mut s = String::new();
    sluice_mql::json::write_value(&mut s, v, sluice_mql::json::JsonMode::Relaxed);
    s
}

/// Reads the arguments of one stage and reports errors against it.
pub(crate) struct StageArgs<'a> {
    pub index: usize,
    pub stage: &'a str,
}

impl StageArgs<'_> {
    pub fn err(&self, message: impl Into<String>) -> PipelineError {
        PipelineError::stage(self.index, self.stage, message)
    }

    pub fn doc<'v>(&self, v: &'v Value, what: &str) -> Result<&'v Document, PipelineError> {
        v.as_document().ok_or_else(|| self.err(format!("{} must be an object, found {}", what, v.bson_type().alias())))
    }

    pub fn only(&self, d: &Document, allowed: &[&str]) -> Result<(), PipelineError> {
        match d.keys().find(|k| !allowed.contains(&k.as_str())) {
            Some(k) => Err(self.err(format!("unknown field '{}'; expected one of: {}", k, allowed.join(", ")))),
            None => Ok(()),
        }
    }

    pub fn required<'v>(&self, d: &'v Document, key: &str) -> Result<&'v Value, PipelineError> {
        d.get(key).ok_or_else(|| self.err(format!("{} is required", key)))
    }

    pub fn string<'v>(&self, v: &'v Value, what: &str) -> Result<&'v str, PipelineError> {
        v.as_str().ok_or_else(|| self.err(format!("{} must be a string, found {}", what, v.bson_type().alias())))
    }

    pub fn bool(&self, v: &Value, what: &str) -> Result<bool, PipelineError> {
        match v {
            Value::Bool(b) => Ok(*b),
            other => Err(self.err(format!("{} must be a boolean, found {}", what, other.bson_type().alias()))),
        }
    }

    /// `{size, unit}` under `what` (e.g. `interval`); a zero size is refused unless `allow_zero`.
    pub fn interval(&self, v: &Value, what: &str, allow_zero: bool) -> Result<Interval, PipelineError> {
        let d = self.doc(v, what)?;
        if let Some(k) = d.keys().find(|k| !matches!(k.as_str(), "size" | "unit")) {
            return Err(self.err(format!("{}.{} is not a valid field; expected size and unit", what, k)));
        }
        let size = d
            .get("size")
            .ok_or_else(|| self.err(format!("{}.size is required", what)))?
            .as_exact_i64()
            .ok_or_else(|| self.err(format!("{}.size must be an integer", what)))?;
        if size < 0 || (size == 0 && !allow_zero) {
            return Err(self.err(format!("{}.size must be a positive integer, got {}", what, size)));
        }
        let unit_v = d.get("unit").ok_or_else(|| self.err(format!("{}.unit is required", what)))?;
        let unit = unit_v.as_str().and_then(TimeUnit::parse).ok_or_else(|| {
            self.err(format!("{}.unit must be one of {}, got {}", what, TimeUnit::NAMES, show(unit_v)))
        })?;
        Interval::new(size, unit).map_err(|e| self.err(format!("{}: {}", what, e)))
    }
}
