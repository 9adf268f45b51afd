//! The reconciliation job (SPEC S12): every `[psa] reconcile_minutes`, per tenant, every hub
//! user's resource is re-read (`Resources/query` with `in`, at most 500 ids a call, pages
//! followed) with the security levels, and what changed is applied by the same code as the
//! Users tab's refresh (`access::users::psa_answer`): snapshot, access stamp, and for access
//! `none` every session and API token revoked, each change with a `user.psa_changed` entry
//! in its transaction. One instance runs a tenant's job at a time ([`super::lease`]).
//!
//! It begins its own transactions (a batch of [`BATCH`] users each, never one around a PSA
//! call) and runs outside any request; `POST /api/v1/psa/reconcile` runs it now.

use std::collections::HashMap;
use std::time::Duration;

use hubkeep_shared::ids::UserId;
use hubkeep_shared::{HubAction, ProblemCode};
use sea_orm::{
    ColumnTrait, EntityTrait, QueryFilter, QueryOrder, QuerySelect, TransactionTrait as _,
};

use super::apply::{Cause, Read, apply_user, nothing_yet};
use super::lease::{self, Finished, Run};
use crate::AppState;
use crate::access::users::AccessContext;
use crate::db::{
    self,
    entities::{psa_feed, psa_settings, users},
};
use crate::error::ApiError;
use crate::identity::Caller;
use crate::psa::{Priority, PsaResource};
pub use hubkeep_shared::api::ReconcileSummary;

/// Users applied per transaction.
pub const BATCH: usize = 200;

/// The period a tenant's row is due after when the job is off (only on-demand runs then).
const IDLE_PERIOD: Duration = Duration::from_secs(5 * 60);

/// Starts the job on this instance unless `[psa] reconcile_minutes` is 0. Each tick looks
/// for due tenants; the lease decides which instance runs each.
pub fn spawn(state: AppState) {
    let Some(period) = state.settings.psa.reconcile_every() else {
        return;
    };
    let tick = period.clamp(Duration::from_millis(200), Duration::from_secs(5));
    tokio::spawn(async move {
        let mut interval = tokio::time::interval(tick);
        interval.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            interval.tick().await;
            if let Err(e) = run_due(&state).await {
                tracing::warn!(error = %e, "the reconciliation pass could not run");
            }
        }
    });
}

fn chrono(d: Duration) -> chrono::Duration {
    chrono::Duration::from_std(d).unwrap_or(chrono::Duration::MAX)
}

fn period(state: &AppState) -> chrono::Duration {
    chrono(state.settings.psa.reconcile_every().unwrap_or(IDLE_PERIOD))
}

fn lease_length(state: &AppState) -> chrono::Duration {
    chrono(Duration::from_secs(state.settings.psa.reconcile_lease_secs))
}

/// One pass: every tenant whose run is due and whose lease this instance gets.
async fn run_due(state: &AppState) -> Result<(), sea_orm::DbErr> {
    let tenants: Vec<String> = psa_settings::Entity::find()
        .select_only()
        .column(psa_settings::Column::TenantId)
        .into_tuple()
        .all(&state.db)
        .await?;
    // A row is made once per tenant, not on every tick.
    let known: std::collections::HashSet<String> = psa_feed::Entity::find()
        .select_only()
        .column(psa_feed::Column::TenantId)
        .into_tuple()
        .all(&state.db)
        .await?
        .into_iter()
        .collect();
    for tenant_id in tenants {
        let now = db::now();
        if !known.contains(&tenant_id) {
            lease::ensure_row(&state.db, &tenant_id, now, period(state)).await?;
        }
        let holder = run_holder(state);
        let lease = lease_length(state);
        if lease::take(&state.db, &tenant_id, &holder, now, lease, Run::Scheduled).await? {
            // The outcome is in `psa_feed` (and the log); the next tenant goes on.
            let _ = run_leased(state.clone(), tenant_id, holder).await;
        }
    }
    Ok(())
}

