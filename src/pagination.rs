//! Page-based lists: `?page=&per_page=` in, `{items, page, per_page, total, total_pages}` out.

use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use crate::error::{ApiError, Validator};

/// The default page size.
pub const DEFAULT_PER_PAGE: u32 = 20;
/// The largest page size; a larger `per_page` is refused with 422 (everywhere alike).
pub const MAX_PER_PAGE: u32 = 100;
/// The largest page number accepted.
pub const MAX_PAGE: u32 = 1_000_000;

/// Which page to read.
#[derive(Debug, Clone, Copy, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct PageParams {
    /// 1-based page number (default 1).
    #[param(minimum = 1, maximum = 1000000, example = 1)]
    pub page: Option<u32>,
    /// Items per page (default 20, at most 100).
    #[param(minimum = 1, maximum = 100, example = 20)]
    pub per_page: Option<u32>,
}

/// A validated page request.
#[derive(Debug, Clone, Copy)]
pub struct PageRequest {
    /// 1-based page number.
    pub page: u32,
    /// Items per page.
    pub per_page: u32,
}

impl PageParams {
    /// Validates the numbers, naming the parameter at fault.
    pub fn validate(self) -> Result<PageRequest, ApiError> {
        let page = self.page.unwrap_or(1);
        let per_page = self.per_page.unwrap_or(DEFAULT_PER_PAGE);
        Validator::new()
            .check(
                (1..=MAX_PAGE).contains(&page),
                "page",
                format!("must be between 1 and {MAX_PAGE}"),
            )
            .check(
                (1..=MAX_PER_PAGE).contains(&per_page),
                "per_page",
                format!("must be between 1 and {MAX_PER_PAGE}"),
            )
            .finish()?;
        Ok(PageRequest { page, per_page })
    }
}

impl PageRequest {
    /// Rows to skip.
    pub fn offset(&self) -> i64 {
        (self.page as i64 - 1) * self.per_page as i64
    }

    /// Rows to read.
    pub fn limit(&self) -> i64 {
        self.per_page as i64
    }

    /// Wraps one page of items with the totals a client needs for page links.
    pub fn page<T>(&self, items: Vec<T>, total: i64) -> Page<T> {
        let per_page = self.per_page as i64;
        Page {
            items,
            page: self.page,
            per_page: self.per_page,
            total,
            total_pages: (total + per_page - 1) / per_page,
        }
    }
}

/// One page of a list.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Page<T> {
    /// The items of this page.
    pub items: Vec<T>,
    /// This page's number (1-based).
    #[schema(example = 1)]
    pub page: u32,
    /// The page size used.
    #[schema(example = 20)]
    pub per_page: u32,
    /// Items in the whole list.
    #[schema(example = 123)]
    pub total: i64,
    /// Pages in the whole list.
    #[schema(example = 7)]
    pub total_pages: i64,
}

/// The default number of items in a cursor page.
pub const DEFAULT_LIMIT: u32 = 20;

/// Where to continue a feed.
#[derive(Debug, Clone, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct CursorParams {
    /// The `next_cursor` of the previous page; absent for the newest items.
    #[param(example = "djE6MTIz")]
    pub cursor: Option<String>,
    /// Items per page (default 20, at most 100).
    #[param(minimum = 1, maximum = 100, example = 20)]
    pub limit: Option<u32>,
}

/// A validated cursor request: items with an id below `before`.
#[derive(Debug, Clone, Copy)]
pub struct CursorRequest {
    /// Exclusive upper bound on ids; `None` for the newest.
    pub before: Option<i64>,
    /// Items per page.
    pub limit: u32,
}

impl CursorParams {
    /// Validates the cursor and limit, naming the parameter at fault.
    pub fn validate(self) -> Result<CursorRequest, ApiError> {
        let limit = self.limit.unwrap_or(DEFAULT_LIMIT);
        let mut v = Validator::new();
        v.check(
            (1..=MAX_PER_PAGE).contains(&limit),
            "limit",
            format!("must be between 1 and {MAX_PER_PAGE}"),
        );
        let before = match self.cursor.as_deref() {
            None | Some("") => None,
            Some(c) => {
                let id = decode_cursor(c);
                v.check(
                    id.is_some(),
                    "cursor",
                    "is not a cursor this server gave out",
                );
                id
            }
        };
        v.finish()?;
        Ok(CursorRequest { before, limit })
    }
}

fn decode_cursor(c: &str) -> Option<i64> {
    use base64::Engine;
    let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(c)
        .ok()?;
    let s = String::from_utf8(bytes).ok()?;
    s.strip_prefix("v1:")?
        .parse()
        .ok()
        .filter(|id: &i64| *id > 0)
}

/// The opaque cursor that continues after the item with this id.
pub fn encode_cursor(id: i64) -> String {
    use base64::Engine;
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(format!("v1:{id}"))
}

impl CursorRequest {
    /// Rows to read: one more than a page, to know whether another page follows.
    pub fn fetch(&self) -> i64 {
        self.limit as i64 + 1
    }

    /// Cuts the extra row; returns the page's rows and the cursor of the next page.
    pub fn split<R>(&self, mut rows: Vec<R>, id: impl Fn(&R) -> i64) -> (Vec<R>, Option<String>) {
        let more = rows.len() > self.limit as usize;
        rows.truncate(self.limit as usize);
        let next = if more {
            rows.last().map(|r| encode_cursor(id(r)))
        } else {
            None
        };
        (rows, next)
    }
}

/// One page of a feed.
#[derive(Debug, Serialize, ToSchema)]
pub struct CursorPage<T> {
    /// The items, newest first.
    pub items: Vec<T>,
    /// Pass as `cursor` to read the next page; `null` at the end.
    #[schema(required = true, example = "djE6MTAw")]
    pub next_cursor: Option<String>,
}
