//! Sync Status: for every connection the caller holds a role on, its endpoints' states and
//! its newest visible sync run (SPEC S2.1, S4).

use leptos::prelude::*;
use leptos_router::components::A;

use crate::api;
use crate::components::error::ErrorMessage;
use crate::components::ui::{Empty, Loading, opt_time, time};
use crate::pages::connections::{Paged, status_badge};
use hubkeep_shared::api::{ConnectionStatus, EndpointSide, EndpointState, SyncRun};

/// An endpoint (`connected` | `disconnected`) as a badge naming its system.
fn endpoint_badge(endpoint: Option<&EndpointState>) -> AnyView {
    match endpoint {
        None => view! { <span class="meta">"—"</span> }.into_any(),
        Some(e) => {
            let class = format!("badge {}", e.status);
            let state = e.status.as_str();
            view! {
                <span class=class data-side=e.side.as_str() data-status=e.status.as_str()>
                    {e.system.label()}": "{state}
                </span>
            }
            .into_any()
        }
    }
}

/// A run status (`queued`, `running`, `succeeded`, `failed`, `cancelled`) as a badge.
fn run_badge(status: &str) -> impl IntoView + use<> {
    let class = format!("badge {status}");
    let mut text = status.replace('_', " ");
    if let Some(first) = text.get(..1) {
        text = format!("{}{}", first.to_uppercase(), &text[1..]);
    }
    view! { <span class=class data-status=status.to_owned()>{text}</span> }
}

fn run_cells(run: Option<SyncRun>) -> AnyView {
    match run {
        None => view! {
            <td colspan="5"><span class="meta">"No runs yet"</span></td>
        }
        .into_any(),
        Some(r) => {
            let records = r
                .records_processed
                .map(|n| n.to_string())
                .unwrap_or_else(|| "—".to_owned());
            let error = r.error.clone().unwrap_or_else(|| "—".to_owned());
            view! {
                <td data-run-id=r.id.to_string()>{run_badge(r.status.as_str())}</td>
                <td>{time(&r.requested_at)}</td>
                <td>{opt_time(r.finished_at.as_ref())}</td>
                <td>{records}</td>
                <td class="run-error">{error}</td>
            }
            .into_any()
        }
    }
}

#[component]
pub fn SyncStatusPage() -> impl IntoView {
    let paged = Paged::new(api::runs::SYNC_STATUS);
    let empty = Memo::new(move |_| paged.items.with(Vec::is_empty));
    view! {
        <div class="page-head">
            <h1>"Sync Status"</h1>
            <div class="actions">
                <button
                    type="button"
                    class="secondary"
                    id="sync-status-refresh"
                    disabled=move || paged.loading.get()
                    on:click=move |_| paged.reload()
                >
                    "Refresh"
                </button>
            </div>
        </div>
        {move || {
            if paged.loading.get() {
                return view! { <Loading what="the sync status" /> }.into_any();
            }
            if let Some(e) = paged.error.get() {
                return view! { <ErrorMessage error=e /> }.into_any();
            }
            if empty.get() {
                return view! {
                    <Empty text="No connections to show. You see the sync status of connections you hold a role on." />
                }
                    .into_any();
            }
            view! {
                <div class="table-wrap" tabindex="0" role="region" aria-label="Table, scrolls sideways on a narrow screen">
                    <table id="sync-status-table">
                        <caption>"Endpoints and the latest sync run of your connections"</caption>
                        <thead>
                            <tr>
                                <th scope="col">"Connection"</th>
                                <th scope="col">"Kind"</th>
                                <th scope="col">"Source"</th>
                                <th scope="col">"Target"</th>
                                <th scope="col">"Latest run"</th>
                                <th scope="col">"Requested"</th>
                                <th scope="col">"Finished"</th>
                                <th scope="col">"Records"</th>
                                <th scope="col">"Error"</th>
                            </tr>
                        </thead>
                        <tbody>
                            <For
                                each=move || paged.items.get()
                                key=|s| s.connection.id.clone()
                                children=move |s| {
                                    let c = s.connection.clone();
                                    let href = format!("/connections/{}", api::seg(&c.id));
                                    let source = s.endpoints.iter().find(|e| e.side == EndpointSide::Source);
                                    let target = s.endpoints.iter().find(|e| e.side == EndpointSide::Target);
                                    let cancelled = c.status != ConnectionStatus::Active;
                                    view! {
                                        <tr data-sync-connection-id=c.id.to_string()>
                                            <td>
                                                <A href=href attr:data-connection-id=c.id.to_string()>
                                                    {c.name.clone()}
                                                </A>
                                                {cancelled.then(|| view! { " "{status_badge(c.status.as_str())} })}
                                            </td>
                                            <td>{c.kind.label()}</td>
                                            <td>{endpoint_badge(source)}</td>
                                            <td>{endpoint_badge(target)}</td>
                                            {run_cells(s.latest_run.clone())}
                                        </tr>
                                    }
                                }
                            />
                        </tbody>
                    </table>
                </div>
                {paged.more_button("sync-status-more")}
            }
                .into_any()
        }}
    }
}