/// The lease holder of one run: this instance and the run, so two runs of one instance
/// never take each other for the holder.
fn run_holder(state: &AppState) -> String {
    format!("{}/{}", state.instance_id, db::new_id())
}

/// `POST /api/v1/psa/reconcile`: the caller's tenant now, unless a run is in progress
/// (409 `reconcile_in_progress`).
pub async fn reconcile_now(
    state: &AppState,
    caller: &Caller,
) -> Result<ReconcileSummary, ApiError> {
    caller.require(HubAction::RefreshUsers)?;
    let tenant_id = &caller.tenant_id;
    let now = db::now();
    lease::ensure_row(&state.db, tenant_id, now, period(state)).await?;
    let holder = run_holder(state);
    if !lease::take(
        &state.db,
        tenant_id,
        &holder,
        now,
        lease_length(state),
        Run::Now,
    )
    .await?
    {
        return Err(ApiError::new(
            ProblemCode::ReconcileInProgress,
            "A reconciliation of this tenant is already running; its result will show in the \
             PSA status.",
        ));
    }
    // A task of its own: a client that goes away does not cancel the run halfway.
    tokio::spawn(run_leased(state.clone(), tenant_id.clone(), holder))
        .await
        .map_err(|e| ApiError::Internal(anyhow::anyhow!("the reconciliation task failed: {e}")))?
}

/// Aborts the lease's heartbeat however the run ends (an error, a panic, a dropped future).
struct AbortOnDrop(tokio::task::JoinHandle<()>);

impl Drop for AbortOnDrop {
    fn drop(&mut self) {
        self.0.abort();
    }
}

/// Runs the tenant's reconciliation under the lease `holder` holds, records how it went
/// (what it applied, also when it failed halfway) and frees the lease.
async fn run_leased(
    state: AppState,
    tenant_id: String,
    holder: String,
) -> Result<ReconcileSummary, ApiError> {
    let started_at = db::now();
    let mut summary = nothing_yet(started_at);
    let outcome = {
        // The lease outlives slow PSA calls: renewed every third of its length while the run
        // goes on, and no longer once it is over, however it ends.
        let _heartbeat = AbortOnDrop(tokio::spawn(renew_while_running(
            state.clone(),
            tenant_id.clone(),
            holder.clone(),
        )));
        reconcile(&state, &tenant_id, &holder, &mut summary).await
    };
    let at = db::now();
    summary.finished_at = at;
    let mut done = Finished {
        at,
        // From the start of this run, so the period bounds how stale the hub can be.
        next_due: (started_at + period(&state)).max(at),
        users_checked: summary.users_checked,
        changes_applied: summary.changes_applied,
        error: None,
    };
    match &outcome {
        Ok(()) => tracing::info!(
            tenant = tenant_id,
            users_checked = summary.users_checked,
            changes_applied = summary.changes_applied,
            access_withdrawn = summary.access_withdrawn,
            "reconciled the hub users with the PSA"
        ),
        Err(e) => {
            let problem = e.problem();
            let reason = problem.reason.map(|r| r.to_string());
            tracing::warn!(tenant = tenant_id, error = %e, "the reconciliation failed");
            done.error = Some((problem.code.to_string(), reason, problem.detail));
        }
    }
    if let Err(e) = lease::finish(&state.db, &tenant_id, &holder, &done).await {
        tracing::warn!(tenant = tenant_id, error = %e, "could not record the reconciliation");
    }
    outcome.map(|()| summary)
}

/// Renews the tenant's lease every third of its length until aborted or lost.
async fn renew_while_running(state: AppState, tenant_id: String, holder: String) {
    let every = Duration::from_secs(state.settings.psa.reconcile_lease_secs) / 3;
    loop {
        tokio::time::sleep(every).await;
        let now = db::now();
        match lease::renew(&state.db, &tenant_id, &holder, now, lease_length(&state)).await {
            Ok(true) => {}
            Ok(false) => return,
            Err(e) => tracing::warn!(tenant = tenant_id, error = %e, "could not renew the lease"),
        }
    }
}

