//! One connection (SPEC S4, S5, S9): overview and settings, endpoints, subscription, views,
//! members and invitations, ownership transfer and sync history.
//!
//! Nothing here decides a permission: every control is shown from the connection's
//! `allowed_actions` (as the API computed them for the caller), and the invite / remove-role
//! controls from `hubkeep_shared::can_invite` / `can_remove_role` on its `my_roles`. A
//! cancelled connection refuses every change but paying (409 `connection_cancelled`), so
//! those controls are rendered disabled with the reason in their `title`.

use std::future::Future;

use hubkeep_shared::{
    ConnectionAction as Act, ConnectionKind, ConnectionRole, HubAction, can_invite, can_remove_role,
};
use leptos::ev::SubmitEvent;
use leptos::prelude::*;
use leptos::task::spawn_local;
use leptos_router::components::{A, Redirect};
use leptos_router::hooks::use_params_map;
use serde_json::Value;

use crate::api::{self, ClientError};
use crate::components::error::ErrorMessage;
use crate::components::ui::{
    Dialog, Empty, Loading, MeCtx, Notices, access_badge, fmt_opt_time, fmt_time, use_me,
    use_notices,
};
use hubkeep_shared::api::{
    Connection, ConnectionPatch, ConnectionView, EndpointSide, EndpointStatus, ForecastBudgetInput,
    Invitation, InvitationStatus, Items, NewInvitation, PageQuery, PaymentInput, ReconnectInput,
    RunRequest, RunsQuery, SyncRun, ViewInput,
};
use hubkeep_shared::fields::{
    CurrencyCode, Email, FieldErrors, FieldRule, MAX_PAYMENT_MONTHS, Name, PostgresUrl, ShortName,
    TimezoneName, ViewDefinition,
};

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
    id: Memo<String>,
    conn: RwSignal<Option<Connection>>,
    conn_version: RwSignal<u32>,
    members_v: RwSignal<u32>,
    views_v: RwSignal<u32>,
    runs_v: RwSignal<u32>,
    notices: Notices,
    me: MeCtx,
    confirm: RwSignal<Option<ConfirmReq>>,
    confirm_open: RwSignal<bool>,
    /// The connection's invitations (the invitations and transfer sections share them).
    invitations: LocalResource<Result<Items<Invitation>, ClientError>>,
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
        self.conn_version.update(|v| *v += 1);
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
    let id = Memo::new(move |_| params.with(|p| p.get("id").unwrap_or_default()));
    let invitations = LocalResource::new(move || {
        let id = id.get();
        async move { api::invitations::of_connection(&id).await }
    });
    let ctx = Ctx {
        id,
        conn: RwSignal::new(None),
        conn_version: RwSignal::new(0),
        members_v: RwSignal::new(0),
        views_v: RwSignal::new(0),
        runs_v: RwSignal::new(0),
        notices: use_notices(),
        me: use_me(),
        confirm: RwSignal::new(None),
        confirm_open: RwSignal::new(false),
        invitations,
    };
    let load_error = RwSignal::new(None::<ClientError>);

    // Load (and re-load) the connection.
    Effect::new(move |prev: Option<String>| {
        let want = ctx.id.get();
        ctx.conn_version.track();
        if prev.as_deref() != Some(want.as_str()) {
            ctx.conn.set(None);
            load_error.set(None);
        }
        let current = want.clone();
        spawn_local(async move {
            let result = api::connections::get_one(&current).await;
            if ctx.id.try_get_untracked().as_deref() != Some(current.as_str()) {
                return; // the page moved on to another connection
            }
            match result {
                Ok(c) => {
                    load_error.set(None);
                    ctx.conn.set(Some(c));
                }
                Err(e) if e.status() == Some(404) => {
                    ctx.conn.set(None);
                    load_error.set(Some(e));
                }
                Err(e) => {
                    if ctx.conn.with_untracked(Option::is_some) {
                        ctx.notices.error(&e);
                    } else {
                        load_error.set(Some(e));
                    }
                }
            }
        });
        want
    });

    let loaded = move || ctx.conn.with(Option::is_some);

    view! {
        <div id="connection-page" data-connection-id=move || ctx.id.get()>
            {move || match load_error.get() {
                Some(e) if e.status() == Some(404) => view! {
                    <section class="card" id="connection-missing">
                        <h1>"Connection not found"</h1>
                        <p>"This connection does not exist or you have no role on it."</p>
                        <p><A href="/connections">"Back to connections"</A></p>
                    </section>
                }
                .into_any(),
                Some(e) => view! {
                    <ErrorMessage error=e />
                    <p><A href="/connections">"Back to connections"</A></p>
                }
                .into_any(),
                None if !loaded() => view! { <Loading what="the connection" /> }.into_any(),
                None => ().into_any(),
            }}
            <Show when=loaded>
                <Header ctx=ctx />
                <Overview ctx=ctx />
                <SettingsSection ctx=ctx />
                <EndpointsSection ctx=ctx />
                <SubscriptionSection ctx=ctx />
                <Show when=move || ctx.with_conn(|c| c.capabilities.views).unwrap_or(false)>
                    <ViewsSection ctx=ctx />
                </Show>
                <MembersSection ctx=ctx />
                <InvitationsSection ctx=ctx />
                <Show when=move || ctx.can(Act::TransferOwnership)>
                    <TransferSection ctx=ctx />
                </Show>
                <RunsSection ctx=ctx />
            </Show>
            <ConfirmDialog ctx=ctx />
        </div>
    }
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
                <dd>{fact(|c| fmt_time(&c.created_at))}</dd>
                <dt>"Status"</dt>
                <dd>{move || ctx.with_conn(|c| status_badge(c.status.as_str()))}</dd>
                <dt>"Paid through"</dt>
                <dd>{fact(|c| c.paid_through.map_or_else(|| "—".to_owned(), |d| d.to_string()))}</dd>
            </dl>
        </section>
    }
}

// ---------------------------------------------------------------------------------------
// Settings
// ---------------------------------------------------------------------------------------

// Each form applies the rule the server applies to its field (`hubkeep_shared::fields`), so
// it refuses exactly what the server would, with the server's words.

/// `label: message` for a refused value, as the form shows it.
fn refused<T: FieldRule>(label: &str, v: &str) -> Result<T, String> {
    T::parse(v).map_err(|message| format!("{label}: {message}"))
}

fn validate_name(v: &str) -> Result<ConnectionPatch, String> {
    let name = refused::<Name>("Name", v)?;
    Ok(ConnectionPatch {
        name: Some(name.into()),
        ..ConnectionPatch::default()
    })
}

fn validate_timezone(v: &str) -> Result<ConnectionPatch, String> {
    let tz = refused::<TimezoneName>("Timezone", v)?;
    Ok(ConnectionPatch {
        timezone: Some(tz.into()),
        ..ConnectionPatch::default()
    })
}

fn validate_group(v: &str) -> Result<ConnectionPatch, String> {
    let group = refused::<Name>("Group", v)?;
    Ok(ConnectionPatch {
        group: Some(Some(group.into())),
        ..ConnectionPatch::default()
    })
}

fn validate_currency(v: &str) -> Result<ConnectionPatch, String> {
    // The field offers upper case as a convenience; the rule itself refuses lower case.
    let currency = refused::<CurrencyCode>("Reporting currency", &v.trim().to_uppercase())?;
    Ok(ConnectionPatch {
        reporting_currency: Some(currency.into()),
        ..ConnectionPatch::default()
    })
}

fn validate_postgres(v: &str) -> Result<ConnectionPatch, String> {
    let url = refused::<PostgresUrl>("Postgres DB", v)?;
    Ok(ConnectionPatch {
        postgres_db: Some(Some(url.into())),
        ..ConnectionPatch::default()
    })
}

