//! One row of the Users tab: the Active checkbox and the elevation control, each saved as a patch of the user.

use super::*;

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
    let is_me = me.is_me(&before.user.id);
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
pub(super) fn UserRow(item: ArcRwSignal<UserListItem>) -> impl IntoView {
    let item: RwSignal<UserListItem> = item.into();
    let me = use_me();
    let notices = use_notices();
    let pending = RwSignal::new(false);

    let id = item.with_untracked(|i| i.user.id.clone());
    let is_self = move || me.is_me(&id);
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
            data-user-id=item.with_untracked(|i| i.user.id.to_string())
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
            <td>{move || item.with(|i| time(&i.user.last_accessed_at))}</td>
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
