//! A connection's subscription (SPEC S5, S7): the owner pays (which re-activates a cancelled
//! connection) or cancels.

use chrono::{Months, NaiveDate};
use hubkeep_shared::ConnectionAction;
use hubkeep_shared::ConnectionId;
use hubkeep_shared::fields::{CurrencyCode, FieldErrors, MAX_PAYMENT_MONTHS};
use sea_orm::{ActiveModelTrait, ActiveValue::Set, DatabaseTransaction, EntityTrait};
use serde_json::json;

use super::guard;
use super::read::ConnectionStatus;
use crate::activity::{Changes, actions};
use crate::db::{
    self,
    entities::{connections as conn, payments},
};
use crate::error::ApiError;
use crate::identity::Caller;
pub use hubkeep_shared::api::connections::PaymentInput;

/// The new `paid_through`: `months` calendar months on from the later of `today` and the
/// current `paid_through` (a month on from 31 January is the last day of February).
pub fn next_paid_through(
    today: NaiveDate,
    current: Option<NaiveDate>,
    months: u32,
) -> Option<NaiveDate> {
    let from = current.map_or(today, |c| c.max(today));
    from.checked_add_months(Months::new(months))
}

fn parse(input: &PaymentInput) -> Result<(), ApiError> {
    let mut errors = FieldErrors::new();
    if !(1..=MAX_PAYMENT_MONTHS).contains(&input.months) {
        errors.add("months", format!("must be 1 to {MAX_PAYMENT_MONTHS}"));
    }
    if input.amount_cents < 0 {
        errors.add("amount_cents", "must be at least 0");
    }
    errors.check::<CurrencyCode>("currency", &input.currency);
    ApiError::refuse_fields(errors, "The payment is not valid.")
}

/// `POST /api/v1/connections/{id}/pay`: records the payment, moves `paid_through` and
/// re-activates a cancelled connection. "Today" is the UTC date. A cancelled connection
/// accepts this one change, so the guard's step 4 is not applied.
pub async fn pay(
    txn: &DatabaseTransaction,
    caller: &Caller,
    id: &ConnectionId,
    input: &PaymentInput,
) -> Result<(), ApiError> {
    let guarded = guard::load(txn, caller, id).await?;
    guarded.authorize(&[ConnectionAction::Pay])?;
    parse(input)?;
    let model = guarded.model;
    let now = db::now();
    let before = model.paid_through;
    let after = next_paid_through(now.date_naive(), before, input.months)
        .ok_or_else(|| ApiError::Internal(anyhow::anyhow!("paid_through overflow")))?;
    let payment_id = db::new_id();
    payments::Entity::insert(payments::ActiveModel {
        id: Set(payment_id.clone()),
        tenant_id: Set(caller.tenant_id.clone()),
        connection_id: Set(model.id.clone()),
        amount_cents: Set(input.amount_cents),
        currency: Set(input.currency.clone()),
        months: Set(i32::try_from(input.months).unwrap_or(i32::MAX)),
        paid_through_before: Set(before),
        paid_through_after: Set(after),
        paid_by: Set(caller.user.id.clone()),
        paid_at: Set(now),
        provider_reference: Set(None),
    })
    .exec_without_returning(txn)
    .await?;
    let was_cancelled = guard::is_cancelled(&model);
    let mut active: conn::ActiveModel = model.into();
    active.paid_through = Set(Some(after));
    active.status = Set(ConnectionStatus::Active);
    active.cancelled_at = Set(None);
    active.updated_at = Set(now);
    let updated = active.update(txn).await?;
    let details = json!({
        "payment_id": payment_id,
        "months": input.months,
        "amount_cents": input.amount_cents,
        "currency": input.currency,
        "paid_through": {"before": before, "after": after},
        "reactivated": was_cancelled,
    });
    guard::record(txn, caller, &updated, actions::CONNECTION_PAID, details).await
}

/// `POST /api/v1/connections/{id}/cancel`.
pub async fn cancel(
    txn: &DatabaseTransaction,
    caller: &Caller,
    id: &ConnectionId,
) -> Result<(), ApiError> {
    let guarded = guard::for_write(txn, caller, id, &[ConnectionAction::Cancel]).await?;
    let model = guarded.model;
    let now = db::now();
    let paid_through = model.paid_through;
    let mut active: conn::ActiveModel = model.into();
    active.status = Set(ConnectionStatus::Cancelled);
    active.cancelled_at = Set(Some(now));
    active.updated_at = Set(now);
    let updated = active.update(txn).await?;
    let mut details = Changes::new();
    details.note("status", "active", "cancelled");
    let mut details = details.into_value();
    details["paid_through"] = json!(paid_through);
    guard::record(
        txn,
        caller,
        &updated,
        actions::CONNECTION_CANCELLED,
        details,
    )
    .await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paid_through_moves_by_calendar_months_from_the_later_date() {
        let d = |y, m, day| NaiveDate::from_ymd_opt(y, m, day).unwrap();
        assert_eq!(
            next_paid_through(d(2026, 1, 31), None, 1),
            Some(d(2026, 2, 28))
        );
        assert_eq!(
            next_paid_through(d(2026, 1, 10), Some(d(2026, 3, 5)), 2),
            Some(d(2026, 5, 5))
        );
        assert_eq!(
            next_paid_through(d(2026, 6, 1), Some(d(2026, 3, 5)), 12),
            Some(d(2027, 6, 1))
        );
    }
}