#[component]
fn SettingsSection(ctx: Ctx) -> impl IntoView {
    let caps = move || ctx.with_conn(|c| c.capabilities);
    let financial = move || caps().is_some_and(|c| c.financial_settings);
    let postgres = move || caps().is_some_and(|c| c.postgres_db);
    let any_form = move || {
        [
            Act::Rename,
            Act::ChangeTimezone,
            Act::Group,
            Act::Ungroup,
            Act::ChangeLockedPeriodExport,
            Act::ChangeReportingCurrency,
            Act::ChangeForecastBudget,
            Act::ChangePostgresDb,
        ]
        .into_iter()
        .any(|a| ctx.can(a))
    };
    view! {
        <section class="panel" id="settings" aria-labelledby="settings-title">
            <h2 id="settings-title">"Settings"</h2>
            <dl class="facts" id="settings-values">
                <dt>"Name"</dt>
                <dd>{move || ctx.with_conn(|c| c.name.clone())}</dd>
                <dt>"Timezone"</dt>
                <dd>{move || ctx.with_conn(|c| c.timezone.clone())}</dd>
                <dt>"Group"</dt>
                <dd>{move || ctx.with_conn(|c| c.group.clone().unwrap_or_else(|| "None".to_owned()))}</dd>
                <Show when=financial>
                    <dt>"Locked-period export"</dt>
                    <dd>{move || ctx.with_conn(|c| if c.locked_period_export.unwrap_or(false) { "On" } else { "Off" })}</dd>
                    <dt>"Reporting currency"</dt>
                    <dd>{move || ctx.with_conn(|c| c.reporting_currency.clone().unwrap_or_else(|| "Not set".to_owned()))}</dd>
                    <dt>"Forecast budget"</dt>
                    <dd>
                        {move || ctx.with_conn(|c| {
                            c.forecast_budget
                                .as_ref()
                                .map(|b| format!("{} ({})", b.name, b.id))
                                .unwrap_or_else(|| "Not set".to_owned())
                        })}
                    </dd>
                </Show>
                <Show when=postgres>
                    <dt>"Postgres DB"</dt>
                    <dd id="postgres-db-state">{move || ctx.with_conn(|c| if c.postgres_db_set { "Set" } else { "Not set" })}</dd>
                </Show>
            </dl>
            <Show when=any_form>
                <h3>"Change settings"</h3>
            </Show>
            <Show when=move || ctx.can(Act::Rename)>
                <TextSetting
                    ctx=ctx
                    action=Act::Rename
                    field="name"
                    label="Name"
                    input_id="setting-name"
                    initial=|c: &Connection| c.name.clone()
                    validate=validate_name
                />
            </Show>
            <Show when=move || ctx.can(Act::ChangeTimezone)>
                <TextSetting
                    ctx=ctx
                    action=Act::ChangeTimezone
                    field="timezone"
                    label="Timezone"
                    input_id="setting-timezone"
                    initial=|c: &Connection| c.timezone.clone()
                    validate=validate_timezone
                    hint="An IANA time zone name, such as Europe/London or America/New_York."
                />
            </Show>
            <Show when=move || ctx.can(Act::Group)>
                <TextSetting
                    ctx=ctx
                    action=Act::Group
                    field="group"
                    label="Group"
                    input_id="setting-group"
                    initial=|c: &Connection| c.group.clone().unwrap_or_default()
                    validate=validate_group
                    hint="A tenant-wide group; a new name creates the group."
                />
            </Show>
            <Show when=move || ctx.can(Act::Ungroup) && ctx.with_conn(|c| c.group.is_some()).unwrap_or(false)>
                <UngroupButton ctx=ctx />
            </Show>
            <Show when=move || financial() && ctx.can(Act::ChangeLockedPeriodExport)>
                <LockedPeriodSetting ctx=ctx />
            </Show>
            <Show when=move || financial() && ctx.can(Act::ChangeReportingCurrency)>
                <TextSetting
                    ctx=ctx
                    action=Act::ChangeReportingCurrency
                    field="reporting_currency"
                    label="Reporting currency"
                    input_id="setting-reporting-currency"
                    initial=|c: &Connection| c.reporting_currency.clone().unwrap_or_default()
                    validate=validate_currency
                    hint="ISO 4217 code of three letters, such as GBP."
                />
            </Show>
            <Show when=move || financial() && ctx.can(Act::ChangeForecastBudget)>
                <ForecastBudgetSetting ctx=ctx />
            </Show>
            <Show when=move || postgres() && ctx.can(Act::ChangePostgresDb)>
                <TextSetting
                    ctx=ctx
                    action=Act::ChangePostgresDb
                    field="postgres_db"
                    label="Postgres DB connection string"
                    input_id="setting-postgres-db"
                    input_type="password"
                    initial=|_: &Connection| String::new()
                    validate=validate_postgres
                    clear_after=true
                    hint="Write-only: the current value is never shown. Starts with postgres:// or postgresql://."
                />
            </Show>
        </section>
    }
}

/// A one-field setting saved with `PATCH {field: value}`.
#[component]
fn TextSetting(
    ctx: Ctx,
    action: Act,
    field: &'static str,
    label: &'static str,
    input_id: &'static str,
    initial: fn(&Connection) -> String,
    validate: fn(&str) -> Result<ConnectionPatch, String>,
    #[prop(optional)] input_type: Option<&'static str>,
    #[prop(optional)] hint: Option<&'static str>,
    #[prop(optional)] clear_after: bool,
) -> impl IntoView {
    let value = RwSignal::new(ctx.with_conn_untracked(initial).unwrap_or_default());
    let busy = RwSignal::new(false);
    let errors = RwSignal::new(Vec::<String>::new());
    let errors_id = format!("{input_id}-errors");
    let hint_id = format!("{input_id}-hint");
    let describedby = if hint.is_some() {
        format!("{hint_id} {errors_id}")
    } else {
        errors_id.clone()
    };
    let submit = move |ev: SubmitEvent| {
        ev.prevent_default();
        errors.set(Vec::new());
        match validate(&value.get_untracked()) {
            Err(message) => errors.set(vec![message]),
            Ok(changes) => {
                let id = ctx.id.get_untracked();
                write(
                    ctx,
                    busy,
                    async move { api::connections::update(&id, &changes).await },
                    format!("{label} saved."),
                    move |_| {
                        if clear_after {
                            value.set(String::new());
                        }
                        ctx.refresh();
                    },
                    move |e| errors.set(e.field_errors()),
                );
            }
        }
    };
    view! {
        <form class="form-row setting" data-setting=field on:submit=submit novalidate>
            <label class="field">
                <span>{label}</span>
                <input
                    id=input_id
                    name=field
                    type=input_type.unwrap_or("text")
                    autocomplete=if input_type == Some("password") { "new-password" } else { "off" }
                    prop:value=move || value.get()
                    on:input=move |ev| value.set(event_target_value(&ev))
                    aria-invalid=move || (!errors.with(Vec::is_empty)).then_some("true")
                    aria-describedby=describedby
                    disabled=move || ctx.cancelled()
                    title=move || ctx.cancelled_title()
                />
            </label>
            <button
                type="submit"
                id=format!("{input_id}-save")
                data-connection-action=action.wire_name()
                disabled=move || busy.get() || ctx.cancelled()
                title=move || ctx.cancelled_title()
            >
                "Save"
            </button>
        </form>
        {hint.map(|h| view! { <p class="hint" id=hint_id>{h}</p> })}
        {field_errors_view(errors_id, errors)}
    }
}

#[component]
fn UngroupButton(ctx: Ctx) -> impl IntoView {
    let busy = RwSignal::new(false);
    let ungroup = move |_| {
        let id = ctx.id.get_untracked();
        let changes = ConnectionPatch {
            group: Some(None),
            ..ConnectionPatch::default()
        };
        write(
            ctx,
            busy,
            async move { api::connections::update(&id, &changes).await },
            "The connection is no longer in a group.",
            move |_| ctx.refresh(),
            |_| (),
        );
    };
    view! {
        <div class="buttons">
            <button
                type="button"
                class="secondary"
                id="setting-ungroup"
                data-connection-action="ungroup"
                disabled=move || busy.get() || ctx.cancelled()
                title=move || ctx.cancelled_title()
                on:click=ungroup
            >
                "Remove from group"
            </button>
        </div>
    }
}

