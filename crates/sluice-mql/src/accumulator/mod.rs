//! `$group` accumulators: `$sum $avg $min $max $first $last $push $addToSet $count $stdDevPop
//! $stdDevSamp $median $percentile $top $bottom $topN $bottomN $firstN $lastN $maxN $minN`, and
//! `$accumulator` (JavaScript, in js.rs).
//!
//! An [`Accumulator`] is the compiled specification; an [`AccState`] is the running state of one
//! group. States snapshot to and restore from a [`Value`] so checkpoints can hold them.

mod js;
mod snapshot;
mod state;

use std::borrow::Cow;

use crate::expr::{check_n_spec, compile, value_text, CompileError, Expr, ExprError, Input, Scope, SortSpec};
use crate::{Document, Value};

pub use js::JsAccumulator;
pub use state::AccState;

/// Which accumulator, with its constant parameters.
#[derive(Debug, Clone, PartialEq)]
pub enum AccKind {
    /// `$sum`
    Sum,
    /// `$avg`
    Avg,
    /// `$min`
    Min,
    /// `$max`
    Max,
    /// `$first`
    First,
    /// `$last`
    Last,
    /// `$push`
    Push,
    /// `$addToSet`
    AddToSet,
    /// `$count: {}`
    Count,
    /// `$stdDevPop`
    StdDevPop,
    /// `$stdDevSamp`
    StdDevSamp,
    /// `$median` (a single value)
    Median,
    /// `$percentile` with its requested percentiles in [0, 1]
    Percentile(Vec<f64>),
    /// `$top` (n = 1, single value) / `$topN`; `bottom` reverses the order
    Top {
        /// How many documents it keeps.
        n: usize,
        /// `$top`/`$bottom`: one value, not an array of `n`.
        single: bool,
        /// `$bottom`/`$bottomN`: the last in sort order, not the first.
        bottom: bool,
        /// The `sortBy` order.
        sort: SortSpec,
    },
    /// `$firstN`
    FirstN(usize),
    /// `$lastN`
    LastN(usize),
    /// `$maxN`
    MaxN(usize),
    /// `$minN`
    MinN(usize),
    /// `$accumulator`: JavaScript functions; its input is the `accumulateArgs` array.
    Js(JsAccumulator),
}

/// A compiled accumulator: its kind and the expression it accumulates.
#[derive(Debug, Clone)]
pub struct Accumulator {
    /// The accumulator and its parameters.
    pub kind: AccKind,
    /// The input expression (`output` for `$top*`).
    pub input: Expr,
    /// The operator name, for messages (`"$sum"`).
    pub name: &'static str,
    /// An expression of the group key, evaluated when a group is created (see
    /// [`Accumulator::new_state_for_key`]): `$accumulator`'s `initArgs`, or, for the N
    /// accumulators, an `n` computed per group (`{$cond: {if: {$eq: ["$gameId", "G2"]},
    /// then: 1, else: 3}}` with `_id: {gameId: "$gameId"}`): evaluated, as mongod does, with the
    /// group's key document as `$$ROOT` (an empty document when the key is not a document), when
    /// the group is created. `None` when `n` is a constant or there are no `initArgs`.
    pub of_key: Option<Expr>,
}

const NAMES: &[&str] = &[
    "$sum",
    "$avg",
    "$min",
    "$max",
    "$first",
    "$last",
    "$push",
    "$addToSet",
    "$count",
    "$stdDevPop",
    "$stdDevSamp",
    "$median",
    "$percentile",
    "$top",
    "$bottom",
    "$topN",
    "$bottomN",
    "$firstN",
    "$lastN",
    "$maxN",
    "$minN",
    "$accumulator",
];

fn named<'v>(op: &str, arg: &'v Value, allowed: &[&str]) -> Result<&'v Document, CompileError> {
    let d = arg.as_document().ok_or_else(|| CompileError(format!("{} expects an object", op)))?;
    if let Some(k) = d.keys().find(|k| !allowed.contains(&k.as_str())) {
        return Err(CompileError(format!("{} found an unknown argument: {}", op, k)));
    }
    Ok(d)
}

