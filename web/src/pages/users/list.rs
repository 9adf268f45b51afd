//! The Users tab: the list of hub users, its sort, filters and search, pages and the refresh from the PSA.

use super::*;
use crate::components::ui::{resource, suspend};

/// One shown row: a serial (the `<For>` key, new for every load) and the row's data.
#[derive(Clone)]
struct Row {
    serial: u64,
    item: ArcRwSignal<UserListItem>,
}

/// The list's state: the rows shown, the cursor of the next page, whether the first page
/// is (re)loading (the `Transition` says so) and the sort and filters.
#[derive(Clone, Copy)]
pub(super) struct UserList {
    rows: RwSignal<Vec<Row>>,
    next: RwSignal<Option<String>>,
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

    /// The first page's query, tracking the sort and filters (the resource loads it again
    /// whenever one of them changes).
    fn first_query(&self) -> UserQuery {
        self.sort.track();
        self.desc.track();
        self.q.track();
        self.active.track();
        self.access.track();
        self.query(None)
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

    /// Shows a freshly loaded first page (replacing what is shown); a `Load more` still in
    /// flight for the previous one is dropped.
    fn show(&self, page: Page<UserListItem>) {
        self.generation.update_value(|g| *g += 1);
        let rows = self.wrap(page.items);
        self.rows.set(rows);
        self.next.set(page.next_cursor);
        self.more_busy.set(false);
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
pub(super) fn UsersTab() -> impl IntoView {
    let me = use_me();
    let notices = use_notices();
    let list = UserList::new();

    // The first page, and again whenever the sort or a filter changes.
    let first = resource(move || {
        let query = list.first_query();
        async move { api::users::list(&query).await }
    });
    let failed = move || first.with(|r| matches!(r, Some(Err(_))));

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
                    first.refetch();
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
            <Transition>
                {move || suspend(async move {
                    first.await.err().map(|e| view! { <ErrorMessage error=e /> })
                })}
            </Transition>
            <Show when=move || !failed()>
                <div class="table-wrap" tabindex="0" role="region" aria-label="Table, scrolls sideways on a narrow screen">
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
                            <Transition set_pending=list.loading>
                                {move || suspend(async move {
                                    if let Ok(page) = first.await {
                                        list.show(page);
                                    }
                                    view! {
                                        <For
                                            each=move || list.rows.get()
                                            key=|row| row.serial
                                            children=move |row| view! { <UserRow item=row.item /> }
                                        />
                                    }
                                })}
                            </Transition>
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
