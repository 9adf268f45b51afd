//! Sign-in with OpenID Connect (SPEC S13): the tenant's sign-in page and the redirect URI to
//! register at its identity provider, for everyone who reads the settings; the provider's
//! client and the rules an email must meet, for those allowed to edit them.
//!
//! The client secret is write-only: the form says whether one is stored, and an empty field
//! keeps it — except with a new issuer or client id, which need the secret again (the server
//! refuses the change otherwise, so a stored secret never follows a new provider). `oidc_form`
//! is the form; `oidc_rules` applies the server's field rules to it before sending.

use super::*;
use crate::components::ui::copy_to_clipboard;
use hubkeep_shared::api::OidcSettings;

/// Where the provider sends the browser back (the server's `[http] public_url` + this).
const CALLBACK_PATH: &str = "/api/v1/auth/oidc/callback";
fn origin() -> String {
    window().location().origin().unwrap_or_default()
}

#[component]
pub(super) fn OidcPanel(settings: Settings, resource: SettingsResource) -> impl IntoView {
    let me = use_me();
    let page = format!("/t/{}", api::seg(&settings.slug));
    let oidc = settings.oidc.clone();
    let configured = oidc.is_some();
    let form = StoredValue::new(oidc.clone());
    view! {
        <section class="panel" id="settings-oidc" aria-labelledby="settings-oidc-title">
            <h2 id="settings-oidc-title">"Sign-in with OpenID Connect"</h2>
            <p class="hint">
                "Besides the PSA's menu, people can sign in at your identity provider (Microsoft Entra ID, Google Workspace, Okta, …); the hub finds them in the PSA by their email address."
            </p>
            <dl class="facts">
                <dt>"Status"</dt>
                <dd id="oidc-status" data-enabled=configured.to_string()>
                    {match &oidc {
                        Some(o) => format!("On: “Sign in with {}”", o.label),
                        None => "Off: people sign in from the PSA's menu only".to_owned(),
                    }}
                </dd>
                <dt>"Sign-in page"</dt>
                <dd>
                    <a href=page.clone() id="oidc-sign-in-page">{format!("{}{page}", origin())}</a>
                    " "
                    {copy_button("copy-oidc-sign-in-page", "the sign-in page address", format!("{}{page}", origin()))}
                </dd>
                <dt>"Redirect URI"</dt>
                <dd>{redirect_uri_view(oidc.as_ref().and_then(|o| o.redirect_uri.clone()))}</dd>
                {oidc.map(configured_facts)}
            </dl>
            <Show when=move || me.can(HubAction::EditSettings)>
                <OidcForm current=form.get_value() resource=resource />
            </Show>
        </section>
    }
}

/// A button copying `text` (a link or a URI to hand to someone else); `what` names it.
fn copy_button(id: &'static str, what: &'static str, text: String) -> impl IntoView {
    view! {
        <button
            type="button"
            class="secondary"
            id=id
            aria-label=format!("Copy {what}")
            on:click=move |_| copy_to_clipboard(&text)
        >
            "Copy"
        </button>
    }
}

/// The redirect URI to register at the provider: the server's when it has a public URL,
/// else the address this browser reaches the hub at (which the server then uses too).
fn redirect_uri_view(from_server: Option<String>) -> impl IntoView {
    let known = from_server.is_some();
    let uri = from_server.unwrap_or_else(|| format!("{}{CALLBACK_PATH}", origin()));
    view! {
        <code id="oidc-redirect-uri">{uri.clone()}</code>
        " "
        {copy_button("copy-oidc-redirect-uri", "the redirect URI", uri)}
        <br />
        <small class="hint">
            {if known {
                "Register it at the identity provider as the client's redirect URI."
            } else {
                "Register it at the identity provider as the client's redirect URI. It is the address this browser reaches the hub at: the server has no public URL set ([http] public_url), so it answers with whatever address it is reached at."
            }}
        </small>
    }
}

/// The stored client and rules (never the secret).
fn configured_facts(o: OidcSettings) -> impl IntoView {
    let domains = if o.allowed_email_domains.is_empty() {
        "any".to_owned()
    } else {
        o.allowed_email_domains.join(", ")
    };
    view! {
        <dt>"Issuer"</dt>
        <dd>{o.issuer}</dd>
        <dt>"Client id"</dt>
        <dd>{o.client_id}</dd>
        <dt>"Client secret"</dt>
        <dd>{set_text(o.client_secret_set)}</dd>
        <dt>"Email claim"</dt>
        <dd><code>{o.email_claim}</code></dd>
        <dt>"Allowed email domains"</dt>
        <dd>{domains}</dd>
        <dt>"Verified email required"</dt>
        <dd>{if o.require_email_verified { "yes" } else { "no" }}</dd>
    }
}
