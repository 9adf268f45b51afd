//! The Users page (SPEC S2, S2.2, S9): the Users tab (list, sort, filter, activate or
//! deactivate, set elevation, refresh from the PSA) and the Access tab (the saved set of
//! elevated security levels). Elevated users only (G7): what each row offers comes from the
//! row's `actions`, the tabs and page buttons from `/me`.

use std::collections::BTreeSet;

use hubkeep_shared::{Elevation, HubAction, LevelFact, ProblemCode, UserAction};
use leptos::prelude::*;
use leptos_router::components::A;
use leptos_router::hooks::use_location;

use crate::api::{self, ClientError};
use crate::components::error::ErrorMessage;
use crate::components::ui::{
    Dialog, Empty, Loading, MeCtx, Notices, access_badge, describe, fmt_time, use_me, use_notices,
};
use hubkeep_shared::api::{
    ElevatedLevels, SecurityLevel, SortOrder, UserListItem, UserPatch, UserQuery,
};

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

// ---------------------------------------------------------------------------------------
// The Users tab
// ---------------------------------------------------------------------------------------

/// One shown row: a serial (the `<For>` key, new for every load) and the row's data.
#[derive(Clone)]
struct Row {
    serial: u64,
    item: ArcRwSignal<UserListItem>,
}

/// The list's state: the rows shown, the cursor of the next page, the load in flight.
#[derive(Clone, Copy)]
struct UserList {
    rows: RwSignal<Vec<Row>>,
    next: RwSignal<Option<String>>,
    error: RwSignal<Option<ClientError>>,
    loading: RwSignal<bool>,
    more_busy: RwSignal<bool>,
    generation: StoredValue<u64>,
    serial: StoredValue<u64>,
    sort: RwSignal<&'static str>,
    desc: RwSignal<bool>,
    q: RwSignal<String>,
    active: RwSignal<String>,
    access: RwSignal<String>,
}

impl UserList {
    fn new() -> Self {
        Self {
            rows: RwSignal::new(Vec::new()),
            next: RwSignal::new(None),
            error: RwSignal::new(None),
            loading: RwSignal::new(true),
            more_busy: RwSignal::new(false),
            generation: StoredValue::new(0),
            serial: StoredValue::new(0),
            sort: RwSignal::new("name"),
            desc: RwSignal::new(false),
            q: RwSignal::new(String::new()),
            active: RwSignal::new(String::new()),
            access: RwSignal::new(String::new()),
        }
    }

    /// The list query for the current sort and filters, at `cursor`.
    fn query(&self, cursor: Option<String>) -> UserQuery {
        let q = self.q.get_untracked().trim().to_owned();
        let active = match self.active.get_untracked().as_str() {
            "active" => Some(true),
            "inactive" => Some(false),
            _ => None,
        };
        UserQuery {
            sort: self.sort.get_untracked().parse().ok(),
            order: Some(if self.desc.get_untracked() {
                SortOrder::Desc
            } else {
                SortOrder::Asc
            }),
            q: (!q.is_empty()).then_some(q),
            active,
            access_level: self.access.get_untracked().parse().ok(),
            limit: Some(PAGE_SIZE),
            cursor,
        }
    }

    fn wrap(&self, items: Vec<UserListItem>) -> Vec<Row> {
        let first = self.serial.get_value();
        self.serial.set_value(first + items.len() as u64);
        items
            .into_iter()
            .enumerate()
            .map(|(i, item)| Row {
                serial: first + i as u64,
                item: ArcRwSignal::new(item),
            })
            .collect()
    }

