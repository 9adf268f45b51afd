//! One connection (SPEC S4, S5, S9): overview and settings, endpoints, subscription, views,
//! members and invitations, ownership transfer and sync history.
//!
//! Nothing here decides a permission: every control is shown from the connection's
//! `allowed_actions` (as the API computed them for the caller), and the invite / remove-role
//! controls from `hubkeep_shared::can_invite` / `can_remove_role` on its `my_roles`. A
//! cancelled connection refuses every change but paying (409 `connection_cancelled`), so
//! those controls are rendered disabled with the reason in their `title`.

use hubkeep_shared::{ConnectionId, InvitationId, RunId, UserId, ViewId};
use std::future::Future;

use hubkeep_shared::{
    ConnectionAction as Act, ConnectionKind, ConnectionRole, HubAction, can_invite, can_remove_role,
};
use leptos::ev::SubmitEvent;
use leptos::prelude::*;
use leptos::task::spawn_local;
use leptos_router::components::{A, Outlet, Redirect};
use leptos_router::hooks::use_params_map;
use serde_json::Value;

use crate::api::{self, ClientError};
use crate::components::error::ErrorMessage;
use crate::components::people::PersonPicker;
use crate::components::ui::{
    Dialog, Empty, Loading, MeCtx, Notices, access_badge, currency_label, fmt_time, opt_run_time,
    opt_time, run_time, time, use_me, use_notices,
};
use crate::components::ui::{Res, resource, suspend};
use hubkeep_shared::api::{
    Connection, ConnectionPatch, ConnectionView, EndpointSide, EndpointStatus, ForecastBudgetInput,
    Invitation, InvitationStatus, Items, NewInvitation, Page, PageQuery, PaymentInput, Person,
    ReconnectInput, RunRequest, RunsQuery, SyncRun, ViewInput,
};
use hubkeep_shared::fields::{
    CurrencyCode, Email, FieldErrors, FieldRule, MAX_PAYMENT_MONTHS, Name, PostgresUrl, ShortName,
    TimezoneName, ViewDefinition,
};

mod endpoints;
mod invitations;
mod members;
mod runs;
mod settings;
mod subscription;
mod views;

use endpoints::*;
use invitations::*;
use members::*;
use runs::*;
use settings::*;
use subscription::*;
use views::*;

/// Why a change control is disabled on a cancelled connection.
const CANCELLED: &str = "Cancelled: pay to make changes";
/// Why the manual run is disabled while an endpoint is disconnected.
const DISCONNECTED: &str = "An endpoint is disconnected: reconnect it to run the connection";
/// The entities a manual run of `autotask_quickbooks` may choose from.
const AQ_ENTITIES: [(&str, &str); 3] = [
    ("invoices", "Invoices"),
    ("purchase_orders", "Purchase orders"),
    ("expenses", "Expenses"),
];
/// The roles below the owner, in ladder order.
const NON_OWNER_ROLES: [ConnectionRole; 3] = [
    ConnectionRole::BusinessAdmin,
    ConnectionRole::ItAdmin,
    ConnectionRole::ReadOnly,
];

// ---------------------------------------------------------------------------------------
// Page state
// ---------------------------------------------------------------------------------------

/// A pending confirmation: the page has one confirmation dialog.
#[derive(Clone)]
struct ConfirmReq {
    text: String,
    confirm_label: String,
    /// The `data-connection-action` of the confirming button, when it is a connection action.
    action: Option<&'static str>,
    run: Callback<()>,
}

/// Everything the sections share; all fields are arena handles, so it is `Copy`.
#[derive(Clone, Copy)]
struct Ctx {
    id: Memo<ConnectionId>,
    /// The connection as last loaded (kept when a reload fails for another reason than 404).
    conn: RwSignal<Option<Connection>>,
    /// The connection, loaded for the id it is paired with.
    conn_res: Res<(ConnectionId, Result<Connection, ClientError>)>,
    /// The first page of the sync history, hidden runs included when `runs_hidden`.
    runs: Res<Result<Page<SyncRun>, ClientError>>,
    runs_hidden: RwSignal<bool>,
    notices: Notices,
    me: MeCtx,
    confirm: RwSignal<Option<ConfirmReq>>,
    confirm_open: RwSignal<bool>,
    /// The connection's invitations (the invitations and transfer sections share them).
    invitations: Res<Result<Items<Invitation>, ClientError>>,
}

impl Ctx {
    fn with_conn<R>(&self, f: impl FnOnce(&Connection) -> R) -> Option<R> {
        self.conn.with(|c| c.as_ref().map(f))
    }

    fn with_conn_untracked<R>(&self, f: impl FnOnce(&Connection) -> R) -> Option<R> {
        self.conn.with_untracked(|c| c.as_ref().map(f))
    }

