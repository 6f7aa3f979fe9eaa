//! JavaScript for `$function` and `$accumulator`, run by QuickJS.
//!
//! A [`JsProgram`] is the source of one or more functions compiled together (a `$function` body,
//! or an `$accumulator`'s `init`, `accumulate`, `merge` and `finalize`). It is checked once when
//! the pipeline is compiled, in a runtime of its own, so that a syntax error is a pipeline error.
//! A QuickJS runtime is not `Send` here, so each thread that calls a program compiles it once
//! into a runtime of its own and keeps it (see `runtime.rs`); a call then converts its arguments,
//! calls the compiled function and converts the result, with no parsing.
//!
//! Each runtime has a memory cap and each call a time cap ([`JsLimits`]); reaching either fails
//! that call, and so that event, which goes to the DLQ. How values cross between BSON and
//! JavaScript is in `convert.rs` and in docs/javascript.md.

mod convert;
mod limits;
mod prelude;
mod runtime;

use std::sync::Arc;

use crate::{Str, Value};

pub use limits::{
    default_limits, set_default_limits, JsLimits, DEFAULT_JS_CALL_MILLIS, DEFAULT_JS_MEMORY_BYTES, JS_STACK_BYTES,
    MAX_RUNTIMES_PER_THREAD,
};

/// Why JavaScript failed to compile or to run.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum JsError {
    /// A function's source is not valid JavaScript (`SyntaxError: ...`).
    #[error("{0}")]
    Syntax(String),
    /// A function's source evaluates to something else than a function (its JavaScript type).
    #[error("must be a JavaScript function, found {0}")]
    NotAFunction(&'static str),
    /// The function threw (`Error: message`).
    #[error("{0}")]
    Thrown(String),
    /// The call ran past the time cap.
    #[error("JavaScript ran longer than its time limit of {0} ms")]
    TimedOut(u128),
    /// The runtime reached its memory cap.
    #[error("JavaScript used more than its memory limit of {0} bytes")]
    OutOfMemory(usize),
    /// A value cannot be converted between BSON and JavaScript.
    #[error("{0}")]
    Conversion(String),
    /// The engine could not start a runtime.
    #[error("cannot start a JavaScript runtime: {0}")]
    Engine(String),
}

/// The source of functions compiled together, and the limits they run under. Cheap to clone
/// (clones share the source and, on each thread, the compiled runtime); `Send` and `Sync`.
#[derive(Debug, Clone)]
pub struct JsProgram(Arc<ProgramSource>);

/// What a program is made of.
#[derive(Debug, PartialEq)]
pub(crate) struct ProgramSource {
    /// Each function's source, as written in the pipeline.
    pub(crate) functions: Vec<Str>,
    /// The caps it runs under.
    pub(crate) limits: JsLimits,
}

impl PartialEq for JsProgram {
    fn eq(&self, other: &JsProgram) -> bool {
        self.0 == other.0
    }
}

impl JsProgram {
    /// Compiles functions from their sources with the default limits, and checks that each is a
    /// function; the error says which failed (its index) and why.
    pub fn compile(functions: Vec<Str>) -> Result<JsProgram, (usize, JsError)> {
        JsProgram::compile_with(functions, default_limits())
    }

    /// [`JsProgram::compile`] with explicit limits.
    pub fn compile_with(functions: Vec<Str>, limits: JsLimits) -> Result<JsProgram, (usize, JsError)> {
        let program = JsProgram(Arc::new(ProgramSource { functions, limits }));
        // Checked in a runtime of its own, dropped at once: the thread that validates a pipeline
        // is seldom the one that runs it.
        runtime::Instance::new(&program.0)?;
        Ok(program)
    }

    /// Calls function `index` with `args`, and converts what it returns (undefined becomes null).
    pub fn call(&self, index: usize, args: &[&Value]) -> Result<Value, JsError> {
        runtime::call(&self.0, index, args)
    }

    /// The limits the program runs under.
    pub fn limits(&self) -> JsLimits {
        self.0.limits
    }
}

#[cfg(test)]
mod tests;
