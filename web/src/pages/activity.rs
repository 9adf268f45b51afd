//! The activity log (SPEC S7): a filterable, cursor-paged list and one entry's details.
//! Filters live in the URL query, so a filtered view can be linked.

use hubkeep_shared::HubAction;
use leptos::prelude::*;
use leptos_router::components::A;
use leptos_router::hooks::{use_navigate, use_params_map, use_query_map};

use crate::api;
use crate::components::error::ErrorMessage;
use crate::components::people::PersonPicker;
use crate::components::ui::{Empty, Loading, time, use_me, use_notices};
use crate::components::ui::{Res, resource, suspend};
use chrono::{DateTime, SecondsFormat, Utc};
use hubkeep_shared::api::{
    ActivityActor, ActivityEntry, ActivityExportQuery, ActivityQuery, ActivityTarget, ExportFormat,
    PageQuery, Person,
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

/// The activity of one hub user: where a person's name links to.
fn actor_href(user: &str) -> String {
    format!("/activity?actor_user_id={}", api::seg(user))
}

/// The actor's name, linked to their activity when they are a hub user.
fn actor_view(a: &ActivityActor) -> AnyView {
    let text = actor_text(a);
    match &a.user_id {
        Some(user) => view! { <A href=actor_href(user)>{text}</A> }.into_any(),
        None => text.into_any(),
    }
}

/// The target, named, linked to the connection or the person's activity where it is one.
fn target_view(t: &ActivityTarget) -> AnyView {
    let text = target_text(t);
    match (t.kind.as_str(), &t.id) {
        ("connection", Some(id)) => {
            view! { <A href=format!("/connections/{}", api::seg(id))>{text}</A> }.into_any()
        }
        // The entries about that person.
        ("user", Some(id)) => view! {
            <A href=format!("/activity?target_kind=user&target_id={}", api::seg(id))>{text}</A>
        }
        .into_any(),
        _ => text.into_any(),
    }
}

/// The names of the connections the viewer can open, to name an entry's connection.
type ConnectionNames = std::collections::HashMap<String, String>;

/// An entry's connection, by name where the viewer can see it, else by id; linked.
fn connection_view(id: &str, entry: &ActivityEntry, names: &ConnectionNames) -> AnyView {
    let name = names.get(id).cloned().or_else(|| {
        (entry.target.kind == "connection" && entry.target.id.as_deref() == Some(id))
            .then(|| entry.target.label.clone())
            .flatten()
    });
    let href = format!("/connections/{}", api::seg(id));
    let id = id.to_owned();
    match name {
        Some(name) => view! { <A href=href attr:title=id>{name}</A> }.into_any(),
        None => view! { <A href=href><code>{id}</code></A> }.into_any(),
    }
}

fn target_text(t: &ActivityTarget) -> String {
    match (&t.label, &t.id) {
        (Some(l), _) => format!("{} {l}", t.kind),
        (None, Some(id)) => format!("{} {id}", t.kind),
        (None, None) => t.kind.clone(),
    }
}

/// `2026-11-23T20:11` (datetime-local, in the viewer's time zone) → that instant.
fn local_to_utc(v: &str) -> Option<DateTime<Utc>> {
    let v = v.trim();
    crate::components::ui::parse_ymd_hm(v)?;
    // The browser knows the viewer's zone and its daylight-saving rules: a date-time
    // without an offset is read as local time.
    let ms = js_sys::Date::new(&v.into()).get_time();
    (!ms.is_nan())
        .then(|| DateTime::<Utc>::from_timestamp_millis(ms as i64))
        .flatten()
}

/// `2026-11-23T20:11:00Z` → the viewer's local `2026-11-23T21:11` for a datetime-local input.
fn rfc3339_to_local(v: &str) -> String {
    let Ok(at) = DateTime::parse_from_rfc3339(v) else {
        return String::new();
    };
    let d = js_sys::Date::new(&(at.timestamp_millis() as f64).into());
    format!(
        "{:04}-{:02}-{:02}T{:02}:{:02}",
        d.get_full_year(),
        d.get_month() + 1,
        d.get_date(),
        d.get_hours(),
        d.get_minutes()
    )
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
    let actor_person = RwSignal::new(None::<Person>);
    // The connections the viewer can name: their own, and for those who govern the tenant's
    // connections every one of them (whose activity they read).
    let names = resource(move || {
        let govern = me.can(HubAction::GovernConnections);
        async move {
            let mut names = ConnectionNames::new();
            let mut cursor = None;
            // At most 10 pages of 200: beyond that an entry shows the connection's id.
            for _ in 0..10 {
                let query = PageQuery {
                    limit: Some(200),
                    cursor: cursor.take(),
                };
                let next = if govern {
                    api::connections::governance(query).await.map(|p| {
                        names.extend(
                            p.items
                                .into_iter()
                                .map(|g| (g.connection.id.to_string(), g.connection.name)),
                        );
                        p.next_cursor
                    })
                } else {
                    api::connections::list(query).await.map(|p| {
                        names.extend(p.items.into_iter().map(|c| (c.id.to_string(), c.name)));
                        p.next_cursor
                    })
                };
                match next {
                    Ok(Some(next)) => cursor = Some(next),
                    _ => break,
                }
            }
            names
        }
    });
    let from = RwSignal::new(q("from").map(|v| rfc3339_to_local(&v)).unwrap_or_default());
    let to = RwSignal::new(q("to").map(|v| rfc3339_to_local(&v)).unwrap_or_default());

    // Back/forward or a followed link changes the URL: show its filters in the form.
    Effect::new(move |_| {
        query.track();
        action.set(q("action").unwrap_or_default());
        target_kind.set(q("target_kind").unwrap_or_default());
        connection.set(q("connection_id").unwrap_or_default());
        // The person chosen stays shown by name while the address names them.
        let url_actor = q("actor_user_id");
        if actor_person.with_untracked(|p| p.as_ref().map(|p| p.id.to_string())) != url_actor {
            actor_person.set(None);
            actor.set(url_actor.unwrap_or_default());
        }
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

    let list = resource(move || {
        filters.track();
        let first = query_at(None);
        async move {
            let page = api::activity::list(&first).await;
            more.set(Vec::new());
            next.set(page.as_ref().ok().and_then(|p| p.next_cursor.clone()));
            // An actor filter from the address (a followed link) shows the person's name.
            if let (Ok(p), Some(id)) = (&page, &first.actor_user_id)
                && actor_person.with_untracked(Option::is_none)
                && let Some((user, label)) = p.items.iter().find_map(|e| {
                    let a = &e.actor;
                    a.user_id
                        .as_ref()
                        .filter(|u| u.to_string() == *id)
                        .zip(a.label.clone())
                })
            {
                actor.set(label.clone());
                actor_person.set(Some(Person {
                    id: user.clone(),
                    display_name: label,
                    email: String::new(),
                }));
            }
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
                // The person chosen, or an id typed (a viewer who may not search people).
                actor_user_id: actor_person
                    .get_untracked()
                    .map(|p| p.id.to_string())
                    .or_else(|| trimmed(actor)),
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
        actor_person.set(None);
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
            <label class="field">
                <span>"Connection"</span>
                <select id="activity-connection" prop:value=move || connection.get() on:change=move |ev| connection.set(event_target_value(&ev))>
                    <option value="">"Any connection"</option>
                    {move || {
                        let chosen = connection.get();
                        let mut all: Vec<(String, String)> = names.get().map(|n| n.into_iter().collect()).unwrap_or_default();
                        // A connection in the address the viewer cannot see by name still shows.
                        if !chosen.is_empty() && !all.iter().any(|(id, _)| *id == chosen) {
                            all.push((chosen.clone(), chosen.clone()));
                        }
                        all.sort_by_key(|a| a.1.to_lowercase());
                        all.into_iter()
                            .map(|(id, name)| view! { <option value=id.clone() selected=id == chosen>{name}</option> })
                            .collect_view()
                    }}
                </select>
            </label>
            <PersonPicker
                id="activity-actor"
                label="Actor"
                chosen=actor_person
                text=actor
                hint="Type part of a name or email and choose (or paste a user id)."
            />
            <label class="field">
                <span>"From (your time)"</span>
                <input
                    id="activity-from"
                    type="datetime-local"
                    prop:value=move || from.get()
                    on:input=move |ev| from.set(event_target_value(&ev))
                />
            </label>
            <label class="field">
                <span>"To (your time)"</span>
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
                {[ExportFormat::Csv, ExportFormat::Ndjson]
                    .into_iter()
                    .map(|format| {
                        view! {
                            <button
                                type="button"
                                class="secondary"
                                id=format!("activity-export-{}", format.as_str())
                                disabled=move || exporting.get()
                                on:click=move |_| export(format)
                            >
                                {format!("Export {}", format.as_str().to_uppercase())}
                            </button>
                        }
                    })
                    .collect_view()}
            </div>
        </form>
        <Transition fallback=|| view! { <Loading what="activity" /> }>
            {move || suspend(async move {
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
                            <div class="table-wrap" tabindex="0" role="region" aria-label="Table, scrolls sideways on a narrow screen">
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
                                        {first.into_iter().map(move |e| entry_row(e, names)).collect_view()}
                                        {move || more.get().into_iter().map(move |e| entry_row(e, names)).collect_view()}
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

fn entry_row(e: ActivityEntry, names: Res<ConnectionNames>) -> impl IntoView {
    let href = format!("/activity/{}", api::seg(&e.id));
    view! {
        <tr data-entry-id=e.id.clone()>
            <td>
                <A href=href attr:data-activity-id=e.id.clone()>{time(&e.at)}</A>
            </td>
            <td>
                {actor_view(&e.actor)}
                {(e.actor.label.is_some()).then(|| view! { " " <span class="meta">"("{e.actor.kind.as_str()}")"</span> })}
            </td>
            <td>
                <code>{e.action.clone()}</code>
            </td>
            <td>{target_view(&e.target)}</td>
            <td>
                {e
                    .connection_id
                    .clone()
                    .map(|c| {
                        let e = e.clone();
                        move || names.with(|n| connection_view(&c, &e, n.unwrap_or(&ConnectionNames::new())))
                    })}
            </td>
        </tr>
    }
}

#[component]
pub fn ActivityEntryPage() -> impl IntoView {
    let params = use_params_map();
    let id = Memo::new(move |_| params.with(|p| p.get("id")).unwrap_or_default());
    let entry = resource(move || {
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
            {move || suspend(async move {
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
                <dd>{time(&entry.at)}" "<span class="meta">"("{entry.at.to_rfc3339_opts(SecondsFormat::AutoSi, true)}")"</span></dd>
                <dt>"Actor"</dt>
                <dd>
                    {actor_view(&a)}" "<span class="badge">{a.kind.as_str()}</span>
                </dd>
                <dt>"Actor user id"</dt>
                <dd>{a.user_id.as_ref().map_or_else(dash, ToString::to_string)}</dd>
                <dt>"Actor token id"</dt>
                <dd>{a.token_id.as_ref().map_or_else(dash, ToString::to_string)}</dd>
                <dt>"Action"</dt>
                <dd><code>{entry.action.clone()}</code></dd>
                <dt>"Target"</dt>
                <dd>
                    {target_view(&entry.target)}
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
