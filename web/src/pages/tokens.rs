//! API tokens (SPEC S3.4): one's own personal tokens (create, list, revoke) and, for users
//! allowed `manage_all_tokens`, every token of the tenant.

use hubkeep_shared::{HubAction, TokenId, TokenScope};
use leptos::prelude::*;

use crate::api;
use crate::components::error::ErrorMessage;
use crate::components::ui::{
    Dialog, Empty, Loading, SecretOnce, opt_time, time, use_me, use_notices,
};
use crate::components::ui::{resource, suspend};
use hubkeep_shared::api::{ApiToken, CreateToken, CreatedToken, PageQuery};
use hubkeep_shared::fields::{FieldRule as _, ShortName};

/// The token lists show up to 200 tokens, the most a page holds.
const ALL: PageQuery = PageQuery {
    limit: Some(200),
    cursor: None,
};

/// Copies `text` to the clipboard and says so.
fn scope_label(scope: TokenScope) -> &'static str {
    match scope {
        TokenScope::Read => "Read only (GET)",
        TokenScope::ReadWrite => "Read and write",
    }
}

/// A token pending revocation: its id, its name, and whether it is someone else's.
#[derive(Debug, Clone, PartialEq, Eq)]
struct RevokeTarget {
    id: TokenId,
    name: String,
    tenant: bool,
}

#[component]
pub fn TokensPage() -> impl IntoView {
    let me = use_me();
    let origin = window()
        .location()
        .origin()
        .unwrap_or_else(|_| String::new());
    let loaded = move || me.me.with(|m| m.is_some());
    // Shared by both lists: revoking one's own token on the tenant list updates both.
    let reload = RwSignal::new(0u32);
    view! {
        <div class="page-head">
            <h1>"API tokens"</h1>
        </div>
        <p class="lead">
            "Personal tokens let scripts call the Hubkeep API as you. A token can do what you can do (read only tokens only GET), and stops working when you lose access or revoke it."
        </p>
        <p class="hint">
            "Usage: " <code>{format!("curl -H \"Authorization: Bearer hk_…\" {origin}/api/v1/me")}</code>
        </p>
        <Show
            when=move || me.can(HubAction::ManageOwnTokens)
            fallback=move || {
                if loaded() {
                    view! { <Empty text="You may not create API tokens." /> }.into_any()
                } else {
                    view! { <Loading what="your permissions" /> }.into_any()
                }
            }
        >
            <OwnTokens reload=reload />
        </Show>
        <Show when=move || me.can(HubAction::ManageAllTokens)>
            <TenantTokens reload=reload />
        </Show>
    }
}