    /// Loads the first page again (replacing what is shown).
    fn reload(&self) {
        let this = *self;
        let Some(generation) = this.generation.try_get_value().map(|g| g + 1) else {
            return;
        };
        this.generation.set_value(generation);
        this.loading.set(true);
        this.error.set(None);
        let query = this.query(None);
        leptos::task::spawn_local(async move {
            let result = api::users::list(&query).await;
            if this.generation.try_get_value() != Some(generation) {
                return; // a newer load replaced this one, or the page is gone
            }
            match result {
                Ok(page) => {
                    let rows = this.wrap(page.items);
                    this.rows.set(rows);
                    this.next.set(page.next_cursor);
                }
                Err(e) => {
                    this.rows.set(Vec::new());
                    this.next.set(None);
                    this.error.set(Some(e));
                }
            }
            this.loading.set(false);
            this.more_busy.set(false);
        });
    }

    /// Appends the next page.
    fn more(&self, notices: Notices) {
        let this = *self;
        let Some(cursor) = this.next.get_untracked() else {
            return;
        };
        if this.more_busy.get_untracked() {
            return;
        }
        this.more_busy.set(true);
        let generation = this.generation.get_value();
        let query = this.query(Some(cursor));
        leptos::task::spawn_local(async move {
            let result = api::users::list(&query).await;
            if this.generation.try_get_value() != Some(generation) {
                return;
            }
            match result {
                Ok(page) => {
                    let rows = this.wrap(page.items);
                    this.rows.update(|r| r.extend(rows));
                    this.next.set(page.next_cursor);
                }
                Err(e) => notices.error(&e),
            }
            this.more_busy.set(false);
        });
    }

    /// Sorts by `column`: toggles the order when already sorted by it, else ascending.
    fn sort_by(&self, column: &'static str) {
        if self.sort.get_untracked() == column {
            self.desc.update(|d| *d = !*d);
        } else {
            self.sort.set(column);
            self.desc.set(false);
        }
    }
}

