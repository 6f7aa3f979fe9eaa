//! Array operators: `$size $arrayElemAt $in $concatArrays $slice $first $last $isArray $reverseArray
//! $range $indexOfArray`, and the array forms of `$sum $avg $min $max`.
//! (`$filter $map $reduce $sortArray` bind variables or take a sort spec: see special.rs.)

use std::borrow::Cow;
use std::cmp::Ordering;

use super::comparison::agg_compare;
use super::numeric::{add_numbers, divide_numbers};
use super::registry::{type_name, Arity, FuncDef};
use super::ExprError;
use crate::{values_equal, Value};

type Args<'a, 'b> = &'a [Cow<'b, Value>];

pub(crate) const FUNCS: &[FuncDef] = &[
    FuncDef { name: "$size", arity: Arity::Exact(1), f: size },
    FuncDef { name: "$arrayElemAt", arity: Arity::Exact(2), f: array_elem_at },
    FuncDef { name: "$in", arity: Arity::Exact(2), f: in_array },
    FuncDef { name: "$concatArrays", arity: Arity::Any, f: concat_arrays },
    FuncDef { name: "$slice", arity: Arity::Range(2, 3), f: slice },
    FuncDef { name: "$first", arity: Arity::Exact(1), f: first },
    FuncDef { name: "$last", arity: Arity::Exact(1), f: last },
    FuncDef { name: "$isArray", arity: Arity::Exact(1), f: is_array },
    FuncDef { name: "$reverseArray", arity: Arity::Exact(1), f: reverse_array },
    FuncDef { name: "$range", arity: Arity::Range(2, 3), f: range },
    FuncDef { name: "$indexOfArray", arity: Arity::Range(2, 4), f: index_of_array },
    FuncDef { name: "$sum", arity: Arity::Any, f: sum },
    FuncDef { name: "$avg", arity: Arity::Any, f: avg },
    FuncDef { name: "$min", arity: Arity::Any, f: min },
    FuncDef { name: "$max", arity: Arity::Any, f: max },
];

fn array_arg<'v>(op: &'static str, v: &'v Value) -> Result<&'v [Value], ExprError> {
    v.as_array().ok_or_else(|| {
        ExprError::new(op, format!("The argument to {} must be an array, but was of type: {}", op, type_name(v)))
    })
}

fn size(args: Args) -> Result<Value, ExprError> {
    Ok(Value::Int32(array_arg("$size", &args[0])?.len() as i32))
}

fn index_arg(op: &'static str, v: &Value) -> Result<i64, ExprError> {
    v.as_exact_i64().ok_or_else(|| {
        ExprError::new(op, format!("index must be representable as a 64-bit integer, found {}", type_name(v)))
    })
}

fn array_elem_at(args: Args) -> Result<Value, ExprError> {
    if args[0].is_nullish() || args[1].is_nullish() {
        return Ok(Value::Null);
    }
    let arr = array_arg("$arrayElemAt", &args[0])?;
    let i = index_arg("$arrayElemAt", &args[1])?;
    let idx = if i < 0 { arr.len() as i64 + i } else { i };
    Ok(usize::try_from(idx).ok().and_then(|i| arr.get(i)).cloned().unwrap_or(Value::Missing))
}

fn in_array(args: Args) -> Result<Value, ExprError> {
    let arr = args[1].as_array().ok_or_else(|| {
        ExprError::new("$in", format!("$in requires an array as a second argument, found: {}", type_name(&args[1])))
    })?;
    Ok(Value::Bool(arr.iter().any(|v| values_equal(v, &args[0]))))
}

fn concat_arrays(args: Args) -> Result<Value, ExprError> {
    let total = args.iter().filter_map(|a| a.as_array()).map(|a| a.len()).sum::<usize>();
    super::memory::check_elements("$concatArrays", total)?;
    let mut out = Vec::with_capacity(total);
    for a in args {
        match &**a {
            v if v.is_nullish() => return Ok(Value::Null),
            Value::Array(items) => out.extend(items.iter().cloned()),
            v => {
                return Err(ExprError::new(
                    "$concatArrays",
                    format!("$concatArrays only supports arrays, not {}", type_name(v)),
                ))
            }
        }
    }
    Ok(Value::Array(out))
}

fn slice(args: Args) -> Result<Value, ExprError> {
    if args.iter().any(|a| a.is_nullish()) {
        return Ok(Value::Null);
    }
    let arr = array_arg("$slice", &args[0])?;
    let len = arr.len() as i64;
    let (start, count) = if args.len() == 2 {
        let n = index_arg("$slice", &args[1])?;
        if n >= 0 {
            (0, n)
        } else {
            ((len + n).max(0), -n)
        }
    } else {
        let p = index_arg("$slice", &args[1])?;
        let n = index_arg("$slice", &args[2])?;
        if n <= 0 {
            return Err(ExprError::new("$slice", format!("Third argument to $slice must be positive: {}", n)));
        }
        (if p < 0 { (len + p).max(0) } else { p.min(len) }, n)
    };
    let end = start.saturating_add(count).min(len);
    Ok(Value::Array(arr[start as usize..end.max(start) as usize].to_vec()))
}

