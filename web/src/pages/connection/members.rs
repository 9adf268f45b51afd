//! Members and their roles; leaving the connection (SPEC S5).

use super::*;
use crate::components::ui::{resource, suspend};

#[component]
pub(super) fn MembersSection(ctx: Ctx) -> impl IntoView {
    let busy = RwSignal::new(false);
    let left = RwSignal::new(false);
    let members = resource(move || {
        let id = ctx.id.get();
        async move { api::connections::members(&id).await }
    });

    let remove = move |user_id: UserId, name: String, role: ConnectionRole| {
        ctx.ask(
            format!("Remove the {} role from {name}?", role.label()),
            "Remove role",
            None,
            move || {
                let id = ctx.id.get_untracked();
                let user_id = user_id.clone();
                write(
                    ctx,
                    busy,
                    async move { api::connections::remove_role(&id, &user_id, role).await },
                    format!("{name} is no longer {}.", role.label()),
                    move |_| {
                        members.refetch();
                        ctx.refresh();
                    },
                    |_| (),
                );
            },
        );
    };

    let leave = move |_| {
        ctx.ask(
            "Leave this connection? You lose all your roles on it; only a new invitation brings you back.",
            "Leave",
            None,
            move || {
                let id = ctx.id.get_untracked();
                write(
                    ctx,
                    busy,
                    async move { api::connections::leave(&id).await },
                    "You left the connection.",
                    move |_| left.set(true),
                    |_| (),
                );
            },
        );
    };
    // The owner cannot leave (409 `owner_must_transfer`): they transfer ownership first.
    let can_leave = move || {
        let roles = ctx.roles();
        !roles.is_empty() && !roles.contains(&ConnectionRole::Owner)
    };
    let is_owner = move || ctx.roles().contains(&ConnectionRole::Owner);

    view! {
        <section class="panel" id="members" aria-labelledby="members-title">
            <h2 id="members-title">"Members"</h2>
            {move || left.get().then(|| view! { <Redirect path="/connections" /> })}
            <Transition fallback=|| view! { <Loading what="members" /> }>
                {move || suspend(async move {
                    match members.await {
                        Err(e) => view! { <ErrorMessage error=e /> }.into_any(),
                        Ok(list) if list.items.is_empty() => view! { <Empty text="No members." /> }.into_any(),
                        Ok(list) => view! {
                            <div class="table-wrap" tabindex="0" role="region" aria-label="Table, scrolls sideways on a narrow screen">
                                <table id="members-table">
                                    <caption>"People with a role on this connection"</caption>
                                    <thead>
                                        <tr>
                                            <th scope="col">"Name"</th>
                                            <th scope="col">"Email"</th>
                                            <th scope="col">"Roles"</th>
                                            <th scope="col">"Hub access"</th>
                                        </tr>
                                    </thead>
                                    <tbody>
                                        {list.items.into_iter().map(|m| {
                                            let name = m.user.display_name.clone();
                                            let user_id = m.user.id.clone();
                                            let roles = m.roles.clone().into_iter().map(|role| {
                                                let name = name.clone();
                                                let user_id = user_id.clone();
                                                let removable = move || {
                                                    role != ConnectionRole::Owner
                                                        && can_remove_role(&ctx.roles(), role)
                                                };
                                                view! {
                                                    <span class="member-role">
                                                        {role_badge(role)}
                                                        {move || removable().then(|| {
                                                            let name = name.clone();
                                                            let user_id = user_id.clone();
                                                            view! {
                                                                <button
                                                                    type="button"
                                                                    class="link"
                                                                    data-remove-role=role.wire_name()
                                                                    aria-label=format!("Remove {} from {}", role.label(), name)
                                                                    disabled=move || busy.get()
                                                                    on:click=move |_| remove(user_id.clone(), name.clone(), role)
                                                                >
                                                                    "Remove"
                                                                </button>
                                                            }
                                                        })}
                                                        " "
                                                    </span>
                                                }
                                            }).collect_view();
                                            view! {
                                                <tr data-member-id=m.user.id.to_string()>
                                                    <td>{m.user.display_name.clone()}</td>
                                                    <td>{m.user.email.clone()}</td>
                                                    <td>{roles}</td>
                                                    <td>{access_badge(m.user.access_level)}</td>
                                                </tr>
                                            }
                                        }).collect_view()}
                                    </tbody>
                                </table>
                            </div>
                        }.into_any(),
                    }
                })}
            </Transition>
            <Show when=is_owner>
                <p class="hint" id="owner-cannot-leave">"As the Subscription Owner you cannot leave: transfer ownership first."</p>
            </Show>
            <Show when=can_leave>
                <div class="buttons">
                    <button type="button" class="danger" id="leave-connection" data-leave="" disabled=move || busy.get() on:click=leave>
                        "Leave this connection"
                    </button>
                </div>
            </Show>
        </section>
    }
}
