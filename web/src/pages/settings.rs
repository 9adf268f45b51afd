//! Tenant settings (SPEC S6): everyone with `view_settings` reads them (secrets only as
//! "set / not set"); users allowed `edit_settings` edit them, rotate the launch secret and
//! manage the sync engine's tokens.

use hubkeep_shared::{HubAction, PsaTestReport};
use leptos::prelude::*;

use crate::api::{self, ClientError};
use crate::components::error::ErrorMessage;
use crate::components::ui::{
    Dialog, Empty, Loading, SecretOnce, describe, fmt_opt_time, fmt_time, use_me, use_notices,
};
use hubkeep_shared::api::{
    AccountingMapping, CreateEngineToken, CreatedEngineToken, LaunchSecret, PageQuery, PsaProvider,
    Settings, UpdatePsa, UpdateSettings,
};
use hubkeep_shared::fields::{FieldRule as _, ShortName, TimezoneName};

fn set_text(set: bool) -> &'static str {
    if set { "set" } else { "not set" }
}

#[component]
pub fn SettingsPage() -> impl IntoView {
    let me = use_me();
    let reload = RwSignal::new(0u32);
    let settings = LocalResource::new(move || {
        reload.track();
        async move { api::settings::get_settings().await }
    });
    let can_edit = move || me.can(HubAction::EditSettings);
    view! {
        <div class="page-head">
            <h1>"Settings"</h1>
        </div>
        <Transition fallback=|| view! { <Loading what="settings" /> }>
            {move || Suspend::new(async move {
                match settings.await {
                    Err(e) => view! { <ErrorMessage error=e /> }.into_any(),
                    Ok(s) => {
                        let edit = s.clone();
                        view! {
                            <SettingsView settings=s />
                            <Show when=can_edit>
                                <EditSettings settings=edit.clone() reload=reload />
                            </Show>
                        }
                            .into_any()
                    }
                }
            })}
        </Transition>
        <Show when=can_edit>
            <PsaTestPanel />
            <LaunchSecretPanel reload=reload />
            <EngineTokens />
        </Show>
    }
}

#[component]
fn SettingsView(settings: Settings) -> impl IntoView {
    let dash = || "—".to_owned();
    let psa = settings.psa.clone();
    let mappings = settings.accounting_mappings.clone();
    view! {
        <section class="panel" id="settings-view" aria-labelledby="settings-view-title">
            <h2 id="settings-view-title">"Current settings"</h2>
            <dl class="facts">
                <dt>"Default timezone"</dt>
                <dd>{settings.default_timezone.clone()}</dd>
                <dt>"Invitation expiry"</dt>
                <dd>{format!("{} days", settings.invitation_expiry_days)}</dd>
                <dt>"Session lifetime"</dt>
                <dd>{format!("{} hours", settings.session_lifetime_hours)}</dd>
                <dt>"PSA provider"</dt>
                <dd>{psa.provider.as_str()}</dd>
                <dt>"Zone URL"</dt>
                <dd>{psa.zone_url.clone().unwrap_or_else(|| "— (discovered from the API user)".to_owned())}</dd>
                <dt>"API user"</dt>
                <dd>{psa.api_user.clone().unwrap_or_else(dash)}</dd>
                <dt>"Directory path"</dt>
                <dd>{psa.directory_path.clone().unwrap_or_else(dash)}</dd>
                <dt>"Integration code"</dt>
                <dd>{set_text(psa.integration_code_set)}</dd>
                <dt>"Secret"</dt>
                <dd>{set_text(psa.secret_set)}</dd>
                <dt>"Launch secret last rotated"</dt>
                <dd>{fmt_time(&psa.launch_secret_rotated_at)}</dd>
                <dt>"Last changed"</dt>
                <dd>{fmt_time(&settings.updated_at)}</dd>
            </dl>
            <h3>"Accounting mappings"</h3>
            {if mappings.is_empty() {
                view! { <Empty text="No accounting mappings." /> }.into_any()
            } else {
                view! {
                    <div class="table-wrap">
                        <table id="mappings-table" aria-label="Accounting mappings">
                            <thead>
                                <tr>
                                    <th scope="col">"Source code"</th>
                                    <th scope="col">"Account code"</th>
                                    <th scope="col">"Description"</th>
                                </tr>
                            </thead>
                            <tbody>
                                {mappings
                                    .into_iter()
                                    .map(|m| {
                                        view! {
                                            <tr>
                                                <td><code>{m.source_code}</code></td>
                                                <td><code>{m.account_code}</code></td>
                                                <td>{m.description}</td>
                                            </tr>
                                        }
                                    })
                                    .collect_view()}
                            </tbody>
                        </table>
                    </div>
                }
                    .into_any()
            }}
        </section>
    }
}

