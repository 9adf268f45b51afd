//! My invitations: the pending invitations addressed to the caller, to accept or decline
//! (SPEC S5.1). Accepting an owner invitation is the ownership transfer (S5.3).

use hubkeep_shared::{ConnectionId, ConnectionRole, InvitationId};
use leptos::prelude::*;
use leptos_router::components::A;

use crate::api::{self, ClientError};
use crate::components::error::ErrorMessage;
use crate::components::ui::{Empty, Loading, time, use_me, use_notices};
use crate::components::ui::{resource, suspend};
use hubkeep_shared::api::{InvitationStatus, MyInvitation};

/// The role an invitation offers, as people read it.
fn role_text(role: ConnectionRole) -> String {
    match role {
        ConnectionRole::Owner => "Subscription Owner (ownership transfer)".to_owned(),
        other => other.label().to_owned(),
    }
}

fn invitation_badge(status: &str) -> impl IntoView + use<> {
    let (class, text) = match status {
        "pending" => ("badge warn", "Pending"),
        "accepted" => ("badge ok", "Accepted"),
        "declined" => ("badge bad", "Declined"),
        "revoked" => ("badge bad", "Revoked"),
        "expired" => ("badge bad", "Expired"),
        _ => ("badge", status),
    };
    view! { <span class=class data-status=status.to_owned()>{text.to_owned()}</span> }
}

/// What the last accept granted, shown with a link to the connection.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Accepted {
    connection_id: ConnectionId,
    connection_name: String,
    role: ConnectionRole,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Response {
    Accept,
    Decline,
}

#[component]
pub fn InvitationsPage() -> impl IntoView {
    let me = use_me();
    let notices = use_notices();
    let reload = RwSignal::new(0u32);
    // The invitation being answered (its buttons are disabled meanwhile).
    let pending = RwSignal::new(None::<InvitationId>);
    let accepted = RwSignal::new(None::<Accepted>);

    let invitations = resource(move || {
        reload.track();
        async move { api::invitations::mine().await.map(|i| i.items) }
    });

    let respond = move |inv: MyInvitation, response: Response| {
        if pending.get_untracked().is_some() {
            return;
        }
        let id = inv.invitation.id.clone();
        pending.set(Some(id.clone()));
        leptos::task::spawn_local(async move {
            let result = match response {
                Response::Accept => api::invitations::accept(&id).await,
                Response::Decline => api::invitations::decline(&id).await,
            };
            pending.set(None);
            match result {
                Ok(_) => {
                    match response {
                        Response::Accept => {
                            let role = inv.invitation.role;
                            let shown = match role {
                                ConnectionRole::Owner => "Subscription Owner",
                                other => other.label(),
                            };
                            notices.ok(format!("You are now {shown} on {}.", inv.connection_name));
                            accepted.set(Some(Accepted {
                                connection_id: inv.invitation.connection_id.clone(),
                                connection_name: inv.connection_name.clone(),
                                role,
                            }));
                        }
                        Response::Decline => {
                            notices.ok(format!(
                                "You declined the invitation to {}.",
                                inv.connection_name
                            ));
                        }
                    }
                    reload.update(|n| *n += 1);
                    me.refresh();
                }
                Err(e) => {
                    notices.error(&e);
                    // Expired, or no longer pending: show the list as it is now.
                    // (410 `invitation_expired`, 409 `conflict`, 404 …)
                    if matches!(e, ClientError::Problem(_)) {
                        reload.update(|n| *n += 1);
                        me.refresh();
                    }
                }
            }
        });
    };

    view! {
        <div class="page-head">
            <h1>"My invitations"</h1>
        </div>
        {move || {
            accepted
                .get()
                .map(|a| {
                    let href = format!("/connections/{}", api::seg(&a.connection_id));
                    let shown = match a.role {
                        ConnectionRole::Owner => "Subscription Owner",
                        other => other.label(),
                    };
                    view! {
                        <p class="notice ok" role="status" id="invitation-accepted">
                            <span>
                                "You are now "{shown}" on "
                                <A href=href attr:data-connection-id=a.connection_id.to_string()>
                                    {a.connection_name.clone()}
                                </A>"."
                            </span>
                            <button
                                type="button"
                                class="link"
                                aria-label="Dismiss"
                                on:click=move |_| accepted.set(None)
                            >
                                "×"
                            </button>
                        </p>
                    }
                })
        }}
        <Transition fallback=|| view! { <Loading what="your invitations" /> }>
            {move || suspend(async move {
                match invitations.await {
                    Err(e) => view! { <ErrorMessage error=e /> }.into_any(),
                    Ok(list) if list.is_empty() => {
                        view! { <Empty text="No invitations for you." /> }.into_any()
                    }
                    Ok(list) => {
                        view! {
                            <div class="table-wrap" tabindex="0" role="region" aria-label="Table, scrolls sideways on a narrow screen">
                                <table id="invitations-table">
                                    <caption>"Invitations addressed to you"</caption>
                                    <thead>
                                        <tr>
                                            <th scope="col">"Connection"</th>
                                            <th scope="col">"Kind"</th>
                                            <th scope="col">"Role"</th>
                                            <th scope="col">"Invited"</th>
                                            <th scope="col">"Expires"</th>
                                            <th scope="col">"Status"</th>
                                            <th scope="col">"Actions"</th>
                                        </tr>
                                    </thead>
                                    <tbody>
                                        {list
                                            .into_iter()
                                            .map(|inv| {
                                                let id = inv.invitation.id.clone();
                                                let is_pending = inv.invitation.status == InvitationStatus::Pending;
                                                let busy = {
                                                    let id = id.clone();
                                                    move || pending.with(|p| p.as_ref() == Some(&id))
                                                };
                                                let any_busy = move || pending.with(Option::is_some);
                                                let accept_inv = inv.clone();
                                                let decline_inv = inv.clone();
                                                let name = inv.connection_name.clone();
                                                view! {
                                                    <tr data-invitation-id=id.to_string()>
                                                        <td>{inv.connection_name.clone()}</td>
                                                        <td>{inv.connection_kind.label()}</td>
                                                        <td>{role_text(inv.invitation.role)}</td>
                                                        <td>{time(&inv.invitation.created_at)}</td>
                                                        <td>{time(&inv.invitation.expires_at)}</td>
                                                        <td>
                                                            {invitation_badge(inv.invitation.status.as_str())}
                                                            {move || busy().then(|| view! { " "<span class="meta">"Saving…"</span> })}
                                                        </td>
                                                        <td class="actions">
                                                            {is_pending
                                                                .then(|| {
                                                                    view! {
                                                                        <button
                                                                            type="button"
                                                                            data-invitation-action="accept"
                                                                            aria-label=format!("Accept the invitation to {name}")
                                                                            disabled=any_busy
                                                                            on:click=move |_| respond(accept_inv.clone(), Response::Accept)
                                                                        >
                                                                            "Accept"
                                                                        </button>
                                                                        <button
                                                                            type="button"
                                                                            class="secondary"
                                                                            data-invitation-action="decline"
                                                                            aria-label=format!("Decline the invitation to {name}")
                                                                            disabled=any_busy
                                                                            on:click=move |_| respond(decline_inv.clone(), Response::Decline)
                                                                        >
                                                                            "Decline"
                                                                        </button>
                                                                    }
                                                                })}
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
    }
}