fn first(args: Args) -> Result<Value, ExprError> {
    if args[0].is_nullish() {
        return Ok(Value::Null);
    }
    Ok(array_arg("$first", &args[0])?.first().cloned().unwrap_or(Value::Missing))
}

fn last(args: Args) -> Result<Value, ExprError> {
    if args[0].is_nullish() {
        return Ok(Value::Null);
    }
    Ok(array_arg("$last", &args[0])?.last().cloned().unwrap_or(Value::Missing))
}

fn is_array(args: Args) -> Result<Value, ExprError> {
    Ok(Value::Bool(matches!(&*args[0], Value::Array(_))))
}

fn reverse_array(args: Args) -> Result<Value, ExprError> {
    if args[0].is_nullish() {
        return Ok(Value::Null);
    }
    let mut v = array_arg("$reverseArray", &args[0])?.to_vec();
    v.reverse();
    Ok(Value::Array(v))
}

fn range(args: Args) -> Result<Value, ExprError> {
    let int32 = |v: &Value, what: &str| -> Result<i64, ExprError> {
        v.as_exact_i64().filter(|i| i32::try_from(*i).is_ok()).ok_or_else(|| {
            ExprError::new("$range", format!("{} must be a 32-bit integer, found {}", what, type_name(v)))
        })
    };
    let start = int32(&args[0], "starting value")?;
    let end = int32(&args[1], "ending value")?;
    let step = match args.get(2) {
        Some(v) => int32(v, "step value")?,
        None => 1,
    };
    if step == 0 {
        return Err(ExprError::new("$range", "step value cannot be 0"));
    }
    let count = if (step > 0 && start < end) || (step < 0 && start > end) {
        ((end - start).unsigned_abs() - 1) / step.unsigned_abs() + 1
    } else {
        0
    };
    super::memory::check_elements("$range", count as usize)?;
    let mut out = Vec::with_capacity(count as usize);
    let mut i = start;
    while (step > 0 && i < end) || (step < 0 && i > end) {
        out.push(Value::Int32(i as i32));
        i += step;
    }
    Ok(Value::Array(out))
}

fn index_of_array(args: Args) -> Result<Value, ExprError> {
    if args[0].is_nullish() {
        return Ok(Value::Null);
    }
    let arr = array_arg("$indexOfArray", &args[0])?;
    let start = match args.get(2) {
        Some(v) => index_arg("$indexOfArray", v)?.max(0) as usize,
        None => 0,
    };
    let end = match args.get(3) {
        Some(v) => (index_arg("$indexOfArray", v)?.max(0) as usize).min(arr.len()),
        None => arr.len(),
    };
    let found = arr.iter().enumerate().take(end).skip(start).find(|(_, v)| values_equal(v, &args[1]));
    Ok(Value::Int32(found.map_or(-1, |(i, _)| i as i32)))
}

/// The values an expression-form accumulator runs over: the elements of a single array argument,
/// or the arguments themselves.
pub(super) fn operands<'a>(args: &'a [Cow<'_, Value>]) -> Vec<&'a Value> {
    match args {
        [one] => match &**one {
            Value::Array(items) => items.iter().collect(),
            other => vec![other],
        },
        many => many.iter().map(|c| &**c).collect(),
    }
}

fn sum(args: Args) -> Result<Value, ExprError> {
    let mut acc = Value::Int32(0);
    for v in operands(args) {
        if v.is_number() {
            acc = add_numbers(&acc, v).unwrap_or(acc);
        }
    }
    Ok(acc)
}

fn avg(args: Args) -> Result<Value, ExprError> {
    let mut acc = Value::Int32(0);
    let mut n = 0i32;
    for v in operands(args) {
        if v.is_number() {
            acc = add_numbers(&acc, v).unwrap_or(acc);
            n += 1;
        }
    }
    if n == 0 {
        return Ok(Value::Null);
    }
    Ok(divide_numbers(&acc, &Value::Int32(n)).ok().flatten().unwrap_or(Value::Null))
}

fn extreme(args: Args, want: Ordering) -> Value {
    let mut best: Option<&Value> = None;
    for v in operands(args) {
        if v.is_nullish() {
            continue;
        }
        if best.is_none_or(|b| agg_compare(v, b) == want) {
            best = Some(v);
        }
    }
    best.cloned().unwrap_or(Value::Null)
}

fn min(args: Args) -> Result<Value, ExprError> {
    Ok(extreme(args, Ordering::Less))
}

fn max(args: Args) -> Result<Value, ExprError> {
    Ok(extreme(args, Ordering::Greater))
}
