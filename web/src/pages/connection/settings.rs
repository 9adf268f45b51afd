//! The connection's settings: name, timezone, group, the financial settings and the Postgres database (SPEC S4).

use super::*;

// Each form applies the rule the server applies to its field (`hubkeep_shared::fields`), so
// it refuses exactly what the server would, with the server's words.

/// `label: message` for a refused value, as the form shows it.
pub(super) fn refused<T: FieldRule>(label: &str, v: &str) -> Result<T, String> {
    T::parse(v).map_err(|message| format!("{label}: {message}"))
}

/// The settings form's values as its inputs hold them (SPEC S16: one form, Save and Cancel).
#[derive(Debug, Clone, Default, PartialEq)]
pub(super) struct Draft {
    name: String,
    timezone: String,
    /// Empty: in no group.
    group: String,
    locked_period_export: bool,
    /// Empty: not set.
    reporting_currency: String,
    budget_id: String,
    budget_name: String,
    /// Write-only: empty keeps the stored string.
    postgres_db: String,
}

impl Draft {
    /// The form for `c` as saved.
    fn of(c: &Connection) -> Self {
        let budget = c.forecast_budget.as_ref();
        Self {
            name: c.name.clone(),
            timezone: c.timezone.clone(),
            group: c.group.clone().unwrap_or_default(),
            locked_period_export: c.locked_period_export.unwrap_or(false),
            reporting_currency: c.reporting_currency.clone().unwrap_or_default(),
            budget_id: budget.map(|b| b.id.clone()).unwrap_or_default(),
            budget_name: budget.map(|b| b.name.clone()).unwrap_or_default(),
            postgres_db: String::new(),
        }
    }

    /// What differs from `saved`, each field checked by the rule the server applies
    /// (`hubkeep_shared::fields`), as one patch; or every refusal, in the form's order.
    fn patch(&self, saved: &Draft) -> Result<ConnectionPatch, Vec<String>> {
        let mut errors = FieldErrors::new();
        let mut patch = ConnectionPatch::default();
        if self.name.trim() != saved.name {
            patch.name = errors.check::<Name>("Name", &self.name).map(Into::into);
        }
        if self.timezone.trim() != saved.timezone {
            patch.timezone = errors
                .check::<TimezoneName>("Timezone", &self.timezone)
                .map(Into::into);
        }
        if self.group.trim() != saved.group {
            patch.group = if self.group.trim().is_empty() {
                Some(None)
            } else {
                errors
                    .check::<Name>("Group", &self.group)
                    .map(|g| Some(g.into()))
            };
        }
        if self.locked_period_export != saved.locked_period_export {
            patch.locked_period_export = Some(self.locked_period_export);
        }
        if self.reporting_currency != saved.reporting_currency {
            patch.reporting_currency = errors
                .check::<CurrencyCode>("Reporting currency", &self.reporting_currency)
                .map(Into::into);
        }
        if (self.budget_id.trim(), self.budget_name.trim())
            != (saved.budget_id.as_str(), saved.budget_name.as_str())
        {
            patch.forecast_budget =
                if self.budget_id.trim().is_empty() && self.budget_name.trim().is_empty() {
                    Some(None)
                } else {
                    let id = errors.check::<Name>("Forecast budget id", &self.budget_id);
                    let name = errors.check::<Name>("Forecast budget name", &self.budget_name);
                    id.zip(name).map(|(id, name)| {
                        Some(ForecastBudgetInput {
                            id: id.into(),
                            name: name.into(),
                        })
                    })
                };
        }
        if !self.postgres_db.is_empty() {
            patch.postgres_db = errors
                .check::<PostgresUrl>("Postgres DB", &self.postgres_db)
                .map(|u| Some(u.into()));
        }
        if errors.is_empty() {
            Ok(patch)
        } else {
            Err(errors.lines())
        }
    }

    /// This draft on top of a newer saved state: a field still as it was saved (`old`)
    /// takes the newer value, a field the person edited keeps the edit. So a change made
    /// elsewhere is neither wiped from the form nor sent back as if it were the person's.
    fn rebase(&self, old: &Draft, new: &Draft) -> Draft {
        fn pick<T: Clone + PartialEq>(mine: &T, old: &T, new: &T) -> T {
            if mine == old {
                new.clone()
            } else {
                mine.clone()
            }
        }
        Draft {
            name: pick(&self.name, &old.name, &new.name),
            timezone: pick(&self.timezone, &old.timezone, &new.timezone),
            group: pick(&self.group, &old.group, &new.group),
            locked_period_export: pick(
                &self.locked_period_export,
                &old.locked_period_export,
                &new.locked_period_export,
            ),
            reporting_currency: pick(
                &self.reporting_currency,
                &old.reporting_currency,
                &new.reporting_currency,
            ),
            budget_id: pick(&self.budget_id, &old.budget_id, &new.budget_id),
            budget_name: pick(&self.budget_name, &old.budget_name, &new.budget_name),
            postgres_db: self.postgres_db.clone(),
        }
    }
}

