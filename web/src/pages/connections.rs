//! The Connections page: the connections the caller holds a role on, the tenant-wide
//! governance list for elevated users (with ownership recovery of orphaned connections,
//! SPEC S5.4), and the "New connection" dialog (SPEC S4).

use hubkeep_shared::fields::{FieldErrors, Name, TimezoneName};
use hubkeep_shared::{ConnectionKind, ConnectionRole, HubAction, Problem, ProblemCode};
use leptos::prelude::*;
use leptos_router::NavigateOptions;
use leptos_router::components::A;
use leptos_router::hooks::{use_navigate, use_query_map};

use crate::api::{self, ClientError};
use crate::components::error::ErrorMessage;
use crate::components::people::PersonPicker;
use crate::components::ui::resource;
use crate::components::ui::{
    Dialog, Empty, Loading, Notices, access_badge, describe, use_me, use_notices,
};
use hubkeep_shared::api::{GovernanceItem, NewConnection, PageQuery, RecoverOwnership};

/// The kinds offered by the create form, in the SPEC's order.
const KINDS: [ConnectionKind; 4] = [
    ConnectionKind::AutotaskQuickbooks,
    ConnectionKind::AutotaskXero,
    ConnectionKind::XeroPowerBi,
    ConnectionKind::QuickbooksPowerBi,
];

/// The roles a previous owner may keep after a recovery.
const RETAIN_ROLES: [ConnectionRole; 3] = [
    ConnectionRole::BusinessAdmin,
    ConnectionRole::ItAdmin,
    ConnectionRole::ReadOnly,
];

/// How many items a page asks for.
const PAGE_SIZE: u64 = 50;

// ---------------------------------------------------------------------------------------
// A cursor-paged list with "Load more" (shared with the Sync Status page)
// ---------------------------------------------------------------------------------------

/// The state of a cursor-paged list (`{items, next_cursor}`): the first page loads on
/// creation and on `reload()`, further pages are appended by `more()`.
pub(crate) struct Paged<T: Send + Sync + 'static> {
    pub items: RwSignal<Vec<T>>,
    pub next: RwSignal<Option<String>>,
    pub error: RwSignal<Option<ClientError>>,
    /// The first page is loading.
    pub loading: RwSignal<bool>,
    /// A further page is loading.
    pub more_busy: RwSignal<bool>,
    generation: StoredValue<u64>,
    fetch: api::PageFetch<T>,
    notices: Notices,
}

impl<T: Send + Sync + 'static> Clone for Paged<T> {
    fn clone(&self) -> Self {
        *self
    }
}

impl<T: Send + Sync + 'static> Copy for Paged<T> {}

