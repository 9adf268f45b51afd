//! The activity log (SPEC S7): a filterable, cursor-paged list and one entry's details.
//! Filters live in the URL query, so a filtered view can be linked.

use hubkeep_shared::HubAction;
use leptos::prelude::*;
use leptos_router::components::A;
use leptos_router::hooks::{use_navigate, use_params_map, use_query_map};

use crate::api;
use crate::components::error::ErrorMessage;
use crate::components::ui::{Empty, Loading, fmt_time, use_me, use_notices};
use chrono::{DateTime, NaiveDateTime, SecondsFormat, Utc};
use hubkeep_shared::api::{
    ActivityActor, ActivityEntry, ActivityExportQuery, ActivityQuery, ActivityTarget, ExportFormat,
};
use leptos_router::params::ParamsMap;

/// The filters of a URL query, which names them as the API does. A time that is not RFC
/// 3339 (a hand-edited link) is left out.
fn query_from(m: &ParamsMap) -> ActivityQuery {
    let text = |k: &str| m.get(k).filter(|v| !v.is_empty());
    let time = |k: &str| {
        text(k)
            .and_then(|v| DateTime::parse_from_rfc3339(&v).ok())
            .map(|t| t.with_timezone(&Utc))
    };
    ActivityQuery {
        actor_user_id: text("actor_user_id"),
        action: text("action"),
        target_kind: text("target_kind"),
        target_id: text("target_id"),
        connection_id: text("connection_id"),
        from: time("from"),
        to: time("to"),
        limit: None,
        cursor: None,
    }
}

fn actor_text(a: &ActivityActor) -> String {
    a.label.clone().unwrap_or_else(|| a.kind.to_string())
}

fn target_text(t: &ActivityTarget) -> String {
    match (&t.label, &t.id) {
        (Some(l), _) => format!("{} {l}", t.kind),
        (None, Some(id)) => format!("{} {id}", t.kind),
        (None, None) => t.kind.clone(),
    }
}

/// `2026-11-23T20:11` (datetime-local, read as UTC) → that instant.
fn local_to_utc(v: &str) -> Option<DateTime<Utc>> {
    NaiveDateTime::parse_from_str(v.trim(), "%Y-%m-%dT%H:%M")
        .ok()
        .map(|t| t.and_utc())
}

/// `2026-11-23T20:11:00Z` → `2026-11-23T20:11` for a datetime-local input.
fn rfc3339_to_local(v: &str) -> String {
    v.chars().take(16).collect()
}

