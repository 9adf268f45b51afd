//! Email preferences (SPEC S15): which categories of email the signed-in person receives.

use hubkeep_shared::api::{
    NotificationCategory, NotificationPreferences, NotificationPreferencesPatch,
};
use leptos::prelude::*;

use crate::api;
use crate::components::error::ErrorMessage;
use crate::components::ui::{Loading, resource, suspend, use_notices};

/// Each category, its checkbox's label.
const CATEGORIES: [(NotificationCategory, &str); 4] = [
    (
        NotificationCategory::Invitations,
        "Someone invites me to a connection, or asks me to become its owner",
    ),
    (
        NotificationCategory::InvitationUpdates,
        "An invitation I sent is accepted, declined, revoked or expires",
    ),
    (
        NotificationCategory::Ownership,
        "I become a connection's owner because its owner lost their access",
    ),
    (
        NotificationCategory::HubAccess,
        "My hub access is deactivated or reactivated, or my elevation changes",
    ),
];

#[component]
pub fn PreferencesPage() -> impl IntoView {
    let loaded = resource(api::notifications::preferences);
    view! {
        <div class="page-head">
            <h1>"Email preferences"</h1>
        </div>
        <p class="lead">
            "Hubkeep emails you when something happens that concerns you. Turn off what you do not want; the console shows everything either way."
        </p>
        <Transition fallback=|| view! { <Loading what="your email preferences" /> }>
            {move || suspend(async move {
                match loaded.await {
                    Err(e) => view! { <ErrorMessage error=e /> }.into_any(),
                    Ok(prefs) => view! { <PreferencesForm initial=prefs /> }.into_any(),
                }
            })}
        </Transition>
    }
}

#[component]
fn PreferencesForm(initial: NotificationPreferences) -> impl IntoView {
    let notices = use_notices();
    let saved = RwSignal::new(initial);
    let draft = RwSignal::new(initial);
    let pending = RwSignal::new(false);
    let dirty = move || draft.get() != saved.get();
    let submit = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        let (was, now) = (saved.get_untracked(), draft.get_untracked());
        if pending.get_untracked() || was == now {
            return;
        }
        let body = NotificationPreferencesPatch::between(&was, &now);
        pending.set(true);
        leptos::task::spawn_local(async move {
            let result = api::notifications::update_preferences(&body).await;
            pending.set(false);
            match result {
                Ok(after) => {
                    saved.set(after);
                    draft.set(after);
                    notices.ok("Email preferences saved");
                }
                Err(e) => notices.error(&e),
            }
        });
    };
    view! {
        <section class="panel" aria-labelledby="preferences-title">
            <h2 id="preferences-title">"Send me an email when"</h2>
            <form id="preferences-form" class="stack" on:submit=submit data-dirty=move || dirty().to_string()>
                <ul class="checks" role="list">
                    {CATEGORIES
                        .into_iter()
                        .map(|(category, label)| {
                            let id = format!("pref-{}", category.as_str());
                            view! {
                                <li>
                                    <label class="check">
                                        <input
                                            type="checkbox"
                                            id=id
                                            prop:checked=move || draft.with(|d| d.allows(category))
                                            disabled=move || pending.get()
                                            on:change=move |ev| {
                                                draft.update(|d| d.set(category, event_target_checked(&ev)))
                                            }
                                        />
                                        <span>{label}</span>
                                    </label>
                                </li>
                            }
                        })
                        .collect_view()}
                </ul>
                <div class="buttons">
                    <button type="submit" id="preferences-save" disabled=move || pending.get() || !dirty()>
                        {move || if pending.get() { "Saving…" } else { "Save" }}
                    </button>
                    <button
                        type="button"
                        id="preferences-cancel"
                        class="secondary"
                        disabled=move || pending.get() || !dirty()
                        on:click=move |_| draft.set(saved.get_untracked())
                    >
                        "Cancel"
                    </button>
                </div>
            </form>
        </section>
    }
}