/// Reads the PSA, then applies it batch by batch into `summary`, each batch committing only
/// while `holder` still holds the lease.
async fn reconcile(
    state: &AppState,
    tenant_id: &str,
    holder: &str,
    summary: &mut ReconcileSummary,
) -> Result<(), ApiError> {
    let people: Vec<(UserId, i64)> = users::Entity::find()
        .select_only()
        .column(users::Column::Id)
        .column(users::Column::PsaResourceId)
        .filter(users::Column::TenantId.eq(tenant_id))
        .order_by_asc(users::Column::Id)
        .into_tuple()
        .all(&state.db)
        .await?;
    if people.is_empty() {
        return Ok(());
    }
    let psa = crate::psa::registry::settings_of(&state.db, tenant_id).await?;
    // Bulk work that can wait: it yields to sign-ins and stops when the budget is spent.
    // The levels first: a level that lost its facts restamps (and withdraws) at once.
    let levels = state.psa.levels_by_id(&state.db, &psa).await?;
    let provider = state.psa.provider(&psa, Priority::Background)?;
    let ids: Vec<i64> = people.iter().map(|(_, resource)| *resource).collect();
    let resources = read_resources(provider.as_ref(), &ids).await?;
    let read = Read {
        resources: &resources,
        levels: &levels,
    };
    for batch in people.chunks(BATCH) {
        apply_batch(state, (tenant_id, holder), batch, &read, summary).await?;
        summary.users_checked += u64::try_from(batch.len()).unwrap_or(0);
    }
    Ok(())
}

/// At most this many resources missing from the PSA's batched answer are re-read one by one;
/// more, and the run stops without changing anyone.
const MAX_MISSING: usize = 50;

/// The resources of `ids`, batched; one the batched answer left out is re-read on its own
/// before it counts as gone (a PSA that shortened a long `in` list must not offboard people).
async fn read_resources(
    provider: &dyn crate::psa::PsaDirectory,
    ids: &[i64],
) -> Result<HashMap<i64, PsaResource>, ApiError> {
    let mut resources: HashMap<i64, PsaResource> = provider
        .resources_by_ids(ids)
        .await?
        .into_iter()
        .map(|r| (r.id, r))
        .collect();
    let missing: Vec<i64> = ids
        .iter()
        .copied()
        .filter(|id| !resources.contains_key(id))
        .collect();
    if missing.len() > MAX_MISSING {
        return Err(ApiError::new(
            ProblemCode::PsaUnavailable,
            format!(
                "The PSA's answer left out {} of {} resources; nobody was changed. The next \
                 run tries again.",
                missing.len(),
                ids.len()
            ),
        ));
    }
    for id in missing {
        if let Some(resource) = provider.resource(id).await? {
            resources.insert(id, resource);
        }
    }
    Ok(resources)
}

/// One transaction: each user of the batch, re-read under the tenant lock, compared with
/// the PSA's answer and changed where it differs.
async fn apply_batch(
    state: &AppState,
    (tenant_id, holder): (&str, &str),
    batch: &[(UserId, i64)],
    read: &Read<'_>,
    summary: &mut ReconcileSummary,
) -> Result<(), ApiError> {
    let txn = state.db.begin().await?;
    // Serialized with every other change of hub access (the Users tab, sign-in).
    db::lock_tenant(&txn, tenant_id).await?;
    let context = AccessContext::load(&txn, tenant_id).await?;
    for (user_id, _) in batch {
        let Some(user) = users::Entity::find_by_id(user_id.clone()).one(&txn).await? else {
            continue;
        };
        apply_user(
            &txn,
            tenant_id,
            (&user, read),
            &context,
            Cause::Reconcile,
            summary,
        )
        .await?;
    }
    // Only while the lease is still this run's: a run that lost it (another instance took
    // over) must not write over a newer run's answer.
    if !lease::renew(&txn, tenant_id, holder, db::now(), lease_length(state)).await? {
        return Err(ApiError::Internal(anyhow::anyhow!(
            "the reconciliation lease of tenant {tenant_id} ran out and was taken over"
        )));
    }
    txn.commit().await?;
    Ok(())
}