#[component]
fn OwnTokens(reload: RwSignal<u32>) -> impl IntoView {
    let notices = use_notices();
    let name = RwSignal::new(String::new());
    let scope = RwSignal::new("read".to_owned());
    let expires = RwSignal::new(String::new());
    let pending = RwSignal::new(false);
    let created = RwSignal::new(None::<CreatedToken>);
    let revoke = RwSignal::new(None::<RevokeTarget>);

    let list = resource(move || {
        reload.track();
        async move { api::tokens::mine(&ALL).await }
    });

    let submit = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        if pending.get_untracked() {
            return;
        }
        let token_name = match ShortName::parse(&name.get_untracked()) {
            Ok(n) => n.into_string(),
            Err(message) => {
                notices.error_text(format!("Name: {message}"));
                return;
            }
        };
        let date = expires.get_untracked();
        // The end of the chosen day in the viewer's time zone (as every time shows); the date
        // input only ever holds `YYYY-MM-DD`.
        let expires_at = match date.as_str() {
            "" => None,
            day => match crate::components::ui::parse_ymd(day) {
                Some(d) => {
                    use chrono::Datelike as _;
                    let local = js_sys::Date::new_with_year_month_day_hr_min_sec(
                        d.year() as u32,
                        d.month0() as i32,
                        d.day() as i32,
                        23,
                        59,
                        59,
                    );
                    chrono::DateTime::from_timestamp_millis(local.get_time() as i64)
                }
                None => {
                    notices.error_text("The expiry date is not a date (YYYY-MM-DD).");
                    return;
                }
            },
        };
        let body = CreateToken {
            name: token_name,
            scope: scope.get_untracked().parse().unwrap_or(TokenScope::Read),
            expires_at,
        };
        pending.set(true);
        leptos::task::spawn_local(async move {
            let result = api::tokens::create(&body).await;
            pending.set(false);
            match result {
                Ok(token) => {
                    notices.ok(format!("Token “{}” created", token.name));
                    created.set(Some(token));
                    name.set(String::new());
                    expires.set(String::new());
                    reload.update(|n| *n += 1);
                }
                Err(e) => notices.error(&e),
            }
        });
    };

    view! {
        <section class="panel" aria-labelledby="own-tokens-title">
            <h2 id="own-tokens-title">"Your tokens"</h2>
            <form class="form-row" on:submit=submit>
                <label class="field">
                    <span>"Name"</span>
                    <input
                        id="new-token-name"
                        type="text"
                        required
                        maxlength="100"
                        placeholder="e.g. nightly export"
                        prop:value=move || name.get()
                        on:input=move |ev| name.set(event_target_value(&ev))
                    />
                </label>
                <label class="field">
                    <span>"Scope"</span>
                    <select
                        id="new-token-scope"
                        on:change=move |ev| scope.set(event_target_value(&ev))
                    >
                        <option value="read" prop:selected=move || scope.with(|v| v == "read")>{scope_label(TokenScope::Read)}</option>
                        <option value="read_write" prop:selected=move || scope.with(|v| v == "read_write")>{scope_label(TokenScope::ReadWrite)}</option>
                    </select>
                </label>
                <label class="field">
                    <span>"Expires (optional)"</span>
                    <input
                        id="new-token-expires"
                        type="date"
                        prop:value=move || expires.get()
                        on:input=move |ev| expires.set(event_target_value(&ev))
                    />
                </label>
                <div class="buttons">
                    <button
                        type="submit"
                        id="create-token"
                        data-hub-action="manage_own_tokens"
                        disabled=move || pending.get() || name.with(|n| n.trim().is_empty())
                    >
                        {move || if pending.get() { "Creating…" } else { "Create token" }}
                    </button>
                </div>
            </form>
            {move || {
                created
                    .get()
                    .map(|t| {
                        view! {
                            <SecretOnce
                                id="new-token"
                                label=format!("Token “{}”:", t.name)
                                value=t.token
                                code_id="token-secret"
                                copy_id="copy-token"
                                note="Copy it now. It will not be shown again."
                                on_done=move |()| created.set(None)
                            />
                        }
                    })
            }}
            <Transition fallback=|| view! { <Loading what="your tokens" /> }>
                {move || suspend(async move {
                    match list.await {
                        Err(e) => view! { <ErrorMessage error=e /> }.into_any(),
                        Ok(page) if page.items.is_empty() => {
                            view! { <Empty text="You have no API tokens." /> }.into_any()
                        }
                        Ok(page) => {
                            let more = page.next_cursor.is_some();
                            view! {
                                <div class="table-wrap" tabindex="0" role="region" aria-label="Table, scrolls sideways on a narrow screen">
                                    <table id="own-tokens" aria-label="Your API tokens">
                                        <thead>
                                            <tr>
                                                <th scope="col">"Name"</th>
                                                <th scope="col">"Prefix"</th>
                                                <th scope="col">"Scope"</th>
                                                <th scope="col">"Created"</th>
                                                <th scope="col">"Expires"</th>
                                                <th scope="col">"Last used"</th>
                                                <th scope="col">"Actions"</th>
                                            </tr>
                                        </thead>
                                        <tbody>
                                            {page
                                                .items
                                                .into_iter()
                                                .map(|t| token_row(t, None, revoke, false))
                                                .collect_view()}
                                        </tbody>
                                    </table>
                                </div>
                                {more.then(|| view! { <p class="hint">"Only the first 200 tokens are shown."</p> })}
                            }
                                .into_any()
                        }
                    }
                })}
            </Transition>
            <RevokeDialog target=revoke reload=reload id="revoke-own-token" />
        </section>
    }
}

/// One token row; `owner` is shown on the tenant list.
fn token_row(
    t: ApiToken,
    owner: Option<String>,
    revoke: RwSignal<Option<RevokeTarget>>,
    tenant: bool,
) -> impl IntoView {
    let target = RevokeTarget {
        id: t.id.clone(),
        name: t.name.clone(),
        tenant,
    };
    let label = format!("Revoke token {}", t.name);
    view! {
        <tr data-token-id=t.id.to_string()>
            <td>{t.name.clone()}</td>
            {owner.map(|o| view! { <td>{o}</td> })}
            <td>
                <code>{format!("{}…", t.token_prefix)}</code>
            </td>
            <td>{scope_label(t.scope)}</td>
            <td>{time(&t.created_at)}</td>
            <td>{match t.expires_at.as_ref() { Some(at) => time(at).into_any(), None => "Never".into_any() }}</td>
            <td>{opt_time(t.last_used_at.as_ref())}</td>
            <td class="actions">
                <button
                    type="button"
                    class="danger"
                    data-token-action="revoke"
                    aria-label=label
                    on:click=move |_| revoke.set(Some(target.clone()))
                >
                    "Revoke"
                </button>
            </td>
        </tr>
    }
}

