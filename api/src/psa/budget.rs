//! The tenant's budget of PSA calls (SPEC S11).
//!
//! Autotask allows 10,000 requests an hour per database, shared by every integration of that
//! database, and three concurrent threads per integration and endpoint. The hub keeps each
//! tenant within `[psa] hourly_budget` calls an hour, counted in the database so every
//! instance draws on the same count, and within three calls in flight per instance.
//! Foreground calls (sign-in, refresh: a person is waiting) are counted but never refused;
//! background calls may use only two of the three slots, so a sign-in never queues behind
//! them, and are refused once the hour's budget is spent.

use std::time::Duration;

use prometheus::{IntCounterVec, IntGauge, IntGaugeVec, Opts, Registry};
use sea_orm::{ConnectionTrait, DatabaseConnection, DbBackend, DbErr, Statement};
use tokio::sync::{Semaphore, SemaphorePermit};

use super::{Priority, PsaError};

/// Autotask's limit of concurrent threads per integration.
pub const IN_FLIGHT: usize = 3;
/// Of those, what background work may take.
const BACKGROUND_IN_FLIGHT: usize = IN_FLIGHT - 1;
const HOUR_SECS: i64 = 3600;
/// Counts older than this are deleted when a new hour starts.
const KEEP_HOURS: i64 = 24;

/// The PSA call metrics, registered once per server on its Prometheus registry.
#[derive(Debug, Clone)]
pub struct PsaMetrics {
    calls: IntCounterVec,
    refused: IntCounterVec,
    used: IntGaugeVec,
}

impl PsaMetrics {
    pub fn register(registry: &Registry, hourly_budget: u32) -> prometheus::Result<Self> {
        let calls = IntCounterVec::new(
            Opts::new(
                "hubkeep_psa_calls_total",
                "PSA calls this instance made, by tenant and priority (retries included)",
            ),
            &["tenant", "priority"],
        )?;
        let refused = IntCounterVec::new(
            Opts::new(
                "hubkeep_psa_calls_refused_total",
                "Background PSA calls refused because the tenant's hourly budget was spent",
            ),
            &["tenant"],
        )?;
        let used = IntGaugeVec::new(
            Opts::new(
                "hubkeep_psa_budget_used",
                "PSA calls counted this hour for the tenant, by every instance",
            ),
            &["tenant"],
        )?;
        let budget = IntGauge::new(
            "hubkeep_psa_hourly_budget",
            "The hourly budget of PSA calls per tenant ([psa] hourly_budget)",
        )?;
        budget.set(i64::from(hourly_budget));
        registry.register(Box::new(calls.clone()))?;
        registry.register(Box::new(refused.clone()))?;
        registry.register(Box::new(used.clone()))?;
        registry.register(Box::new(budget.clone()))?;
        Ok(Self {
            calls,
            refused,
            used,
        })
    }

    /// Metrics registered nowhere (unit tests, command-line tools).
    pub fn unregistered() -> Self {
        Self::register(&Registry::new(), 0).expect("the PSA metric definitions are constants")
    }
}

/// One tenant's slots and budget on this instance.
#[derive(Debug)]
pub struct Gate {
    tenant_id: String,
    hourly_budget: u32,
    db: Option<DatabaseConnection>,
    slots: Semaphore,
    background_slots: Semaphore,
    metrics: PsaMetrics,
}

/// A call's place: held while the call is in flight.
#[derive(Debug)]
pub struct Admission<'a> {
    _slot: SemaphorePermit<'a>,
    _background: Option<SemaphorePermit<'a>>,
}

impl Gate {
    /// A gate counting in `db`; `None` counts nothing (unit tests of the provider).
    pub fn new(
        tenant_id: impl Into<String>,
        hourly_budget: u32,
        db: Option<DatabaseConnection>,
        metrics: PsaMetrics,
    ) -> Self {
        Self {
            tenant_id: tenant_id.into(),
            hourly_budget,
            db,
            slots: Semaphore::new(IN_FLIGHT),
            background_slots: Semaphore::new(BACKGROUND_IN_FLIGHT),
            metrics,
        }
    }

    /// Counts the call against the hour's budget, then waits for a slot. A background call
    /// is refused with [`PsaError::BudgetSpent`] once the budget is spent. The count comes
    /// first so that no slot sits idle while the database is busy.
    pub async fn admit(&self, priority: Priority) -> Result<Admission<'_>, PsaError> {
        let closed = || PsaError::Unavailable("the PSA call gate is closed".into());
        self.spend(priority).await?;
        let background = match priority {
            Priority::Foreground => None,
            Priority::Background => Some(
                self.background_slots
                    .acquire()
                    .await
                    .map_err(|_| closed())?,
            ),
        };
        let slot = self.slots.acquire().await.map_err(|_| closed())?;
        self.metrics
            .calls
            .with_label_values(&[self.tenant_id.as_str(), priority.as_str()])
            .inc();
        Ok(Admission {
            _slot: slot,
            _background: background,
        })
    }

    async fn spend(&self, priority: Priority) -> Result<(), PsaError> {
        let Some(db) = &self.db else {
            return Ok(());
        };
        let now = chrono::Utc::now().timestamp();
        let hour = now - now.rem_euclid(HOUR_SECS);
        let retry_after =
            Duration::from_secs(u64::try_from(hour + HOUR_SECS - now).unwrap_or(1).max(1));
        let refuse = || {
            self.metrics
                .refused
                .with_label_values(&[self.tenant_id.as_str()])
                .inc();
            PsaError::BudgetSpent { retry_after }
        };
        if priority == Priority::Background && self.hourly_budget == 0 {
            return Err(refuse());
        }
        match count_call(db, &self.tenant_id, hour, priority, self.hourly_budget).await {
            Ok(Some(calls)) => {
                self.metrics
                    .used
                    .with_label_values(&[self.tenant_id.as_str()])
                    .set(calls);
                if calls == 1 {
                    forget_old_hours(db, hour).await;
                }
                Ok(())
            }
            Ok(None) => {
                self.metrics
                    .used
                    .with_label_values(&[self.tenant_id.as_str()])
                    .set(i64::from(self.hourly_budget));
                Err(refuse())
            }
            // A person is waiting: an unwritable count must not keep them out.
            Err(e) if priority == Priority::Foreground => {
                tracing::warn!(error = %e, "could not count a PSA call against the budget");
                Ok(())
            }
            Err(e) => Err(PsaError::Unavailable(format!(
                "the PSA call budget could not be read: {e}"
            ))),
        }
    }
}