/// One row of the mappings editor, with a stable key.
#[derive(Debug, Clone, PartialEq, Eq)]
struct MappingRow {
    key: u64,
    source_code: RwSignal<String>,
    account_code: RwSignal<String>,
    description: RwSignal<String>,
}

/// An optional text field's change: `None` unchanged, `Some(None)` cleared.
fn opt_change(old: &Option<String>, new: &str) -> Option<Option<String>> {
    let new = new.trim();
    match (old.as_deref(), new.is_empty()) {
        (None, true) => None,
        (Some(_), true) => Some(None),
        (Some(o), false) if o == new => None,
        _ => Some(Some(new.to_owned())),
    }
}

/// Whether a PSA change carries anything.
fn psa_changes_anything(psa: &UpdatePsa) -> bool {
    psa.provider.is_some()
        || psa.zone_url.is_some()
        || psa.api_user.is_some()
        || psa.integration_code.is_some()
        || psa.secret.is_some()
}

#[component]
fn EditSettings(settings: Settings, reload: RwSignal<u32>) -> impl IntoView {
    let notices = use_notices();
    let orig = StoredValue::new(settings.clone());
    let tz = RwSignal::new(settings.default_timezone.clone());
    let expiry = RwSignal::new(settings.invitation_expiry_days.to_string());
    let lifetime = RwSignal::new(settings.session_lifetime_hours.to_string());
    let provider = RwSignal::new(settings.psa.provider);
    let zone_url = RwSignal::new(settings.psa.zone_url.clone().unwrap_or_default());
    let api_user = RwSignal::new(settings.psa.api_user.clone().unwrap_or_default());
    let integration_code = RwSignal::new(String::new());
    let secret = RwSignal::new(String::new());
    let next_key = StoredValue::new(0u64);
    let new_row = move |m: AccountingMapping| {
        let key = next_key.get_value();
        next_key.set_value(key + 1);
        MappingRow {
            key,
            source_code: RwSignal::new(m.source_code),
            account_code: RwSignal::new(m.account_code),
            description: RwSignal::new(m.description),
        }
    };
    let rows = RwSignal::new(
        settings
            .accounting_mappings
            .iter()
            .cloned()
            .map(new_row)
            .collect::<Vec<_>>(),
    );
    let pending = RwSignal::new(false);
    let error = RwSignal::new(None::<ClientError>);

    let save = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        let o = orig.get_value();
        let mut changes = UpdateSettings::default();
        let tz_v = match TimezoneName::parse(&tz.get_untracked()) {
            Ok(tz) => tz.into_string(),
            Err(message) => {
                notices.error_text(format!("Default timezone: {message}"));
                return;
            }
        };
        if tz_v != o.default_timezone {
            changes.default_timezone = Some(tz_v);
        }
        let Ok(exp) = expiry.get_untracked().trim().parse::<i64>() else {
            notices.error_text("Invitation expiry must be a whole number of days (1–30).");
            return;
        };
        if exp != i64::from(o.invitation_expiry_days) {
            changes.invitation_expiry_days = Some(exp);
        }
        let Ok(life) = lifetime.get_untracked().trim().parse::<i64>() else {
            notices.error_text("Session lifetime must be a whole number of hours (1–168).");
            return;
        };
        if life != i64::from(o.session_lifetime_hours) {
            changes.session_lifetime_hours = Some(life);
        }
        let prov = provider.get_untracked();
        let code = integration_code.get_untracked();
        let sec = secret.get_untracked();
        let psa = UpdatePsa {
            provider: (prov != o.psa.provider).then_some(prov),
            zone_url: opt_change(&o.psa.zone_url, &zone_url.get_untracked()),
            api_user: opt_change(&o.psa.api_user, &api_user.get_untracked()),
            integration_code: (!code.is_empty()).then_some(Some(code)),
            secret: (!sec.is_empty()).then_some(Some(sec)),
        };
        if psa_changes_anything(&psa) {
            changes.psa = Some(psa);
        }
        let mappings: Vec<AccountingMapping> = rows.with_untracked(|rs| {
            rs.iter()
                .map(|r| AccountingMapping {
                    source_code: r.source_code.get_untracked().trim().to_owned(),
                    account_code: r.account_code.get_untracked().trim().to_owned(),
                    description: r.description.get_untracked().trim().to_owned(),
                })
                .collect()
        });
        if mappings != o.accounting_mappings {
            changes.accounting_mappings = Some(mappings);
        }
        let nothing = changes.default_timezone.is_none()
            && changes.invitation_expiry_days.is_none()
            && changes.session_lifetime_hours.is_none()
            && changes.psa.is_none()
            && changes.accounting_mappings.is_none();
        if nothing {
            notices.ok("Nothing changed.");
            return;
        }
        pending.set(true);
        error.set(None);
        leptos::task::spawn_local(async move {
            let result = api::settings::update(&changes).await;
            pending.set(false);
            match result {
                Ok(_) => {
                    notices.ok("Settings saved");
                    reload.update(|n| *n += 1);
                }
                Err(e) => {
                    notices.error(&e);
                    error.set(Some(e));
                }
            }
        });
    };

    let field =
        |id: &'static str, label: &'static str, sig: RwSignal<String>, kind: &'static str| {
            view! {
                <label class="field">
                    <span>{label}</span>
                    <input
                        id=id
                        type=kind
                        prop:value=move || sig.get()
                        on:input=move |ev| sig.set(event_target_value(&ev))
                    />
                </label>
            }
        };

    view! {
        <section class="panel" aria-labelledby="settings-edit-title">
            <h2 id="settings-edit-title">"Edit settings"</h2>
            <form id="settings-form" on:submit=save>
                {field("settings-timezone", "Default timezone (IANA name)", tz, "text")}
                <label class="field">
                    <span>"Invitation expiry (days, 1–30)"</span>
                    <input
                        id="settings-invitation-expiry"
                        type="number"
                        min="1"
                        max="30"
                        prop:value=move || expiry.get()
                        on:input=move |ev| expiry.set(event_target_value(&ev))
                    />
                </label>
                <label class="field">
                    <span>"Session lifetime (hours, 1–168)"</span>
                    <input
                        id="settings-session-lifetime"
                        type="number"
                        min="1"
                        max="168"
                        prop:value=move || lifetime.get()
                        on:input=move |ev| lifetime.set(event_target_value(&ev))
                    />
                </label>
                <fieldset>
                    <legend>"PSA connection"</legend>
                    <label class="field">
                        <span>"Provider"</span>
                        <select
                            id="settings-provider"
                            on:change=move |ev| {
                                if let Ok(p) = event_target_value(&ev).parse() {
                                    provider.set(p);
                                }
                            }
                        >
                            <option value="directory" prop:selected=move || provider.with(|v| *v == PsaProvider::Directory)>"Directory file"</option>
                            <option value="autotask" prop:selected=move || provider.with(|v| *v == PsaProvider::Autotask)>"Autotask"</option>
                        </select>
                    </label>
                    {field("settings-zone-url", "Zone URL (empty: discovered from the API user)", zone_url, "url")}
                    {field("settings-api-user", "API user", api_user, "text")}
                    <label class="field">
                        <span>
                            "Integration code (currently "{set_text(settings.psa.integration_code_set)}")"
                        </span>
                        <input
                            id="settings-integration-code"
                            type="password"
                            autocomplete="new-password"
                            placeholder="unchanged"
                            prop:value=move || integration_code.get()
                            on:input=move |ev| integration_code.set(event_target_value(&ev))
                        />
                    </label>
                    <label class="field">
                        <span>"Secret (currently "{set_text(settings.psa.secret_set)}")"</span>
                        <input
                            id="settings-secret"
                            type="password"
                            autocomplete="new-password"
                            placeholder="unchanged"
                            prop:value=move || secret.get()
                            on:input=move |ev| secret.set(event_target_value(&ev))
                        />
                    </label>
                    <p class="hint">
                        "Secrets are write-only: leave empty to keep the stored value. A new provider, zone or API user needs the integration code and secret again. The directory file is set by the operator (hubkeep tenant set-directory)."
                    </p>
                </fieldset>
                <fieldset>
                    <legend>"Accounting mappings"</legend>
                    <div class="table-wrap">
                        <table id="mappings-editor" aria-label="Accounting mappings (editable)">
                            <thead>
                                <tr>
                                    <th scope="col">"Source code"</th>
                                    <th scope="col">"Account code"</th>
                                    <th scope="col">"Description"</th>
                                    <th scope="col">"Actions"</th>
                                </tr>
                            </thead>
                            <tbody>
                                <For
                                    each=move || rows.get()
                                    key=|r| r.key
                                    children=move |r| {
                                        let key = r.key;
                                        let cell = move |label: &'static str, sig: RwSignal<String>| {
                                            view! {
                                                <td>
                                                    <input
                                                        type="text"
                                                        aria-label=label
                                                        prop:value=move || sig.get()
                                                        on:input=move |ev| sig.set(event_target_value(&ev))
                                                    />
                                                </td>
                                            }
                                        };
                                        view! {
                                            <tr data-mapping-key=key>
                                                {cell("Source code", r.source_code)}
                                                {cell("Account code", r.account_code)}
                                                {cell("Description", r.description)}
                                                <td class="actions">
                                                    <button
                                                        type="button"
                                                        class="link"
                                                        aria-label="Remove this mapping"
                                                        on:click=move |_| rows.update(|v| v.retain(|x| x.key != key))
                                                    >
                                                        "Remove"
                                                    </button>
                                                </td>
                                            </tr>
                                        }
                                    }
                                />
                            </tbody>
                        </table>
                    </div>
                    <div class="buttons">
                        <button
                            type="button"
                            class="secondary"
                            id="add-mapping"
                            on:click=move |_| {
                                let row = new_row(AccountingMapping {
                                    source_code: String::new(),
                                    account_code: String::new(),
                                    description: String::new(),
                                });
                                rows.update(|v| v.push(row));
                            }
                        >
                            "Add mapping"
                        </button>
                    </div>
                </fieldset>
                <div id="settings-error" role="alert">
                    {move || {
                        error
                            .get()
                            .map(|e| {
                                let fields = e.field_errors();
                                view! {
                                    <div class="error">
                                        <p>{describe(&e)}</p>
                                        {(!fields.is_empty())
                                            .then(|| {
                                                view! {
                                                    <ul>
                                                        {fields.into_iter().map(|f| view! { <li>{f}</li> }).collect_view()}
                                                    </ul>
                                                }
                                            })}
                                    </div>
                                }
                            })
                    }}
                </div>
                <div class="buttons">
                    <button
                        type="submit"
                        id="settings-save"
                        data-hub-action="edit_settings"
                        disabled=move || pending.get()
                    >
                        {move || if pending.get() { "Saving…" } else { "Save settings" }}
                    </button>
                </div>
            </form>
        </section>
    }
}

