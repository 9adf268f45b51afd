//! Cursor pagination (SPEC S8): `limit` (default 50, at most 200) and an opaque `cursor`.

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use hubkeep_shared::FieldError;

use crate::error::ApiError;
pub use hubkeep_shared::api::{Page, PageQuery};

pub const DEFAULT_LIMIT: u64 = 50;
pub const MAX_LIMIT: u64 = 200;
/// No key this API encodes in a cursor comes near this length (names are at most 200
/// characters); a longer cursor was not issued here.
const MAX_CURSOR_KEY_BYTES: usize = 4096;

fn invalid(field: &str, message: &str) -> ApiError {
    ApiError::validation(
        "Invalid pagination.",
        vec![FieldError {
            field: field.into(),
            message: message.into(),
        }],
    )
}

/// The server's reading of `?limit=&cursor=` (the query type itself is shared).
pub trait Paging {
    /// `limit`, checked: 1–200, default 50.
    fn limit(&self) -> Result<u64, ApiError>;
    /// The sort key the cursor continues after (an id, for lists sorted by id).
    fn after_id(&self) -> Result<Option<String>, ApiError>;
}

impl Paging for PageQuery {
    fn limit(&self) -> Result<u64, ApiError> {
        match self.limit {
            None => Ok(DEFAULT_LIMIT),
            Some(n) if (1..=MAX_LIMIT).contains(&n) => Ok(n),
            Some(_) => Err(invalid("limit", "must be between 1 and 200")),
        }
    }

    fn after_id(&self) -> Result<Option<String>, ApiError> {
        self.cursor.as_deref().map(decode_cursor).transpose()
    }
}

pub fn encode_cursor(key: &str) -> String {
    URL_SAFE_NO_PAD.encode(key.as_bytes())
}

/// The key of a cursor this API issued. Keys are ids, names and timestamps: never empty,
/// never huge, never with a NUL (PostgreSQL cannot even compare text holding one, so such a
/// key must not reach a query). Other control characters may be real: names come from the
/// PSA as they are.
pub fn decode_cursor(cursor: &str) -> Result<String, ApiError> {
    URL_SAFE_NO_PAD
        .decode(cursor)
        .ok()
        .and_then(|bytes| String::from_utf8(bytes).ok())
        .filter(|key| !key.is_empty() && key.len() <= MAX_CURSOR_KEY_BYTES && !key.contains('\0'))
        .ok_or_else(|| invalid("cursor", "is not a cursor this API issued"))
}

/// Builds a page from `limit + 1` rows fetched in order: the extra row only says that there
/// is a next page.
pub fn page_from_rows<R, T>(
    mut rows: Vec<R>,
    limit: u64,
    key: impl Fn(&R) -> String,
    map: impl Fn(&R) -> Result<T, ApiError>,
) -> Result<Page<T>, ApiError> {
    let limit = usize::try_from(limit).unwrap_or(usize::MAX);
    let more = rows.len() > limit;
    rows.truncate(limit);
    let next_cursor = if more {
        rows.last().map(|r| encode_cursor(&key(r)))
    } else {
        None
    };
    let items = rows.iter().map(map).collect::<Result<_, _>>()?;
    Ok(Page { items, next_cursor })
}
