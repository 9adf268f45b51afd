//! Invitations and the ownership transfer (SPEC S5.1, S5.3).

use super::*;
use crate::components::ui::suspend;

pub(super) fn invitee_text(i: &Invitation) -> String {
    match (&i.invitee.email, &i.invitee.user_id) {
        (Some(email), _) => email.clone(),
        (None, Some(id)) => format!("Hub user {id}"),
        (None, None) => "—".to_owned(),
    }
}

/// Revokes an invitation after confirmation.
pub(super) fn revoke_invitation(
    ctx: Ctx,
    busy: RwSignal<bool>,
    invitation_id: InvitationId,
    who: String,
) {
    ctx.ask(
        format!("Revoke the invitation of {who}?"),
        "Revoke",
        None,
        move || {
            let invitation_id = invitation_id.clone();
            write(
                ctx,
                busy,
                async move { api::invitations::revoke(&invitation_id).await },
                format!("The invitation of {who} is revoked."),
                move |_| {
                    ctx.invitations.refetch();
                    ctx.refresh();
                },
                |_| (),
            );
        },
    );
}

pub(super) fn revoke_button(
    ctx: Ctx,
    busy: RwSignal<bool>,
    i: &Invitation,
) -> impl IntoView + use<> {
    let who = invitee_text(i);
    let id = i.id.clone();
    let role = i.role;
    let invited_by = i.invited_by.clone();
    let pending = i.status == InvitationStatus::Pending;
    let label = format!("Revoke the invitation of {who}");
    move || {
        (pending && (ctx.me.is_me(&invited_by) || can_invite(&ctx.roles(), role))).then(|| {
            let id = id.clone();
            let who = who.clone();
            view! {
                <button
                    type="button"
                    class="danger"
                    data-invitation-action="revoke"
                    aria-label=label.clone()
                    disabled=move || busy.get()
                    on:click=move |_| revoke_invitation(ctx, busy, id.clone(), who.clone())
                >
                    "Revoke"
                </button>
            }
        })
    }
}

/// Who a form invites: the person chosen in the picker (by id), or else the email typed
/// (by email); with the text a notice names them by.
fn invitee(
    person: RwSignal<Option<Person>>,
    text: RwSignal<String>,
) -> Result<(Option<UserId>, Option<String>, String), String> {
    if let Some(p) = person.get_untracked() {
        return Ok((Some(p.id), None, p.display_name));
    }
    let typed = text.get_untracked().trim().to_owned();
    match Email::parse(&typed) {
        Ok(_) => Ok((None, Some(typed.clone()), typed)),
        Err(_) if typed.is_empty() => {
            Err("Person: type part of a name or email and choose someone.".to_owned())
        }
        Err(message) => Err(format!(
            "Person: choose someone from the list, or type an email address ({message})."
        )),
    }
}

