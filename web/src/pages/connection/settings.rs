//! The connection's settings: name, timezone, group, the financial settings and the Postgres database (SPEC S4).

use super::*;

// Each form applies the rule the server applies to its field (`hubkeep_shared::fields`), so
// it refuses exactly what the server would, with the server's words.

/// `label: message` for a refused value, as the form shows it.
pub(super) fn refused<T: FieldRule>(label: &str, v: &str) -> Result<T, String> {
    T::parse(v).map_err(|message| format!("{label}: {message}"))
}

pub(super) fn validate_name(v: &str) -> Result<ConnectionPatch, String> {
    let name = refused::<Name>("Name", v)?;
    Ok(ConnectionPatch {
        name: Some(name.into()),
        ..ConnectionPatch::default()
    })
}

pub(super) fn validate_timezone(v: &str) -> Result<ConnectionPatch, String> {
    let tz = refused::<TimezoneName>("Timezone", v)?;
    Ok(ConnectionPatch {
        timezone: Some(tz.into()),
        ..ConnectionPatch::default()
    })
}

pub(super) fn validate_group(v: &str) -> Result<ConnectionPatch, String> {
    let group = refused::<Name>("Group", v)?;
    Ok(ConnectionPatch {
        group: Some(Some(group.into())),
        ..ConnectionPatch::default()
    })
}

pub(super) fn validate_currency(v: &str) -> Result<ConnectionPatch, String> {
    // The field offers upper case as a convenience; the rule itself refuses lower case.
    let currency = refused::<CurrencyCode>("Reporting currency", &v.trim().to_uppercase())?;
    Ok(ConnectionPatch {
        reporting_currency: Some(currency.into()),
        ..ConnectionPatch::default()
    })
}

pub(super) fn validate_postgres(v: &str) -> Result<ConnectionPatch, String> {
    let url = refused::<PostgresUrl>("Postgres DB", v)?;
    Ok(ConnectionPatch {
        postgres_db: Some(Some(url.into())),
        ..ConnectionPatch::default()
    })
}

#[component]
pub(super) fn SettingsSection(ctx: Ctx) -> impl IntoView {
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
pub(super) fn TextSetting(
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
pub(super) fn UngroupButton(ctx: Ctx) -> impl IntoView {
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
pub(super) fn LockedPeriodSetting(ctx: Ctx) -> impl IntoView {
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
pub(super) fn ForecastBudgetSetting(ctx: Ctx) -> impl IntoView {
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