/// SPEC S11: "Test connection" runs the PSA chain on the server and lists each step.
#[component]
fn PsaTestPanel() -> impl IntoView {
    let notices = use_notices();
    let pending = RwSignal::new(false);
    let report = RwSignal::new(None::<PsaTestReport>);
    let run = move |_| {
        pending.set(true);
        report.set(None);
        leptos::task::spawn_local(async move {
            let result: Result<PsaTestReport, ClientError> = api::settings::test_psa().await;
            pending.set(false);
            match result {
                Ok(r) => {
                    if r.ok {
                        notices.ok("The PSA connection works");
                    }
                    report.set(Some(r));
                }
                Err(e) => notices.error(&e),
            }
        });
    };
    view! {
        <section class="panel" id="psa-test" aria-labelledby="psa-test-title">
            <h2 id="psa-test-title">"PSA connection"</h2>
            <p class="hint">
                "Checks the saved settings: zone, credentials, resources and the security-level bridge, in that order."
            </p>
            <div class="buttons">
                <button
                    type="button"
                    id="psa-test-run"
                    data-hub-action="edit_settings"
                    disabled=move || pending.get()
                    on:click=run
                >
                    {move || if pending.get() { "Testing…" } else { "Test connection" }}
                </button>
            </div>
            <div aria-live="polite">
                {move || {
                    report
                        .get()
                        .map(|r| {
                            view! {
                                <p id="psa-test-summary" class=if r.ok { "ok" } else { "error" }>
                                    {if r.ok {
                                        "Every step passed."
                                    } else {
                                        "A step failed: the hub cannot read the PSA until it is fixed."
                                    }}
                                </p>
                                <ol id="psa-test-steps" class="steps">
                                    {r
                                        .steps
                                        .into_iter()
                                        .map(|step| {
                                            let mark = if step.ok { "✓" } else { "✗" };
                                            view! {
                                                <li
                                                    data-step=step.step.label()
                                                    data-ok=step.ok.to_string()
                                                    data-reason=step.reason.map(|r| r.as_str())
                                                >
                                                    <strong>
                                                        <span aria-hidden="true">{mark}" "</span>
                                                        {step.step.label()}
                                                        {if step.ok { " — passed" } else { " — failed" }}
                                                    </strong>
                                                    <span>": "{step.detail}</span>
                                                </li>
                                            }
                                        })
                                        .collect_view()}
                                </ol>
                            }
                        })
                }}
            </div>
        </section>
    }
}