    /// Whether the API allows `action` to the caller here.
    fn can(&self, action: Act) -> bool {
        self.with_conn(|c| c.can(action)).unwrap_or(false)
    }

    fn cancelled(&self) -> bool {
        self.with_conn(|c| c.is_cancelled()).unwrap_or(false)
    }

    fn cancelled_title(&self) -> Option<&'static str> {
        self.cancelled().then_some(CANCELLED)
    }

    fn kind(&self) -> Option<ConnectionKind> {
        self.with_conn(|c| c.kind)
    }

    fn roles(&self) -> Vec<ConnectionRole> {
        self.with_conn(|c| c.my_roles.clone()).unwrap_or_default()
    }

    /// Re-fetches the connection (its state and allowed actions may have changed).
    fn refresh(&self) {
        self.conn_res.refetch();
    }

    /// Re-fetches the sync history's first page.
    fn refresh_runs(&self) {
        self.runs.refetch();
    }

    /// Whether the connection shown is the one of the current id.
    fn loaded(&self) -> bool {
        self.conn.with(Option::is_some)
            && self.conn_res.with(|r| {
                r.as_ref()
                    .is_some_and(|(for_id, _)| *for_id == self.id.get())
            })
    }

    /// Whether loading the current id failed.
    fn failed(&self) -> bool {
        self.conn_res.with(|r| {
            r.as_ref()
                .is_some_and(|(for_id, result)| result.is_err() && *for_id == self.id.get())
        })
    }

    /// Opens the confirmation dialog; `run` runs when the person confirms.
    fn ask(
        &self,
        text: impl Into<String>,
        confirm_label: impl Into<String>,
        action: Option<&'static str>,
        run: impl Fn() + Send + Sync + 'static,
    ) {
        self.confirm.set(Some(ConfirmReq {
            text: text.into(),
            confirm_label: confirm_label.into(),
            action,
            run: Callback::new(move |_| run()),
        }));
        self.confirm_open.set(true);
    }
}

/// Runs a write: marks `busy` while pending, reports the outcome as a notice, hands a
/// success to `done` and a failure to `failed` (after the notice).
fn write<T: 'static>(
    ctx: Ctx,
    busy: RwSignal<bool>,
    fut: impl Future<Output = Result<T, ClientError>> + 'static,
    ok: impl Into<String>,
    done: impl FnOnce(T) + 'static,
    failed: impl FnOnce(&ClientError) + 'static,
) {
    let ok = ok.into();
    busy.set(true);
    spawn_local(async move {
        let result = fut.await;
        busy.set(false);
        match result {
            Ok(value) => {
                ctx.notices.ok(ok);
                done(value);
            }
            Err(e) => {
                ctx.notices.error(&e);
                failed(&e);
            }
        }
    });
}

/// A status (`active`, `cancelled`, `connected`, `pending`, `succeeded`, …) as a badge.
fn status_badge(status: &str) -> impl IntoView + use<> {
    let class = format!("badge {status}");
    let mut text: String = status.replace('_', " ");
    if let Some(first) = text.get(0..1) {
        text = format!("{}{}", first.to_uppercase(), &text[1..]);
    }
    view! { <span class=class data-status=status.to_owned()>{text}</span> }
}

fn role_badge(role: ConnectionRole) -> impl IntoView + use<> {
    view! { <span class="badge" data-role=role.wire_name()>{role.label()}</span> }
}

fn roles_text(roles: &[ConnectionRole]) -> String {
    if roles.is_empty() {
        "none".to_owned()
    } else {
        roles
            .iter()
            .map(|r| r.label())
            .collect::<Vec<_>>()
            .join(", ")
    }
}

fn field_errors_view(id: String, errors: RwSignal<Vec<String>>) -> impl IntoView {
    view! {
        <div id=id class="field-errors" aria-live="polite">
            {move || {
                let list = errors.get();
                (!list.is_empty())
                    .then(|| {
                        view! {
                            <div class="error" role="alert">
                                <ul>{list.into_iter().map(|e| view! { <li>{e}</li> }).collect_view()}</ul>
                            </div>
                        }
                    })
            }}
        </div>
    }
}

// ---------------------------------------------------------------------------------------
// The page
// ---------------------------------------------------------------------------------------

