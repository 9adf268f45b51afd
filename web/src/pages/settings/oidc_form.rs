//! The OIDC settings form: each field with its hint and, when a save is refused (by the
//! form's own check or by the server), the refusal under it; "Turn off" when configured.

use super::*;
use hubkeep_shared::api::OidcSettings;

type ErrorSignal = RwSignal<Option<ClientError>>;

/// Saves the form's changes as `oidc` of `PUT /api/v1/settings`.
fn save_action(
    inputs: OidcInputs,
    current: StoredValue<Option<OidcSettings>>,
    error: ErrorSignal,
    pending: RwSignal<bool>,
    resource: SettingsResource,
) -> impl Fn(leptos::ev::SubmitEvent) + Copy + 'static {
    let notices = use_notices();
    move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        let checked = current.with_value(|c| oidc_update(&inputs, c.as_ref()));
        let update = match checked {
            Err(problems) => {
                error.set(Some(refused(problems)));
                return;
            }
            Ok(u) if changes_nothing(&u) => {
                error.set(None);
                notices.ok("Nothing changed.");
                return;
            }
            Ok(u) => u,
        };
        let body = UpdateSettings {
            oidc: Some(Some(update)),
            ..UpdateSettings::default()
        };
        pending.set(true);
        error.set(None);
        leptos::task::spawn_local(async move {
            let result = api::settings::update(&body).await;
            pending.set(false);
            match result {
                Ok(_) => {
                    notices.ok("Sign-in with OpenID Connect saved");
                    resource.refetch();
                }
                Err(e) => {
                    // Field refusals show under their fields; anything else goes to the notices too.
                    if e.status() != Some(422) {
                        notices.error(&e);
                    }
                    error.set(Some(e));
                }
            }
        });
    }
}

#[component]
pub(super) fn OidcForm(current: Option<OidcSettings>, resource: SettingsResource) -> impl IntoView {
    let inputs = OidcInputs::new(current.as_ref());
    let configured = current.is_some();
    let secret_set = current.as_ref().is_some_and(|c| c.client_secret_set);
    let error = RwSignal::new(None::<ClientError>);
    let pending = RwSignal::new(false);
    let save = save_action(inputs, StoredValue::new(current), error, pending, resource);
    view! {
        <h3>{if configured { "Change sign-in with OpenID Connect" } else { "Turn on sign-in with OpenID Connect" }}</h3>
        <form id="settings-oidc-form" on:submit=save novalidate>
            {text_input(ISSUER, inputs.issuer, None, error)}
            {text_input(CLIENT_ID, inputs.client_id, None, error)}
            {text_input(
                CLIENT_SECRET,
                inputs.client_secret,
                secret_set.then(|| "stored — leave empty to keep".to_owned()),
                error,
            )}
            {text_input(LABEL, inputs.label, (!configured).then(|| "the issuer's host".to_owned()), error)}
            {text_input(EMAIL_CLAIM, inputs.email_claim, Some("email".to_owned()), error)}
            {domains_input(inputs.domains, error)}
            <label class="check">
                <input
                    type="checkbox"
                    id="oidc-require-verified"
                    prop:checked=move || inputs.require_verified.get()
                    on:change=move |ev| inputs.require_verified.set(event_target_checked(&ev))
                />
                <span>"Require a verified email address (the ID token's email_verified must be true)"</span>
            </label>
            <div id="settings-oidc-error" role="alert">
                {move || error.get().map(|e| view! { <div class="error">{describe(&e)}</div> })}
            </div>
            <div class="buttons">
                <button type="submit" id="settings-oidc-save" data-hub-action="edit_settings" disabled=move || pending.get()>
                    {move || if pending.get() { "Saving…" } else { "Save" }}
                </button>
                {configured.then(|| view! { <TurnOffOidc resource=resource /> })}
            </div>
        </form>
    }
}

/// One text field of the form: where its refusals go (`name`) and what it says.
#[derive(Debug, Clone, Copy)]
struct Field {
    id: &'static str,
    label: &'static str,
    /// The field of the server's refusals (`oidc.issuer`).
    name: &'static str,
    kind: &'static str,
    hint: &'static str,
}