#[component]
fn UsersTab() -> impl IntoView {
    let me = use_me();
    let notices = use_notices();
    let list = UserList::new();

    // The first page, and again whenever the sort or a filter changes.
    Effect::new(move |_| {
        list.sort.track();
        list.desc.track();
        list.q.track();
        list.active.track();
        list.access.track();
        list.reload();
    });

    // The search box: typing settles for a moment before the list is asked again.
    let search_text = RwSignal::new(String::new());
    let on_search = move |ev: leptos::ev::Event| {
        let value = event_target_value(&ev);
        search_text.set(value.clone());
        set_timeout(
            move || {
                if search_text.try_get_untracked().as_deref() == Some(value.as_str())
                    && list.q.try_get_untracked().is_some_and(|q| q != value)
                {
                    list.q.set(value);
                }
            },
            std::time::Duration::from_millis(SEARCH_DEBOUNCE_MS),
        );
    };

    let refreshing = RwSignal::new(false);
    let refresh_users = move |_| {
        refreshing.set(true);
        leptos::task::spawn_local(async move {
            let result = api::users::refresh().await;
            // `Some`: the signal is disposed, the page is gone.
            if refreshing.try_set(false).is_some() {
                return;
            }
            match result {
                Ok(s) => {
                    let users = if s.checked == 1 { "user" } else { "users" };
                    notices.ok(format!(
                        "Checked {} {users}, {} changed",
                        s.checked, s.changed
                    ));
                    list.reload();
                    me.refresh();
                }
                Err(e) => notices.error(&e),
            }
        });
    };

    let sort_header = move |column: &'static str, title: &'static str| {
        let aria_sort = move || {
            if list.sort.get() != column {
                "none"
            } else if list.desc.get() {
                "descending"
            } else {
                "ascending"
            }
        };
        view! {
            <th scope="col" aria-sort=aria_sort>
                <button
                    type="button"
                    class="sort"
                    data-sort=column
                    on:click=move |_| list.sort_by(column)
                >
                    {title}
                </button>
            </th>
        }
    };

    view! {
        <section id="users-tab">
            <div class="toolbar">
                <label class="field">
                    <span>"Search users"</span>
                    <input
                        type="search"
                        id="users-search"
                        placeholder="Name or email"
                        autocomplete="off"
                        on:input=on_search
                    />
                </label>
                <label class="field">
                    <span>"Active"</span>
                    <select
                        id="users-active"
                        on:change=move |ev| list.active.set(event_target_value(&ev))
                    >
                        <option value="" selected=true>"All users"</option>
                        <option value="active">"Active"</option>
                        <option value="inactive">"Inactive"</option>
                    </select>
                </label>
                <label class="field">
                    <span>"Access level"</span>
                    <select
                        id="users-access"
                        on:change=move |ev| list.access.set(event_target_value(&ev))
                    >
                        <option value="" selected=true>"All levels"</option>
                        <option value="elevated">"Elevated"</option>
                        <option value="limited">"Limited"</option>
                        <option value="none">"No access"</option>
                    </select>
                </label>
                {move || {
                    me.can(HubAction::RefreshUsers)
                        .then(|| {
                            view! {
                                <button
                                    type="button"
                                    class="secondary"
                                    id="refresh-users"
                                    data-hub-action="refresh_users"
                                    disabled=move || refreshing.get()
                                    on:click=refresh_users
                                >
                                    {move || {
                                        if refreshing.get() {
                                            "Refreshing…"
                                        } else {
                                            "Refresh from PSA"
                                        }
                                    }}
                                </button>
                            }
                        })
                }}
            </div>
            {move || {
                list.error.get().map(|e| view! { <ErrorMessage error=e /> })
            }}
            <Show when=move || list.error.with(|e| e.is_none())>
                <div class="table-wrap">
                    <table id="users-table" aria-busy=move || list.loading.get().to_string()>
                        <caption>
                            "Hub users (people who have signed in at least once)"
                            {move || list.loading.get().then_some(" — loading…")}
                        </caption>
                        <thead>
                            <tr>
                                {sort_header("name", "Name")}
                                {sort_header("security_level", "Security Level")}
                                {sort_header("access_level", "Access Level")}
                                {sort_header("last_accessed", "Last Accessed")}
                                <th scope="col">"Active"</th>
                                <th scope="col">"Elevation"</th>
                            </tr>
                        </thead>
                        <tbody>
                            <For
                                each=move || list.rows.get()
                                key=|row| row.serial
                                children=move |row| view! { <UserRow item=row.item /> }
                            />
                        </tbody>
                    </table>
                </div>
                {move || {
                    let empty = list.rows.with(|r| r.is_empty());
                    if !empty {
                        ().into_any()
                    } else if list.loading.get() {
                        view! { <Loading what="users" /> }.into_any()
                    } else {
                        view! { <Empty text="No users match." /> }.into_any()
                    }
                }}
                <Show when=move || list.next.with(|n| n.is_some())>
                    <div class="buttons">
                        <button
                            type="button"
                            class="secondary"
                            id="users-more"
                            disabled=move || list.more_busy.get() || list.loading.get()
                            on:click=move |_| list.more(notices)
                        >
                            {move || if list.more_busy.get() { "Loading…" } else { "Load more" }}
                        </button>
                    </div>
                </Show>
            </Show>
        </section>
    }
}

/// How an elevation reads.
fn elevation_label(e: Elevation) -> &'static str {
    match e {
        Elevation::Inherit => "From security level",
        Elevation::Granted => "Granted",
        Elevation::Revoked => "Revoked",
    }
}

/// The action that sets `e`.
fn elevation_action(e: Elevation) -> UserAction {
    match e {
        Elevation::Inherit => UserAction::InheritElevation,
        Elevation::Granted => UserAction::GrantElevation,
        Elevation::Revoked => UserAction::RevokeElevation,
    }
}

