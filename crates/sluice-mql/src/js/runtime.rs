//! QuickJS runtimes: one per compiled program per thread, created at the first call on that
//! thread and kept, so that no call parses JavaScript. Each has its memory cap, a native stack
//! cap, and an interrupt handler that stops a call past its deadline.

use std::cell::{Cell, RefCell};
use std::rc::Rc;
use std::sync::{Arc, Weak};
use std::time::{Duration, Instant};

use rquickjs::{CatchResultExt, CaughtError, Context, Ctx, Function, Persistent, Runtime, Value as JsValue};

use super::convert::{from_js_result, to_js, Classes, Fail};
use super::limits::{JS_STACK_BYTES, MAX_RUNTIMES_PER_THREAD};
use super::{prelude, JsError, ProgramSource};
use crate::Value;

/// A program compiled into a runtime of its own.
pub(super) struct Instance {
    // Fields drop in order: the JavaScript values before their context, the context before its
    // runtime (QuickJS asserts that a runtime it frees holds no live object).
    functions: Vec<Persistent<Function<'static>>>,
    classes: Persistent<Classes<'static>>,
    context: Context,
    runtime: Runtime,
    /// When the running call must stop; `None` between calls.
    deadline: Rc<Cell<Option<Instant>>>,
    /// Set by the interrupt handler when it stopped a call.
    interrupted: Rc<Cell<bool>>,
    memory_bytes: usize,
    call_time: Duration,
}

impl Instance {
    /// Starts a runtime with the program's limits, installs the prelude and compiles every
    /// function. An error names the function (its index) that failed.
    pub(super) fn new(program: &ProgramSource) -> Result<Instance, (usize, JsError)> {
        let engine = |e: rquickjs::Error| (0, JsError::Engine(e.to_string()));
        let runtime = Runtime::new().map_err(engine)?;
        runtime.set_memory_limit(program.limits.memory_bytes);
        runtime.set_max_stack_size(JS_STACK_BYTES);
        let deadline: Rc<Cell<Option<Instant>>> = Rc::new(Cell::new(None));
        let interrupted = Rc::new(Cell::new(false));
        let (d, i) = (deadline.clone(), interrupted.clone());
        runtime.set_interrupt_handler(Some(Box::new(move || {
            let stop = d.get().is_some_and(|at| Instant::now() >= at);
            if stop {
                i.set(true);
            }
            stop
        })));
        let context = Context::full(&runtime).map_err(engine)?;
        let mut instance = Instance {
            functions: Vec::with_capacity(program.functions.len()),
            classes: context.with(|ctx| prelude::install(&ctx).map(|c| Persistent::save(&ctx, c))).map_err(engine)?,
            context,
            runtime,
            deadline,
            interrupted,
            memory_bytes: program.limits.memory_bytes,
            call_time: program.limits.call_time,
        };
        instance.deadline.set(Some(Instant::now() + program.limits.call_time));
        for (index, source) in program.functions.iter().enumerate() {
            let compiled = instance.context.with(|ctx| -> Result<_, JsError> {
                // On lines of their own: a body ending in a `//` comment still closes.
                let value: JsValue =
                    ctx.eval(format!("(\n{}\n)", source)).catch(&ctx).map_err(|e| instance.failure(e, true))?;
                let found = value.type_name();
                match value.into_function() {
                    Some(f) => Ok(Persistent::save(&ctx, f)),
                    None => Err(JsError::NotAFunction(found)),
                }
            });
            match compiled {
                Ok(f) => instance.functions.push(f),
                Err(e) => return Err((index, e)),
            }
        }
        instance.deadline.set(None);
        Ok(instance)
    }

    /// Calls function `index` under the time cap.
    fn call(&self, index: usize, args: &[&Value]) -> Result<Value, JsError> {
        let Some(function) = self.functions.get(index) else {
            return Err(JsError::Engine(format!("no function {}", index)));
        };
        self.interrupted.set(false);
        self.deadline.set(Some(Instant::now() + self.call_time));
        let result = self.context.with(|ctx| -> Result<Value, JsError> {
            let classes = self.classes.clone().restore(&ctx).map_err(|e| JsError::Engine(e.to_string()))?;
            let function = function.clone().restore(&ctx).map_err(|e| JsError::Engine(e.to_string()))?;
            let mut call_args = rquickjs::function::Args::new(ctx.clone(), args.len());
            for a in args {
                let v = to_js(&ctx, &classes, a).map_err(|f| self.fail(&ctx, f))?;
                call_args.push_arg(v).map_err(|e| JsError::Engine(e.to_string()))?;
            }
            let returned: JsValue = function.call_arg(call_args).catch(&ctx).map_err(|e| self.failure(e, false))?;
            from_js_result(&classes, returned).map_err(|f| self.fail(&ctx, f))
        });
        self.deadline.set(None);
        if result.is_err() {
            // What a failed call left behind (an interrupted loop's garbage) is freed now, not
            // at the next collection.
            self.runtime.run_gc();
        }
        result
    }