#[component]
fn LockedPeriodSetting(ctx: Ctx) -> impl IntoView {
    let checked = RwSignal::new(
        ctx.with_conn_untracked(|c| c.locked_period_export.unwrap_or(false))
            .unwrap_or(false),
    );
    let busy = RwSignal::new(false);
    let submit = move |ev: SubmitEvent| {
        ev.prevent_default();
        let id = ctx.id.get_untracked();
        let changes = ConnectionPatch {
            locked_period_export: Some(checked.get_untracked()),
            ..ConnectionPatch::default()
        };
        write(
            ctx,
            busy,
            async move { api::connections::update(&id, &changes).await },
            "Locked-period export saved.",
            move |_| ctx.refresh(),
            |_| (),
        );
    };
    view! {
        <form class="form-row setting" data-setting="locked_period_export" on:submit=submit>
            <label class="check">
                <input
                    type="checkbox"
                    id="setting-locked-period-export"
                    prop:checked=move || checked.get()
                    on:change=move |ev| checked.set(event_target_checked(&ev))
                    disabled=move || ctx.cancelled()
                    title=move || ctx.cancelled_title()
                />
                <span>"Export locked periods"</span>
            </label>
            <button
                type="submit"
                id="setting-locked-period-export-save"
                data-connection-action="change_locked_period_export"
                disabled=move || busy.get() || ctx.cancelled()
                title=move || ctx.cancelled_title()
            >
                "Save"
            </button>
        </form>
    }
}

#[component]
fn ForecastBudgetSetting(ctx: Ctx) -> impl IntoView {
    let initial = ctx
        .with_conn_untracked(|c| c.forecast_budget.clone())
        .flatten();
    let budget_id = RwSignal::new(initial.as_ref().map(|b| b.id.clone()).unwrap_or_default());
    let budget_name = RwSignal::new(initial.map(|b| b.name).unwrap_or_default());
    let busy = RwSignal::new(false);
    let errors = RwSignal::new(Vec::<String>::new());
    let send = move |budget: Option<ForecastBudgetInput>, ok: &'static str| {
        let id = ctx.id.get_untracked();
        let changes = ConnectionPatch {
            forecast_budget: Some(budget),
            ..ConnectionPatch::default()
        };
        write(
            ctx,
            busy,
            async move { api::connections::update(&id, &changes).await },
            ok,
            move |_| ctx.refresh(),
            move |e| errors.set(e.field_errors()),
        );
    };
    let submit = move |ev: SubmitEvent| {
        ev.prevent_default();
        errors.set(Vec::new());
        let mut problems = FieldErrors::new();
        let id = problems.check::<Name>("Budget id", &budget_id.get_untracked());
        let name = problems.check::<Name>("Budget name", &budget_name.get_untracked());
        let (Some(id), Some(name)) = (id, name) else {
            errors.set(problems.lines());
            return;
        };
        send(
            Some(ForecastBudgetInput {
                id: id.into(),
                name: name.into(),
            }),
            "Forecast budget saved.",
        );
    };
    let is_set = move || {
        ctx.with_conn(|c| c.forecast_budget.is_some())
            .unwrap_or(false)
    };
    view! {
        <form class="form-row setting" data-setting="forecast_budget" on:submit=submit novalidate>
            <label class="field">
                <span>"Forecast budget id"</span>
                <input
                    id="setting-forecast-budget-id"
                    prop:value=move || budget_id.get()
                    on:input=move |ev| budget_id.set(event_target_value(&ev))
                    disabled=move || ctx.cancelled()
                    title=move || ctx.cancelled_title()
                />
            </label>
            <label class="field">
                <span>"Forecast budget name"</span>
                <input
                    id="setting-forecast-budget-name"
                    prop:value=move || budget_name.get()
                    on:input=move |ev| budget_name.set(event_target_value(&ev))
                    disabled=move || ctx.cancelled()
                    title=move || ctx.cancelled_title()
                />
            </label>
            <button
                type="submit"
                id="setting-forecast-budget-save"
                data-connection-action="change_forecast_budget"
                disabled=move || busy.get() || ctx.cancelled()
                title=move || ctx.cancelled_title()
            >
                "Save"
            </button>
            <Show when=is_set>
                <button
                    type="button"
                    class="secondary"
                    id="setting-forecast-budget-clear"
                    data-connection-action="change_forecast_budget"
                    disabled=move || busy.get() || ctx.cancelled()
                    title=move || ctx.cancelled_title()
                    on:click=move |_| {
                        budget_id.set(String::new());
                        budget_name.set(String::new());
                        send(None, "Forecast budget cleared.");
                    }
                >
                    "Clear"
                </button>
            </Show>
        </form>
        {field_errors_view("setting-forecast-budget-errors".to_owned(), errors)}
    }
}

// ---------------------------------------------------------------------------------------
// Endpoints
// ---------------------------------------------------------------------------------------

#[component]
fn EndpointsSection(ctx: Ctx) -> impl IntoView {
    let busy = RwSignal::new(false);
    let reconnect_open = RwSignal::new(false);
    let reconnect_side = RwSignal::new(EndpointSide::Source);
    let reconnect_label = RwSignal::new(String::new());
    let reconnect_errors = RwSignal::new(Vec::<String>::new());

    let disconnect = move |side: EndpointSide| {
        let id = ctx.id.get_untracked();
        write(
            ctx,
            busy,
            async move { api::connections::disconnect(&id, side).await },
            format!("The {side} endpoint is disconnected."),
            move |_| {
                ctx.refresh();
                ctx.runs_v.update(|v| *v += 1);
            },
            |_| (),
        );
    };
    let reconnect = move |ev: SubmitEvent| {
        ev.prevent_default();
        reconnect_errors.set(Vec::new());
        let side = reconnect_side.get_untracked();
        let label = reconnect_label.get_untracked();
        // Empty keeps the current label; anything else follows the server's rule.
        let account_label = if label.trim().is_empty() {
            None
        } else {
            match refused::<Name>("Account label", &label) {
                Ok(l) => Some(l.into()),
                Err(message) => {
                    reconnect_errors.set(vec![message]);
                    return;
                }
            }
        };
        let input = ReconnectInput { account_label };
        let id = ctx.id.get_untracked();
        write(
            ctx,
            busy,
            async move { api::connections::reconnect(&id, side, &input).await },
            format!("The {side} endpoint is connected."),
            move |_| {
                reconnect_open.set(false);
                ctx.refresh();
            },
            move |e| reconnect_errors.set(e.field_errors()),
        );
    };

    let rows = move || {
        let endpoints = ctx.with_conn(|c| c.endpoints.clone()).unwrap_or_default();
        endpoints
            .into_iter()
            .map(|e| {
                let connected = e.status == EndpointStatus::Connected;
                let side = e.side;
                let side_label = match side {
                    EndpointSide::Source => "Source",
                    EndpointSide::Target => "Target",
                };
                let disconnect_side = side;
                let reconnect_for = side;
                let current_label = e.account_label.clone().unwrap_or_default();
                let system = e.system.label();
                view! {
                    <tr data-endpoint-side=side.as_str()>
                        <th scope="row">{side_label}</th>
                        <td>{system}</td>
                        <td>{e.account_label.clone().unwrap_or_else(|| "—".to_owned())}</td>
                        <td>{status_badge(e.status.as_str())}</td>
                        <td>{fmt_time(&e.changed_at)}</td>
                        <td class="actions">
                            {(connected && ctx.can(Act::DisconnectEndpoint)).then(|| {
                                let side = disconnect_side;
                                view! {
                                    <button
                                        type="button"
                                        class="danger"
                                        data-connection-action="disconnect_endpoint"
                                        aria-label=format!("Disconnect the {} endpoint ({system})", side)
                                        disabled=move || busy.get() || ctx.cancelled()
                                        title=move || ctx.cancelled_title()
                                        on:click=move |_| disconnect(side)
                                    >
                                        "Disconnect"
                                    </button>
                                }
                            })}
                            {(!connected && ctx.can(Act::ReconnectEndpoint)).then(|| {
                                let side = reconnect_for;
                                let label = current_label.clone();
                                view! {
                                    <button
                                        type="button"
                                        data-connection-action="reconnect_endpoint"
                                        aria-label=format!("Reconnect the {} endpoint ({system})", side)
                                        disabled=move || busy.get() || ctx.cancelled()
                                        title=move || ctx.cancelled_title()
                                        on:click=move |_| {
                                            reconnect_side.set(side);
                                            reconnect_label.set(label.clone());
                                            reconnect_errors.set(Vec::new());
                                            reconnect_open.set(true);
                                        }
                                    >
                                        "Reconnect"
                                    </button>
                                }
                            })}
                        </td>
                    </tr>
                }
            })
            .collect_view()
    };

    view! {
        <section class="panel" id="endpoints" aria-labelledby="endpoints-title">
            <h2 id="endpoints-title">"Endpoints"</h2>
            <div class="table-wrap">
                <table id="endpoints-table">
                    <caption>"Where the data comes from and goes to"</caption>
                    <thead>
                        <tr>
                            <th scope="col">"Side"</th>
                            <th scope="col">"System"</th>
                            <th scope="col">"Account"</th>
                            <th scope="col">"Status"</th>
                            <th scope="col">"Changed"</th>
                            <th scope="col">"Actions"</th>
                        </tr>
                    </thead>
                    <tbody>{rows}</tbody>
                </table>
            </div>
            <Dialog open=reconnect_open title="Reconnect endpoint" id="reconnect-endpoint">
                <form on:submit=reconnect novalidate>
                    <p>"Reconnect the "{move || reconnect_side.get().as_str()}" endpoint. Name the account it is now connected to, or leave it as it is."</p>
                    <label class="field">
                        <span>"Account label (optional)"</span>
                        <input
                            id="reconnect-label"
                            prop:value=move || reconnect_label.get()
                            on:input=move |ev| reconnect_label.set(event_target_value(&ev))
                        />
                    </label>
                    {field_errors_view("reconnect-errors".to_owned(), reconnect_errors)}
                    <div class="buttons">
                        <button
                            type="submit"
                            id="reconnect-submit"
                            data-connection-action="reconnect_endpoint"
                            disabled=move || busy.get() || ctx.cancelled()
                        >
                            "Reconnect"
                        </button>
                        <button type="button" class="secondary" on:click=move |_| reconnect_open.set(false)>"Cancel"</button>
                    </div>
                </form>
            </Dialog>
        </section>
    }
}

