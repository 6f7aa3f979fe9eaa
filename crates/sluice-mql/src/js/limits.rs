//! The caps on JavaScript (`$function`, `$accumulator`): memory per runtime and time per call.
//! Named settings with defaults; the server may change them once at start-up
//! ([`set_default_limits`]), and each compiled program keeps the limits it was compiled with.

use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::time::Duration;

/// The most memory one JavaScript runtime may allocate (MongoDB caps its JavaScript heap at
/// 100 MB by default, `internalQueryJavaScriptHeapSizeLimitMB`).
pub const DEFAULT_JS_MEMORY_BYTES: usize = 100 * 1024 * 1024;

/// The longest one call of a JavaScript function may run. MongoDB allows 60 s
/// (`internalQueryJavaScriptFnTimeoutMillis`), which would hold a stream processor's thread for a
/// minute per event; a stream processor's function is called once per event or per document.
pub const DEFAULT_JS_CALL_MILLIS: u64 = 1_000;

/// The most native stack a JavaScript call may use (deep recursion stops with a RangeError
/// rather than overflowing the processor thread's stack).
pub const JS_STACK_BYTES: usize = 1024 * 1024;

/// How many JavaScript runtimes one thread keeps (one per compiled program it has called); past
/// this the least recently created is dropped and compiled again when next called.
pub const MAX_RUNTIMES_PER_THREAD: usize = 64;

/// Limits for the JavaScript of one compiled program.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct JsLimits {
    /// The memory cap of each runtime running the program, in bytes.
    pub memory_bytes: usize,
    /// The time cap of each call.
    pub call_time: Duration,
}

impl Default for JsLimits {
    fn default() -> JsLimits {
        JsLimits { memory_bytes: DEFAULT_JS_MEMORY_BYTES, call_time: Duration::from_millis(DEFAULT_JS_CALL_MILLIS) }
    }
}

static MEMORY_BYTES: AtomicUsize = AtomicUsize::new(DEFAULT_JS_MEMORY_BYTES);
static CALL_MILLIS: AtomicU64 = AtomicU64::new(DEFAULT_JS_CALL_MILLIS);

/// Sets the limits that programs compiled from now on get (the server's configuration, applied
/// once at start-up; programs already compiled keep theirs).
pub fn set_default_limits(limits: JsLimits) {
    MEMORY_BYTES.store(limits.memory_bytes, Ordering::Relaxed);
    CALL_MILLIS.store(u64::try_from(limits.call_time.as_millis()).unwrap_or(u64::MAX), Ordering::Relaxed);
}

/// The limits that programs compiled now get.
pub fn default_limits() -> JsLimits {
    JsLimits {
        memory_bytes: MEMORY_BYTES.load(Ordering::Relaxed),
        call_time: Duration::from_millis(CALL_MILLIS.load(Ordering::Relaxed)),
    }
}