/// Sends one change of a row: applies it at once, replaces the row with the answer, or
/// puts the row back and says why.
fn save_row(
    item: RwSignal<UserListItem>,
    pending: RwSignal<bool>,
    me: MeCtx,
    notices: Notices,
    changes: UserPatch,
    optimistic: impl FnOnce(&mut UserListItem),
    done: impl FnOnce(&UserListItem) -> String + 'static,
) {
    let before = item.get_untracked();
    let is_me = before.user.id == me.user_id();
    item.update(optimistic);
    pending.set(true);
    leptos::task::spawn_local(async move {
        let result = api::users::update(&before.user.id, &changes)
            .await
            .map(UserListItem::from);
        let _ = pending.try_set(false);
        match result {
            Ok(answer) => {
                notices.ok(done(&answer));
                let _ = item.try_set(answer);
                if is_me {
                    me.refresh();
                }
            }
            Err(e) => {
                let _ = item.try_set(before.clone());
                notices.error_text(format!(
                    "Could not change {}: {}",
                    before.user.display_name,
                    describe(&e)
                ));
            }
        }
    });
}

#[component]
fn UserRow(item: ArcRwSignal<UserListItem>) -> impl IntoView {
    let item: RwSignal<UserListItem> = item.into();
    let me = use_me();
    let notices = use_notices();
    let pending = RwSignal::new(false);

    let id = item.with_untracked(|i| i.user.id.clone());
    let is_self = move || me.user_id() == id;
    let name = move || item.with(|i| i.user.display_name.clone());

    // The Active checkbox.
    let toggle_action = move || {
        item.with(|i| {
            let action = if i.user.active {
                UserAction::Deactivate
            } else {
                UserAction::Activate
            };
            i.actions.contains(&action).then_some(action)
        })
    };
    let toggle_enabled = move || toggle_action().is_some() && !pending.get();
    let toggle_title = {
        let is_self = is_self.clone();
        move || {
            if toggle_enabled() {
                None
            } else if pending.get() {
                Some("Saving…")
            } else if is_self() {
                Some("You cannot deactivate yourself")
            } else if item.with(|i| i.user.is_primary) {
                Some("The primary user cannot be changed")
            } else {
                Some("Not available")
            }
        }
    };
    let on_toggle = move |ev: leptos::ev::Event| {
        let active = event_target_checked(&ev);
        save_row(
            item,
            pending,
            me,
            notices,
            UserPatch {
                active: Some(active),
                elevation: None,
            },
            move |i| i.user.active = active,
            move |answer| {
                format!(
                    "{} {}",
                    answer.user.display_name,
                    if answer.user.active {
                        "activated"
                    } else {
                        "deactivated"
                    }
                )
            },
        );
    };

    // The elevation control: the current value and the values the row's actions allow.
    let elevation_options = move || {
        item.with(|i| {
            let current = i.user.elevation;
            [Elevation::Inherit, Elevation::Granted, Elevation::Revoked]
                .into_iter()
                .filter_map(|e| {
                    if e == current {
                        Some((e, true, None))
                    } else {
                        let action = elevation_action(e);
                        i.actions
                            .contains(&action)
                            .then_some((e, false, Some(action)))
                    }
                })
                .collect::<Vec<_>>()
        })
    };
    let elevation_offered = move || {
        item.with(|i| {
            [
                UserAction::GrantElevation,
                UserAction::RevokeElevation,
                UserAction::InheritElevation,
            ]
            .iter()
            .any(|a| i.actions.contains(a))
        })
    };
    let elevation_title = {
        let is_self = is_self.clone();
        move || {
            if pending.get() {
                Some("Saving…")
            } else if elevation_offered() {
                None
            } else if item.with(|i| i.user.is_primary) {
                Some("The primary user cannot be changed")
            } else if is_self() {
                Some("You cannot remove your own elevation")
            } else {
                Some("Not available")
            }
        }
    };
    let on_elevation = move |ev: leptos::ev::Event| {
        let Ok(elevation) = event_target_value(&ev).parse::<Elevation>() else {
            return;
        };
        if item.with_untracked(|i| i.user.elevation == elevation) {
            return;
        }
        save_row(
            item,
            pending,
            me,
            notices,
            UserPatch {
                active: None,
                elevation: Some(elevation),
            },
            move |i| i.user.elevation = elevation,
            move |answer| {
                format!(
                    "{}: elevation {}; access is now {}",
                    answer.user.display_name,
                    elevation_label(answer.user.elevation).to_lowercase(),
                    answer.user.access_level
                )
            },
        );
    };

    view! {
        <tr
            data-user-id=item.with_untracked(|i| i.user.id.clone())
            class:inactive=move || item.with(|i| !i.user.active)
        >
            <td>
                <strong>{name}</strong>
                {move || {
                    item.with(|i| i.user.is_primary)
                        .then(|| view! { " " <span class="badge">"Primary"</span> })
                }}
                {move || {
                    is_self().then(|| view! { " " <span class="badge">"You"</span> })
                }}
                <br />
                <span class="meta">{move || item.with(|i| i.user.email.clone())}</span>
            </td>
            <td>{move || item.with(|i| i.user.security_level.name.clone())}</td>
            <td>{move || access_badge(item.with(|i| i.user.access_level))}</td>
            <td>{move || item.with(|i| fmt_time(&i.user.last_accessed_at))}</td>
            <td>
                <input
                    type="checkbox"
                    class="active-toggle"
                    aria-label=move || format!("Active: {}", name())
                    prop:checked=move || item.with(|i| i.user.active)
                    disabled=move || !toggle_enabled()
                    title=toggle_title
                    data-user-action=move || {
                        if pending.get() { None } else { toggle_action().map(|a| a.wire_name()) }
                    }
                    on:change=on_toggle
                />
            </td>
            <td>
                <select
                    class="elevation"
                    aria-label=move || format!("Elevation: {}", name())
                    disabled=move || pending.get() || !elevation_offered()
                    title=elevation_title
                    on:change=on_elevation
                >
                    {move || {
                        elevation_options()
                            .into_iter()
                            .map(|(e, current, action)| {
                                view! {
                                    <option
                                        value=e.to_string()
                                        selected=current
                                        prop:selected=current
                                        data-user-action=action.map(|a| a.wire_name())
                                    >
                                        {elevation_label(e)}
                                    </option>
                                }
                            })
                            .collect_view()
                    }}
                </select>
            </td>
        </tr>
    }
}

