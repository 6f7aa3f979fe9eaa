//! The running state of one accumulator in one group, and its update and result rules.

use std::cmp::Ordering;

use super::AccKind;
use crate::expr::{add_numbers, divide_numbers, SortSpec};
use crate::{compare_values, values_equal, Value};

/// The state of one accumulator for one group.
#[derive(Debug, Clone, PartialEq)]
pub enum AccState {
    /// `$sum`: the running sum.
    Sum(Value),
    /// `$avg`: sum and count of numeric inputs.
    Avg(Value, i64),
    /// `$min`/`$max`: the best value so far.
    Extreme(Option<Value>),
    /// `$first`: the first value, once seen.
    First(Option<Value>),
    /// `$last`: the latest value.
    Last(Value),
    /// `$push`, `$addToSet`, `$firstN`, `$lastN`: the collected values.
    List(Vec<Value>),
    /// `$count`.
    Count(i64),
    /// `$stdDevPop`/`$stdDevSamp`: Welford's running count, mean and sum of squared deviations.
    Moments(i64, f64, f64),
    /// `$median`/`$percentile`: the numeric samples.
    Samples(Vec<f64>),
    /// `$top*`/`$bottom*`: (sort key, output) best first, at most n.
    Ranked(Vec<(Vec<Value>, Value)>),
    /// `$maxN`/`$minN`: values best first, at most n.
    Extremes(Vec<Value>),
    /// A `$topN`/`$bottomN`/`$firstN`/`$lastN`/`$maxN`/`$minN` state whose n was computed from
    /// its group's key (it then differs from group to group): the bound and the inner state.
    Sized(usize, Box<AccState>),
    /// `$accumulator`: the state its JavaScript returned (`Missing` before `init` ran).
    Js(Value),
}

fn non_missing(v: &Value) -> Value {
    if v.is_missing() {
        Value::Null
    } else {
        v.clone()
    }
}

fn key_order(sort: &SortSpec, a: &[Value], b: &[Value]) -> Ordering {
    if let SortSpec::Fields(fields) = sort {
        for (i, (_, asc)) in fields.iter().enumerate() {
            let o = compare_values(&a[i], &b[i]);
            if o != Ordering::Equal {
                return if *asc { o } else { o.reverse() };
            }
        }
    }
    Ordering::Equal
}

impl AccState {
    /// A fresh state for `kind`.
    pub fn new(kind: &AccKind) -> AccState {
        match kind {
            AccKind::Sum => AccState::Sum(Value::Int32(0)),
            AccKind::Avg => AccState::Avg(Value::Int32(0), 0),
            AccKind::Min | AccKind::Max => AccState::Extreme(None),
            AccKind::First => AccState::First(None),
            AccKind::Last => AccState::Last(Value::Null),
            AccKind::Push | AccKind::AddToSet | AccKind::FirstN(_) | AccKind::LastN(_) => AccState::List(Vec::new()),
            AccKind::Count => AccState::Count(0),
            AccKind::StdDevPop | AccKind::StdDevSamp => AccState::Moments(0, 0.0, 0.0),
            AccKind::Median | AccKind::Percentile(_) => AccState::Samples(Vec::new()),
            AccKind::Top { .. } => AccState::Ranked(Vec::new()),
            AccKind::MaxN(_) | AccKind::MinN(_) => AccState::Extremes(Vec::new()),
            AccKind::Js(_) => AccState::Js(Value::Missing),
        }
    }