/// The IANA time zone names for the timezone picker, once per page.
fn timezone_options() -> impl IntoView {
    view! {
        <datalist id="timezone-options">
            {hubkeep_shared::fields::timezone_names()
                .map(|tz| view! { <option value=tz></option> })
                .collect_view()}
        </datalist>
    }
}

#[component]
pub(super) fn SettingsSection(ctx: Ctx) -> impl IntoView {
    let caps = move || ctx.with_conn(|c| c.capabilities);
    let financial = move || caps().is_some_and(|c| c.financial_settings);
    let postgres = move || caps().is_some_and(|c| c.postgres_db);
    let editable = move || {
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
            <Show when=editable>
                <SettingsForm ctx=ctx />
            </Show>
        </section>
    }
}

/// One form for every setting the caller may change: Save sends what changed as one
/// `PATCH`, Cancel restores the saved values, and leaving with unsaved changes asks first.
#[component]
fn SettingsForm(ctx: Ctx) -> impl IntoView {
    let initial = ctx.with_conn_untracked(Draft::of).unwrap_or_default();
    let saved = RwSignal::new(initial.clone());
    let draft = RwSignal::new(initial);
    let busy = RwSignal::new(false);
    let errors = RwSignal::new(Vec::<String>::new());
    let dirty = Memo::new(move |_| draft.with(|d| saved.with(|s| d != s)));
    crate::components::unsaved::guard(dirty);
    // A reload of the connection (after a save, or a change elsewhere) is the new saved
    // state; the form follows it in every field the person has not edited.
    Effect::new(move |_| {
        if let Some(now) = ctx.with_conn(Draft::of) {
            let old = saved.get_untracked();
            draft.update(|d| *d = d.rebase(&old, &now));
            saved.set(now);
        }
    });
    // Save and Cancel disable themselves: focus goes to the form's heading, not the page.
    let heading = NodeRef::<leptos::html::H3>::new();
    let refocus = move || {
        if let Some(h) = heading.get_untracked() {
            let _ = h.focus();
        }
    };
    let caps = move || ctx.with_conn(|c| c.capabilities);
    let financial = move || caps().is_some_and(|c| c.financial_settings);
    let postgres = move || caps().is_some_and(|c| c.postgres_db);
    let off = move |action: Act| move || !ctx.can(action) || ctx.cancelled();

    let submit = move |ev: SubmitEvent| {
        ev.prevent_default();
        errors.set(Vec::new());
        let changes = match draft.with_untracked(|d| saved.with_untracked(|s| d.patch(s))) {
            Ok(changes) => changes,
            Err(lines) => return errors.set(lines),
        };
        // Only surrounding spaces changed: nothing to send.
        let ConnectionPatch {
            name,
            timezone,
            locked_period_export,
            reporting_currency,
            forecast_budget,
            postgres_db,
            group,
        } = &changes;
        if name.is_none()
            && timezone.is_none()
            && locked_period_export.is_none()
            && reporting_currency.is_none()
            && forecast_budget.is_none()
            && postgres_db.is_none()
            && group.is_none()
        {
            draft.set(saved.get_untracked());
            return refocus();
        }
        let id = ctx.id.get_untracked();
        write(
            ctx,
            busy,
            async move { api::connections::update(&id, &changes).await },
            "Settings saved.",
            move |c: Connection| {
                let now = Draft::of(&c);
                saved.set(now.clone());
                draft.set(now);
                ctx.refresh();
                refocus();
            },
            move |e| errors.set(e.field_errors()),
        );
    };
    let cancel = move |_| {
        errors.set(Vec::new());
        draft.set(saved.get_untracked());
        refocus();
    };
    // An input bound to one text field of the draft.
    let text = move |get: fn(&Draft) -> String, set: fn(&mut Draft, String)| {
        (
            move || draft.with(get),
            move |ev: leptos::ev::Event| draft.update(|d| set(d, event_target_value(&ev))),
        )
    };
    let (name, on_name) = text(|d| d.name.clone(), |d, v| d.name = v);
    let (tz, on_tz) = text(|d| d.timezone.clone(), |d, v| d.timezone = v);
    let (group, on_group) = text(|d| d.group.clone(), |d, v| d.group = v);
    let (_, on_currency) = text(
        |d| d.reporting_currency.clone(),
        |d, v| d.reporting_currency = v,
    );
    let (budget_id, on_budget_id) = text(|d| d.budget_id.clone(), |d, v| d.budget_id = v);
    let (budget_name, on_budget_name) = text(|d| d.budget_name.clone(), |d, v| d.budget_name = v);
    let (pg, on_pg) = text(|d| d.postgres_db.clone(), |d, v| d.postgres_db = v);

    view! {
        <form id="settings-form" class="stack" on:submit=submit novalidate data-dirty=move || dirty.get().to_string()>
            <h3 id="settings-form-title" tabindex="-1" node_ref=heading>"Change settings"</h3>
            <Show when=move || ctx.can(Act::Rename)>
                <label class="field">
                    <span>"Name"</span>
                    <input id="setting-name" name="name" autocomplete="off" data-connection-action="rename"
                        prop:value=name on:input=on_name disabled=off(Act::Rename) title=move || ctx.cancelled_title() />
                </label>
            </Show>
            <Show when=move || ctx.can(Act::ChangeTimezone)>
                <label class="field">
                    <span>"Timezone"</span>
                    <input id="setting-timezone" name="timezone" list="timezone-options" autocomplete="off"
                        aria-describedby="setting-timezone-hint" data-connection-action="change_timezone"
                        prop:value=tz on:input=on_tz disabled=off(Act::ChangeTimezone) title=move || ctx.cancelled_title() />
                </label>
                <p class="hint" id="setting-timezone-hint">"Type to search the IANA time zones, such as Europe/London."</p>
                {timezone_options()}
            </Show>
            <Show when=move || ctx.can(Act::Group)>
                <label class="field">
                    <span>"Group"</span>
                    <input id="setting-group" name="group" autocomplete="off" aria-describedby="setting-group-hint"
                        data-connection-action="group"
                        prop:value=group on:input=on_group disabled=off(Act::Group) title=move || ctx.cancelled_title() />
                </label>
                <p class="hint" id="setting-group-hint">"A tenant-wide group; a new name creates it, an empty field takes the connection out of its group."</p>
            </Show>
            <Show when=move || financial() && ctx.can(Act::ChangeLockedPeriodExport)>
                <label class="check">
                    <input type="checkbox" id="setting-locked-period-export" data-connection-action="change_locked_period_export"
                        prop:checked=move || draft.with(|d| d.locked_period_export)
                        on:change=move |ev| draft.update(|d| d.locked_period_export = event_target_checked(&ev))
                        disabled=off(Act::ChangeLockedPeriodExport) title=move || ctx.cancelled_title() />
                    <span>"Export locked periods"</span>
                </label>
            </Show>
            <Show when=move || financial() && ctx.can(Act::ChangeReportingCurrency)>
                <label class="field">
                    <span>"Reporting currency"</span>
                    <select id="setting-reporting-currency" name="reporting_currency" data-connection-action="change_reporting_currency"
                        on:change=on_currency disabled=off(Act::ChangeReportingCurrency) title=move || ctx.cancelled_title()>
                        // Selected by property: the select's own value is set before its
                        // options exist, and an attribute no longer moves a changed select.
                        <option value="" disabled=true prop:selected=move || draft.with(|d| d.reporting_currency.is_empty())>"Not set"</option>
                        {hubkeep_shared::fields::ISO_4217_ACTIVE
                            .iter()
                            .map(|code| view! {
                                <option value=*code prop:selected=move || draft.with(|d| d.reporting_currency == *code)>
                                    {currency_label(code)}
                                </option>
                            })
                            .collect_view()}
                    </select>
                </label>
            </Show>
            <Show when=move || financial() && ctx.can(Act::ChangeForecastBudget)>
                <fieldset class="form-row">
                    <legend>"Forecast budget (both empty: none)"</legend>
                    <label class="field">
                        <span>"Budget id"</span>
                        <input id="setting-forecast-budget-id" autocomplete="off" data-connection-action="change_forecast_budget"
                            prop:value=budget_id on:input=on_budget_id disabled=off(Act::ChangeForecastBudget) title=move || ctx.cancelled_title() />
                    </label>
                    <label class="field">
                        <span>"Budget name"</span>
                        <input id="setting-forecast-budget-name" autocomplete="off" data-connection-action="change_forecast_budget"
                            prop:value=budget_name on:input=on_budget_name disabled=off(Act::ChangeForecastBudget) title=move || ctx.cancelled_title() />
                    </label>
                </fieldset>
            </Show>
            <Show when=move || postgres() && ctx.can(Act::ChangePostgresDb)>
                <label class="field">
                    <span>"Postgres DB connection string"</span>
                    <input id="setting-postgres-db" type="password" autocomplete="new-password" aria-describedby="setting-postgres-db-hint"
                        data-connection-action="change_postgres_db"
                        prop:value=pg on:input=on_pg disabled=off(Act::ChangePostgresDb) title=move || ctx.cancelled_title() />
                </label>
                <p class="hint" id="setting-postgres-db-hint">"Write-only: the current value is never shown; empty keeps it. Starts with postgres:// or postgresql://."</p>
            </Show>
            {field_errors_view("settings-errors".to_owned(), errors)}
            <div class="buttons">
                <button type="submit" id="settings-save" disabled=move || busy.get() || !dirty.get() || ctx.cancelled()
                    title=move || ctx.cancelled_title()>
                    "Save"
                </button>
                <button type="button" class="secondary" id="settings-cancel" disabled=move || busy.get() || !dirty.get() on:click=cancel>
                    "Cancel"
                </button>
                <span class="meta" role="status" id="settings-dirty">
                    {move || dirty.get().then_some("Unsaved changes")}
                </span>
            </div>
        </form>
    }
}
