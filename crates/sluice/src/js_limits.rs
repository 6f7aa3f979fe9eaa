//! The JavaScript caps of `$function` and `$accumulator`, as flags of `serve` and `run`
//! (docs/limits.md).

use std::time::Duration;

use clap::Args;
use sluice_mql::js::{set_default_limits, JsLimits, DEFAULT_JS_CALL_MILLIS, DEFAULT_JS_MEMORY_BYTES};

/// The JavaScript caps.
#[derive(Args)]
pub struct JsLimitArgs {
    /// MiB of memory each JavaScript runtime (one per `$function` or `$accumulator` of a running
    /// processor) may allocate; past it the call fails and its event goes to the DLQ.
    #[arg(long, env = "SLUICE_JS_MEMORY_LIMIT_MB", default_value_t = DEFAULT_JS_MEMORY_BYTES >> 20)]
    js_memory_limit_mb: usize,
    /// Milliseconds one call of a JavaScript function may run; past it the call is stopped and
    /// its event goes to the DLQ.
    #[arg(long, env = "SLUICE_JS_CALL_TIMEOUT_MS", default_value_t = DEFAULT_JS_CALL_MILLIS)]
    js_call_timeout_ms: u64,
}

impl JsLimitArgs {
    /// Makes these the limits of every pipeline compiled from now on.
    pub fn apply(&self) {
        set_default_limits(JsLimits {
            memory_bytes: self.js_memory_limit_mb.max(1).saturating_mul(1 << 20),
            call_time: Duration::from_millis(self.js_call_timeout_ms.max(1)),
        });
    }
}