impl<T: Clone + Send + Sync + 'static> Paged<T> {
    /// Starts loading the first page of the list `fetch` reads.
    pub fn new(fetch: api::PageFetch<T>) -> Self {
        let paged = Self {
            items: RwSignal::new(Vec::new()),
            next: RwSignal::new(None),
            error: RwSignal::new(None),
            loading: RwSignal::new(true),
            more_busy: RwSignal::new(false),
            generation: StoredValue::new(0),
            fetch,
            notices: use_notices(),
        };
        paged.reload();
        paged
    }

    /// Loads the first page again (replacing what is shown).
    pub fn reload(&self) {
        let this = *self;
        let Some(generation) = this.generation.try_get_value().map(|g| g + 1) else {
            return;
        };
        this.generation.set_value(generation);
        this.loading.set(true);
        this.error.set(None);
        leptos::task::spawn_local(async move {
            let result = (this.fetch)(PageQuery {
                limit: Some(PAGE_SIZE),
                cursor: None,
            })
            .await;
            if this.generation.try_get_value() != Some(generation) {
                return; // a newer load replaced this one, or the page is gone
            }
            match result {
                Ok(page) => {
                    this.items.set(page.items);
                    this.next.set(page.next_cursor);
                }
                Err(e) => {
                    this.items.set(Vec::new());
                    this.next.set(None);
                    this.error.set(Some(e));
                }
            }
            this.loading.set(false);
        });
    }

    /// Appends the next page.
    pub fn more(&self) {
        let this = *self;
        let Some(cursor) = this.next.get_untracked() else {
            return;
        };
        if this.more_busy.get_untracked() {
            return;
        }
        let generation = this.generation.get_value();
        this.more_busy.set(true);
        leptos::task::spawn_local(async move {
            let result = (this.fetch)(PageQuery {
                limit: Some(PAGE_SIZE),
                cursor: Some(cursor),
            })
            .await;
            if this.generation.try_get_value() != Some(generation) {
                return;
            }
            this.more_busy.set(false);
            match result {
                Ok(page) => {
                    this.items.update(|v| v.extend(page.items));
                    this.next.set(page.next_cursor);
                }
                Err(e) => this.notices.error(&e),
            }
        });
    }

    /// The "Load more" button, shown while there is a next page.
    pub fn more_button(&self, id: &'static str) -> impl IntoView + use<T> {
        let this = *self;
        view! {
            <Show when=move || this.next.with(Option::is_some)>
                <div class="buttons">
                    <button
                        type="button"
                        class="secondary"
                        id=id
                        disabled=move || this.more_busy.get()
                        on:click=move |_| this.more()
                    >
                        {move || if this.more_busy.get() { "Loading…" } else { "Load more" }}
                    </button>
                </div>
            </Show>
        }
    }
}

// ---------------------------------------------------------------------------------------
// Small pieces
// ---------------------------------------------------------------------------------------

/// A connection status (`active` | `cancelled`) as a badge.
pub(crate) fn status_badge(status: &str) -> impl IntoView + use<> {
    let class = format!("badge {status}");
    let text = match status {
        "active" => "Active".to_owned(),
        "cancelled" => "Cancelled".to_owned(),
        other => other.to_owned(),
    };
    view! { <span class=class data-status=status.to_owned()>{text}</span> }
}

fn roles_text(roles: &[ConnectionRole]) -> String {
    if roles.is_empty() {
        "—".to_owned()
    } else {
        roles
            .iter()
            .map(|r| r.label())
            .collect::<Vec<_>>()
            .join(", ")
    }
}

/// Whether a 422 names `field`.
fn field_invalid(error: &Option<ClientError>, field: &str) -> bool {
    matches!(error, Some(ClientError::Problem(p)) if p.errors.iter().any(|e| e.field == field))
}

// ---------------------------------------------------------------------------------------
// The page
// ---------------------------------------------------------------------------------------

