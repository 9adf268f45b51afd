//! Matching hub users by name or email: the Users tab's `q` (`GET /api/v1/users`) and the
//! people picker's (`GET /api/v1/people`, SPEC S16) are the same match, written once.

use hubkeep_shared::FieldError;
use sea_orm::Condition;
use sea_orm::sea_query::{Expr, ExprTrait as _, LikeExpr};

use crate::db::entities::users;
use crate::error::ApiError;

/// A 422 `validation_failed` naming one query parameter.
pub(crate) fn invalid_query(field: &str, message: &str) -> ApiError {
    ApiError::validation(
        "Invalid query.",
        vec![FieldError {
            field: field.into(),
            message: message.into(),
        }],
    )
}

/// `%q%` for a LIKE on the lower-cased keys: `q` trimmed and lower-cased, with `%`, `_` and
/// `\` escaped (by `\`), so that they match themselves.
fn like_pattern(q: &str) -> String {
    let mut out = String::from("%");
    for c in q.trim().to_lowercase().chars() {
        if matches!(c, '%' | '_' | '\\') {
            out.push('\\');
        }
        out.push(c);
    }
    out.push('%');
    out
}

/// Users whose display name or email contains `q`, case-insensitively (`name_key` and
/// `email_key` are the lower-cased copies). `q` must be checked already: its length, and no
/// control characters.
pub(crate) fn name_or_email_contains(q: &str) -> Condition {
    let pattern = like_pattern(q);
    Condition::any()
        .add(Expr::col(users::Column::NameKey).like(LikeExpr::new(&pattern).escape('\\')))
        .add(Expr::col(users::Column::EmailKey).like(LikeExpr::new(&pattern).escape('\\')))
}

#[cfg(test)]
mod tests {
    use super::like_pattern;

    #[test]
    fn like_wildcards_and_the_escape_match_themselves() {
        assert_eq!(like_pattern(" Ada "), "%ada%");
        assert_eq!(like_pattern("50%_a\\b"), "%50\\%\\_a\\\\b%");
    }
}