// ---------------------------------------------------------------------------------------
// The Access tab
// ---------------------------------------------------------------------------------------

/// A missing fact, in words.
fn fact_words(fact: LevelFact) -> &'static str {
    match fact {
        LevelFact::IsActive => "inactive",
        LevelFact::HubMenu => "no hub menu",
        LevelFact::QboExtensionAdmin => "not QuickBooks extension admin",
        LevelFact::OtherExtensionsAdmin => "not Other Extensions admin",
        LevelFact::ResourceImpersonation => "no resource impersonation",
    }
}

/// The levels and the saved set, as loaded.
#[derive(Clone)]
struct AccessData {
    levels: Vec<SecurityLevel>,
    saved: BTreeSet<i64>,
}

async fn load_access() -> Result<AccessData, ClientError> {
    let (levels, saved) = futures::future::join(
        api::access::security_levels(),
        api::access::elevated_levels(),
    )
    .await;
    Ok(AccessData {
        levels: levels?.items,
        saved: saved?.level_ids.into_iter().collect(),
    })
}

/// The names of `ids`, in the list's order.
fn level_names(levels: &[SecurityLevel], ids: &BTreeSet<i64>) -> Vec<String> {
    let mut names: Vec<String> = levels
        .iter()
        .filter(|l| ids.contains(&l.id))
        .map(|l| l.name.clone())
        .collect();
    // Saved ids the PSA no longer lists.
    for id in ids {
        if !levels.iter().any(|l| l.id == *id) {
            names.push(format!("Level {id} (no longer in the PSA)"));
        }
    }
    names
}