// ---------------------------------------------------------------------------------------
// Subscription
// ---------------------------------------------------------------------------------------

/// `12.5` → 1250 cents; at most two decimals, not negative.
fn parse_amount_cents(raw: &str) -> Option<i64> {
    let raw = raw.trim();
    if raw.is_empty() {
        return None;
    }
    let (whole, frac) = raw.split_once('.').unwrap_or((raw, ""));
    if frac.len() > 2
        || !whole.chars().all(|c| c.is_ascii_digit())
        || !frac.chars().all(|c| c.is_ascii_digit())
        || (whole.is_empty() && frac.is_empty())
    {
        return None;
    }
    let whole: i64 = if whole.is_empty() {
        0
    } else {
        whole.parse().ok()?
    };
    let frac: i64 = if frac.is_empty() {
        0
    } else if frac.len() == 1 {
        frac.parse::<i64>().ok()? * 10
    } else {
        frac.parse().ok()?
    };
    whole.checked_mul(100)?.checked_add(frac)
}

#[component]
fn SubscriptionSection(ctx: Ctx) -> impl IntoView {
    let busy = RwSignal::new(false);
    let pay_open = RwSignal::new(false);
    let months = RwSignal::new("1".to_owned());
    let amount = RwSignal::new(String::new());
    let currency = RwSignal::new("USD".to_owned());
    let errors = RwSignal::new(Vec::<String>::new());

    let pay = move |ev: SubmitEvent| {
        ev.prevent_default();
        errors.set(Vec::new());
        let mut problems = Vec::new();
        let m = months.get_untracked().trim().parse::<u32>().ok();
        if !m.is_some_and(|m| (1..=MAX_PAYMENT_MONTHS).contains(&m)) {
            problems.push(format!(
                "Months: a whole number from 1 to {MAX_PAYMENT_MONTHS}"
            ));
        }
        let cents = parse_amount_cents(&amount.get_untracked());
        if cents.is_none() {
            problems.push("Amount: a number of at least 0, with at most two decimals".to_owned());
        }
        let cur = currency.get_untracked().trim().to_uppercase();
        if let Err(message) = refused::<CurrencyCode>("Currency", &cur) {
            problems.push(message);
        }
        if !problems.is_empty() {
            errors.set(problems);
            return;
        }
        let payment = PaymentInput {
            months: m.unwrap_or(1),
            amount_cents: cents.unwrap_or(0),
            currency: cur,
        };
        let id = ctx.id.get_untracked();
        write(
            ctx,
            busy,
            async move { api::connections::pay(&id, &payment).await },
            "Payment recorded.",
            move |_| {
                pay_open.set(false);
                amount.set(String::new());
                ctx.refresh();
            },
            move |e| errors.set(e.field_errors()),
        );
    };

    let cancel = move |_| {
        ctx.ask(
            "Cancel this connection's subscription? It keeps its history but refuses runs and changes until the owner pays again.",
            "Cancel subscription",
            Some("cancel"),
            move || {
                let id = ctx.id.get_untracked();
                write(
                    ctx,
                    busy,
                    async move { api::connections::cancel(&id).await },
                    "The subscription is cancelled.",
                    move |_| ctx.refresh(),
                    |_| (),
                );
            },
        );
    };

    view! {
        <section class="panel" id="subscription" aria-labelledby="subscription-title">
            <h2 id="subscription-title">"Subscription"</h2>
            <dl class="facts">
                <dt>"Status"</dt>
                <dd>{move || ctx.with_conn(|c| status_badge(c.status.as_str()))}</dd>
                <dt>"Paid through"</dt>
                <dd id="paid-through">{move || ctx.with_conn(|c| c.paid_through.map_or_else(|| "—".to_owned(), |d| d.to_string()))}</dd>
                <Show when=move || ctx.cancelled()>
                    <dt>"Cancelled"</dt>
                    <dd>{move || ctx.with_conn(|c| fmt_opt_time(c.cancelled_at.as_ref()))}</dd>
                </Show>
            </dl>
            <div class="buttons">
                <Show when=move || ctx.can(Act::Pay)>
                    <button
                        type="button"
                        id="pay-open"
                        data-connection-action="pay"
                        disabled=move || busy.get()
                        on:click=move |_| {
                            errors.set(Vec::new());
                            pay_open.set(true);
                        }
                    >
                        "Pay"
                    </button>
                </Show>
                <Show when=move || ctx.can(Act::Cancel) && !ctx.cancelled()>
                    <button
                        type="button"
                        class="danger"
                        id="cancel-open"
                        data-connection-action="cancel"
                        disabled=move || busy.get()
                        on:click=cancel
                    >
                        "Cancel subscription"
                    </button>
                </Show>
            </div>
            <Dialog open=pay_open title="Pay for the subscription" id="pay-dialog">
                <form on:submit=pay novalidate>
                    <label class="field">
                        <span>"Months"</span>
                        <input
                            id="pay-months"
                            type="number"
                            min="1"
                            max="12"
                            step="1"
                            prop:value=move || months.get()
                            on:input=move |ev| months.set(event_target_value(&ev))
                        />
                    </label>
                    <label class="field">
                        <span>"Amount"</span>
                        <input
                            id="pay-amount"
                            inputmode="decimal"
                            placeholder="120.00"
                            prop:value=move || amount.get()
                            on:input=move |ev| amount.set(event_target_value(&ev))
                        />
                    </label>
                    <label class="field">
                        <span>"Currency"</span>
                        <input
                            id="pay-currency"
                            maxlength="3"
                            autocomplete="off"
                            prop:value=move || currency.get()
                            on:input=move |ev| currency.set(event_target_value(&ev).to_uppercase())
                        />
                    </label>
                    {field_errors_view("pay-errors".to_owned(), errors)}
                    <div class="buttons">
                        <button type="submit" id="pay-submit" data-connection-action="pay" disabled=move || busy.get()>
                            "Pay"
                        </button>
                        <button type="button" class="secondary" on:click=move |_| pay_open.set(false)>"Cancel"</button>
                    </div>
                </form>
            </Dialog>
        </section>
    }
}