    /// The error for a failed conversion: a JavaScript exception (a getter or a constructor
    /// threw), or a value with no BSON form.
    fn fail(&self, ctx: &Ctx<'_>, f: Fail) -> JsError {
        match f {
            Fail::Js(e) => match Err::<(), _>(e).catch(ctx) {
                Err(caught) => self.failure(caught, false),
                Ok(()) => JsError::Engine("conversion failed".into()),
            },
            Fail::Bad(message) => JsError::Conversion(message),
        }
    }

    /// The error for what a call or a compilation threw: the time cap, the memory cap, or the
    /// exception's own `Name: message`.
    fn failure(&self, caught: CaughtError<'_>, compiling: bool) -> JsError {
        if self.interrupted.get() {
            return JsError::TimedOut(self.call_time.as_millis());
        }
        let text = match &caught {
            CaughtError::Exception(e) => {
                let name: Option<String> = e.get("name").ok();
                let message = e.message().unwrap_or_default();
                match name {
                    Some(n) if !n.is_empty() => format!("{}: {}", n, message),
                    _ => message,
                }
            }
            CaughtError::Value(v) => describe(v),
            CaughtError::Error(e) => e.to_string(),
        };
        // QuickJS's own error when an allocation passes the cap (not a message a function threw).
        let out_of_memory = text == "InternalError: out of memory" && matches!(caught, CaughtError::Exception(_));
        if out_of_memory || matches!(caught, CaughtError::Error(rquickjs::Error::Allocation)) {
            return JsError::OutOfMemory(self.memory_bytes);
        }
        if compiling && text.starts_with("SyntaxError") {
            return JsError::Syntax(text);
        }
        JsError::Thrown(text)
    }
}

/// A thrown value that is not an Error, as text (`throw "boom"` gives `boom`).
fn describe(v: &JsValue<'_>) -> String {
    if let Some(s) = v.as_string() {
        return s.to_string().unwrap_or_default();
    }
    v.get::<rquickjs::Coerced<String>>().map(|c| c.0).unwrap_or_else(|_| v.type_name().to_string())
}

thread_local! {
    /// This thread's runtimes, oldest first, each with the program it runs.
    static INSTANCES: RefCell<Vec<(Weak<ProgramSource>, Rc<Instance>)>> = const { RefCell::new(Vec::new()) };
}

/// This thread's runtime for `program`, compiled now if it has none (dropping the runtimes of
/// programs no longer in use, and the oldest past [`MAX_RUNTIMES_PER_THREAD`]).
fn instance(program: &Arc<ProgramSource>) -> Result<Rc<Instance>, JsError> {
    let found = INSTANCES.with(|cell| {
        let list = cell.borrow();
        list.iter().find(|(p, _)| std::ptr::eq(p.as_ptr(), Arc::as_ptr(program))).map(|(_, i)| i.clone())
    });
    if let Some(i) = found {
        return Ok(i);
    }
    let made = Rc::new(Instance::new(program).map_err(|(_, e)| e)?);
    INSTANCES.with(|cell| {
        let mut list = cell.borrow_mut();
        list.retain(|(p, _)| p.strong_count() > 0);
        if list.len() >= MAX_RUNTIMES_PER_THREAD {
            list.remove(0);
        }
        list.push((Arc::downgrade(program), made.clone()));
    });
    Ok(made)
}

/// Calls function `index` of `program` on this thread's runtime for it.
pub(super) fn call(program: &Arc<ProgramSource>, index: usize, args: &[&Value]) -> Result<Value, JsError> {
    instance(program)?.call(index, args)
}

/// How many runtimes this thread keeps (for tests).
#[cfg(test)]
pub(super) fn runtimes_on_this_thread() -> usize {
    INSTANCES.with(|cell| cell.borrow().len())
}
