//! The PSA change feed (SPEC S12): how the last reconciliation went, when the next runs, the
//! hour's PSA calls against the budget, the webhook state, "Reconcile now", and subscribing
//! to (or removing) Autotask's callouts.

use super::*;
use crate::components::ui::{resource, suspend};
use hubkeep_shared::api::{PsaStatus, WebhookState};

fn webhook_text(state: WebhookState) -> &'static str {
    match state {
        WebhookState::Unsupported => "not offered by this PSA",
        WebhookState::NotSubscribed => "not subscribed (changes arrive with reconciliation)",
        WebhookState::Active => "active",
        WebhookState::Deactivated => "deactivated by the PSA",
    }
}

#[component]
fn FeedStatus(status: PsaStatus) -> impl IntoView {
    let r = status.reconcile;
    let error = status.last_error.map(|e| {
        let reason = e.reason.map(|r| format!(" ({r})")).unwrap_or_default();
        let code = e.code.clone();
        view! {
            <p id="psa-feed-error" class="error" data-code=code>
                "The last run failed at "{fmt_time(&e.at)}": "{e.code}{reason}" — "{e.detail}
            </p>
        }
    });
    view! {
        <p id="psa-feed-health" class=if status.healthy { "ok" } else { "error" } data-healthy=status.healthy.to_string()>
            {if status.healthy { "Healthy" } else { "The last reconciliation failed" }}
        </p>
        {error}
        <dl class="facts">
            <dt>"Last run"</dt>
            <dd id="psa-feed-last-run">{opt_time(r.last_run_at.as_ref())}</dd>
            <dt>"Next run"</dt>
            <dd id="psa-feed-next-run">
                {r.next_run_at.as_ref().map_or_else(|| "off ([psa] reconcile_minutes = 0)".to_owned(), fmt_time)}
            </dd>
            <dt>"Users checked / changed"</dt>
            <dd id="psa-feed-counts">{r.users_checked}" / "{r.changes_applied}</dd>
            <dt>"PSA calls this hour"</dt>
            <dd id="psa-feed-budget">{status.budget.used_this_hour}" of "{status.budget.hourly_budget}</dd>
            <dt>"Webhook"</dt>
            <dd id="psa-feed-webhook" data-state=format!("{:?}", status.webhook.state)>{webhook_text(status.webhook.state)}</dd>
            <dt>"Last callout"</dt>
            <dd id="psa-feed-last-callout">{opt_time(status.webhook.last_callout_at.as_ref())}</dd>
        </dl>
    }
}

/// Settings → PSA change feed, for elevated users.
#[component]
pub(super) fn PsaFeedPanel() -> impl IntoView {
    let notices = use_notices();
    let status = resource(api::settings::psa_status);
    let pending = RwSignal::new(false);
    let run = move |_| {
        pending.set(true);
        leptos::task::spawn_local(async move {
            let result = api::settings::reconcile_psa().await;
            pending.set(false);
            match result {
                Ok(s) => notices.ok(format!(
                    "Reconciled {} users: {} changed, {} lost access",
                    s.users_checked, s.changes_applied, s.access_withdrawn
                )),
                Err(e) => notices.error(&e),
            }
            status.refetch();
        });
    };
    let webhook = move |subscribe: bool| {
        pending.set(true);
        leptos::task::spawn_local(async move {
            let result = if subscribe {
                api::settings::subscribe_webhook().await.map(drop)
            } else {
                api::settings::unsubscribe_webhook().await
            };
            pending.set(false);
            match result {
                Ok(()) if subscribe => notices.ok("Subscribed to the PSA's callouts"),
                Ok(()) => notices.ok("Callouts removed; reconciliation keeps the hub current"),
                Err(e) => notices.error(&e),
            }
            status.refetch();
        });
    };
    // What the webhook button does: subscribe unless a subscription is live.
    let live = move || {
        status
            .get()
            .and_then(Result::ok)
            .is_some_and(|s| s.webhook.state == WebhookState::Active)
    };
    view! {
        <section class="panel" id="psa-feed" aria-labelledby="psa-feed-title">
            <h2 id="psa-feed-title">"PSA change feed"</h2>
            <p class="hint">
                "The hub re-reads every user from the PSA on a schedule: someone deactivated there loses the hub, their sessions and their API tokens."
            </p>
            <div aria-live="polite">
                <Transition fallback=|| view! { <Loading what="the PSA status" /> }>
                    {move || suspend(async move {
                        match status.await {
                            Err(e) => view! { <ErrorMessage error=e /> }.into_any(),
                            Ok(s) => view! { <FeedStatus status=s /> }.into_any(),
                        }
                    })}
                </Transition>
            </div>
            <div class="buttons">
                <button
                    type="button"
                    id="psa-reconcile"
                    data-hub-action="refresh_users"
                    disabled=move || pending.get()
                    on:click=run
                >
                    {move || if pending.get() { "Working…" } else { "Reconcile now" }}
                </button>
                <button
                    type="button"
                    id="psa-webhook"
                    data-hub-action="edit_settings"
                    disabled=move || pending.get()
                    on:click=move |_| webhook(!live())
                >
                    {move || if live() { "Remove callouts" } else { "Subscribe to callouts" }}
                </button>
            </div>
        </section>
    }
}
