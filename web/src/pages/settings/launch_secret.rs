//! Rotating the launch secret the PSA-side launcher signs sign-in assertions with.

use super::*;

#[component]
pub(super) fn LaunchSecretPanel(settings: SettingsResource) -> impl IntoView {
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
                    settings.refetch();
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