// ---------------------------------------------------------------------------------------
// Members
// ---------------------------------------------------------------------------------------

#[component]
fn MembersSection(ctx: Ctx) -> impl IntoView {
    let busy = RwSignal::new(false);
    let left = RwSignal::new(false);
    let members = LocalResource::new(move || {
        ctx.members_v.track();
        let id = ctx.id.get();
        async move { api::connections::members(&id).await }
    });

    let remove = move |user_id: String, name: String, role: ConnectionRole| {
        ctx.ask(
            format!("Remove the {} role from {name}?", role.label()),
            "Remove role",
            None,
            move || {
                let id = ctx.id.get_untracked();
                let user_id = user_id.clone();
                write(
                    ctx,
                    busy,
                    async move { api::connections::remove_role(&id, &user_id, role).await },
                    format!("{name} is no longer {}.", role.label()),
                    move |_| {
                        ctx.members_v.update(|v| *v += 1);
                        ctx.refresh();
                    },
                    |_| (),
                );
            },
        );
    };

    let leave = move |_| {
        ctx.ask(
            "Leave this connection? You lose all your roles on it; only a new invitation brings you back.",
            "Leave",
            None,
            move || {
                let id = ctx.id.get_untracked();
                write(
                    ctx,
                    busy,
                    async move { api::connections::leave(&id).await },
                    "You left the connection.",
                    move |_| left.set(true),
                    |_| (),
                );
            },
        );
    };
    // The owner cannot leave (409 `owner_must_transfer`): they transfer ownership first.
    let can_leave = move || {
        let roles = ctx.roles();
        !roles.is_empty() && !roles.contains(&ConnectionRole::Owner)
    };
    let is_owner = move || ctx.roles().contains(&ConnectionRole::Owner);

    view! {
        <section class="panel" id="members" aria-labelledby="members-title">
            <h2 id="members-title">"Members"</h2>
            {move || left.get().then(|| view! { <Redirect path="/connections" /> })}
            <Transition fallback=|| view! { <Loading what="members" /> }>
                {move || Suspend::new(async move {
                    match members.await {
                        Err(e) => view! { <ErrorMessage error=e /> }.into_any(),
                        Ok(list) if list.items.is_empty() => view! { <Empty text="No members." /> }.into_any(),
                        Ok(list) => view! {
                            <div class="table-wrap">
                                <table id="members-table">
                                    <caption>"People with a role on this connection"</caption>
                                    <thead>
                                        <tr>
                                            <th scope="col">"Name"</th>
                                            <th scope="col">"Email"</th>
                                            <th scope="col">"Roles"</th>
                                            <th scope="col">"Hub access"</th>
                                        </tr>
                                    </thead>
                                    <tbody>
                                        {list.items.into_iter().map(|m| {
                                            let name = m.user.display_name.clone();
                                            let user_id = m.user.id.clone();
                                            let roles = m.roles.clone().into_iter().map(|role| {
                                                let name = name.clone();
                                                let user_id = user_id.clone();
                                                let removable = move || {
                                                    role != ConnectionRole::Owner
                                                        && can_remove_role(&ctx.roles(), role)
                                                };
                                                view! {
                                                    <span class="member-role">
                                                        {role_badge(role)}
                                                        {move || removable().then(|| {
                                                            let name = name.clone();
                                                            let user_id = user_id.clone();
                                                            view! {
                                                                <button
                                                                    type="button"
                                                                    class="link"
                                                                    data-remove-role=role.wire_name()
                                                                    aria-label=format!("Remove {} from {}", role.label(), name)
                                                                    disabled=move || busy.get()
                                                                    on:click=move |_| remove(user_id.clone(), name.clone(), role)
                                                                >
                                                                    "Remove"
                                                                </button>
                                                            }
                                                        })}
                                                        " "
                                                    </span>
                                                }
                                            }).collect_view();
                                            view! {
                                                <tr data-member-id=m.user.id.clone()>
                                                    <td>{m.user.display_name.clone()}</td>
                                                    <td>{m.user.email.clone()}</td>
                                                    <td>{roles}</td>
                                                    <td>{access_badge(m.user.access_level)}</td>
                                                </tr>
                                            }
                                        }).collect_view()}
                                    </tbody>
                                </table>
                            </div>
                        }.into_any(),
                    }
                })}
            </Transition>
            <Show when=is_owner>
                <p class="hint" id="owner-cannot-leave">"As the Subscription Owner you cannot leave: transfer ownership first."</p>
            </Show>
            <Show when=can_leave>
                <div class="buttons">
                    <button type="button" class="danger" id="leave-connection" data-leave="" disabled=move || busy.get() on:click=leave>
                        "Leave this connection"
                    </button>
                </div>
            </Show>
        </section>
    }
}

// ---------------------------------------------------------------------------------------
// Invitations and ownership transfer
// ---------------------------------------------------------------------------------------

fn invitee_text(i: &Invitation) -> String {
    match (&i.invitee.email, &i.invitee.user_id) {
        (Some(email), _) => email.clone(),
        (None, Some(id)) => format!("Hub user {id}"),
        (None, None) => "—".to_owned(),
    }
}

/// Revokes an invitation after confirmation.
fn revoke_invitation(ctx: Ctx, busy: RwSignal<bool>, invitation_id: String, who: String) {
    ctx.ask(
        format!("Revoke the invitation of {who}?"),
        "Revoke",
        None,
        move || {
            let invitation_id = invitation_id.clone();
            write(
                ctx,
                busy,
                async move { api::invitations::revoke(&invitation_id).await },
                format!("The invitation of {who} is revoked."),
                move |_| {
                    ctx.invitations.refetch();
                    ctx.refresh();
                },
                |_| (),
            );
        },
    );
}

fn revoke_button(ctx: Ctx, busy: RwSignal<bool>, i: &Invitation) -> impl IntoView + use<> {
    let who = invitee_text(i);
    let id = i.id.clone();
    let role = i.role;
    let invited_by = i.invited_by.clone();
    let pending = i.status == InvitationStatus::Pending;
    let label = format!("Revoke the invitation of {who}");
    move || {
        (pending && (invited_by == ctx.me.user_id() || can_invite(&ctx.roles(), role))).then(|| {
            let id = id.clone();
            let who = who.clone();
            view! {
                <button
                    type="button"
                    class="danger"
                    data-invitation-action="revoke"
                    aria-label=label.clone()
                    disabled=move || busy.get()
                    on:click=move |_| revoke_invitation(ctx, busy, id.clone(), who.clone())
                >
                    "Revoke"
                </button>
            }
        })
    }
}