#[component]
pub fn ConnectionPage() -> impl IntoView {
    let params = use_params_map();
    let id =
        Memo::new(move |_| ConnectionId::new(params.with(|p| p.get("id").unwrap_or_default())));
    let invitations = resource(move || {
        let id = id.get();
        async move { api::invitations::of_connection(&id).await }
    });
    let conn_res = resource(move || {
        let id = id.get();
        async move {
            let result = api::connections::get_one(&id).await;
            (id, result)
        }
    });
    let runs_hidden = RwSignal::new(false);
    let runs = resource(move || {
        let id = id.get();
        let query = RunsQuery {
            include_hidden: runs_hidden.get(),
            limit: None,
            cursor: None,
        };
        async move { api::runs::list(&id, &query).await }
    });
    let ctx = Ctx {
        id,
        conn: RwSignal::new(None),
        conn_res,
        runs,
        runs_hidden,
        notices: use_notices(),
        me: use_me(),
        confirm: RwSignal::new(None),
        confirm_open: RwSignal::new(false),
        invitations,
    };
    provide_context(ctx);
    let loaded = move || ctx.loaded();
    // The id `ctx.conn` was loaded for.
    let shown_for = StoredValue::new(ConnectionId::new(String::new()));

    view! {
        <div id="connection-page" data-connection-id=move || ctx.id.get().to_string()>
            <Transition>
                {move || suspend(async move {
                    let (for_id, result) = ctx.conn_res.await;
                    if for_id != ctx.id.get_untracked() {
                        return ().into_any(); // the page moved on to another connection
                    }
                    match result {
                        Ok(c) => {
                            shown_for.set_value(for_id);
                            ctx.conn.set(Some(c));
                            ().into_any()
                        }
                        Err(e) if e.status() == Some(404) => {
                            ctx.conn.set(None);
                            view! {
                                <section class="card" id="connection-missing">
                                    <h1>"Connection not found"</h1>
                                    <p>"This connection does not exist or you have no role on it."</p>
                                    <p><A href="/connections">"Back to connections"</A></p>
                                </section>
                            }
                            .into_any()
                        }
                        // A reload failed: keep showing the connection and say why.
                        Err(e)
                            if ctx.conn.with_untracked(Option::is_some)
                                && shown_for.with_value(|s| *s == for_id) =>
                        {
                            ctx.notices.error(&e);
                            ().into_any()
                        }
                        Err(e) => {
                            ctx.conn.set(None);
                            view! {
                                <ErrorMessage error=e />
                                <p><A href="/connections">"Back to connections"</A></p>
                            }
                            .into_any()
                        }
                    }
                })}
            </Transition>
            {move || (!loaded() && !ctx.failed()).then(|| view! { <Loading what="the connection" /> })}
            <Show when=loaded>
                <Header ctx=ctx />
                <TabNav ctx=ctx />
                <Outlet />
            </Show>
            <ConfirmDialog ctx=ctx />
        </div>
    }
}

// ---------------------------------------------------------------------------------------
// Tabs (SPEC S16): each part of the page has an address, `/connections/{id}/{tab}`
// ---------------------------------------------------------------------------------------

/// The tabs in order: path segment and label. `views` shows only for kinds with views.
const TABS: [(&str, &str); 5] = [
    ("overview", "Overview"),
    ("members", "Members"),
    ("sync", "Sync"),
    ("views", "Views"),
    ("settings", "Settings"),
];

/// The tab the address names (`/connections/{id}` is the overview).
fn current_tab(path: &str) -> &str {
    let mut parts = path.trim_start_matches('/').split('/').skip(2);
    parts.next().filter(|t| !t.is_empty()).unwrap_or("overview")
}

#[component]
fn TabNav(ctx: Ctx) -> impl IntoView {
    let location = leptos_router::hooks::use_location();
    let current = move || current_tab(&location.pathname.get()).to_owned();
    let has_views = move || ctx.with_conn(|c| c.capabilities.views).unwrap_or(false);
    view! {
        <nav class="tabs" aria-label="Connection" id="connection-tabs">
            <ul>
                {TABS
                    .into_iter()
                    .map(|(tab, label)| {
                        let href = move || format!("/connections/{}/{tab}", api::seg(&ctx.id.get()));
                        let shown = move || tab != "views" || has_views();
                        view! {
                            <Show when=shown>
                                <li>
                                    <a
                                        href=href
                                        id=format!("tab-{tab}")
                                        data-tab=tab
                                        aria-current=move || (current() == tab).then_some("page")
                                    >
                                        {label}
                                    </a>
                                </li>
                            </Show>
                        }
                    })
                    .collect_view()}
            </ul>
        </nav>
    }
}

/// The page's shared state, for the tab the router shows.
fn use_ctx() -> Ctx {
    expect_context::<Ctx>()
}

/// A tab's panel: `data-tab` says which one is shown.
fn tab_panel(tab: &'static str, children: impl IntoView) -> impl IntoView {
    view! { <div class="tab-panel" id=format!("tab-panel-{tab}") data-tab-panel=tab>{children}</div> }
}

/// Overview: the facts, the endpoints and the subscription.
#[component]
pub fn OverviewTab() -> impl IntoView {
    let ctx = use_ctx();
    tab_panel(
        "overview",
        view! {
            <Overview ctx=ctx />
            <EndpointsSection ctx=ctx />
            <SubscriptionSection ctx=ctx />
        },
    )
}

