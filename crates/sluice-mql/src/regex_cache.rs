//! Compiled regular expressions, cached per thread: `$regex` and `$regexMatch` often see the same
//! pattern for every event, and compiling it each time would dominate their cost.

use std::cell::RefCell;

use regex::Regex;
use rustc_hash::FxHashMap;

const CAPACITY: usize = 256;

thread_local! {
    static CACHE: RefCell<FxHashMap<(String, String), Regex>> = RefCell::new(FxHashMap::default());
}

/// Compiles a MongoDB-style regex with its options (`i`, `m`, `s`, `x`), caching the result.
/// Errors name the problem; options other than `imsxu` are refused.
pub fn compile_regex(pattern: &str, options: &str) -> Result<Regex, String> {
    let key = (pattern.to_string(), options.to_string());
    if let Some(r) = CACHE.with(|c| c.borrow().get(&key).cloned()) {
        return Ok(r);
    }
    let mut flags = String::new();
    for o in options.chars() {
        match o {
            'i' | 'm' | 's' | 'x' => flags.push(o),
            'u' => {}
            other => return Err(format!("invalid flag in regex options: {}", other)),
        }
    }
    let full = if flags.is_empty() { pattern.to_string() } else { format!("(?{}){}", flags, pattern) };
    let re = Regex::new(&full).map_err(|e| format!("invalid regular expression /{}/: {}", pattern, e))?;
    CACHE.with(|c| {
        let mut c = c.borrow_mut();
        if c.len() >= CAPACITY {
            c.clear();
        }
        c.insert(key, re.clone());
    });
    Ok(re)
}
