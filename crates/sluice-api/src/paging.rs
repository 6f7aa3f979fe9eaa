//! `itemsPerPage`, `pageNum`, `includeCount` and the paged list body.

use serde::Deserialize;
use serde_json::{json, Value as Json};

use crate::error::ApiError;

/// The paging query parameters.
#[derive(Debug, Deserialize, Default)]
#[serde(rename_all = "camelCase")]
pub struct PageQuery {
    items_per_page: Option<String>,
    page_num: Option<String>,
    include_count: Option<String>,
}

/// A validated page request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Page {
    /// 1..=500, default 100.
    pub items_per_page: usize,
    /// From 1, default 1.
    pub page_num: usize,
    /// Default true.
    pub include_count: bool,
}

fn bad(name: &str, value: &str) -> ApiError {
    ApiError::new(
        axum::http::StatusCode::BAD_REQUEST,
        "INVALID_QUERY_PARAMETER",
        format!("Invalid query parameter {} specified: {}.", name, value),
    )
    .params([name, value])
}

impl PageQuery {
    /// Checks the values against the contract's bounds.
    pub fn page(&self) -> Result<Page, ApiError> {
        let num = |name: &str, v: &Option<String>, default: usize, max: usize| match v {
            None => Ok(default),
            Some(s) => s.parse::<usize>().ok().filter(|n| (1..=max).contains(n)).ok_or_else(|| bad(name, s)),
        };
        let include_count = match self.include_count.as_deref() {
            None => true,
            Some(s) if s.eq_ignore_ascii_case("true") => true,
            Some(s) if s.eq_ignore_ascii_case("false") => false,
            Some(s) => return Err(bad("includeCount", s)),
        };
        Ok(Page {
            items_per_page: num("itemsPerPage", &self.items_per_page, 100, 500)?,
            page_num: num("pageNum", &self.page_num, 1, usize::MAX)?,
            include_count,
        })
    }
}

impl Page {
    /// The list body for the items of this page out of `all`.
    pub fn body(&self, all: Vec<Json>, links: Json) -> Json {
        let total = all.len();
        let results: Vec<Json> = all
            .into_iter()
            .skip((self.page_num - 1).saturating_mul(self.items_per_page))
            .take(self.items_per_page)
            .collect();
        let mut b = json!({"links": links, "results": results});
        if self.include_count {
            b["totalCount"] = json!(total);
        }
        b
    }
}
