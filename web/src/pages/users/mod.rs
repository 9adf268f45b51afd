//! The Users page (SPEC S2, S2.2, S9): the Users tab (list, sort, filter, activate or
//! deactivate, set elevation, refresh from the PSA) and the Access tab (the saved set of
//! elevated security levels). Elevated users only (G7): what each row offers comes from the
//! row's `actions`, the tabs and page buttons from `/me`.
//!
//! `list` holds the Users tab (its sort, filters, search and pages), `row` one user's row
//! (the Active checkbox and the elevation control, each saved as a patch of the user) and
//! `access` the Access tab (the elevated security levels).

use std::collections::BTreeSet;

use hubkeep_shared::{Elevation, HubAction, LevelFact, ProblemCode, UserAction};
use leptos::prelude::*;
use leptos_router::components::A;
use leptos_router::hooks::use_location;

use crate::api::{self, ClientError};
use crate::components::error::ErrorMessage;
use crate::components::ui::{
    Dialog, Empty, Loading, MeCtx, Notices, access_badge, describe, time, use_me, use_notices,
};
use hubkeep_shared::api::{
    ElevatedLevels, Page, SecurityLevel, SortOrder, UserListItem, UserPatch, UserQuery,
};

mod access;
mod list;
mod row;

use access::*;
use list::*;
use row::*;

/// How many users a page asks for.
const PAGE_SIZE: u64 = 50;
/// How long the search box waits for typing to stop.
const SEARCH_DEBOUNCE_MS: u64 = 300;

#[component]
pub fn UsersPage() -> impl IntoView {
    let me = use_me();
    let location = use_location();
    let on_access = Memo::new(move |_| {
        location
            .pathname
            .get()
            .trim_end_matches('/')
            .ends_with("/access")
    });
    // Memos, so that reloading `/me` (after a change to oneself) does not remount the tabs.
    let loaded = Memo::new(move |_| me.me.with(|m| m.is_some()));
    let can_users = Memo::new(move |_| me.can(HubAction::ManageUsers));
    let can_access = Memo::new(move |_| me.can(HubAction::ManageAccess));

    view! {
        <div class="page-head">
            <h1>"Users"</h1>
        </div>
        {move || {
            if !loaded.get() {
                return view! { <Loading what="your access" /> }.into_any();
            }
            if !can_users.get() {
                return view! {
                    <section class="card">
                        <p>
                            "Managing users and access needs elevated hub access. "
                            "Ask an elevated user of your organization if you need it."
                        </p>
                    </section>
                }
                    .into_any();
            }
            let can_access = can_access.get();
            let access = on_access.get();
            view! {
                <div role="tablist" aria-label="Users and access">
                    <A
                        href="/users"
                        attr:id="tab-users"
                        attr:role="tab"
                        attr:aria-selected=(!access).to_string()
                        attr:aria-controls="users-panel"
                        attr:data-hub-action="manage_users"
                    >
                        "Users"
                    </A>
                    {can_access
                        .then(|| {
                            view! {
                                <A
                                    href="/users/access"
                                    attr:id="tab-access"
                                    attr:role="tab"
                                    attr:aria-selected=access.to_string()
                                    attr:aria-controls="users-panel"
                                    attr:data-hub-action="manage_access"
                                >
                                    "Access"
                                </A>
                            }
                        })}
                </div>
                <div
                    role="tabpanel"
                    id="users-panel"
                    aria-labelledby=if access { "tab-access" } else { "tab-users" }
                >
                    {if !access {
                        view! { <UsersTab /> }.into_any()
                    } else if can_access {
                        view! { <AccessTab /> }.into_any()
                    } else {
                        view! {
                            <section class="card">
                                <p>"The Access tab needs elevated hub access."</p>
                            </section>
                        }
                            .into_any()
                    }}
                </div>
            }
                .into_any()
        }}
    }
}