    /// Folds one input value in.
    #[inline]
    pub fn add(&mut self, kind: &AccKind, v: &Value) {
        match (self, kind) {
            (AccState::Sum(sum), _) if v.is_number() => add_in_place(sum, v),
            (AccState::Avg(sum, n), _) if v.is_number() => {
                add_in_place(sum, v);
                *n += 1;
            }
            (AccState::Extreme(best), AccKind::Min | AccKind::Max) => {
                if v.is_nullish() {
                    return;
                }
                let want = if *kind == AccKind::Min { Ordering::Less } else { Ordering::Greater };
                if best.as_ref().is_none_or(|b| compare_values(v, b) == want) {
                    *best = Some(v.clone());
                }
            }
            (AccState::First(first), _) if first.is_none() => *first = Some(non_missing(v)),
            (AccState::Last(last), _) => *last = non_missing(v),
            (AccState::List(items), AccKind::Push) if !v.is_missing() => items.push(v.clone()),
            (AccState::List(items), AccKind::AddToSet)
                if !v.is_missing() && !items.iter().any(|x| values_equal(x, v) && x.bson_type() == v.bson_type()) =>
            {
                items.push(v.clone())
            }
            (AccState::List(items), AccKind::FirstN(n)) => push_first(items, *n, v),
            (AccState::List(items), AccKind::LastN(n)) => push_last(items, *n, v),
            (AccState::Count(c), _) => *c += 1,
            (AccState::Moments(n, mean, m2), _) => {
                if let Some(x) = v.as_f64().filter(|_| v.is_number()) {
                    *n += 1;
                    let delta = x - *mean;
                    *mean += delta / *n as f64;
                    *m2 += delta * (x - *mean);
                }
            }
            (AccState::Samples(s), _) => {
                if let Some(x) = v.as_f64().filter(|_| v.is_number()) {
                    s.push(x);
                }
            }
            (AccState::Extremes(items), AccKind::MaxN(n) | AccKind::MinN(n)) => {
                insert_extreme(items, *n, matches!(kind, AccKind::MaxN(_)), v)
            }
            (AccState::Sized(n, inner), _) => inner.add_bounded(kind, *n, v),
            _ => {}
        }
    }

    /// [`AccState::add`] for an N accumulator with a bound other than its kind's.
    fn add_bounded(&mut self, kind: &AccKind, n: usize, v: &Value) {
        match (self, kind) {
            (AccState::List(items), AccKind::FirstN(_)) => push_first(items, n, v),
            (AccState::List(items), AccKind::LastN(_)) => push_last(items, n, v),
            (AccState::Extremes(items), AccKind::MaxN(_)) => insert_extreme(items, n, true, v),
            (AccState::Extremes(items), AccKind::MinN(_)) => insert_extreme(items, n, false, v),
            _ => {}
        }
    }

    /// Folds one (sort key, output) pair into a `$top*`/`$bottom*` state.
    pub fn add_keyed(&mut self, kind: &AccKind, key: Vec<Value>, output: Value) {
        let (state, n) = match (self, kind) {
            (AccState::Sized(n, inner), _) => (&mut **inner, *n),
            (state, AccKind::Top { n, .. }) => (state, *n),
            _ => return,
        };
        let (AccState::Ranked(items), AccKind::Top { bottom, sort, .. }) = (state, kind) else { return };
        let better = |a: &[Value], b: &[Value]| {
            let o = key_order(sort, a, b);
            if *bottom {
                o == Ordering::Greater
            } else {
                o == Ordering::Less
            }
        };
        let pos = items.iter().position(|(k, _)| better(&key, k)).unwrap_or(items.len());
        if pos < n {
            items.insert(pos, (key, non_missing(&output)));
            items.truncate(n);
        }
    }

    /// The result of the group.
    pub fn finish(&self, kind: &AccKind) -> Value {
        match (self, kind) {
            (AccState::Sum(s), _) => s.clone(),
            (AccState::Avg(_, 0), _) => Value::Null,
            (AccState::Avg(sum, n), _) => divide_numbers(sum, &Value::Int64(*n)).ok().flatten().unwrap_or(Value::Null),
            (AccState::Extreme(best), _) => best.clone().unwrap_or(Value::Null),
            (AccState::First(first), _) => first.clone().unwrap_or(Value::Null),
            (AccState::Last(last), _) => last.clone(),
            (AccState::List(items), _) => Value::Array(items.clone()),
            (AccState::Count(c), _) => i32::try_from(*c).map(Value::Int32).unwrap_or(Value::Int64(*c)),
            (AccState::Moments(n, _, m2), AccKind::StdDevPop) => {
                if *n == 0 {
                    Value::Null
                } else {
                    Value::Double((m2 / *n as f64).sqrt())
                }
            }
            (AccState::Moments(n, _, m2), _) => {
                if *n < 2 {
                    Value::Null
                } else {
                    Value::Double((m2 / (*n - 1) as f64).sqrt())
                }
            }
            (AccState::Samples(s), AccKind::Percentile(ps)) => {
                // mongod's formatFinalValue: no numeric input gives a null for each percentile.
                if s.is_empty() {
                    return Value::Array(vec![Value::Null; ps.len()]);
                }
                let sorted = sorted_samples(s);
                Value::Array(ps.iter().map(|p| Value::Double(discrete_percentile(&sorted, *p))).collect())
            }
            (AccState::Samples(s), _) => {
                if s.is_empty() {
                    return Value::Null;
                }
                Value::Double(discrete_percentile(&sorted_samples(s), 0.5))
            }
            (AccState::Ranked(items), AccKind::Top { single: true, .. }) => {
                items.first().map(|(_, o)| o.clone()).unwrap_or(Value::Null)
            }
            // Kept best first; `$bottomN` returns its elements in sort order, so the bottom-most last.
            (AccState::Ranked(items), AccKind::Top { bottom: true, .. }) => {
                Value::Array(items.iter().rev().map(|(_, o)| o.clone()).collect())
            }
            (AccState::Ranked(items), _) => Value::Array(items.iter().map(|(_, o)| o.clone()).collect()),
            (AccState::Extremes(items), _) => Value::Array(items.clone()),
            (AccState::Sized(_, inner), _) => inner.finish(kind),
            // Without `finalize` (which `Accumulator::finish` calls): the state itself.
            (AccState::Js(v), _) => non_missing(v),
        }
    }