const ISSUER: Field = Field {
    id: "oidc-issuer",
    label: "Issuer",
    name: "oidc.issuer",
    kind: "url",
    hint: "The provider's issuer URL, exactly as its /.well-known/openid-configuration says (such as https://login.microsoftonline.com/<tenant id>/v2.0).",
};
const CLIENT_ID: Field = Field {
    id: "oidc-client-id",
    label: "Client id",
    name: "oidc.client_id",
    kind: "text",
    hint: "The id of the client (application) registered at the provider for Hubkeep.",
};
const CLIENT_SECRET: Field = Field {
    id: "oidc-client-secret",
    label: "Client secret",
    name: "oidc.client_secret",
    kind: "password",
    hint: "Write-only. Needed to turn sign-in on, and again with a new issuer or client id.",
};
const LABEL: Field = Field {
    id: "oidc-label",
    label: "Button label",
    name: "oidc.label",
    kind: "text",
    hint: "The sign-in button reads “Sign in with <label>”.",
};
const EMAIL_CLAIM: Field = Field {
    id: "oidc-email-claim",
    label: "Email claim",
    name: "oidc.email_claim",
    kind: "text",
    hint: "The ID token's claim holding the email address the PSA knows (email; Entra ID often uses preferred_username or upn).",
};

/// The hint and the refusal under a field, as `aria-describedby` names them.
fn described_by(id: &str) -> String {
    format!("{id}-hint {id}-error")
}

fn field_notes(
    id: &'static str,
    hint: &'static str,
    name: &'static str,
    error: ErrorSignal,
) -> impl IntoView {
    view! {
        <small class="hint" id=format!("{id}-hint")>{hint}</small>
        <small class="field-error" id=format!("{id}-error")>
            {move || error.with(|e| messages_for(e, name))}
        </small>
    }
}

fn text_input(
    f: Field,
    value: RwSignal<String>,
    placeholder: Option<String>,
    error: ErrorSignal,
) -> impl IntoView {
    let autocomplete = if f.kind == "password" {
        "new-password"
    } else {
        "off"
    };
    view! {
        <label class="field">
            <span>{f.label}</span>
            <input
                id=f.id
                type=f.kind
                autocomplete=autocomplete
                placeholder=placeholder
                aria-describedby=described_by(f.id)
                aria-invalid=move || error.with(|e| messages_for(e, f.name).is_some()).to_string()
                prop:value=move || value.get()
                on:input=move |ev| value.set(event_target_value(&ev))
            />
            {field_notes(f.id, f.hint, f.name, error)}
        </label>
    }
}

fn domains_input(value: RwSignal<String>, error: ErrorSignal) -> impl IntoView {
    let (id, name) = ("oidc-allowed-domains", "oidc.allowed_email_domains");
    view! {
        <label class="field">
            <span>"Allowed email domains"</span>
            <textarea
                id=id
                rows="3"
                aria-describedby=described_by(id)
                aria-invalid=move || error.with(|e| messages_for(e, name).is_some()).to_string()
                prop:value=move || value.get()
                on:input=move |ev| value.set(event_target_value(&ev))
            ></textarea>
            {field_notes(id, "One per line or separated by commas (northwindit.example); empty: any domain.", name, error)}
        </label>
    }
}

/// "Turn off", confirmed first: the client secret is forgotten with it.
#[component]
fn TurnOffOidc(resource: SettingsResource) -> impl IntoView {
    let notices = use_notices();
    let open = RwSignal::new(false);
    let pending = RwSignal::new(false);
    let turn_off = move |_| {
        pending.set(true);
        let body = UpdateSettings {
            oidc: Some(None),
            ..UpdateSettings::default()
        };
        leptos::task::spawn_local(async move {
            let result = api::settings::update(&body).await;
            pending.set(false);
            open.set(false);
            match result {
                Ok(_) => {
                    notices.ok("Sign-in with OpenID Connect is off");
                    resource.refetch();
                }
                Err(e) => notices.error(&e),
            }
        });
    };
    view! {
        <button
            type="button"
            class="danger"
            id="oidc-turn-off"
            data-hub-action="edit_settings"
            disabled=move || pending.get()
            on:click=move |_| open.set(true)
        >
            "Turn off"
        </button>
        <Dialog open=open title="Turn off sign-in with OpenID Connect?" id="confirm-oidc-turn-off">
            <p>
                "People can then sign in from the PSA's menu only. The client secret is forgotten: turning sign-in on again needs it."
            </p>
            <div class="buttons">
                <button
                    type="button"
                    class="danger"
                    id="confirm-oidc-turn-off-submit"
                    data-hub-action="edit_settings"
                    disabled=move || pending.get()
                    on:click=turn_off
                >
                    {move || if pending.get() { "Turning off…" } else { "Turn off" }}
                </button>
                <button type="button" class="secondary" on:click=move |_| open.set(false)>"Cancel"</button>
            </div>
        </Dialog>
    }
}