#[component]
pub fn ActivityPage() -> impl IntoView {
    let me = use_me();
    let notices = use_notices();
    let query = use_query_map();
    let navigate = use_navigate();

    let q = move |k: &str| query.with(|m| m.get(k)).filter(|v| !v.is_empty());
    let action = RwSignal::new(q("action").unwrap_or_default());
    let target_kind = RwSignal::new(q("target_kind").unwrap_or_default());
    let connection = RwSignal::new(q("connection_id").unwrap_or_default());
    let actor = RwSignal::new(q("actor_user_id").unwrap_or_default());
    let from = RwSignal::new(q("from").map(|v| rfc3339_to_local(&v)).unwrap_or_default());
    let to = RwSignal::new(q("to").map(|v| rfc3339_to_local(&v)).unwrap_or_default());

    // Back/forward or a followed link changes the URL: show its filters in the form.
    Effect::new(move |_| {
        query.track();
        action.set(q("action").unwrap_or_default());
        target_kind.set(q("target_kind").unwrap_or_default());
        connection.set(q("connection_id").unwrap_or_default());
        actor.set(q("actor_user_id").unwrap_or_default());
        from.set(q("from").map(|v| rfc3339_to_local(&v)).unwrap_or_default());
        to.set(q("to").map(|v| rfc3339_to_local(&v)).unwrap_or_default());
    });

    // The filters of the current URL, as the API's query.
    let filters = Memo::new(move |_| query.with(query_from));
    let query_at = move |cursor: Option<String>| ActivityQuery {
        cursor,
        ..filters.get_untracked()
    };

    let more = RwSignal::new(Vec::<ActivityEntry>::new());
    let next = RwSignal::new(None::<String>);
    let loading_more = RwSignal::new(false);

    let list = LocalResource::new(move || {
        filters.track();
        let first = query_at(None);
        async move {
            let page = api::activity::list(&first).await;
            more.set(Vec::new());
            next.set(page.as_ref().ok().and_then(|p| p.next_cursor.clone()));
            page
        }
    });

    let apply = {
        let navigate = navigate.clone();
        move |ev: leptos::ev::SubmitEvent| {
            ev.prevent_default();
            let trimmed = |s: RwSignal<String>| {
                let v = s.get_untracked().trim().to_owned();
                (!v.is_empty()).then_some(v)
            };
            let filters = ActivityQuery {
                action: trimmed(action),
                target_kind: trimmed(target_kind),
                target_id: q("target_id"),
                connection_id: trimmed(connection),
                actor_user_id: trimmed(actor),
                from: local_to_utc(&from.get_untracked()),
                to: local_to_utc(&to.get_untracked()),
                limit: None,
                cursor: None,
            };
            navigate(
                &format!("/activity{}", api::query_string(&filters)),
                Default::default(),
            );
        }
    };
    let clear = move |_| {
        for s in [action, target_kind, connection, actor, from, to] {
            s.set(String::new());
        }
        navigate("/activity", Default::default());
    };
    let load_more = move |_| {
        let Some(cursor) = next.get_untracked() else {
            return;
        };
        loading_more.set(true);
        let next_page = query_at(Some(cursor));
        leptos::task::spawn_local(async move {
            let result = api::activity::list(&next_page).await;
            loading_more.set(false);
            match result {
                Ok(page) => {
                    more.update(|v| v.extend(page.items));
                    next.set(page.next_cursor);
                }
                Err(e) => notices.error(&e),
            }
        });
    };

    // The export takes the filters of the list on screen (the URL's), not the unapplied form.
    let exporting = RwSignal::new(false);
    let export = move |format: ExportFormat| {
        let query = ActivityExportQuery::of(format, &filters.get_untracked());
        exporting.set(true);
        leptos::task::spawn_local(async move {
            let result = api::activity::export(&query).await;
            exporting.set(false);
            match result.map(|blob| save_file(&blob, format)) {
                Ok(Ok(())) => {}
                Ok(Err(message)) => notices.error_text(&message),
                Err(e) => notices.error(&e),
            }
        });
    };

    let text_filter = |id: &'static str,
                       label: &'static str,
                       placeholder: &'static str,
                       sig: RwSignal<String>| {
        view! {
            <label class="field">
                <span>{label}</span>
                <input
                    id=id
                    type="text"
                    placeholder=placeholder
                    prop:value=move || sig.get()
                    on:input=move |ev| sig.set(event_target_value(&ev))
                />
            </label>
        }
    };

    view! {
        <div class="page-head">
            <h1>"Activity Logs"</h1>
        </div>
        <Show when=move || me.me.with(|m| m.is_some()) && !me.can(HubAction::ManageUsers)>
            <p class="hint" id="activity-scope-hint">
                "You see your own actions and the activity of connections you hold a role on."
            </p>
        </Show>
        <form class="toolbar" id="activity-filters" aria-label="Filter activity" on:submit=apply>
            {text_filter("activity-action", "Action", "e.g. user.deactivated", action)}
            {text_filter("activity-target-kind", "Target kind", "e.g. connection", target_kind)}
            {text_filter("activity-connection", "Connection id", "", connection)}
            {text_filter("activity-actor", "Actor user id", "", actor)}
            <label class="field">
                <span>"From (UTC)"</span>
                <input
                    id="activity-from"
                    type="datetime-local"
                    prop:value=move || from.get()
                    on:input=move |ev| from.set(event_target_value(&ev))
                />
            </label>
            <label class="field">
                <span>"To (UTC)"</span>
                <input
                    id="activity-to"
                    type="datetime-local"
                    prop:value=move || to.get()
                    on:input=move |ev| to.set(event_target_value(&ev))
                />
            </label>
            <div class="buttons">
                <button type="submit" id="activity-apply">"Apply"</button>
                <button type="button" class="secondary" id="activity-clear" on:click=clear>"Clear"</button>
                <button
                    type="button"
                    class="secondary"
                    id="activity-export-csv"
                    disabled=move || exporting.get()
                    on:click=move |_| export(ExportFormat::Csv)
                >
                    "Export CSV"
                </button>
                <button
                    type="button"
                    class="secondary"
                    id="activity-export-ndjson"
                    disabled=move || exporting.get()
                    on:click=move |_| export(ExportFormat::Ndjson)
                >
                    "Export NDJSON"
                </button>
            </div>
        </form>
        <Transition fallback=|| view! { <Loading what="activity" /> }>
            {move || Suspend::new(async move {
                match list.await {
                    Err(e) => {
                        let fields = e.field_errors();
                        view! {
                            <div id="activity-error">
                                <ErrorMessage error=e />
                                {(!fields.is_empty())
                                    .then(|| {
                                        view! {
                                            <ul class="error">
                                                {fields.into_iter().map(|f| view! { <li>{f}</li> }).collect_view()}
                                            </ul>
                                        }
                                    })}
                            </div>
                        }
                            .into_any()
                    }
                    Ok(page) if page.items.is_empty() => {
                        view! { <Empty text="No activity matches." /> }.into_any()
                    }
                    Ok(page) => {
                        let first = page.items;
                        view! {
                            <div class="table-wrap">
                                <table id="activity-table" aria-label="Activity log entries, newest first">
                                    <thead>
                                        <tr>
                                            <th scope="col">"Time"</th>
                                            <th scope="col">"Actor"</th>
                                            <th scope="col">"Action"</th>
                                            <th scope="col">"Target"</th>
                                            <th scope="col">"Connection"</th>
                                        </tr>
                                    </thead>
                                    <tbody>
                                        {first.into_iter().map(entry_row).collect_view()}
                                        {move || more.get().into_iter().map(entry_row).collect_view()}
                                    </tbody>
                                </table>
                            </div>
                        }
                            .into_any()
                    }
                }
            })}
        </Transition>
        <Show when=move || next.with(|n| n.is_some())>
            <div class="buttons">
                <button
                    type="button"
                    class="secondary"
                    id="activity-more"
                    disabled=move || loading_more.get()
                    on:click=load_more
                >
                    {move || if loading_more.get() { "Loading…" } else { "Load more" }}
                </button>
            </div>
        </Show>
    }
}

