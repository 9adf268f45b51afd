//! The PSA connection: its fields in the settings form and the connection test (SPEC S11).

use super::*;

/// The PSA connection fields of the settings form. The integration code and the secret are
/// write-only: the form says whether one is set, and an empty field keeps it.
#[component]
pub(super) fn PsaFields(
    provider: RwSignal<PsaProvider>,
    zone_url: RwSignal<String>,
    api_user: RwSignal<String>,
    integration_code: RwSignal<String>,
    secret: RwSignal<String>,
    integration_code_set: bool,
    secret_set: bool,
) -> impl IntoView {
    view! {
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
            {text_field("settings-zone-url", "Zone URL (empty: discovered from the API user)", zone_url, "url")}
            {text_field("settings-api-user", "API user", api_user, "text")}
            <label class="field">
                <span>
                    "Integration code (currently "{set_text(integration_code_set)}")"
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
                <span>"Secret (currently "{set_text(secret_set)}")"</span>
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
    }
}

/// SPEC S11: "Test connection" runs the PSA chain on the server and lists each step.
#[component]
pub(super) fn PsaTestPanel() -> impl IntoView {
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