#[component]
fn LaunchSecretPanel(reload: RwSignal<u32>) -> impl IntoView {
    let notices = use_notices();
    let open = RwSignal::new(false);
    let pending = RwSignal::new(false);
    let shown = RwSignal::new(None::<LaunchSecret>);
    let rotate = move |_| {
        pending.set(true);
        leptos::task::spawn_local(async move {
            let result: Result<LaunchSecret, ClientError> =
                api::settings::rotate_launch_secret().await;
            pending.set(false);
            open.set(false);
            match result {
                Ok(s) => {
                    notices.ok("Launch secret rotated");
                    shown.set(Some(s));
                    reload.update(|n| *n += 1);
                }
                Err(e) => notices.error(&e),
            }
        });
    };
    view! {
        <section class="panel" aria-labelledby="launch-secret-title">
            <h2 id="launch-secret-title">"Launch secret"</h2>
            <p class="hint">
                "The PSA-side launcher signs sign-in assertions with this secret. Rotating it stops the old one at once."
            </p>
            {move || {
                shown
                    .get()
                    .map(|s| {
                        view! {
                            <SecretOnce
                                label="New launch secret:"
                                value=s.launch_secret
                                code_id="launch-secret-value"
                                copy_id="copy-launch-secret"
                                note="Update the PSA launcher with it now: sign-in from the PSA fails until you do. It will not be shown again."
                                on_done=move |()| shown.set(None)
                            />
                        }
                    })
            }}
            <div class="buttons">
                <button
                    type="button"
                    class="danger"
                    id="rotate-launch-secret"
                    data-hub-action="edit_settings"
                    disabled=move || pending.get()
                    on:click=move |_| open.set(true)
                >
                    "Rotate launch secret"
                </button>
            </div>
            <Dialog open=open title="Rotate the launch secret?" id="confirm-rotate-launch-secret">
                <p>
                    "The current launch secret stops working at once: nobody can sign in from the PSA until the launcher has the new secret."
                </p>
                <div class="buttons">
                    <button
                        type="button"
                        class="danger"
                        id="confirm-rotate-launch-secret-submit"
                        data-hub-action="edit_settings"
                        disabled=move || pending.get()
                        on:click=rotate
                    >
                        {move || if pending.get() { "Rotating…" } else { "Rotate" }}
                    </button>
                    <button type="button" class="secondary" on:click=move |_| open.set(false)>"Cancel"</button>
                </div>
            </Dialog>
        </section>
    }
}