#[component]
pub fn ConnectionsPage() -> impl IntoView {
    let me = use_me();
    let query = use_query_map();
    let navigate = StoredValue::new(use_navigate());
    let can_create = Memo::new(move |_| me.can(HubAction::CreateConnection));
    let can_govern = Memo::new(move |_| me.can(HubAction::GovernConnections));
    let view_all =
        Memo::new(move |_| can_govern.get() && query.with(|q| q.get_str("view") == Some("all")));
    let create_open = RwSignal::new(false);

    let select = move |all: bool| {
        let nav = navigate.get_value();
        let path = if all {
            "/connections?view=all"
        } else {
            "/connections"
        };
        nav(path, NavigateOptions::default());
        let id = if all {
            "tab-all-connections"
        } else {
            "tab-my-connections"
        };
        // Keep the focus on the selected tab (arrow-key navigation).
        if let Some(el) = document().get_element_by_id(id)
            && let Some(html) = wasm_bindgen::JsCast::dyn_ref::<web_sys::HtmlElement>(&el)
        {
            let _ = html.focus();
        }
    };
    let on_tab_key = move |ev: web_sys::KeyboardEvent| match ev.key().as_str() {
        "ArrowLeft" | "Home" => {
            ev.prevent_default();
            select(false);
        }
        "ArrowRight" | "End" => {
            ev.prevent_default();
            select(true);
        }
        _ => {}
    };

    view! {
        <div class="page-head">
            <h1>"Connections"</h1>
            <div class="actions">
                <Show when=move || can_create.get()>
                    <button
                        type="button"
                        id="new-connection"
                        data-hub-action="create_connection"
                        aria-haspopup="dialog"
                        on:click=move |_| create_open.set(true)
                    >
                        "New connection"
                    </button>
                </Show>
            </div>
        </div>
        <CreateConnectionDialog open=create_open />
        <Show
            when=move || can_govern.get()
            fallback=move || view! { <MyConnections can_create=can_create /> }
        >
            <div role="tablist" aria-label="Connection lists" on:keydown=on_tab_key>
                <button
                    type="button"
                    role="tab"
                    id="tab-my-connections"
                    aria-controls="panel-connections"
                    aria-selected=move || (!view_all.get()).to_string()
                    tabindex=move || if view_all.get() { "-1" } else { "0" }
                    on:click=move |_| select(false)
                >
                    "My connections"
                </button>
                <button
                    type="button"
                    role="tab"
                    id="tab-all-connections"
                    data-hub-action="govern_connections"
                    aria-controls="panel-connections"
                    aria-selected=move || view_all.get().to_string()
                    tabindex=move || if view_all.get() { "0" } else { "-1" }
                    on:click=move |_| select(true)
                >
                    "All connections"
                </button>
            </div>
            <div
                role="tabpanel"
                id="panel-connections"
                aria-labelledby=move || {
                    if view_all.get() { "tab-all-connections" } else { "tab-my-connections" }
                }
            >
                <Show
                    when=move || view_all.get()
                    fallback=move || view! { <MyConnections can_create=can_create /> }
                >
                    <AllConnections />
                </Show>
            </div>
        </Show>
    }
}

// ---------------------------------------------------------------------------------------
// My connections
// ---------------------------------------------------------------------------------------

#[component]
fn MyConnections(can_create: Memo<bool>) -> impl IntoView {
    let paged = Paged::new(api::connections::LIST);
    let empty = Memo::new(move |_| paged.items.with(Vec::is_empty));
    view! {
        {move || {
            if paged.loading.get() {
                return view! { <Loading what="your connections" /> }.into_any();
            }
            if let Some(e) = paged.error.get() {
                return view! { <ErrorMessage error=e /> }.into_any();
            }
            if empty.get() {
                let text = if can_create.get() {
                    "You hold no role on any connection yet. Create one with New connection."
                } else {
                    "You hold no role on any connection yet."
                };
                return view! { <Empty text=text /> }.into_any();
            }
            view! {
                <div class="table-wrap" tabindex="0" role="region" aria-label="Table, scrolls sideways on a narrow screen">
                    <table id="connections-table">
                        <caption>"Connections you hold a role on"</caption>
                        <thead>
                            <tr>
                                <th scope="col">"Name"</th>
                                <th scope="col">"Kind"</th>
                                <th scope="col">"My roles"</th>
                                <th scope="col">"Status"</th>
                                <th scope="col">"Group"</th>
                            </tr>
                        </thead>
                        <tbody>
                            <For
                                each=move || paged.items.get()
                                key=|c| (c.id.clone(), c.updated_at)
                                children=move |c| {
                                    let href = format!("/connections/{}", api::seg(&c.id));
                                    view! {
                                        <tr>
                                            <td>
                                                <A href=href attr:data-connection-id=c.id.to_string()>
                                                    {c.name.clone()}
                                                </A>
                                            </td>
                                            <td>{c.kind.label()}</td>
                                            <td>{roles_text(&c.my_roles)}</td>
                                            <td>{status_badge(c.status.as_str())}</td>
                                            <td>{c.group.clone().unwrap_or_else(|| "—".to_owned())}</td>
                                        </tr>
                                    }
                                }
                            />
                        </tbody>
                    </table>
                </div>
                {paged.more_button("connections-more")}
            }
                .into_any()
        }}
    }
}