/// Hands `blob` to the browser as a downloaded file (`hubkeep-activity.csv|ndjson`).
fn save_file(blob: &web_sys::Blob, format: ExportFormat) -> Result<(), String> {
    use wasm_bindgen::JsCast as _;
    let failed = |_| "The browser did not save the export.".to_owned();
    let url = web_sys::Url::create_object_url_with_blob(blob).map_err(failed)?;
    let document = web_sys::window()
        .and_then(|w| w.document())
        .ok_or_else(|| "The browser did not save the export.".to_owned())?;
    let link = document
        .create_element("a")
        .map_err(failed)?
        .unchecked_into::<web_sys::HtmlAnchorElement>();
    link.set_href(&url);
    link.set_download(&format!("hubkeep-activity.{}", format.as_str()));
    link.click();
    // The download has begun from the URL by then; the file is the browser's.
    set_timeout(
        move || {
            let _ = web_sys::Url::revoke_object_url(&url);
        },
        std::time::Duration::from_secs(60),
    );
    Ok(())
}

fn entry_row(e: ActivityEntry) -> impl IntoView {
    let href = format!("/activity/{}", api::seg(&e.id));
    view! {
        <tr data-entry-id=e.id.clone()>
            <td>
                <A href=href attr:data-activity-id=e.id.clone()>{fmt_time(&e.at)}</A>
            </td>
            <td>
                {actor_text(&e.actor)}
                {(e.actor.label.is_some()).then(|| view! { " " <span class="meta">"("{e.actor.kind.as_str()}")"</span> })}
            </td>
            <td>
                <code>{e.action.clone()}</code>
            </td>
            <td>{target_text(&e.target)}</td>
            <td>
                {e
                    .connection_id
                    .clone()
                    .map(|c| {
                        view! { <A href=format!("/connections/{}", api::seg(&c))>{c.to_string()}</A> }
                    })}
            </td>
        </tr>
    }
}