    /// Approximate memory held by the state, in bytes.
    pub fn approx_size(&self) -> usize {
        16 + match self {
            AccState::Sum(v) | AccState::Avg(v, _) | AccState::Last(v) | AccState::Js(v) => v.approx_size(),
            AccState::Extreme(v) | AccState::First(v) => v.as_ref().map_or(0, Value::approx_size),
            AccState::List(items) | AccState::Extremes(items) => items.iter().map(Value::approx_size).sum(),
            AccState::Samples(s) => s.len() * 8,
            AccState::Ranked(items) => {
                items.iter().map(|(k, o)| o.approx_size() + k.iter().map(Value::approx_size).sum::<usize>()).sum()
            }
            AccState::Count(_) | AccState::Moments(..) => 8,
            AccState::Sized(_, inner) => 8 + inner.approx_size(),
        }
    }
}

/// `$firstN`: keep the first n values (missing kept as null).
fn push_first(items: &mut Vec<Value>, n: usize, v: &Value) {
    if items.len() < n {
        items.push(non_missing(v));
    }
}

/// `$lastN`: keep the latest n values (missing kept as null).
fn push_last(items: &mut Vec<Value>, n: usize, v: &Value) {
    items.push(non_missing(v));
    if items.len() > n {
        items.remove(0);
    }
}

/// `$maxN`/`$minN`: insert `v` in best-first order and keep the best n; null and missing are
/// not values to rank.
fn insert_extreme(items: &mut Vec<Value>, n: usize, max: bool, v: &Value) {
    if v.is_nullish() {
        return;
    }
    let want = if max { Ordering::Greater } else { Ordering::Less };
    let pos = items.iter().position(|x| compare_values(v, x) == want).unwrap_or(items.len());
    if pos < n {
        items.insert(pos, v.clone());
        items.truncate(n);
    }
}

fn sorted_samples(s: &[f64]) -> Vec<f64> {
    let mut v = s.to_vec();
    v.sort_by(|a, b| a.partial_cmp(b).unwrap_or(Ordering::Equal));
    v
}

/// The discrete percentile MongoDB returns: the sample at rank ceil(p * n) (1-based).
fn discrete_percentile(sorted: &[f64], p: f64) -> f64 {
    let n = sorted.len();
    let rank = ((p * n as f64).ceil() as usize).clamp(1, n);
    sorted[rank - 1]
}

/// `sum += v` for a number `v`, with `$add`'s type promotion; a double or an int added to one of
/// its kind is added where it lies.
fn add_in_place(sum: &mut Value, v: &Value) {
    match (&mut *sum, v) {
        (Value::Double(s), Value::Double(x)) => *s += x,
        (Value::Int32(s), Value::Int32(x)) => match s.checked_add(*x) {
            Some(t) => *s = t,
            None => *sum = Value::Int64(i64::from(*s) + i64::from(*x)),
        },
        _ => {
            if let Some(t) = add_numbers(sum, v) {
                *sum = t;
            }
        }
    }
}