// ---------------------------------------------------------------------------------------
// All connections (governance)
// ---------------------------------------------------------------------------------------

#[component]
fn AllConnections() -> impl IntoView {
    let me = use_me();
    let paged = Paged::new(api::connections::GOVERNANCE);
    let empty = Memo::new(move |_| paged.items.with(Vec::is_empty));
    let recover_open = RwSignal::new(false);
    let recover_target = RwSignal::new(None::<GovernanceItem>);
    view! {
        {move || {
            if paged.loading.get() {
                return view! { <Loading what="the tenant's connections" /> }.into_any();
            }
            if let Some(e) = paged.error.get() {
                return view! { <ErrorMessage error=e /> }.into_any();
            }
            if empty.get() {
                return view! { <Empty text="This tenant has no connections yet." /> }.into_any();
            }
            view! {
                <div class="table-wrap" tabindex="0" role="region" aria-label="Table, scrolls sideways on a narrow screen">
                    <table id="governance-table">
                        <caption>"All connections of the tenant"</caption>
                        <thead>
                            <tr>
                                <th scope="col">"Name"</th>
                                <th scope="col">"Kind"</th>
                                <th scope="col">"Owner"</th>
                                <th scope="col">"Members"</th>
                                <th scope="col">"Status"</th>
                                <th scope="col">"Actions"</th>
                            </tr>
                        </thead>
                        <tbody>
                            <For
                                each=move || paged.items.get()
                                key=|g| {
                                    (g.connection.id.clone(), g.owner.id.clone(), g.orphaned, g.member_count)
                                }
                                children=move |g| {
                                    let orphaned = g.orphaned;
                                    let item = g.clone();
                                    view! {
                                        <tr
                                            data-connection-id=g.connection.id.to_string()
                                            data-orphaned=orphaned.to_string()
                                        >
                                            <td>{g.connection.name.clone()}</td>
                                            <td>{g.connection.kind.label()}</td>
                                            <td>
                                                {g.owner.display_name.clone()}" "
                                                {access_badge(g.owner.access_level)}
                                            </td>
                                            <td>{g.member_count}</td>
                                            <td>
                                                {status_badge(g.connection.status.as_str())}
                                                {orphaned
                                                    .then(|| {
                                                        view! {
                                                            " "
                                                            <span
                                                                class="badge orphaned"
                                                                title="The owner has no hub access any more"
                                                            >
                                                                "Orphaned"
                                                            </span>
                                                        }
                                                    })}
                                            </td>
                                            <td class="actions">
                                                {(orphaned && me.can(HubAction::GovernConnections))
                                                    .then(|| {
                                                        let item = item.clone();
                                                        view! {
                                                            <button
                                                                type="button"
                                                                class="secondary"
                                                                data-hub-action="govern_connections"
                                                                aria-haspopup="dialog"
                                                                on:click=move |_| {
                                                                    recover_target.set(Some(item.clone()));
                                                                    recover_open.set(true);
                                                                }
                                                            >
                                                                "Recover ownership"
                                                            </button>
                                                        }
                                                    })}
                                            </td>
                                        </tr>
                                    }
                                }
                            />
                        </tbody>
                    </table>
                </div>
                {paged.more_button("governance-more")}
            }
                .into_any()
        }}
        <RecoverDialog open=recover_open target=recover_target paged=paged />
    }
}