fn field<'v>(op: &str, d: &'v Document, key: &str) -> Result<&'v Value, CompileError> {
    d.get(key).ok_or_else(|| CompileError(format!("{} requires '{}'", op, key)))
}

fn const_n(op: &str, v: &Value) -> Result<usize, CompileError> {
    match v.as_exact_i64() {
        Some(n) if n > 0 => Ok(n as usize),
        _ => Err(CompileError(format!("{}: 'n' must be a positive integer constant, found {:?}", op, v))),
    }
}

/// The `n` of an N accumulator: a constant, or an expression of the group key.
fn parse_n(op: &str, v: &Value) -> Result<(usize, Option<Expr>), CompileError> {
    if matches!(v, Value::Document(_) | Value::String(_) | Value::Array(_)) {
        let e = compile(v)?;
        if let Expr::Literal(c) = &e {
            return Ok((const_n(op, c)?, None));
        }
        return Ok((1, Some(e)));
    }
    Ok((const_n(op, v)?, None))
}

/// Reads a computed `n` as mongod's `AccumulatorN::validateN` does: a number with an integral
/// value, greater than 0.
pub(crate) fn n_value(op: &'static str, v: &Value) -> Result<usize, ExprError> {
    let not_integral =
        || ExprError::new(op, format!("Value for 'n' must be of integral type, but found {}", value_text(v)));
    if !v.is_number() {
        return Err(not_integral());
    }
    match v.as_exact_i64() {
        Some(n) if n > 0 => Ok(usize::try_from(n).unwrap_or(usize::MAX)),
        Some(n) => Err(ExprError::new(op, format!("'n' must be greater than 0, found {}", n))),
        None => Err(not_integral()),
    }
}

/// `p` of `$percentile`, checked as mongod's `parseP` checks it (and in its words): a non-empty
/// array of numbers from [0.0, 1.0].
fn percentiles(op: &str, v: &Value) -> Result<Vec<f64>, CompileError> {
    let bad = |found: &Value| {
        CompileError(format!(
            "{}: The $percentile 'p' field must be an array of numbers from [0.0, 1.0], but found: {}",
            op,
            value_text(found)
        ))
    };
    let items = v.as_array().filter(|a| !a.is_empty()).ok_or_else(|| bad(v))?;
    items
        .iter()
        .map(|x| match x.as_f64().filter(|_| x.is_number()) {
            Some(p) if (0.0..=1.0).contains(&p) => Ok(p),
            _ => Err(bad(x)),
        })
        .collect()
}

fn check_method(op: &str, d: &Document) -> Result<(), CompileError> {
    match d.get("method").and_then(Value::as_str) {
        // MongoDB 8.0 computes approximate percentiles only ("discrete" and "continuous" came
        // later, and "continuous" interpolates, which the discrete state here does not).
        Some("approximate") => Ok(()),
        _ => Err(CompileError(format!("{}: Currently only 'approximate' can be used as percentile 'method'.", op))),
    }
}

impl Accumulator {
    /// True when `name` is an accumulator operator.
    pub fn is_accumulator(name: &str) -> bool {
        NAMES.contains(&name)
    }

