//! Tenant settings (SPEC S6): everyone with `view_settings` reads them (secrets only as
//! "set / not set"); users allowed `edit_settings` edit them, rotate the launch secret and
//! manage the sync engine's tokens.
//!
//! `current` shows the settings as saved; `edit` is the form (the defaults, with `psa`'s
//! PSA connection fields and `mappings`' accounting mappings editor); `psa` also holds the
//! PSA connection test; `feed` the PSA change feed's status and "Reconcile now"; `oidc` the
//! tenant's sign-in page and sign-in with OpenID Connect (SPEC S13), with its form in
//! `oidc_form` and the form's field rules in `oidc_rules`; `launch_secret` rotates
//! the launch secret and `engine_tokens` manages the sync engine's tokens.

use hubkeep_shared::{HubAction, PsaTestReport, TokenId};
use leptos::prelude::*;

use crate::api::{self, ClientError};
use crate::components::error::ErrorMessage;
use crate::components::ui::{
    Dialog, Empty, Loading, SecretOnce, describe, fmt_time, opt_time, time, use_me, use_notices,
};
use crate::components::ui::{Res, resource, suspend};
use hubkeep_shared::api::{
    AccountingMapping, CreateEngineToken, CreatedEngineToken, LaunchSecret, PageQuery, PsaProvider,
    Settings, UpdatePsa, UpdateSettings,
};
use hubkeep_shared::fields::{FieldRule as _, ShortName, TimezoneName};

mod current;
mod edit;
mod engine_tokens;
mod feed;
mod launch_secret;
mod mappings;
mod oidc;
mod oidc_form;
mod oidc_rules;
mod psa;

use current::*;
use edit::*;
use engine_tokens::*;
use feed::*;
use launch_secret::*;
use mappings::*;
use oidc::*;
use oidc_form::*;
use oidc_rules::*;
use psa::*;

/// The settings as loaded (the page loads them again after a change).
type SettingsResource = Res<Result<Settings, ClientError>>;

fn set_text(set: bool) -> &'static str {
    if set { "set" } else { "not set" }
}

#[component]
pub fn SettingsPage() -> impl IntoView {
    let me = use_me();
    // The settings; loaded again after a save or a rotation of the launch secret.
    let settings = resource(api::settings::get_settings);
    let can_edit = move || me.can(HubAction::EditSettings);
    view! {
        <div class="page-head">
            <h1>"Settings"</h1>
        </div>
        <Transition fallback=|| view! { <Loading what="settings" /> }>
            {move || suspend(async move {
                match settings.await {
                    Err(e) => view! { <ErrorMessage error=e /> }.into_any(),
                    Ok(s) => {
                        let edit = s.clone();
                        let sign_in = s.clone();
                        view! {
                            <CurrentSettings settings=s />
                            <Show when=can_edit>
                                <EditSettings settings=edit.clone() resource=settings />
                            </Show>
                            <OidcPanel settings=sign_in resource=settings />
                        }
                            .into_any()
                    }
                }
            })}
        </Transition>
        <Show when=can_edit>
            <PsaTestPanel />
            <PsaFeedPanel />
            <LaunchSecretPanel settings=settings />
            <EngineTokens />
        </Show>
    }
}