#[component]
pub(super) fn InvitationsSection(ctx: Ctx) -> impl IntoView {
    let busy = RwSignal::new(false);
    let email = RwSignal::new(String::new());
    let person = RwSignal::new(None::<Person>);
    let chosen = RwSignal::new(None::<ConnectionRole>);
    let errors = RwSignal::new(Vec::<String>::new());
    let invitable = Memo::new(move |_| {
        let roles = ctx.roles();
        NON_OWNER_ROLES
            .into_iter()
            .filter(|r| can_invite(&roles, *r))
            .collect::<Vec<_>>()
    });
    let role = Memo::new(move |_| {
        let options = invitable.get();
        chosen
            .get()
            .filter(|r| options.contains(r))
            .or_else(|| options.first().copied())
    });
    let submit = move |ev: SubmitEvent| {
        ev.prevent_default();
        errors.set(Vec::new());
        let Some(r) = role.get_untracked() else {
            return;
        };
        let (user_id, by_email, address) = match invitee(person, email) {
            Ok(who) => who,
            Err(message) => return errors.set(vec![message]),
        };
        let id = ctx.id.get_untracked();
        let invitation = NewInvitation {
            user_id,
            email: by_email,
            role: r,
            retain_role: None,
        };
        write(
            ctx,
            busy,
            async move { api::invitations::create(&id, &invitation).await },
            format!("{address} is invited as {}.", r.label()),
            move |_| {
                email.set(String::new());
                person.set(None);
                ctx.invitations.refetch();
                ctx.refresh();
            },
            move |e| errors.set(e.field_errors()),
        );
    };
    let invite_action = move || role.get().map(|r| Act::invite(r).wire_name());

    view! {
        <section class="panel" id="invitations" aria-labelledby="invitations-title">
            <h2 id="invitations-title">"Invitations"</h2>
            <Show when=move || !invitable.with(Vec::is_empty)>
                <form id="invite-form" class="form-row" on:submit=submit novalidate>
                    <PersonPicker
                        id="invite-email"
                        label="Person"
                        chosen=person
                        text=email
                        hint="Type part of a name or email and choose; or type the email of someone who has not signed in yet."
                        disabled=Signal::derive(move || ctx.cancelled())
                    />
                    <label class="field">
                        <span>"Role"</span>
                        <select
                            id="invite-role"
                            on:change=move |ev| chosen.set(event_target_value(&ev).parse().ok())
                            disabled=move || ctx.cancelled()
                            title=move || ctx.cancelled_title()
                        >
                            {move || {
                                let current = role.get_untracked();
                                invitable
                                    .get()
                                    .into_iter()
                                    .map(|r| view! {
                                        <option value=r.wire_name() data-invite-role=r.wire_name() selected=current == Some(r)>
                                            {r.label()}
                                        </option>
                                    })
                                    .collect_view()
                            }}
                        </select>
                    </label>
                    <button
                        type="submit"
                        id="invite-submit"
                        data-connection-action=invite_action
                        disabled=move || busy.get() || ctx.cancelled()
                        title=move || ctx.cancelled_title()
                    >
                        "Invite"
                    </button>
                </form>
                {field_errors_view("invite-errors".to_owned(), errors)}
                <p class="hint">"The person gets the role when they accept the invitation under My invitations."</p>
            </Show>
            <h3>"Pending invitations"</h3>
            <Transition fallback=|| view! { <Loading what="invitations" /> }>
                {move || suspend(async move {
                    match ctx.invitations.await {
                        Err(e) => view! { <ErrorMessage error=e /> }.into_any(),
                        Ok(list) if list.items.is_empty() => view! { <Empty text="No pending invitations." /> }.into_any(),
                        Ok(list) => view! {
                            <div class="table-wrap" tabindex="0" role="region" aria-label="Table, scrolls sideways on a narrow screen">
                                <table id="invitations-table">
                                    <caption>"Invitations to this connection"</caption>
                                    <thead>
                                        <tr>
                                            <th scope="col">"Invitee"</th>
                                            <th scope="col">"Role"</th>
                                            <th scope="col">"Status"</th>
                                            <th scope="col">"Expires"</th>
                                            <th scope="col">"Invited by"</th>
                                            <th scope="col">"Actions"</th>
                                        </tr>
                                    </thead>
                                    <tbody>
                                        {list.items.into_iter().map(|i| {
                                            let by = i.invited_by.clone();
                                            let retain = i.retain_role.map(|r| format!(" (keeps {})", r.label()));
                                            view! {
                                                <tr data-invitation-id=i.id.to_string()>
                                                    <td>{invitee_text(&i)}</td>
                                                    <td>{role_badge(i.role)}{retain}</td>
                                                    <td>{status_badge(i.status.as_str())}</td>
                                                    <td>{time(&i.expires_at)}</td>
                                                    <td>{move || if ctx.me.is_me(&by) { "You".to_owned() } else { by.to_string() }}</td>
                                                    <td class="actions">{revoke_button(ctx, busy, &i)}</td>
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
        </section>
    }
}

pub(super) const TRANSFER_PENDING: &str =
    "An ownership transfer is already pending: revoke it first";

#[component]
pub(super) fn TransferSection(ctx: Ctx) -> impl IntoView {
    let busy = RwSignal::new(false);
    let email = RwSignal::new(String::new());
    let person = RwSignal::new(None::<Person>);
    let retain = RwSignal::new(String::new());
    let errors = RwSignal::new(Vec::<String>::new());
    // One pending owner invitation per connection (the API answers 409 to a second one).
    let transfer_pending = move || {
        ctx.invitations.get().is_some_and(|r| {
            r.is_ok_and(|l| {
                l.items.iter().any(|i| {
                    i.role == ConnectionRole::Owner && i.status == InvitationStatus::Pending
                })
            })
        })
    };
    let submit = move |ev: SubmitEvent| {
        ev.prevent_default();
        errors.set(Vec::new());
        let (user_id, by_email, address) = match invitee(person, email) {
            Ok(who) => who,
            Err(message) => return errors.set(vec![message]),
        };
        let invitation = NewInvitation {
            user_id,
            email: by_email,
            role: ConnectionRole::Owner,
            retain_role: retain.get_untracked().parse().ok(),
        };
        let id = ctx.id.get_untracked();
        write(
            ctx,
            busy,
            async move { api::invitations::create(&id, &invitation).await },
            format!("{address} is invited to become the owner. Nothing changes until they accept."),
            move |_| {
                email.set(String::new());
                person.set(None);
                ctx.invitations.refetch();
                ctx.refresh();
            },
            move |e| errors.set(e.field_errors()),
        );
    };
    view! {
        <section class="panel" id="transfer" aria-labelledby="transfer-title">
            <h2 id="transfer-title">"Transfer ownership"</h2>
            <p>
                "Invite the new Subscription Owner (a hub user with hub access). Nothing changes until they accept: then the owner role moves to them, and you keep your other roles plus the one you choose below. Without any role you lose access to the connection."
            </p>
            <Transition fallback=|| view! { <Loading what="the pending transfer" /> }>
                {move || suspend(async move {
                    let pending: Vec<Invitation> = ctx
                        .invitations
                        .await
                        .map(|l| {
                            l.items
                                .into_iter()
                                .filter(|i| i.role == ConnectionRole::Owner && i.status == InvitationStatus::Pending)
                                .collect()
                        })
                        .unwrap_or_default();
                    pending
                        .into_iter()
                        .map(|i| {
                            let keeps = i
                                .retain_role
                                .map(|r| r.label().to_owned())
                                .unwrap_or_else(|| "no other role".to_owned());
                            view! {
                                <div class="notice info" id="pending-transfer" data-invitation-id=i.id.to_string()>
                                    <span>
                                        "Pending: "{invitee_text(&i)}" is invited to become the owner (you would keep: "{keeps}"), until "{fmt_time(&i.expires_at)}"."
                                    </span>
                                    {revoke_button(ctx, busy, &i)}
                                </div>
                            }
                        })
                        .collect_view()
                })}
            </Transition>
            <form id="transfer-form" class="form-row" on:submit=submit novalidate>
                <PersonPicker
                    id="transfer-email"
                    label="New owner"
                    chosen=person
                    text=email
                    hint="Type part of their name or email and choose, or type their email."
                    disabled=Signal::derive(move || ctx.cancelled())
                />
                <label class="field">
                    <span>"Keep me as …"</span>
                    <select
                        id="transfer-retain"
                        on:change=move |ev| retain.set(event_target_value(&ev))
                        disabled=move || ctx.cancelled()
                        title=move || ctx.cancelled_title()
                    >
                        <option value="" selected=true>"Nothing (no extra role)"</option>
                        {NON_OWNER_ROLES
                            .into_iter()
                            .map(|r| view! { <option value=r.wire_name()>{r.label()}</option> })
                            .collect_view()}
                    </select>
                </label>
                <button
                    type="submit"
                    id="transfer-submit"
                    data-connection-action="transfer_ownership"
                    disabled=move || busy.get() || ctx.cancelled() || transfer_pending()
                    title=move || {
                        ctx.cancelled_title().or_else(|| transfer_pending().then_some(TRANSFER_PENDING))
                    }
                >
                    "Invite new owner"
                </button>
            </form>
            {field_errors_view("transfer-errors".to_owned(), errors)}
        </section>
    }
}
