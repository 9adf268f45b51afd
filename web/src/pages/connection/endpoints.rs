//! The two endpoints: disconnect and reconnect (SPEC S4).

use super::*;

#[component]
pub(super) fn EndpointsSection(ctx: Ctx) -> impl IntoView {
    let busy = RwSignal::new(false);
    let reconnect_open = RwSignal::new(false);
    let reconnect_side = RwSignal::new(EndpointSide::Source);
    let reconnect_label = RwSignal::new(String::new());
    let reconnect_errors = RwSignal::new(Vec::<String>::new());

    let disconnect = move |side: EndpointSide| {
        let id = ctx.id.get_untracked();
        write(
            ctx,
            busy,
            async move { api::connections::disconnect(&id, side).await },
            format!("The {side} endpoint is disconnected."),
            move |_| {
                ctx.refresh();
                ctx.refresh_runs();
            },
            |_| (),
        );
    };
    let reconnect = move |ev: SubmitEvent| {
        ev.prevent_default();
        reconnect_errors.set(Vec::new());
        let side = reconnect_side.get_untracked();
        let label = reconnect_label.get_untracked();
        // Empty keeps the current label; anything else follows the server's rule.
        let account_label = if label.trim().is_empty() {
            None
        } else {
            match refused::<Name>("Account label", &label) {
                Ok(l) => Some(l.into()),
                Err(message) => {
                    reconnect_errors.set(vec![message]);
                    return;
                }
            }
        };
        let input = ReconnectInput { account_label };
        let id = ctx.id.get_untracked();
        write(
            ctx,
            busy,
            async move { api::connections::reconnect(&id, side, &input).await },
            format!("The {side} endpoint is connected."),
            move |_| {
                reconnect_open.set(false);
                ctx.refresh();
            },
            move |e| reconnect_errors.set(e.field_errors()),
        );
    };

    let rows = move || {
        let endpoints = ctx.with_conn(|c| c.endpoints.clone()).unwrap_or_default();
        endpoints
            .into_iter()
            .map(|e| {
                let connected = e.status == EndpointStatus::Connected;
                let side = e.side;
                let side_label = match side {
                    EndpointSide::Source => "Source",
                    EndpointSide::Target => "Target",
                };
                let disconnect_side = side;
                let reconnect_for = side;
                let current_label = e.account_label.clone().unwrap_or_default();
                let system = e.system.label();
                view! {
                    <tr data-endpoint-side=side.as_str()>
                        <th scope="row">{side_label}</th>
                        <td>{system}</td>
                        <td>{e.account_label.clone().unwrap_or_else(|| "—".to_owned())}</td>
                        <td>{status_badge(e.status.as_str())}</td>
                        <td>{time(&e.changed_at)}</td>
                        <td class="actions">
                            {(connected && ctx.can(Act::DisconnectEndpoint)).then(|| {
                                let side = disconnect_side;
                                view! {
                                    <button
                                        type="button"
                                        class="danger"
                                        data-connection-action="disconnect_endpoint"
                                        aria-label=format!("Disconnect the {} endpoint ({system})", side)
                                        disabled=move || busy.get() || ctx.cancelled()
                                        title=move || ctx.cancelled_title()
                                        on:click=move |_| disconnect(side)
                                    >
                                        "Disconnect"
                                    </button>
                                }
                            })}
                            {(!connected && ctx.can(Act::ReconnectEndpoint)).then(|| {
                                let side = reconnect_for;
                                let label = current_label.clone();
                                view! {
                                    <button
                                        type="button"
                                        data-connection-action="reconnect_endpoint"
                                        aria-label=format!("Reconnect the {} endpoint ({system})", side)
                                        disabled=move || busy.get() || ctx.cancelled()
                                        title=move || ctx.cancelled_title()
                                        on:click=move |_| {
                                            reconnect_side.set(side);
                                            reconnect_label.set(label.clone());
                                            reconnect_errors.set(Vec::new());
                                            reconnect_open.set(true);
                                        }
                                    >
                                        "Reconnect"
                                    </button>
                                }
                            })}
                        </td>
                    </tr>
                }
            })
            .collect_view()
    };

    view! {
        <section class="panel" id="endpoints" aria-labelledby="endpoints-title">
            <h2 id="endpoints-title">"Endpoints"</h2>
            <div class="table-wrap" tabindex="0" role="region" aria-label="Table, scrolls sideways on a narrow screen">
                <table id="endpoints-table">
                    <caption>"Where the data comes from and goes to"</caption>
                    <thead>
                        <tr>
                            <th scope="col">"Side"</th>
                            <th scope="col">"System"</th>
                            <th scope="col">"Account"</th>
                            <th scope="col">"Status"</th>
                            <th scope="col">"Changed"</th>
                            <th scope="col">"Actions"</th>
                        </tr>
                    </thead>
                    <tbody>{rows}</tbody>
                </table>
            </div>
            <Dialog open=reconnect_open title="Reconnect endpoint" id="reconnect-endpoint">
                <form on:submit=reconnect novalidate>
                    <p>"Reconnect the "{move || reconnect_side.get().as_str()}" endpoint. Name the account it is now connected to, or leave it as it is."</p>
                    <label class="field">
                        <span>"Account label (optional)"</span>
                        <input
                            id="reconnect-label"
                            prop:value=move || reconnect_label.get()
                            on:input=move |ev| reconnect_label.set(event_target_value(&ev))
                        />
                    </label>
                    {field_errors_view("reconnect-errors".to_owned(), reconnect_errors)}
                    <div class="buttons">
                        <button
                            type="submit"
                            id="reconnect-submit"
                            data-connection-action="reconnect_endpoint"
                            disabled=move || busy.get() || ctx.cancelled()
                        >
                            "Reconnect"
                        </button>
                        <button type="button" class="secondary" on:click=move |_| reconnect_open.set(false)>"Cancel"</button>
                    </div>
                </form>
            </Dialog>
        </section>
    }
}