    /// Compiles `{$op: arg}` as found in a `$group` field.
    pub fn compile(op: &str, arg: &Value) -> Result<Accumulator, CompileError> {
        let name = NAMES
            .iter()
            .copied()
            .find(|n| *n == op)
            .ok_or_else(|| CompileError(format!("unknown group operator '{}'", op)))?;
        let simple = |kind: AccKind| -> Result<Accumulator, CompileError> {
            if matches!(arg, Value::Array(_)) {
                return Err(CompileError(format!("The {} accumulator is a unary operator", op)));
            }
            Ok(Accumulator { kind, input: compile(arg)?, name, of_key: None })
        };
        match op {
            "$sum" => simple(AccKind::Sum),
            "$avg" => simple(AccKind::Avg),
            "$min" => simple(AccKind::Min),
            "$max" => simple(AccKind::Max),
            "$first" => simple(AccKind::First),
            "$last" => simple(AccKind::Last),
            "$push" => simple(AccKind::Push),
            "$addToSet" => simple(AccKind::AddToSet),
            "$stdDevPop" => simple(AccKind::StdDevPop),
            "$stdDevSamp" => simple(AccKind::StdDevSamp),
            "$accumulator" => js::compile_accumulator(arg),
            "$count" => match arg {
                Value::Document(d) if d.is_empty() => {
                    Ok(Accumulator { kind: AccKind::Count, input: Expr::Literal(Value::Int32(1)), name, of_key: None })
                }
                _ => Err(CompileError("$count takes no arguments, i.e. $count:{}".into())),
            },
            "$median" => {
                let d = named(op, arg, &["input", "method"])?;
                check_method(op, d)?;
                Ok(Accumulator { kind: AccKind::Median, input: compile(field(op, d, "input")?)?, name, of_key: None })
            }
            "$percentile" => {
                let d = named(op, arg, &["input", "p", "method"])?;
                check_method(op, d)?;
                let p = percentiles(op, field(op, d, "p")?)?;
                let input = compile(field(op, d, "input")?)?;
                Ok(Accumulator { kind: AccKind::Percentile(p), input, name, of_key: None })
            }
            "$top" | "$bottom" | "$topN" | "$bottomN" => {
                let single = matches!(op, "$top" | "$bottom");
                let allowed: &[&str] = if single { &["sortBy", "output"] } else { &["n", "sortBy", "output"] };
                let d = named(op, arg, allowed)?;
                let (n, of_key) = if single { (1, None) } else { parse_n(op, field(op, d, "n")?)? };
                let sort = SortSpec::parse(field(op, d, "sortBy")?)?;
                if matches!(sort, SortSpec::Whole(_)) {
                    return Err(CompileError(format!("{}: 'sortBy' must be an object of fields", op)));
                }
                let kind = AccKind::Top { n, single, bottom: op.starts_with("$bottom"), sort };
                Ok(Accumulator { kind, input: compile(field(op, d, "output")?)?, name, of_key })
            }
            _ => {
                // $firstN $lastN $maxN $minN
                check_n_spec(op, arg)?;
                let d = named(op, arg, &["input", "n"])?;
                let (n, of_key) = parse_n(op, field(op, d, "n")?)?;
                let kind = match op {
                    "$firstN" => AccKind::FirstN(n),
                    "$lastN" => AccKind::LastN(n),
                    "$maxN" => AccKind::MaxN(n),
                    _ => AccKind::MinN(n),
                };
                Ok(Accumulator { kind, input: compile(field(op, d, "input")?)?, name, of_key })
            }
        }
    }

    /// A fresh state for a new group.
    pub fn new_state(&self) -> AccState {
        AccState::new(&self.kind)
    }

    /// A fresh state for the new group of `key` (its `_id`): as [`Accumulator::new_state`], with
    /// the `n` computed from the key when the accumulator has one (mongod evaluates it with the
    /// key document as `$$ROOT`, an empty document for a key that is not one). Fails when that
    /// `n` is not a positive integer, as mongod does.
    pub fn new_state_for_key(&self, key: &Value, scope: &mut Scope) -> Result<AccState, ExprError> {
        let empty = Document::new();
        let root = key.as_document().unwrap_or(&empty);
        if let AccKind::Js(js) = &self.kind {
            let args = match &self.of_key {
                Some(e) => e.eval_owned(&Input::doc(root), scope)?,
                None => Value::Array(Vec::new()),
            };
            return js.init(&args);
        }
        let Some(n_expr) = &self.of_key else { return Ok(self.new_state()) };
        let n = n_value(self.name, &n_expr.eval_owned(&Input::doc(root), scope)?)?;
        Ok(AccState::Sized(n, Box::new(self.new_state())))
    }

    /// Evaluates the input for one document and folds it into `state`.
    pub fn accumulate(&self, state: &mut AccState, input: &Input<'_>, scope: &mut Scope) -> Result<(), ExprError> {
        let v = self.evaluate(input, scope)?;
        match self.next_state(state, &v, scope)? {
            Some(next) => *state = next,
            None => self.apply(state, v, input),
        }
        Ok(())
    }