#[component]
fn EngineTokens() -> impl IntoView {
    let notices = use_notices();
    let reload = RwSignal::new(0u32);
    let name = RwSignal::new(String::new());
    let pending = RwSignal::new(false);
    let created = RwSignal::new(None::<CreatedEngineToken>);
    let revoke = RwSignal::new(None::<(String, String)>);
    let revoke_open = RwSignal::new(false);
    let revoking = RwSignal::new(false);
    let list = LocalResource::new(move || {
        reload.track();
        async move {
            api::tokens::engine(&PageQuery {
                limit: Some(200),
                cursor: None,
            })
            .await
        }
    });
    let create = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        let n = match ShortName::parse(&name.get_untracked()) {
            Ok(n) => n.into_string(),
            Err(message) => {
                notices.error_text(format!("Name: {message}"));
                return;
            }
        };
        pending.set(true);
        leptos::task::spawn_local(async move {
            let result: Result<CreatedEngineToken, ClientError> =
                api::tokens::create_engine(&CreateEngineToken { name: n }).await;
            pending.set(false);
            match result {
                Ok(t) => {
                    notices.ok(format!("Engine token “{}” created", t.name));
                    created.set(Some(t));
                    name.set(String::new());
                    reload.update(|n| *n += 1);
                }
                Err(e) => notices.error(&e),
            }
        });
    };
    let confirm_revoke = move |_| {
        let Some((id, n)) = revoke.get_untracked() else {
            return;
        };
        revoking.set(true);
        leptos::task::spawn_local(async move {
            let result: Result<(), ClientError> = api::tokens::revoke_engine(&id).await;
            revoking.set(false);
            match result {
                Ok(()) => {
                    notices.ok(format!("Engine token “{n}” revoked"));
                    revoke_open.set(false);
                    reload.update(|x| *x += 1);
                }
                Err(e) => notices.error(&e),
            }
        });
    };
    view! {
        <section class="panel" id="engine-tokens" aria-labelledby="engine-tokens-title">
            <h2 id="engine-tokens-title">"Sync engine tokens"</h2>
            <p class="hint">"The sync engine reports run progress with these tenant tokens."</p>
            <form class="form-row" on:submit=create>
                <label class="field">
                    <span>"Name"</span>
                    <input
                        id="new-engine-token-name"
                        type="text"
                        required
                        maxlength="100"
                        placeholder="e.g. the engine's host"
                        prop:value=move || name.get()
                        on:input=move |ev| name.set(event_target_value(&ev))
                    />
                </label>
                <div class="buttons">
                    <button
                        type="submit"
                        id="create-engine-token"
                        data-hub-action="edit_settings"
                        disabled=move || pending.get() || name.with(|n| n.trim().is_empty())
                    >
                        {move || if pending.get() { "Creating…" } else { "Create engine token" }}
                    </button>
                </div>
            </form>
            {move || {
                created
                    .get()
                    .map(|t| {
                        view! {
                            <SecretOnce
                                label=format!("Engine token “{}”:", t.name)
                                value=t.token
                                code_id="engine-token-secret"
                                copy_id="copy-engine-token"
                                note="It will not be shown again."
                                on_done=move |()| created.set(None)
                            />
                        }
                    })
            }}
            <Transition fallback=|| view! { <Loading what="engine tokens" /> }>
                {move || Suspend::new(async move {
                    match list.await {
                        Err(e) => view! { <ErrorMessage error=e /> }.into_any(),
                        Ok(page) if page.items.is_empty() => {
                            view! { <Empty text="No engine tokens." /> }.into_any()
                        }
                        Ok(page) => {
                            view! {
                                <div class="table-wrap">
                                    <table id="engine-tokens-table" aria-label="Sync engine tokens">
                                        <thead>
                                            <tr>
                                                <th scope="col">"Name"</th>
                                                <th scope="col">"Prefix"</th>
                                                <th scope="col">"Created"</th>
                                                <th scope="col">"Last used"</th>
                                                <th scope="col">"Actions"</th>
                                            </tr>
                                        </thead>
                                        <tbody>
                                            {page
                                                .items
                                                .into_iter()
                                                .map(|t| {
                                                    let target = (t.id.clone(), t.name.clone());
                                                    view! {
                                                        <tr data-engine-token-id=t.id.clone()>
                                                            <td>{t.name.clone()}</td>
                                                            <td><code>{format!("{}…", t.token_prefix)}</code></td>
                                                            <td>{fmt_time(&t.created_at)}</td>
                                                            <td>{fmt_opt_time(t.last_used_at.as_ref())}</td>
                                                            <td class="actions">
                                                                <button
                                                                    type="button"
                                                                    class="danger"
                                                                    data-hub-action="edit_settings"
                                                                    aria-label=format!("Revoke engine token {}", t.name)
                                                                    on:click=move |_| {
                                                                        revoke.set(Some(target.clone()));
                                                                        revoke_open.set(true);
                                                                    }
                                                                >
                                                                    "Revoke"
                                                                </button>
                                                            </td>
                                                        </tr>
                                                    }
                                                })
                                                .collect_view()}
                                        </tbody>
                                    </table>
                                </div>
                            }
                                .into_any()
                        }
                    }
                })}
            </Transition>
            <Dialog open=revoke_open title="Revoke engine token" id="confirm-revoke-engine-token">
                <p>
                    "Revoke “"{move || revoke.with(|r| r.as_ref().map(|r| r.1.clone()).unwrap_or_default())}
                    "”? The sync engine using it can no longer report runs."
                </p>
                <div class="buttons">
                    <button
                        type="button"
                        class="danger"
                        data-hub-action="edit_settings"
                        disabled=move || revoking.get()
                        on:click=confirm_revoke
                    >
                        {move || if revoking.get() { "Revoking…" } else { "Revoke" }}
                    </button>
                    <button type="button" class="secondary" on:click=move |_| revoke_open.set(false)>"Cancel"</button>
                </div>
            </Dialog>
        </section>
    }
}