#[component]
fn AccessTab() -> impl IntoView {
    let me = use_me();
    let notices = use_notices();

    let data = RwSignal::new(None::<Result<AccessData, ClientError>>);
    let selected = RwSignal::new(BTreeSet::<i64>::new());
    let filter = RwSignal::new(String::new());
    let saving = RwSignal::new(false);
    let confirm_open = RwSignal::new(false);
    let access_error = RwSignal::new(None::<String>);
    let generation = StoredValue::new(0u64);

    let load = move || {
        let Some(g) = generation.try_get_value().map(|g| g + 1) else {
            return;
        };
        generation.set_value(g);
        leptos::task::spawn_local(async move {
            let result = load_access().await;
            if generation.try_get_value() != Some(g) {
                return;
            }
            if let Ok(d) = &result {
                selected.set(d.saved.clone());
            }
            data.set(Some(result));
        });
    };
    load();

    let levels = move || {
        data.with(|d| match d {
            Some(Ok(d)) => d.levels.clone(),
            _ => Vec::new(),
        })
    };
    let saved = move || {
        data.with(|d| match d {
            Some(Ok(d)) => d.saved.clone(),
            _ => BTreeSet::new(),
        })
    };
    // What Save sends: the selection, without levels that cannot be saved.
    let to_save = Memo::new(move |_| {
        let levels = levels();
        selected.with(|s| {
            s.iter()
                .copied()
                .filter(|id| {
                    levels
                        .iter()
                        .any(|l| l.id == *id && l.eligible_for_elevation)
                })
                .collect::<BTreeSet<i64>>()
        })
    });
    let changed = move || to_save.get() != saved();
    let added = move || {
        to_save
            .get()
            .difference(&saved())
            .copied()
            .collect::<BTreeSet<_>>()
    };
    let removed = move || {
        saved()
            .difference(&to_save.get())
            .copied()
            .collect::<BTreeSet<_>>()
    };

    let toggle = move |id: i64, on: bool| {
        access_error.set(None);
        selected.update(|s| {
            if on {
                s.insert(id);
            } else {
                s.remove(&id);
            }
        });
    };

    let save = move |_| {
        confirm_open.set(false);
        access_error.set(None);
        saving.set(true);
        let level_ids: Vec<i64> = to_save.get_untracked().into_iter().collect();
        leptos::task::spawn_local(async move {
            let result = api::access::save_elevated_levels(&ElevatedLevels { level_ids }).await;
            // `Some`: the signal is disposed, the page is gone.
            if saving.try_set(false).is_some() {
                return;
            }
            match result {
                Ok(saved) => {
                    let n = saved.level_ids.len();
                    notices.ok(format!(
                        "Elevated security levels saved ({n} level{})",
                        if n == 1 { "" } else { "s" }
                    ));
                    load();
                    me.refresh();
                }
                Err(e) => {
                    let text = if e.code() == Some(ProblemCode::SelfDemotionForbidden) {
                        format!(
                            "You cannot save this: you would lose your own elevated access. {}",
                            describe(&e)
                        )
                    } else {
                        describe(&e)
                    };
                    access_error.set(Some(text));
                    notices.error(&e);
                }
            }
        });
    };

    let reset = move |_| {
        access_error.set(None);
        selected.set(saved());
    };

    let list_view = move || {
        let needle = filter.get().trim().to_lowercase();
        let shown: Vec<SecurityLevel> = levels()
            .into_iter()
            .filter(|l| needle.is_empty() || l.name.to_lowercase().contains(&needle))
            .collect();
        if shown.is_empty() {
            return view! { <Empty text="No security level matches." /> }.into_any();
        }
        view! {
            <ul class="choices" role="group" aria-label="Security levels">
                {shown
                    .into_iter()
                    .map(|level| {
                        let id = level.id;
                        let input_id = format!("level-{id}");
                        let eligible = level.eligible_for_elevation;
                        let reason = (!eligible)
                            .then(|| {
                                let missing: Vec<&str> = level
                                    .missing_for_elevation
                                    .iter()
                                    .map(|f| fact_words(*f))
                                    .collect();
                                if missing.is_empty() {
                                    "Not eligible for elevation".to_owned()
                                } else {
                                    format!("Not eligible: {}", missing.join(", "))
                                }
                            });
                        let reason_id = format!("level-{id}-reason");
                        view! {
                            <li class:ineligible=!eligible>
                                <input
                                    type="checkbox"
                                    id=input_id.clone()
                                    data-level-id=id
                                    disabled=!eligible
                                    aria-describedby=(!eligible).then(|| reason_id.clone())
                                    prop:checked=move || selected.with(|s| s.contains(&id))
                                    on:change=move |ev| toggle(id, event_target_checked(&ev))
                                />
                                <label for=input_id>{level.name.clone()}</label>
                                {level
                                    .elevated
                                    .then(|| view! { <span class="badge elevated">"Saved"</span> })}
                                {reason
                                    .map(|r| {
                                        view! {
                                            <span class="hint" id=reason_id.clone()>
                                                {r}
                                            </span>
                                        }
                                    })}
                            </li>
                        }
                    })
                    .collect_view()}
            </ul>
        }
        .into_any()
    };

    view! {
        <section id="access-tab">
            <p class="lead">
                "Users whose security level is selected here are elevated (unless a user's "
                "elevation is set on the Users tab). Only levels eligible for elevation can be "
                "selected."
            </p>
            {move || {
                access_error
                    .get()
                    .map(|text| {
                        view! {
                            <div class="error" role="alert" id="access-error">
                                <p>{text}</p>
                            </div>
                        }
                    })
            }}
            {move || match data.get() {
                None => view! { <Loading what="security levels" /> }.into_any(),
                Some(Err(e)) => view! { <ErrorMessage error=e /> }.into_any(),
                Some(Ok(d)) if d.levels.is_empty() => {
                    view! { <Empty text="The PSA lists no security levels." /> }.into_any()
                }
                Some(Ok(_)) => {
                    view! {
                        <div class="toolbar">
                            <label class="field">
                                <span>"Filter security levels"</span>
                                <input
                                    type="search"
                                    id="levels-filter"
                                    autocomplete="off"
                                    placeholder="Type to filter"
                                    prop:value=move || filter.get()
                                    on:input=move |ev| filter.set(event_target_value(&ev))
                                />
                            </label>
                            <p class="status" role="status">
                                {move || format!("{} selected", to_save.get().len())}
                            </p>
                        </div>
                        {list_view}
                        <div class="buttons">
                            <button
                                type="button"
                                id="save-levels"
                                data-hub-action="manage_access"
                                disabled=move || saving.get() || !changed()
                                on:click=move |_| confirm_open.set(true)
                            >
                                {move || if saving.get() { "Saving…" } else { "Save" }}
                            </button>
                            <button
                                type="button"
                                class="secondary"
                                id="reset-levels"
                                disabled=move || saving.get() || !changed()
                                on:click=reset
                            >
                                "Reset"
                            </button>
                        </div>
                    }
                        .into_any()
                }
            }}
            <Dialog open=confirm_open title="Save elevated security levels" id="confirm-levels">
                {move || {
                    let levels = levels();
                    let added = level_names(&levels, &added());
                    let removed = level_names(&levels, &removed());
                    view! {
                        <p>"Users on these security levels gain or lose elevated access."</p>
                        {(!added.is_empty())
                            .then(|| {
                                view! {
                                    <h3>"Added"</h3>
                                    <ul class="levels-added">
                                        {added.into_iter().map(|n| view! { <li>{n}</li> }).collect_view()}
                                    </ul>
                                }
                            })}
                        {(!removed.is_empty())
                            .then(|| {
                                view! {
                                    <h3>"Removed"</h3>
                                    <ul class="levels-removed">
                                        {removed.into_iter().map(|n| view! { <li>{n}</li> }).collect_view()}
                                    </ul>
                                }
                            })}
                    }
                }}
                <div class="buttons">
                    <button
                        type="button"
                        id="confirm-levels-save"
                        data-hub-action="manage_access"
                        disabled=move || saving.get()
                        on:click=save
                    >
                        "Save"
                    </button>
                    <button type="button" class="secondary" on:click=move |_| confirm_open.set(false)>
                        "Cancel"
                    </button>
                </div>
            </Dialog>
        </section>
    }
}