/// Confirms and performs a revocation (own tokens or, with `tenant`, anyone's).
#[component]
fn RevokeDialog(
    target: RwSignal<Option<RevokeTarget>>,
    reload: RwSignal<u32>,
    #[prop(into)] id: String,
) -> impl IntoView {
    let notices = use_notices();
    let open = RwSignal::new(false);
    let pending = RwSignal::new(false);
    Effect::new(move |_| {
        let want = target.with(|t| t.is_some());
        if open.get_untracked() != want {
            open.set(want);
        }
    });
    Effect::new(move |_| {
        if !open.get() && target.with_untracked(|t| t.is_some()) {
            target.set(None);
        }
    });
    let confirm = move |_| {
        let Some(t) = target.get_untracked() else {
            return;
        };
        pending.set(true);
        leptos::task::spawn_local(async move {
            let result = if t.tenant {
                api::tokens::revoke_tenant(&t.id).await
            } else {
                api::tokens::revoke_mine(&t.id).await
            };
            pending.set(false);
            match result {
                Ok(()) => {
                    notices.ok(format!("Token “{}” revoked", t.name));
                    target.set(None);
                    reload.update(|n| *n += 1);
                }
                Err(e) => notices.error(&e),
            }
        });
    };
    let confirm_id = format!("{id}-confirm");
    view! {
        <Dialog open=open title="Revoke token" id=id>
            <p>
                "Revoke “" {move || target.with(|t| t.as_ref().map(|t| t.name.clone()).unwrap_or_default())}
                "”? Scripts using it stop working at once. This cannot be undone."
            </p>
            <div class="buttons">
                <button type="button" class="danger" id=confirm_id.clone() disabled=move || pending.get() on:click=confirm>
                    {move || if pending.get() { "Revoking…" } else { "Revoke" }}
                </button>
                <button type="button" class="secondary" on:click=move |_| target.set(None)>
                    "Cancel"
                </button>
            </div>
        </Dialog>
    }
}

#[component]
fn TenantTokens(reload: RwSignal<u32>) -> impl IntoView {
    let revoke = RwSignal::new(None::<RevokeTarget>);
    let list = resource(move || {
        reload.track();
        async move { api::tokens::tenant(&ALL).await }
    });
    view! {
        <section class="panel" aria-labelledby="tenant-tokens-title">
            <h2 id="tenant-tokens-title">"All tokens of the tenant"</h2>
            <p class="hint">"Every user's tokens that are not revoked. Revoke a token that should no longer work."</p>
            <Transition fallback=|| view! { <Loading what="the tenant's tokens" /> }>
                {move || suspend(async move {
                    match list.await {
                        Err(e) => view! { <ErrorMessage error=e /> }.into_any(),
                        Ok(page) if page.items.is_empty() => {
                            view! { <Empty text="No user of the tenant has an API token." /> }.into_any()
                        }
                        Ok(page) => {
                            let more = page.next_cursor.is_some();
                            view! {
                                <div class="table-wrap" tabindex="0" role="region" aria-label="Table, scrolls sideways on a narrow screen">
                                    <table id="tenant-tokens" aria-label="All API tokens of the tenant">
                                        <thead>
                                            <tr>
                                                <th scope="col">"Name"</th>
                                                <th scope="col">"Owner"</th>
                                                <th scope="col">"Prefix"</th>
                                                <th scope="col">"Scope"</th>
                                                <th scope="col">"Created"</th>
                                                <th scope="col">"Expires"</th>
                                                <th scope="col">"Last used"</th>
                                                <th scope="col">"Actions"</th>
                                            </tr>
                                        </thead>
                                        <tbody>
                                            {page
                                                .items
                                                .into_iter()
                                                .map(|t| token_row(t.token, Some(t.user_display_name), revoke, true))
                                                .collect_view()}
                                        </tbody>
                                    </table>
                                </div>
                                {more.then(|| view! { <p class="hint">"Only the first 200 tokens are shown."</p> })}
                            }
                                .into_any()
                        }
                    }
                })}
            </Transition>
            <RevokeDialog target=revoke reload=reload id="revoke-tenant-token" />
        </section>
    }
}
