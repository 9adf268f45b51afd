//! The settings form: the defaults (timezone, invitation expiry, session lifetime), the PSA
//! connection fields and the accounting mappings, saved as one change of what differs.

use super::*;

/// A labelled text input bound to `sig`.
pub(super) fn text_field(
    id: &'static str,
    label: &'static str,
    sig: RwSignal<String>,
    kind: &'static str,
) -> impl IntoView {
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
pub(super) fn EditSettings(settings: Settings, resource: SettingsResource) -> impl IntoView {
    let notices = use_notices();
    let orig = StoredValue::new(settings.clone());
    let tz = RwSignal::new(settings.default_timezone.clone());
    let expiry = RwSignal::new(settings.invitation_expiry_days.to_string());
    let lifetime = RwSignal::new(settings.session_lifetime_hours.to_string());
    let sender = RwSignal::new(settings.email_sender_name.clone().unwrap_or_default());
    let provider = RwSignal::new(settings.psa.provider);
    let zone_url = RwSignal::new(settings.psa.zone_url.clone().unwrap_or_default());
    let api_user = RwSignal::new(settings.psa.api_user.clone().unwrap_or_default());
    let integration_code = RwSignal::new(String::new());
    let secret = RwSignal::new(String::new());
    let next_key = StoredValue::new(0u64);
    let rows = RwSignal::new(
        settings
            .accounting_mappings
            .iter()
            .cloned()
            .map(|m| MappingRow::new(next_key, m))
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
        let sender_v = sender.get_untracked();
        if !sender_v.trim().is_empty()
            && let Err(message) = ShortName::parse(&sender_v)
        {
            notices.error_text(format!("Email sender name: {message}"));
            return;
        }
        changes.email_sender_name = opt_change(&o.email_sender_name, &sender_v);
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
        let mappings: Vec<AccountingMapping> =
            rows.with_untracked(|rs| rs.iter().map(MappingRow::mapping_untracked).collect());
        if mappings != o.accounting_mappings {
            changes.accounting_mappings = Some(mappings);
        }
        let nothing = changes.default_timezone.is_none()
            && changes.invitation_expiry_days.is_none()
            && changes.session_lifetime_hours.is_none()
            && changes.psa.is_none()
            && changes.accounting_mappings.is_none()
            && changes.email_sender_name.is_none();
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
                    resource.refetch();
                }
                Err(e) => {
                    notices.error(&e);
                    error.set(Some(e));
                }
            }
        });
    };

    view! {
        <section class="panel" aria-labelledby="settings-edit-title">
            <h2 id="settings-edit-title">"Edit settings"</h2>
            <form id="settings-form" on:submit=save>
                {text_field("settings-timezone", "Default timezone (IANA name)", tz, "text")}
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
                {text_field(
                    "settings-email-sender",
                    "Email sender name (empty: the server's)",
                    sender,
                    "text",
                )}
                <PsaFields
                    provider=provider
                    zone_url=zone_url
                    api_user=api_user
                    integration_code=integration_code
                    secret=secret
                    integration_code_set=settings.psa.integration_code_set
                    secret_set=settings.psa.secret_set
                />
                <MappingsEditor rows=rows next_key=next_key />
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