    /// For `$accumulator`, the state after `accumulate(state, ...args)` (`args` the evaluated
    /// `accumulateArgs`), computed without touching `state`, so that a failure (a throw, the
    /// time or memory cap) leaves it as it was. `None` for the other accumulators, which
    /// [`Accumulator::apply`] folds in and which cannot fail.
    pub fn next_state(&self, state: &AccState, args: &Value, scope: &mut Scope) -> Result<Option<AccState>, ExprError> {
        let AccKind::Js(js) = &self.kind else { return Ok(None) };
        match state {
            AccState::Js(Value::Missing) => {
                // A state made by `new_state`, without its group's key: `init` runs now.
                let AccState::Js(first) = self.new_state_for_key(&Value::Missing, scope)? else { return Ok(None) };
                js.accumulate(&first, args).map(Some)
            }
            AccState::Js(s) => js.accumulate(s, args).map(Some),
            _ => Ok(None),
        }
    }

    /// Combines two partial states of one group, as `$accumulator`'s `merge` does. Only
    /// `$accumulator` states can be merged (the engine merges none today).
    pub fn merge(&self, a: &AccState, b: &AccState) -> Result<AccState, ExprError> {
        match (&self.kind, a, b) {
            (AccKind::Js(js), AccState::Js(x), AccState::Js(y)) => js.merge(x, y),
            _ => Err(ExprError::new(self.name, "only $accumulator states can be merged")),
        }
    }

    /// Evaluates this accumulator's input for one document, touching no state: a caller with several
    /// accumulators evaluates them all first, so an error leaves every state as it was.
    #[inline]
    pub fn evaluate<'a>(&'a self, input: &Input<'a>, scope: &mut Scope) -> Result<Cow<'a, Value>, ExprError> {
        self.input.eval(input, scope)
    }

    /// True for `$accumulator`, whose step runs JavaScript and can fail (see
    /// [`Accumulator::next_state`]).
    pub fn runs_javascript(&self) -> bool {
        matches!(self.kind, AccKind::Js(_))
    }

    /// True when evaluating the input cannot fail (a constant or a field path), so that it may
    /// be folded in as soon as it is evaluated.
    pub fn input_cannot_fail(&self) -> bool {
        !self.runs_javascript() && matches!(self.input, Expr::Literal(_) | Expr::Field(_))
    }

    /// The input, borrowed, when it is a constant or a plain field path (see [`Expr::value_ref`]).
    #[inline]
    pub fn input_ref<'a>(&'a self, doc: &'a Document) -> Option<&'a Value> {
        self.input.value_ref(doc)
    }

    /// [`Accumulator::apply`] for a borrowed input.
    #[inline]
    pub fn apply_ref(&self, state: &mut AccState, v: &Value, input: &Input<'_>) {
        match &self.kind {
            AccKind::Top { .. } => self.apply(state, Cow::Borrowed(v), input),
            _ => state.add(&self.kind, v),
        }
    }

    /// Folds an input produced by [`Accumulator::evaluate`] into `state`.
    #[inline]
    pub fn apply(&self, state: &mut AccState, v: Cow<'_, Value>, input: &Input<'_>) {
        match &self.kind {
            AccKind::Top { sort: SortSpec::Fields(fields), .. } => {
                // The sort key comes from the input document, not from `output`.
                let key: Vec<Value> = fields.iter().map(|(p, _)| p.resolve(input.root).into_owned()).collect();
                state.add_keyed(&self.kind, key, v.into_owned());
            }
            _ => state.add(&self.kind, &v),
        }
    }

    /// The accumulated result of a group; only `$accumulator`'s `finalize` can fail.
    pub fn finish(&self, state: &AccState) -> Result<Value, ExprError> {
        match (&self.kind, state) {
            (AccKind::Js(js), AccState::Js(s)) => js.finish(s),
            _ => Ok(state.finish(&self.kind)),
        }
    }
}

#[cfg(test)]
mod tests;
