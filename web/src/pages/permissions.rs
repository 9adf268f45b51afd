//! The permission matrix, as the API serves it: the proof that the WASM console, the API and
//! the shared crate meet.

use hubkeep_shared::matrix::{ConnectionActionRule, HubActionRule, KindRule};
use hubkeep_shared::{ConnectionRole, HubAccess, PermissionMatrix};
use leptos::prelude::*;

use crate::api;
use crate::components::error::error_list;
use crate::components::ui::{resource, suspend};

#[component]
pub fn PermissionsPage() -> impl IntoView {
    let matrix = resource(api::get_permissions);
    view! {
        <h2 id="permissions-title">"Permissions"</h2>
        <p>"Who may do what in Hubkeep, as the server enforces it."</p>
        <Transition fallback=|| view! { <p class="status" role="status">"Loading permissions…"</p> }>
            <ErrorBoundary fallback=error_list>
                {move || suspend(async move {
                    matrix.await.map(|m| view! { <MatrixView matrix=m /> })
                })}
            </ErrorBoundary>
        </Transition>
    }
}

fn mark(allowed: bool) -> impl IntoView {
    let (class, text, label) = if allowed {
        ("cell yes", "✓", "allowed")
    } else {
        ("cell no", "–", "not allowed")
    };
    view! { <td class=class aria-label=label>{text}</td> }
}

#[component]
fn MatrixView(matrix: PermissionMatrix) -> impl IntoView {
    let PermissionMatrix {
        hub_actions,
        connection_actions,
        kinds,
        ..
    } = matrix;
    view! {
        <HubTable rows=hub_actions />
        <ConnectionTable rows=connection_actions />
        <KindTable rows=kinds />
    }
}

#[component]
fn HubTable(rows: Vec<HubActionRule>) -> impl IntoView {
    view! {
        <h2>"Hub actions"</h2>
        <div class="table-wrap" tabindex="0" role="region" aria-label="Hub actions by access level">
        <table id="hub-matrix">
            <caption>"By hub access level; access level none allows nothing."</caption>
            <thead>
                <tr>
                    <th scope="col">"Action"</th>
                    <th scope="col">"Limited"</th>
                    <th scope="col">"Elevated"</th>
                </tr>
            </thead>
            <tbody>
                {rows
                    .into_iter()
                    .map(|r| {
                        let limited = r.allowed_for.contains(&HubAccess::Limited);
                        let elevated = r.allowed_for.contains(&HubAccess::Elevated);
                        view! {
                            <tr data-action=r.action.to_string()>
                                <th scope="row">{r.description}</th>
                                {mark(limited)}
                                {mark(elevated)}
                            </tr>
                        }
                    })
                    .collect_view()}
            </tbody>
        </table>
        </div>
    }
}

#[component]
fn ConnectionTable(rows: Vec<ConnectionActionRule>) -> impl IntoView {
    let roles = [
        ConnectionRole::Owner,
        ConnectionRole::BusinessAdmin,
        ConnectionRole::ItAdmin,
        ConnectionRole::ReadOnly,
    ];
    view! {
        <h2>"Connection actions"</h2>
        <div class="table-wrap" tabindex="0" role="region" aria-label="Connection actions by role">
        <table id="connection-matrix">
            <caption>"By role on the connection; several roles combine."</caption>
            <thead>
                <tr>
                    <th scope="col">"Action"</th>
                    {roles.iter().map(|r| view! { <th scope="col">{r.label()}</th> }).collect_view()}
                </tr>
            </thead>
            <tbody>
                {rows
                    .into_iter()
                    .map(|r| {
                        view! {
                            <tr data-action=r.action.to_string()>
                                <th scope="row">{r.description}</th>
                                {roles.iter().map(|role| mark(r.roles.contains(role))).collect_view()}
                            </tr>
                        }
                    })
                    .collect_view()}
            </tbody>
        </table>
        </div>
    }
}

#[component]
fn KindTable(rows: Vec<KindRule>) -> impl IntoView {
    view! {
        <h2>"Connection kinds"</h2>
        <div class="table-wrap" tabindex="0" role="region" aria-label="Connection kinds">
        <table id="kinds">
            <thead>
                <tr>
                    <th scope="col">"Kind"</th>
                    <th scope="col">"Views"</th>
                    <th scope="col">"Financial settings"</th>
                    <th scope="col">"Postgres DB"</th>
                </tr>
            </thead>
            <tbody>
                {rows
                    .into_iter()
                    .map(|k| {
                        view! {
                            <tr data-kind=k.kind.to_string()>
                                <th scope="row">{k.kind.label()}</th>
                                {mark(k.capabilities.views)}
                                {mark(k.capabilities.financial_settings)}
                                {mark(k.capabilities.postgres_db)}
                            </tr>
                        }
                    })
                    .collect_view()}
            </tbody>
        </table>
        </div>
    }
}