/// Adds one call to the hour's count and returns the new count; for a background call only
/// while the count is under the budget (`None` when it is spent). One statement, so
/// instances counting at the same moment cannot both take the last call.
async fn count_call(
    db: &DatabaseConnection,
    tenant_id: &str,
    hour: i64,
    priority: Priority,
    budget: u32,
) -> Result<Option<i64>, sea_orm::DbErr> {
    let backend = db.get_database_backend();
    let (p1, p2, p3) = match backend {
        DbBackend::Postgres => ("$1", "$2", "$3"),
        _ => ("?", "?", "?"),
    };
    let mut sql = format!(
        "INSERT INTO psa_call_budget (tenant_id, hour_start, calls) VALUES ({p1}, {p2}, 1) \
         ON CONFLICT (tenant_id, hour_start) DO UPDATE SET calls = psa_call_budget.calls + 1"
    );
    let mut values: Vec<sea_orm::Value> = vec![tenant_id.into(), hour.into()];
    if priority == Priority::Background {
        sql.push_str(&format!(" WHERE psa_call_budget.calls < {p3}"));
        values.push(i64::from(budget).into());
    }
    sql.push_str(" RETURNING calls");
    let row = db
        .query_one_raw(Statement::from_sql_and_values(backend, sql, values))
        .await?;
    row.map(|row| row.try_get::<i64>("", "calls")).transpose()
}

/// PSA calls counted for the tenant in the current UTC hour, by every instance (SPEC S12's
/// status).
pub async fn used_this_hour(db: &impl ConnectionTrait, tenant_id: &str) -> Result<u32, DbErr> {
    let now = chrono::Utc::now().timestamp();
    let hour = now - now.rem_euclid(HOUR_SECS);
    let backend = db.get_database_backend();
    let (p1, p2) = if backend == DbBackend::Postgres {
        ("$1", "$2")
    } else {
        ("?", "?")
    };
    let row = db
        .query_one_raw(Statement::from_sql_and_values(
            backend,
            format!(
                "SELECT calls FROM psa_call_budget WHERE tenant_id = {p1} AND hour_start = {p2}"
            ),
            [tenant_id.into(), hour.into()],
        ))
        .await?;
    let calls = match row {
        Some(row) => row.try_get::<i64>("", "calls")?,
        None => 0,
    };
    Ok(u32::try_from(calls).unwrap_or(u32::MAX))
}

/// Best effort: old counts only take space.
async fn forget_old_hours(db: &DatabaseConnection, hour: i64) {
    let backend = db.get_database_backend();
    let p = if backend == DbBackend::Postgres {
        "$1"
    } else {
        "?"
    };
    let statement = Statement::from_sql_and_values(
        backend,
        format!("DELETE FROM psa_call_budget WHERE hour_start < {p}"),
        [(hour - KEEP_HOURS * HOUR_SECS).into()],
    );
    if let Err(e) = db.execute_raw(statement).await {
        tracing::debug!(error = %e, "could not forget old PSA call counts");
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Whether `future` is ready at its first poll (a semaphore with no permit is not).
    async fn ready_now<F: std::future::Future>(future: F) -> Option<F::Output> {
        tokio::time::timeout(Duration::ZERO, future).await.ok()
    }

    #[tokio::test]
    async fn s11_background_work_leaves_a_slot_for_sign_in() {
        let gate = Gate::new("t", 0, None, PsaMetrics::unregistered());
        let first = ready_now(gate.admit(Priority::Background)).await;
        let second = ready_now(gate.admit(Priority::Background)).await;
        assert!(
            first.is_some() && second.is_some(),
            "two background calls run"
        );
        assert!(
            ready_now(gate.admit(Priority::Background)).await.is_none(),
            "a third background call waits"
        );
        let sign_in = ready_now(gate.admit(Priority::Foreground))
            .await
            .expect("a foreground call finds the third slot free")
            .expect("admitted");
        assert!(
            ready_now(gate.admit(Priority::Foreground)).await.is_none(),
            "at most three calls in flight"
        );
        drop(sign_in);
        assert!(ready_now(gate.admit(Priority::Foreground)).await.is_some());
    }
}
