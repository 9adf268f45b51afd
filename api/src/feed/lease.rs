//! The reconciliation lease (SPEC S12): a row per tenant in `psa_feed`, taken with one
//! conditional `UPDATE`, so that among the instances sharing a database exactly one runs a
//! tenant's job at a time, and one that died holding it loses it when it expires.

use chrono::{DateTime, Utc};
use sea_orm::sea_query::Expr;
use sea_orm::{
    ActiveValue::Set, ColumnTrait, Condition, ConnectionTrait, DbErr, EntityTrait, QueryFilter,
};

use crate::db::entities::psa_feed;

/// Which run asks for the lease.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Run {
    /// The periodic job: only when the tenant's run is due.
    Scheduled,
    /// `POST /api/v1/psa/reconcile`: now, unless a run is in progress.
    Now,
}

/// The tenant's row, made on first sight with its first run due one `period` later (a new
/// tenant is not read from the PSA the moment it is created).
pub async fn ensure_row(
    db: &impl ConnectionTrait,
    tenant_id: &str,
    now: DateTime<Utc>,
    period: chrono::Duration,
) -> Result<(), DbErr> {
    let row = psa_feed::ActiveModel {
        tenant_id: Set(tenant_id.to_owned()),
        lease_holder: Set(None),
        lease_expires_at: Set(None),
        due_at: Set(now + period),
        last_run_at: Set(None),
        users_checked: Set(0),
        changes_applied: Set(0),
        last_error_code: Set(None),
        last_error_reason: Set(None),
        last_error_detail: Set(None),
        last_error_at: Set(None),
    };
    // Already there (another instance, an earlier start): nothing to do.
    psa_feed::Entity::insert(row)
        .on_conflict_do_nothing()
        .exec(db)
        .await?;
    Ok(())
}

/// Makes the tenant's next scheduled run due now (a callout that could not be applied): the
/// job's next tick reconciles it. Nothing happens while the job is off or the row is not
/// made yet (its first run is then one period away at most).
pub async fn due_now(db: &impl ConnectionTrait, tenant_id: &str) -> Result<(), DbErr> {
    psa_feed::Entity::update_many()
        .col_expr(psa_feed::Column::DueAt, Expr::value(crate::db::now()))
        .filter(psa_feed::Column::TenantId.eq(tenant_id))
        .exec(db)
        .await?;
    Ok(())
}

/// Takes the tenant's lease for `holder` until `now + lease`: `true` when this call got it.
/// Free or expired leases only (a run in progress, even this instance's, keeps it), and for
/// [`Run::Scheduled`] only when the run is due.
pub async fn take(
    db: &impl ConnectionTrait,
    tenant_id: &str,
    holder: &str,
    now: DateTime<Utc>,
    lease: chrono::Duration,
    run: Run,
) -> Result<bool, DbErr> {
    let mut free = Condition::any()
        .add(psa_feed::Column::LeaseHolder.is_null())
        .add(psa_feed::Column::LeaseExpiresAt.lt(now));
    if run == Run::Scheduled {
        free = Condition::all()
            .add(free)
            .add(psa_feed::Column::DueAt.lte(now));
    }
    let taken = psa_feed::Entity::update_many()
        .col_expr(psa_feed::Column::LeaseHolder, Expr::value(holder))
        .col_expr(psa_feed::Column::LeaseExpiresAt, Expr::value(now + lease))
        .filter(psa_feed::Column::TenantId.eq(tenant_id))
        .filter(free)
        .exec(db)
        .await?;
    Ok(taken.rows_affected == 1)
}

/// Extends the lease `holder` still has; `false` when it was lost (expired and taken).
pub async fn renew(
    db: &impl ConnectionTrait,
    tenant_id: &str,
    holder: &str,
    now: DateTime<Utc>,
    lease: chrono::Duration,
) -> Result<bool, DbErr> {
    let renewed = psa_feed::Entity::update_many()
        .col_expr(psa_feed::Column::LeaseExpiresAt, Expr::value(now + lease))
        .filter(psa_feed::Column::TenantId.eq(tenant_id))
        .filter(psa_feed::Column::LeaseHolder.eq(holder))
        .exec(db)
        .await?;
    Ok(renewed.rows_affected == 1)
}

/// How a run ended, as `psa_feed` keeps it.
#[derive(Debug, Clone, Default)]
pub struct Finished {
    pub at: DateTime<Utc>,
    pub next_due: DateTime<Utc>,
    pub users_checked: u64,
    pub changes_applied: u64,
    /// `(code, reason, detail)` of the failure, `None` after a success.
    pub error: Option<(String, Option<String>, String)>,
}

/// Records the run and frees the lease, if `holder` still has it.
pub async fn finish(
    db: &impl ConnectionTrait,
    tenant_id: &str,
    holder: &str,
    done: &Finished,
) -> Result<(), DbErr> {
    let (code, reason, detail) = match &done.error {
        Some((code, reason, detail)) => (Some(code.clone()), reason.clone(), Some(detail.clone())),
        None => (None, None, None),
    };
    let failed_at = done.error.as_ref().map(|_| done.at);
    let count = |n: u64| i64::try_from(n).unwrap_or(i64::MAX);
    psa_feed::Entity::update_many()
        .col_expr(psa_feed::Column::LeaseHolder, Expr::value(None::<String>))
        .col_expr(
            psa_feed::Column::LeaseExpiresAt,
            Expr::value(None::<DateTime<Utc>>),
        )
        .col_expr(psa_feed::Column::LastRunAt, Expr::value(Some(done.at)))
        .col_expr(psa_feed::Column::DueAt, Expr::value(done.next_due))
        .col_expr(
            psa_feed::Column::UsersChecked,
            Expr::value(count(done.users_checked)),
        )
        .col_expr(
            psa_feed::Column::ChangesApplied,
            Expr::value(count(done.changes_applied)),
        )
        .col_expr(psa_feed::Column::LastErrorCode, Expr::value(code))
        .col_expr(psa_feed::Column::LastErrorReason, Expr::value(reason))
        .col_expr(psa_feed::Column::LastErrorDetail, Expr::value(detail))
        .col_expr(psa_feed::Column::LastErrorAt, Expr::value(failed_at))
        .filter(psa_feed::Column::TenantId.eq(tenant_id))
        .filter(psa_feed::Column::LeaseHolder.eq(holder))
        .exec(db)
        .await?;
    Ok(())
}