#[component]
pub fn ActivityEntryPage() -> impl IntoView {
    let params = use_params_map();
    let id = Memo::new(move |_| params.with(|p| p.get("id")).unwrap_or_default());
    let entry = LocalResource::new(move || {
        let id = id.get();
        async move { api::activity::get_entry(&id).await }
    });
    view! {
        <p>
            <A href="/activity">"← Activity Logs"</A>
        </p>
        <div class="page-head">
            <h1>"Activity entry"</h1>
        </div>
        <Transition fallback=|| view! { <Loading what="the entry" /> }>
            {move || Suspend::new(async move {
                match entry.await {
                    Err(e) if e.status() == Some(404) => {
                        view! {
                            <div class="error" role="alert" id="activity-not-found">
                                <p>"This entry was not found or is not visible to you."</p>
                            </div>
                        }
                            .into_any()
                    }
                    Err(e) => view! { <ErrorMessage error=e /> }.into_any(),
                    Ok(e) => view! { <EntryView entry=e /> }.into_any(),
                }
            })}
        </Transition>
    }
}

#[component]
fn EntryView(entry: ActivityEntry) -> impl IntoView {
    let dash = || "—".to_owned();
    let details =
        serde_json::to_string_pretty(&entry.details).unwrap_or_else(|_| entry.details.to_string());
    let a = entry.actor.clone();
    view! {
        <section class="panel" id="activity-entry" data-entry-id=entry.id.clone()>
            <dl class="facts">
                <dt>"Id"</dt>
                <dd><code>{entry.id.clone()}</code></dd>
                <dt>"At"</dt>
                <dd>{fmt_time(&entry.at)}" "<span class="meta">"("{entry.at.to_rfc3339_opts(SecondsFormat::AutoSi, true)}")"</span></dd>
                <dt>"Actor"</dt>
                <dd>
                    {a.label.clone().unwrap_or_else(dash)}" "<span class="badge">{a.kind.as_str()}</span>
                </dd>
                <dt>"Actor user id"</dt>
                <dd>{a.user_id.as_ref().map_or_else(dash, ToString::to_string)}</dd>
                <dt>"Actor token id"</dt>
                <dd>{a.token_id.as_ref().map_or_else(dash, ToString::to_string)}</dd>
                <dt>"Action"</dt>
                <dd><code>{entry.action.clone()}</code></dd>
                <dt>"Target"</dt>
                <dd>
                    {target_text(&entry.target)}
                    {entry.target.id.clone().map(|id| view! { " " <span class="meta">"("{id}")"</span> })}
                </dd>
                <dt>"Connection"</dt>
                <dd>
                    {match entry.connection_id.clone() {
                        Some(c) => view! { <A href=format!("/connections/{}", api::seg(&c))>{c.to_string()}</A> }.into_any(),
                        None => dash().into_any(),
                    }}
                </dd>
                <dt>"Request id"</dt>
                <dd>{entry.request_id.clone().unwrap_or_else(dash)}</dd>
                <dt>"IP"</dt>
                <dd>{entry.ip.clone().unwrap_or_else(dash)}</dd>
                <dt>"User agent"</dt>
                <dd>{entry.user_agent.clone().unwrap_or_else(dash)}</dd>
            </dl>
            <h2>"Details"</h2>
            <pre id="activity-details" tabindex="0" aria-label="Details as JSON">{details}</pre>
        </section>
    }
}
