//! The sync engine's tenant tokens: create (shown once), list and revoke.

use super::*;
use crate::components::ui::{resource, suspend};

#[component]
pub(super) fn EngineTokens() -> impl IntoView {
    let notices = use_notices();
    let name = RwSignal::new(String::new());
    let pending = RwSignal::new(false);
    let created = RwSignal::new(None::<CreatedEngineToken>);
    let revoke = RwSignal::new(None::<(TokenId, String)>);
    let revoke_open = RwSignal::new(false);
    let revoking = RwSignal::new(false);
    // The tokens; loaded again after a creation or a revocation.
    let list = resource(move || async move {
        api::tokens::engine(&PageQuery {
            limit: Some(200),
            cursor: None,
        })
        .await
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
                    list.refetch();
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
                    list.refetch();
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
                {move || suspend(async move {
                    match list.await {
                        Err(e) => view! { <ErrorMessage error=e /> }.into_any(),
                        Ok(page) if page.items.is_empty() => {
                            view! { <Empty text="No engine tokens." /> }.into_any()
                        }
                        Ok(page) => {
                            view! {
                                <div class="table-wrap" tabindex="0" role="region" aria-label="Table, scrolls sideways on a narrow screen">
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
                                                        <tr data-engine-token-id=t.id.to_string()>
                                                            <td>{t.name.clone()}</td>
                                                            <td><code>{format!("{}…", t.token_prefix)}</code></td>
                                                            <td>{time(&t.created_at)}</td>
                                                            <td>{opt_time(t.last_used_at.as_ref())}</td>
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
