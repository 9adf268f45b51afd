//! The outbox (SPEC S15), for elevated users: every email the hub wrote, its status and
//! attempts, and a retry for those that failed. In the demo (no SMTP server) it is where the
//! emails an invitation produced can be read; they are also in `data/outbox/*.eml`.

use hubkeep_shared::HubAction;
use hubkeep_shared::api::{Notification, NotificationQuery, NotificationStatus};
use leptos::prelude::*;

use crate::api;
use crate::components::error::ErrorMessage;
use crate::components::ui::{Empty, Loading, resource, suspend, time, use_me, use_notices};

const STATUSES: [NotificationStatus; 4] = [
    NotificationStatus::Queued,
    NotificationStatus::Sent,
    NotificationStatus::Failed,
    NotificationStatus::Dead,
];

fn status_label(status: NotificationStatus) -> &'static str {
    match status {
        NotificationStatus::Queued => "Queued",
        NotificationStatus::Sent => "Sent",
        NotificationStatus::Failed => "Failed, will retry",
        NotificationStatus::Dead => "Dead",
    }
}

#[component]
pub fn OutboxPage() -> impl IntoView {
    let me = use_me();
    let loaded = move || me.me.with(|m| m.is_some());
    view! {
        <div class="page-head">
            <h1>"Outbox"</h1>
        </div>
        <p class="lead">
            "Every email Hubkeep sends: invitations, answers to them, ownership and access changes. Without an SMTP server (the demo) they are written to the server's data/outbox folder as .eml files, and can be read here."
        </p>
        <Show
            when=move || me.can(HubAction::EditSettings)
            fallback=move || {
                if loaded() {
                    view! { <Empty text="The outbox needs elevated hub access." /> }.into_any()
                } else {
                    view! { <Loading what="your permissions" /> }.into_any()
                }
            }
        >
            <OutboxList />
        </Show>
    }
}

#[component]
fn OutboxList() -> impl IntoView {
    let notices = use_notices();
    let status = RwSignal::new(None::<NotificationStatus>);
    let reload = RwSignal::new(0u32);
    let list = resource(move || {
        reload.track();
        let query = NotificationQuery {
            status: status.get(),
            limit: Some(100),
            cursor: None,
        };
        async move { api::notifications::outbox(&query).await }
    });
    let retry = move |n: Notification| {
        leptos::task::spawn_local(async move {
            match api::notifications::retry(&n.id).await {
                Ok(_) => {
                    notices.ok(format!("“{}” will be sent again", n.subject));
                    reload.update(|r| *r += 1);
                }
                Err(e) => notices.error(&e),
            }
        });
    };
    view! {
        <section class="panel" aria-labelledby="outbox-title">
            <h2 id="outbox-title">"Messages"</h2>
            <div class="form-row">
                <label class="field">
                    <span>"Status"</span>
                    <select
                        id="outbox-status"
                        on:change=move |ev| {
                            status.set(event_target_value(&ev).parse().ok())
                        }
                    >
                        <option value="">"All"</option>
                        {STATUSES
                            .into_iter()
                            .map(|s| view! { <option value=s.as_str()>{status_label(s)}</option> })
                            .collect_view()}
                    </select>
                </label>
                <div class="buttons">
                    <button type="button" class="secondary" id="outbox-refresh" on:click=move |_| reload.update(|r| *r += 1)>
                        "Refresh"
                    </button>
                </div>
            </div>
            <Transition fallback=|| view! { <Loading what="the outbox" /> }>
                {move || suspend(async move {
                    match list.await {
                        Err(e) => view! { <ErrorMessage error=e /> }.into_any(),
                        Ok(page) if page.items.is_empty() => {
                            view! { <Empty text="No messages." /> }.into_any()
                        }
                        Ok(page) => {
                            let more = page.next_cursor.is_some();
                            view! {
                                <div class="table-wrap" tabindex="0" role="region" aria-label="Table, scrolls sideways on a narrow screen">
                                    <table id="outbox" aria-label="Outbox">
                                        <thead>
                                            <tr>
                                                <th scope="col">"Written"</th>
                                                <th scope="col">"To"</th>
                                                <th scope="col">"Message"</th>
                                                <th scope="col">"Status"</th>
                                                <th scope="col">"Attempts"</th>
                                                <th scope="col">"Actions"</th>
                                            </tr>
                                        </thead>
                                        <tbody>
                                            {page.items.into_iter().map(|n| row(n, retry)).collect_view()}
                                        </tbody>
                                    </table>
                                </div>
                                {more.then(|| view! { <p class="hint">"Only the newest 100 messages are shown; filter by status to see others."</p> })}
                            }
                                .into_any()
                        }
                    }
                })}
            </Transition>
        </section>
    }
}

fn row(n: Notification, retry: impl Fn(Notification) + Copy + 'static) -> impl IntoView {
    let to = if n.recipient_name.is_empty() {
        n.recipient_email.clone()
    } else {
        format!("{} <{}>", n.recipient_name, n.recipient_email)
    };
    let can_retry = matches!(
        n.status,
        NotificationStatus::Failed | NotificationStatus::Dead
    );
    let error = n.last_error.clone();
    let badge = format!("badge {}", n.status.as_str());
    let id = n.id.to_string();
    let subject = n.subject.clone();
    let body = n.body_text.clone();
    view! {
        <tr data-notification-id=id data-status=n.status.as_str()>
            <td>{time(&n.created_at)}</td>
            <td class="outbox-to">{to}</td>
            <td>
                <details>
                    <summary class="outbox-subject">{subject}</summary>
                    <pre class="outbox-body">{body}</pre>
                </details>
            </td>
            <td>
                <span class=badge>{status_label(n.status)}</span>
                {error.map(|e| view! { <div class="meta outbox-error">{e}</div> })}
            </td>
            <td>{n.attempts}</td>
            <td>
                {can_retry.then(|| {
                    let n = n.clone();
                    view! {
                        <button type="button" class="secondary outbox-retry" data-hub-action="edit_settings" on:click=move |_| retry(n.clone())>
                            "Send again"
                        </button>
                    }
                })}
            </td>
        </tr>
    }
}