#[component]
fn RecoverDialog(
    open: RwSignal<bool>,
    target: RwSignal<Option<GovernanceItem>>,
    paged: Paged<GovernanceItem>,
) -> impl IntoView {
    let notices = use_notices();
    // The new owner, chosen with the people picker (active users with hub access).
    let person = RwSignal::new(None::<hubkeep_shared::api::Person>);
    let person_text = RwSignal::new(String::new());
    let retain = RwSignal::new(String::new());
    let busy = RwSignal::new(false);
    let error = RwSignal::new(None::<ClientError>);
    Effect::new(move |_| {
        if open.get() {
            person.set(None);
            person_text.set(String::new());
            retain.set(String::new());
            error.set(None);
        }
    });

    let submit = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        let Some(item) = target.get_untracked() else {
            return;
        };
        let Some(chosen) = person.get_untracked() else {
            return;
        };
        if busy.get_untracked() {
            return;
        }
        let body = RecoverOwnership {
            user_id: chosen.id,
            retain_role: retain.get_untracked().parse().ok(),
        };
        busy.set(true);
        error.set(None);
        leptos::task::spawn_local(async move {
            let result = api::connections::recover_ownership(&item.connection.id, &body).await;
            busy.set(false);
            match result {
                Ok(r) => {
                    notices.ok(format!(
                        "{} is now the Subscription Owner of {}.",
                        r.owner.display_name, item.connection.name
                    ));
                    open.set(false);
                    paged.reload();
                }
                Err(e) => {
                    notices.error(&e);
                    error.set(Some(e));
                }
            }
        });
    };

    view! {
        <Dialog open=open title="Recover ownership" id="recover-ownership">
            <form on:submit=submit novalidate>
                {move || {
                    target
                        .get()
                        .map(|t| {
                            view! {
                                <p>
                                    "The owner of "<strong>{t.connection.name.clone()}</strong>", "
                                    {t.owner.display_name.clone()}
                                    ", no longer has hub access. Choose the new Subscription Owner."
                                </p>
                            }
                        })
                }}
                <PersonPicker
                    id="recover-user"
                    label="New owner"
                    chosen=person
                    text=person_text
                    hint="Type part of their name or email and choose: an active user with hub access."
                />
                <label class="field">
                    <span>"Previous owner keeps"</span>
                    <select
                        id="recover-retain"
                        prop:value=move || retain.get()
                        on:change=move |ev| retain.set(event_target_value(&ev))
                    >
                        <option value="">"No role (unless they hold others)"</option>
                        {RETAIN_ROLES
                            .iter()
                            .map(|r| view! { <option value=r.to_string()>{r.label()}</option> })
                            .collect_view()}
                    </select>
                </label>
                {move || {
                    error
                        .get()
                        .map(|e| {
                            view! { <div class="error" role="alert" id="recover-error">{describe(&e)}</div> }
                        })
                }}
                <div class="buttons">
                    <button
                        type="submit"
                        id="recover-submit"
                        disabled=move || busy.get() || person.with(Option::is_none)
                    >
                        {move || if busy.get() { "Recovering…" } else { "Make owner" }}
                    </button>
                    <button type="button" class="secondary" on:click=move |_| open.set(false)>
                        "Cancel"
                    </button>
                </div>
            </form>
        </Dialog>
    }
}

// ---------------------------------------------------------------------------------------
// New connection
// ---------------------------------------------------------------------------------------