#[component]
fn InvitationsSection(ctx: Ctx) -> impl IntoView {
    let busy = RwSignal::new(false);
    let email = RwSignal::new(String::new());
    let chosen = RwSignal::new(None::<ConnectionRole>);
    let errors = RwSignal::new(Vec::<String>::new());
    let invitable = Memo::new(move |_| {
        let roles = ctx.roles();
        NON_OWNER_ROLES
            .into_iter()
            .filter(|r| can_invite(&roles, *r))
            .collect::<Vec<_>>()
    });
    let role = Memo::new(move |_| {
        let options = invitable.get();
        chosen
            .get()
            .filter(|r| options.contains(r))
            .or_else(|| options.first().copied())
    });
    let submit = move |ev: SubmitEvent| {
        ev.prevent_default();
        errors.set(Vec::new());
        let address = email.get_untracked().trim().to_owned();
        let Some(r) = role.get_untracked() else {
            return;
        };
        if let Err(message) = Email::parse(&address) {
            errors.set(vec![format!(
                "Email: {message} (enter the email address of the person)"
            )]);
            return;
        }
        let id = ctx.id.get_untracked();
        let invitation = NewInvitation {
            user_id: None,
            email: Some(address.clone()),
            role: r,
            retain_role: None,
        };
        write(
            ctx,
            busy,
            async move { api::invitations::create(&id, &invitation).await },
            format!("{address} is invited as {}.", r.label()),
            move |_| {
                email.set(String::new());
                ctx.invitations.refetch();
                ctx.refresh();
            },
            move |e| errors.set(e.field_errors()),
        );
    };
    let invite_action = move || role.get().map(|r| Act::invite(r).wire_name());

    view! {
        <section class="panel" id="invitations" aria-labelledby="invitations-title">
            <h2 id="invitations-title">"Invitations"</h2>
            <Show when=move || !invitable.with(Vec::is_empty)>
                <form id="invite-form" class="form-row" on:submit=submit novalidate>
                    <label class="field">
                        <span>"Email of the person"</span>
                        <input
                            id="invite-email"
                            type="email"
                            autocomplete="off"
                            prop:value=move || email.get()
                            on:input=move |ev| email.set(event_target_value(&ev))
                            disabled=move || ctx.cancelled()
                            title=move || ctx.cancelled_title()
                        />
                    </label>
                    <label class="field">
                        <span>"Role"</span>
                        <select
                            id="invite-role"
                            on:change=move |ev| chosen.set(event_target_value(&ev).parse().ok())
                            disabled=move || ctx.cancelled()
                            title=move || ctx.cancelled_title()
                        >
                            {move || {
                                let current = role.get_untracked();
                                invitable
                                    .get()
                                    .into_iter()
                                    .map(|r| view! {
                                        <option value=r.wire_name() data-invite-role=r.wire_name() selected=current == Some(r)>
                                            {r.label()}
                                        </option>
                                    })
                                    .collect_view()
                            }}
                        </select>
                    </label>
                    <button
                        type="submit"
                        id="invite-submit"
                        data-connection-action=invite_action
                        disabled=move || busy.get() || ctx.cancelled()
                        title=move || ctx.cancelled_title()
                    >
                        "Invite"
                    </button>
                </form>
                {field_errors_view("invite-errors".to_owned(), errors)}
                <p class="hint">"The person gets the role when they accept the invitation under My invitations."</p>
            </Show>
            <h3>"Pending invitations"</h3>
            <Transition fallback=|| view! { <Loading what="invitations" /> }>
                {move || Suspend::new(async move {
                    match ctx.invitations.await {
                        Err(e) => view! { <ErrorMessage error=e /> }.into_any(),
                        Ok(list) if list.items.is_empty() => view! { <Empty text="No pending invitations." /> }.into_any(),
                        Ok(list) => view! {
                            <div class="table-wrap">
                                <table id="invitations-table">
                                    <caption>"Invitations to this connection"</caption>
                                    <thead>
                                        <tr>
                                            <th scope="col">"Invitee"</th>
                                            <th scope="col">"Role"</th>
                                            <th scope="col">"Status"</th>
                                            <th scope="col">"Expires"</th>
                                            <th scope="col">"Invited by"</th>
                                            <th scope="col">"Actions"</th>
                                        </tr>
                                    </thead>
                                    <tbody>
                                        {list.items.into_iter().map(|i| {
                                            let by = i.invited_by.clone();
                                            let retain = i.retain_role.map(|r| format!(" (keeps {})", r.label()));
                                            view! {
                                                <tr data-invitation-id=i.id.clone()>
                                                    <td>{invitee_text(&i)}</td>
                                                    <td>{role_badge(i.role)}{retain}</td>
                                                    <td>{status_badge(i.status.as_str())}</td>
                                                    <td>{fmt_time(&i.expires_at)}</td>
                                                    <td>{move || if by == ctx.me.user_id() { "You".to_owned() } else { by.clone() }}</td>
                                                    <td class="actions">{revoke_button(ctx, busy, &i)}</td>
                                                </tr>
                                            }
                                        }).collect_view()}
                                    </tbody>
                                </table>
                            </div>
                        }.into_any(),
                    }
                })}
            </Transition>
        </section>
    }
}

const TRANSFER_PENDING: &str = "An ownership transfer is already pending: revoke it first";

#[component]
fn TransferSection(ctx: Ctx) -> impl IntoView {
    let busy = RwSignal::new(false);
    let email = RwSignal::new(String::new());
    let retain = RwSignal::new(String::new());
    let errors = RwSignal::new(Vec::<String>::new());
    // One pending owner invitation per connection (the API answers 409 to a second one).
    let transfer_pending = move || {
        ctx.invitations.get().is_some_and(|r| {
            r.is_ok_and(|l| {
                l.items.iter().any(|i| {
                    i.role == ConnectionRole::Owner && i.status == InvitationStatus::Pending
                })
            })
        })
    };
    let submit = move |ev: SubmitEvent| {
        ev.prevent_default();
        errors.set(Vec::new());
        let address = email.get_untracked().trim().to_owned();
        if let Err(message) = Email::parse(&address) {
            errors.set(vec![format!(
                "Email: {message} (enter the email address of the new owner)"
            )]);
            return;
        }
        let invitation = NewInvitation {
            user_id: None,
            email: Some(address.clone()),
            role: ConnectionRole::Owner,
            retain_role: retain.get_untracked().parse().ok(),
        };
        let id = ctx.id.get_untracked();
        write(
            ctx,
            busy,
            async move { api::invitations::create(&id, &invitation).await },
            format!("{address} is invited to become the owner. Nothing changes until they accept."),
            move |_| {
                email.set(String::new());
                ctx.invitations.refetch();
                ctx.refresh();
            },
            move |e| errors.set(e.field_errors()),
        );
    };
    view! {
        <section class="panel" id="transfer" aria-labelledby="transfer-title">
            <h2 id="transfer-title">"Transfer ownership"</h2>
            <p>
                "Invite the new Subscription Owner (a hub user with hub access). Nothing changes until they accept: then the owner role moves to them, and you keep your other roles plus the one you choose below. Without any role you lose access to the connection."
            </p>
            <Transition fallback=|| view! { <Loading what="the pending transfer" /> }>
                {move || Suspend::new(async move {
                    let pending: Vec<Invitation> = ctx
                        .invitations
                        .await
                        .map(|l| {
                            l.items
                                .into_iter()
                                .filter(|i| i.role == ConnectionRole::Owner && i.status == InvitationStatus::Pending)
                                .collect()
                        })
                        .unwrap_or_default();
                    pending
                        .into_iter()
                        .map(|i| {
                            let keeps = i
                                .retain_role
                                .map(|r| r.label().to_owned())
                                .unwrap_or_else(|| "no other role".to_owned());
                            view! {
                                <div class="notice info" id="pending-transfer" data-invitation-id=i.id.clone()>
                                    <span>
                                        "Pending: "{invitee_text(&i)}" is invited to become the owner (you would keep: "{keeps}"), until "{fmt_time(&i.expires_at)}"."
                                    </span>
                                    {revoke_button(ctx, busy, &i)}
                                </div>
                            }
                        })
                        .collect_view()
                })}
            </Transition>
            <form id="transfer-form" class="form-row" on:submit=submit novalidate>
                <label class="field">
                    <span>"Email of the new owner"</span>
                    <input
                        id="transfer-email"
                        type="email"
                        autocomplete="off"
                        prop:value=move || email.get()
                        on:input=move |ev| email.set(event_target_value(&ev))
                        disabled=move || ctx.cancelled()
                        title=move || ctx.cancelled_title()
                    />
                </label>
                <label class="field">
                    <span>"Keep me as …"</span>
                    <select
                        id="transfer-retain"
                        on:change=move |ev| retain.set(event_target_value(&ev))
                        disabled=move || ctx.cancelled()
                        title=move || ctx.cancelled_title()
                    >
                        <option value="" selected=true>"Nothing (no extra role)"</option>
                        {NON_OWNER_ROLES
                            .into_iter()
                            .map(|r| view! { <option value=r.wire_name()>{r.label()}</option> })
                            .collect_view()}
                    </select>
                </label>
                <button
                    type="submit"
                    id="transfer-submit"
                    data-connection-action="transfer_ownership"
                    disabled=move || busy.get() || ctx.cancelled() || transfer_pending()
                    title=move || {
                        ctx.cancelled_title().or_else(|| transfer_pending().then_some(TRANSFER_PENDING))
                    }
                >
                    "Invite new owner"
                </button>
            </form>
            {field_errors_view("transfer-errors".to_owned(), errors)}
        </section>
    }
}