/// Members: the members, the invitations and the ownership transfer.
#[component]
pub fn MembersTab() -> impl IntoView {
    let ctx = use_ctx();
    tab_panel(
        "members",
        view! {
            <MembersSection ctx=ctx />
            <InvitationsSection ctx=ctx />
            <Show when=move || ctx.can(Act::TransferOwnership)>
                <TransferSection ctx=ctx />
            </Show>
        },
    )
}

/// Sync: the run history and the manual run.
#[component]
pub fn SyncTab() -> impl IntoView {
    let ctx = use_ctx();
    tab_panel("sync", view! { <RunsSection ctx=ctx /> })
}

/// Views, for the kinds that have them.
#[component]
pub fn ViewsTab() -> impl IntoView {
    let ctx = use_ctx();
    let has_views = move || ctx.with_conn(|c| c.capabilities.views).unwrap_or(false);
    tab_panel(
        "views",
        view! {
            <Show
                when=has_views
                fallback=|| view! { <p class="notice info" id="views-none">"This kind of connection has no views."</p> }
            >
                <ViewsSection ctx=ctx />
            </Show>
        },
    )
}

/// Settings: one form.
#[component]
pub fn SettingsTab() -> impl IntoView {
    let ctx = use_ctx();
    tab_panel("settings", view! { <SettingsSection ctx=ctx /> })
}

/// An address under the connection that names no tab.
#[component]
pub fn UnknownTab() -> impl IntoView {
    let ctx = use_ctx();
    tab_panel(
        "unknown",
        view! {
            <p class="notice info" id="tab-unknown">
                "This connection has no such page. "
                <A href=move || format!("/connections/{}/overview", api::seg(&ctx.id.get()))>"Go to its overview"</A>
            </p>
        },
    )
}

#[component]
fn ConfirmDialog(ctx: Ctx) -> impl IntoView {
    view! {
        <Dialog open=ctx.confirm_open title="Please confirm" id="confirm-action">
            {move || {
                ctx.confirm
                    .get()
                    .map(|req| {
                        let run = req.run;
                        view! {
                            <p id="confirm-action-text">{req.text.clone()}</p>
                            <div class="buttons">
                                <button type="button" class="secondary" id="confirm-action-cancel" on:click=move |_| ctx.confirm_open.set(false)>
                                    "Keep it"
                                </button>
                                <button
                                    type="button"
                                    class="danger"
                                    id="confirm-action-submit"
                                    data-connection-action=req.action
                                    on:click=move |_| {
                                        ctx.confirm_open.set(false);
                                        run.run(());
                                    }
                                >
                                    {req.confirm_label.clone()}
                                </button>
                            </div>
                        }
                    })
            }}
        </Dialog>
    }
}

#[component]
fn Header(ctx: Ctx) -> impl IntoView {
    view! {
        <p class="meta"><A href="/connections">"← Connections"</A></p>
        <div class="page-head">
            <h1 id="connection-name-heading">{move || ctx.with_conn(|c| c.name.clone())}</h1>
            <span class="badge" data-kind=move || ctx.kind().map(|k| k.to_string())>
                {move || ctx.kind().map(|k| k.label())}
            </span>
            {move || ctx.with_conn(|c| status_badge(c.status.as_str()))}
        </div>
        <p class="lead" id="my-roles">"Your roles: "{move || roles_text(&ctx.roles())}</p>
        <Show when=move || ctx.cancelled()>
            <p class="notice info" role="status" id="cancelled-notice">
                "This connection is cancelled: it keeps its history but refuses runs and changes until the owner pays again."
            </p>
        </Show>
    }
}

#[component]
fn Overview(ctx: Ctx) -> impl IntoView {
    let fact = move |f: fn(&Connection) -> String| move || ctx.with_conn(f).unwrap_or_default();
    view! {
        <section class="panel" id="overview" aria-labelledby="overview-title">
            <h2 id="overview-title">"Overview"</h2>
            <dl class="facts">
                <dt>"Kind"</dt>
                <dd>{fact(|c| c.kind.label())}</dd>
                <dt>"Timezone"</dt>
                <dd>{fact(|c| c.timezone.clone())}</dd>
                <dt>"Owner"</dt>
                <dd>{fact(|c| c.owner.display_name.clone())}</dd>
                <dt>"Group"</dt>
                <dd>{fact(|c| c.group.clone().unwrap_or_else(|| "None".to_owned()))}</dd>
                <dt>"Created"</dt>
                <dd>{move || ctx.with_conn(|c| time(&c.created_at))}</dd>
                <dt>"Status"</dt>
                <dd>{move || ctx.with_conn(|c| status_badge(c.status.as_str()))}</dd>
                <dt>"Paid through"</dt>
                <dd>{fact(|c| c.paid_through.map_or_else(|| "—".to_owned(), |d| d.to_string()))}</dd>
            </dl>
        </section>
    }
}