#[component]
fn CreateConnectionDialog(open: RwSignal<bool>) -> impl IntoView {
    let notices = use_notices();
    let navigate = StoredValue::new(use_navigate());
    let name = RwSignal::new(String::new());
    let kind = RwSignal::new(KINDS[0].to_string());
    let timezone = RwSignal::new(String::new());
    let busy = RwSignal::new(false);
    let error = RwSignal::new(None::<ClientError>);
    // The tenant's default timezone, for the placeholder (settings are readable by all).
    let default_tz = resource(move || {
        let is_open = open.get();
        async move {
            if !is_open {
                return None;
            }
            api::settings::get_settings()
                .await
                .ok()
                .map(|s| s.default_timezone)
        }
    });
    let placeholder = move || match default_tz.get().flatten() {
        Some(tz) => format!("Tenant default ({tz})"),
        None => "Tenant default".to_owned(),
    };
    Effect::new(move |_| {
        if open.get() {
            name.set(String::new());
            kind.set(KINDS[0].to_string());
            timezone.set(String::new());
            error.set(None);
        }
    });

    let submit = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        if busy.get_untracked() {
            return;
        }
        // The server's rules, applied before sending: the dialog refuses what it would.
        let mut problems = FieldErrors::new();
        let checked_name = problems.check::<Name>("name", &name.get_untracked());
        let tz = timezone.get_untracked();
        let tz = if tz.trim().is_empty() {
            None
        } else {
            problems
                .check::<TimezoneName>("timezone", &tz)
                .map(String::from)
        };
        let Some(checked_name) = checked_name.filter(|_| problems.is_empty()) else {
            let mut problem = Problem::new(
                ProblemCode::ValidationFailed,
                "The connection is not valid.",
            );
            problem.errors = problems.into_vec();
            error.set(Some(ClientError::Problem(problem)));
            return;
        };
        let body = NewConnection {
            name: checked_name.into(),
            kind: kind.get_untracked(),
            timezone: tz,
        };
        busy.set(true);
        error.set(None);
        leptos::task::spawn_local(async move {
            let result = api::connections::create(&body).await;
            busy.set(false);
            match result {
                Ok(c) => {
                    notices.ok(format!(
                        "Connection {} created; you are its Subscription Owner.",
                        c.name
                    ));
                    open.set(false);
                    let nav = navigate.get_value();
                    nav(
                        &format!("/connections/{}", api::seg(&c.id)),
                        NavigateOptions::default(),
                    );
                }
                Err(e) => {
                    // Field errors stay in the dialog; anything else also goes to the notices.
                    if e.status() != Some(422) {
                        notices.error(&e);
                    }
                    error.set(Some(e));
                }
            }
        });
    };

    view! {
        <Dialog open=open title="New connection" id="create-connection">
            <form on:submit=submit novalidate>
                <label class="field">
                    <span>"Name"</span>
                    <input
                        type="text"
                        id="connection-name"
                        required
                        maxlength="200"
                        autocomplete="off"
                        aria-invalid=move || error.with(|e| field_invalid(e, "name")).to_string()
                        prop:value=move || name.get()
                        on:input=move |ev| name.set(event_target_value(&ev))
                    />
                </label>
                <label class="field">
                    <span>"Kind"</span>
                    <select
                        id="connection-kind"
                        aria-invalid=move || error.with(|e| field_invalid(e, "kind")).to_string()
                        prop:value=move || kind.get()
                        on:change=move |ev| kind.set(event_target_value(&ev))
                    >
                        {KINDS
                            .iter()
                            .map(|k| view! { <option value=k.to_string()>{k.label()}</option> })
                            .collect_view()}
                    </select>
                </label>
                <label class="field">
                    <span>"Timezone (optional)"</span>
                    <input
                        type="text"
                        id="connection-timezone"
                        autocomplete="off"
                        placeholder=placeholder
                        aria-describedby="connection-timezone-hint"
                        aria-invalid=move || error.with(|e| field_invalid(e, "timezone")).to_string()
                        prop:value=move || timezone.get()
                        on:input=move |ev| timezone.set(event_target_value(&ev))
                    />
                    <small class="hint" id="connection-timezone-hint">
                        "An IANA name such as Europe/London; empty uses the tenant's default."
                    </small>
                </label>
                {move || {
                    error
                        .get()
                        .map(|e| {
                            view! {
                                <div class="error" role="alert" id="create-connection-error">
                                    {describe(&e)}
                                </div>
                            }
                        })
                }}
                <div class="buttons">
                    <button
                        type="submit"
                        id="create-connection-submit"
                        disabled=move || busy.get() || name.with(|n| n.trim().is_empty())
                    >
                        {move || if busy.get() { "Creating…" } else { "Create connection" }}
                    </button>
                    <button type="button" class="secondary" on:click=move |_| open.set(false)>
                        "Cancel"
                    </button>
                </div>
            </form>
        </Dialog>
    }
}