// ---------------------------------------------------------------------------------------
// Views
// ---------------------------------------------------------------------------------------

fn summarize_json(v: &Value) -> String {
    let text = serde_json::to_string(v).unwrap_or_default();
    if text.chars().count() > 80 {
        format!("{}…", text.chars().take(80).collect::<String>())
    } else {
        text
    }
}

#[component]
fn ViewsSection(ctx: Ctx) -> impl IntoView {
    let views = LocalResource::new(move || {
        ctx.views_v.track();
        let id = ctx.id.get();
        async move { api::views::list(&id, &PageQuery::default()).await }
    });
    let busy = RwSignal::new(false);
    let open = RwSignal::new(false);
    let editing = RwSignal::new(None::<String>);
    let name = RwSignal::new(String::new());
    let definition = RwSignal::new(String::new());
    let errors = RwSignal::new(Vec::<String>::new());
    let can_manage = move || ctx.can(Act::ManageViews);

    let start_new = move |_| {
        editing.set(None);
        name.set(String::new());
        definition.set("{\n  \n}".to_owned());
        errors.set(Vec::new());
        open.set(true);
    };
    let start_edit = move |v: ConnectionView| {
        editing.set(Some(v.id.clone()));
        name.set(v.name.clone());
        definition.set(serde_json::to_string_pretty(&v.definition).unwrap_or_default());
        errors.set(Vec::new());
        open.set(true);
    };
    let submit = move |ev: SubmitEvent| {
        ev.prevent_default();
        errors.set(Vec::new());
        let mut problems = FieldErrors::new();
        let n = problems.check::<ShortName>("Name", &name.get_untracked());
        let def = problems.check::<ViewDefinition>("Definition", &definition.get_untracked());
        let (Some(n), Some(def)) = (n, def) else {
            errors.set(problems.lines());
            return;
        };
        let n = n.into_string();
        let input = ViewInput {
            name: n.clone(),
            definition: def.to_value(),
        };
        let target = editing.get_untracked();
        let created = target.is_none();
        let id = ctx.id.get_untracked();
        write(
            ctx,
            busy,
            async move {
                match target {
                    None => api::views::create(&id, &input).await,
                    Some(view_id) => api::views::replace(&id, &view_id, &input).await,
                }
            },
            if created {
                format!("View {n} created.")
            } else {
                format!("View {n} saved.")
            },
            move |_| {
                open.set(false);
                ctx.views_v.update(|v| *v += 1);
                ctx.refresh();
            },
            move |e| errors.set(e.field_errors()),
        );
    };
    let remove = move |id: String, view_name: String| {
        ctx.ask(
            format!("Delete the view {view_name}?"),
            "Delete view",
            Some("manage_views"),
            move || {
                let connection_id = ctx.id.get_untracked();
                let id = id.clone();
                write(
                    ctx,
                    busy,
                    async move { api::views::delete_view(&connection_id, &id).await },
                    format!("View {view_name} deleted."),
                    move |_| {
                        ctx.views_v.update(|v| *v += 1);
                        ctx.refresh();
                    },
                    |_| (),
                );
            },
        );
    };

    view! {
        <section class="panel" id="views" aria-labelledby="views-title">
            <h2 id="views-title">"Views"</h2>
            <Show when=can_manage>
                <div class="toolbar">
                    <button
                        type="button"
                        id="new-view"
                        data-connection-action="manage_views"
                        disabled=move || busy.get() || ctx.cancelled()
                        title=move || ctx.cancelled_title()
                        on:click=start_new
                    >
                        "New view"
                    </button>
                </div>
            </Show>
            <Transition fallback=|| view! { <Loading what="views" /> }>
                {move || Suspend::new(async move {
                    match views.await {
                        Err(e) => view! { <ErrorMessage error=e /> }.into_any(),
                        Ok(page) if page.items.is_empty() => view! { <Empty text="No views yet." /> }.into_any(),
                        Ok(page) => view! {
                            <div class="table-wrap">
                                <table id="views-table">
                                    <caption>"Named views of this connection's data"</caption>
                                    <thead>
                                        <tr>
                                            <th scope="col">"Name"</th>
                                            <th scope="col">"Definition"</th>
                                            <th scope="col">"Updated"</th>
                                            <th scope="col">"Actions"</th>
                                        </tr>
                                    </thead>
                                    <tbody>
                                        {page.items.into_iter().map(|v| {
                                            let for_edit = v.clone();
                                            let id = v.id.clone();
                                            let vname = v.name.clone();
                                            view! {
                                                <tr data-view-id=v.id.clone()>
                                                    <td>{v.name.clone()}</td>
                                                    <td><code>{summarize_json(&v.definition)}</code></td>
                                                    <td>{fmt_time(&v.updated_at)}</td>
                                                    <td class="actions">
                                                        {move || can_manage().then(|| {
                                                            let for_edit = for_edit.clone();
                                                            let id = id.clone();
                                                            let vname = vname.clone();
                                                            let vname2 = vname.clone();
                                                            view! {
                                                                <button
                                                                    type="button"
                                                                    class="secondary"
                                                                    data-connection-action="manage_views"
                                                                    aria-label=format!("Edit the view {vname}")
                                                                    disabled=move || busy.get() || ctx.cancelled()
                                                                    title=move || ctx.cancelled_title()
                                                                    on:click=move |_| start_edit(for_edit.clone())
                                                                >
                                                                    "Edit"
                                                                </button>
                                                                <button
                                                                    type="button"
                                                                    class="danger"
                                                                    data-connection-action="manage_views"
                                                                    aria-label=format!("Delete the view {vname2}")
                                                                    disabled=move || busy.get() || ctx.cancelled()
                                                                    title=move || ctx.cancelled_title()
                                                                    on:click=move |_| remove(id.clone(), vname.clone())
                                                                >
                                                                    "Delete"
                                                                </button>
                                                            }
                                                        })}
                                                    </td>
                                                </tr>
                                            }
                                        }).collect_view()}
                                    </tbody>
                                </table>
                            </div>
                        }.into_any(),
                    }
                })}
            </Transition>
            <Dialog open=open title="View" id="view-dialog">
                <form on:submit=submit novalidate>
                    <p class="hint">{move || if editing.get().is_some() { "Change the view's name or definition." } else { "A new view: a name and a JSON object that defines it." }}</p>
                    <label class="field">
                        <span>"Name"</span>
                        <input
                            id="view-name"
                            maxlength="100"
                            prop:value=move || name.get()
                            on:input=move |ev| name.set(event_target_value(&ev))
                        />
                    </label>
                    <label class="field">
                        <span>"Definition (a JSON object)"</span>
                        <textarea
                            id="view-definition"
                            rows="8"
                            spellcheck="false"
                            prop:value=move || definition.get()
                            on:input=move |ev| definition.set(event_target_value(&ev))
                        ></textarea>
                    </label>
                    {field_errors_view("view-errors".to_owned(), errors)}
                    <div class="buttons">
                        <button type="submit" id="view-submit" data-connection-action="manage_views" disabled=move || busy.get() || ctx.cancelled()>
                            "Save view"
                        </button>
                        <button type="button" class="secondary" on:click=move |_| open.set(false)>"Cancel"</button>
                    </div>
                </form>
            </Dialog>
        </section>
    }
}

// ---------------------------------------------------------------------------------------
// Sync history
// ---------------------------------------------------------------------------------------

#[derive(Clone)]
enum ListState {
    Loading,
    Ready,
    Failed(ClientError),
}

#[component]
fn RunsSection(ctx: Ctx) -> impl IntoView {
    let show_hidden = RwSignal::new(false);
    let items = RwSignal::new(Vec::<SyncRun>::new());
    let next = RwSignal::new(None::<String>);
    let state = RwSignal::new(ListState::Loading);
    let more_busy = RwSignal::new(false);
    let busy = RwSignal::new(false);
    let run_busy = RwSignal::new(false);
    let generation = StoredValue::new(0u64);
    let chosen = RwSignal::new(vec![true; AQ_ENTITIES.len()]);

    let query_at = move |cursor: Option<String>| RunsQuery {
        include_hidden: show_hidden.get_untracked(),
        limit: None,
        cursor,
    };

    Effect::new(move |_| {
        ctx.runs_v.track();
        show_hidden.track();
        ctx.id.track();
        generation.update_value(|g| *g += 1);
        let current = generation.get_value();
        if items.with_untracked(Vec::is_empty) {
            state.set(ListState::Loading);
        }
        let query = query_at(None);
        let id = ctx.id.get_untracked();
        spawn_local(async move {
            let result = api::runs::list(&id, &query).await;
            if generation.try_get_value() != Some(current) {
                return;
            }
            match result {
                Ok(page) => {
                    items.set(page.items);
                    next.set(page.next_cursor);
                    state.set(ListState::Ready);
                }
                Err(e) => state.set(ListState::Failed(e)),
            }
        });
    });

    let load_more = move |_| {
        let Some(cursor) = next.get_untracked() else {
            return;
        };
        let current = generation.get_value();
        let query = query_at(Some(cursor));
        let id = ctx.id.get_untracked();
        more_busy.set(true);
        spawn_local(async move {
            let result = api::runs::list(&id, &query).await;
            more_busy.set(false);
            if generation.try_get_value() != Some(current) {
                return;
            }
            match result {
                Ok(page) => {
                    items.update(|v| v.extend(page.items));
                    next.set(page.next_cursor);
                }
                Err(e) => ctx.notices.error(&e),
            }
        });
    };

    let set_hidden = move |run_id: String, hide: bool| {
        let id = ctx.id.get_untracked();
        write(
            ctx,
            busy,
            async move { api::runs::set_hidden(&id, &run_id, hide).await },
            if hide {
                "The run is hidden from the history."
            } else {
                "The run is shown in the history again."
            },
            move |_| {
                ctx.runs_v.update(|v| *v += 1);
                ctx.refresh();
            },
            |_| (),
        );
    };

    let is_aq = move || ctx.kind() == Some(ConnectionKind::AutotaskQuickbooks);
    let run_blocked = move || {
        if ctx.cancelled() {
            Some(CANCELLED)
        } else if ctx
            .with_conn(|c| c.has_disconnected_endpoint())
            .unwrap_or(false)
        {
            Some(DISCONNECTED)
        } else if is_aq() && !chosen.with(|c| c.iter().any(|x| *x)) {
            Some("Choose at least one entity to sync")
        } else {
            None
        }
    };
    let run_now = move |ev: SubmitEvent| {
        ev.prevent_default();
        if run_blocked().is_some() {
            return;
        }
        let run = if is_aq() {
            let picked: Vec<String> = chosen.with_untracked(|c| {
                AQ_ENTITIES
                    .iter()
                    .zip(c.iter())
                    .filter(|(_, on)| **on)
                    .map(|((wire, _), _)| (*wire).to_owned())
                    .collect()
            });
            RunRequest {
                entities: Some(picked),
            }
        } else {
            RunRequest::default()
        };
        let id = ctx.id.get_untracked();
        write(
            ctx,
            run_busy,
            async move { api::runs::request(&id, &run).await },
            "Run queued: the sync engine picks it up shortly.",
            move |_| {
                ctx.runs_v.update(|v| *v += 1);
                ctx.refresh();
            },
            |_| (),
        );
    };
    let can_run = move || ctx.can(Act::RunManually) && ctx.me.can(HubAction::RunConnection);
    let can_hide = move || ctx.can(Act::HideSyncRecords);

    let row = move |r: SyncRun| {
        let run_id = r.id.clone();
        let hidden = r.hidden;
        let when = fmt_time(&r.requested_at);
        let entities = if r.entities.is_empty() {
            "All".to_owned()
        } else {
            r.entities
                .iter()
                .map(|e| e.replace('_', " "))
                .collect::<Vec<_>>()
                .join(", ")
        };
        view! {
            <tr data-run-id=r.id.clone() data-hidden=hidden.to_string() class:inactive=hidden>
                <td>{when.clone()}</td>
                <td>{r.origin.as_str()}</td>
                <td>{entities}</td>
                <td>
                    {status_badge(r.status.as_str())}
                    {hidden.then(|| view! { " " <span class="badge">"Hidden"</span> })}
                </td>
                <td>{r.records_processed.map(|n| n.to_string()).unwrap_or_else(|| "—".to_owned())}</td>
                <td>{fmt_opt_time(r.finished_at.as_ref())}</td>
                <td>{r.error.clone().unwrap_or_default()}</td>
                <td class="actions">
                    {move || can_hide().then(|| {
                        let run_id = run_id.clone();
                        view! {
                            <button
                                type="button"
                                class="secondary"
                                data-connection-action="hide_sync_records"
                                aria-label=format!("{} the run requested {}", if hidden { "Unhide" } else { "Hide" }, when)
                                disabled=move || busy.get() || ctx.cancelled()
                                title=move || ctx.cancelled_title()
                                on:click=move |_| set_hidden(run_id.clone(), !hidden)
                            >
                                {if hidden { "Unhide" } else { "Hide" }}
                            </button>
                        }
                    })}
                </td>
            </tr>
        }
    };

    view! {
        <section class="panel" id="runs" aria-labelledby="runs-title">
            <h2 id="runs-title">"Sync history"</h2>
            <Show when=can_run>
                <form class="toolbar" id="run-form" on:submit=run_now>
                    <Show when=is_aq>
                        <fieldset>
                            <legend>"Entities to sync"</legend>
                            {AQ_ENTITIES
                                .iter()
                                .enumerate()
                                .map(|(i, (wire, label))| view! {
                                    <label class="check">
                                        <input
                                            type="checkbox"
                                            id=format!("run-entity-{wire}")
                                            value=*wire
                                            prop:checked=move || chosen.with(|c| c[i])
                                            on:change=move |ev| {
                                                let on = event_target_checked(&ev);
                                                chosen.update(|c| c[i] = on);
                                            }
                                        />
                                        <span>{*label}</span>
                                    </label>
                                    " "
                                })
                                .collect_view()}
                        </fieldset>
                    </Show>
                    <button
                        type="submit"
                        id="run-now"
                        data-connection-action="run_manually"
                        disabled=move || run_busy.get() || run_blocked().is_some()
                        title=run_blocked
                    >
                        "Run now"
                    </button>
                </form>
            </Show>
            <div class="toolbar">
                <label class="check">
                    <input
                        type="checkbox"
                        id="runs-show-hidden"
                        prop:checked=move || show_hidden.get()
                        on:change=move |ev| show_hidden.set(event_target_checked(&ev))
                    />
                    <span>"Show hidden"</span>
                </label>
            </div>
            {move || match state.get() {
                ListState::Loading => view! { <Loading what="the sync history" /> }.into_any(),
                ListState::Failed(e) => view! { <ErrorMessage error=e /> }.into_any(),
                ListState::Ready if items.with(Vec::is_empty) => view! { <Empty text="No runs yet." /> }.into_any(),
                ListState::Ready => view! {
                    <div class="table-wrap">
                        <table id="runs-table">
                            <caption>"Sync runs, newest first"</caption>
                            <thead>
                                <tr>
                                    <th scope="col">"Requested"</th>
                                    <th scope="col">"Origin"</th>
                                    <th scope="col">"Entities"</th>
                                    <th scope="col">"Status"</th>
                                    <th scope="col">"Records"</th>
                                    <th scope="col">"Finished"</th>
                                    <th scope="col">"Error"</th>
                                    <th scope="col">"Actions"</th>
                                </tr>
                            </thead>
                            <tbody>{move || items.get().into_iter().map(row).collect_view()}</tbody>
                        </table>
                    </div>
                    <Show when=move || next.with(Option::is_some)>
                        <div class="buttons">
                            <button type="button" class="secondary" id="runs-more" disabled=move || more_busy.get() on:click=load_more>
                                "Load more"
                            </button>
                        </div>
                    </Show>
                }.into_any(),
            }}
        </section>
    }
}
