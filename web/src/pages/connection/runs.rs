//! The sync history and manual runs (SPEC S6).

use super::*;
use crate::components::ui::suspend;

#[component]
pub(super) fn RunsSection(ctx: Ctx) -> impl IntoView {
    let show_hidden = ctx.runs_hidden;
    // The runs shown: the first page (`ctx.runs`) and the pages `Load more` appended.
    let items = RwSignal::new(Vec::<SyncRun>::new());
    let next = RwSignal::new(None::<String>);
    let more_busy = RwSignal::new(false);
    let busy = RwSignal::new(false);
    let run_busy = RwSignal::new(false);
    let generation = StoredValue::new(0u64);
    let chosen = RwSignal::new(vec![true; AQ_ENTITIES.len()]);

    let query_at = move |cursor: Option<String>| RunsQuery {
        include_hidden: show_hidden.get_untracked(),
        limit: None,
        cursor,
    };

    let load_more = move |_| {
        let Some(cursor) = next.get_untracked() else {
            return;
        };
        let current = generation.get_value();
        let query = query_at(Some(cursor));
        let id = ctx.id.get_untracked();
        more_busy.set(true);
        spawn_local(async move {
            let result = api::runs::list(&id, &query).await;
            more_busy.set(false);
            if generation.try_get_value() != Some(current) {
                return;
            }
            match result {
                Ok(page) => {
                    items.update(|v| v.extend(page.items));
                    next.set(page.next_cursor);
                }
                Err(e) => ctx.notices.error(&e),
            }
        });
    };

    let set_hidden = move |run_id: RunId, hide: bool| {
        let id = ctx.id.get_untracked();
        write(
            ctx,
            busy,
            async move { api::runs::set_hidden(&id, &run_id, hide).await },
            if hide {
                "The run is hidden from the history."
            } else {
                "The run is shown in the history again."
            },
            move |_| {
                ctx.refresh_runs();
                ctx.refresh();
            },
            |_| (),
        );
    };

    let is_aq = move || ctx.kind() == Some(ConnectionKind::AutotaskQuickbooks);
    let run_blocked = move || {
        if ctx.cancelled() {
            Some(CANCELLED)
        } else if ctx
            .with_conn(|c| c.has_disconnected_endpoint())
            .unwrap_or(false)
        {
            Some(DISCONNECTED)
        } else if is_aq() && !chosen.with(|c| c.iter().any(|x| *x)) {
            Some("Choose at least one entity to sync")
        } else {
            None
        }
    };
    let run_now = move |ev: SubmitEvent| {
        ev.prevent_default();
        if run_blocked().is_some() {
            return;
        }
        let run = if is_aq() {
            let picked: Vec<String> = chosen.with_untracked(|c| {
                AQ_ENTITIES
                    .iter()
                    .zip(c.iter())
                    .filter(|(_, on)| **on)
                    .map(|((wire, _), _)| (*wire).to_owned())
                    .collect()
            });
            RunRequest {
                entities: Some(picked),
            }
        } else {
            RunRequest::default()
        };
        let id = ctx.id.get_untracked();
        write(
            ctx,
            run_busy,
            async move { api::runs::request(&id, &run).await },
            "Run queued: the sync engine picks it up shortly.",
            move |_| {
                ctx.refresh_runs();
                ctx.refresh();
            },
            |_| (),
        );
    };
    let can_run = move || ctx.can(Act::RunManually) && ctx.me.can(HubAction::RunConnection);
    let can_hide = move || ctx.can(Act::HideSyncRecords);

    let row = move |r: SyncRun| {
        let run_id = r.id.clone();
        let hidden = r.hidden;
        let when = fmt_time(&r.requested_at);
        let zone = ctx
            .with_conn_untracked(|c| c.timezone.clone())
            .unwrap_or_default();
        let entities = if r.entities.is_empty() {
            "All".to_owned()
        } else {
            r.entities
                .iter()
                .map(|e| e.replace('_', " "))
                .collect::<Vec<_>>()
                .join(", ")
        };
        view! {
            <tr data-run-id=r.id.to_string() data-hidden=hidden.to_string() class:inactive=hidden>
                <td>{run_time(&r.requested_at, &zone)}</td>
                <td>{r.origin.as_str()}</td>
                <td>{entities}</td>
                <td>
                    {status_badge(r.status.as_str())}
                    {hidden.then(|| view! { " " <span class="badge">"Hidden"</span> })}
                </td>
                <td>{r.records_processed.map(|n| n.to_string()).unwrap_or_else(|| "—".to_owned())}</td>
                <td>{opt_run_time(r.finished_at.as_ref(), &zone)}</td>
                <td>{r.error.clone().unwrap_or_default()}</td>
                <td class="actions">
                    {move || can_hide().then(|| {
                        let run_id = run_id.clone();
                        view! {
                            <button
                                type="button"
                                class="secondary"
                                data-connection-action="hide_sync_records"
                                aria-label=format!("{} the run requested {}", if hidden { "Unhide" } else { "Hide" }, when)
                                disabled=move || busy.get() || ctx.cancelled()
                                title=move || ctx.cancelled_title()
                                on:click=move |_| set_hidden(run_id.clone(), !hidden)
                            >
                                {if hidden { "Unhide" } else { "Hide" }}
                            </button>
                        }
                    })}
                </td>
            </tr>
        }
    };

    view! {
        <section class="panel" id="runs" aria-labelledby="runs-title">
            <h2 id="runs-title">"Sync history"</h2>
            <Show when=can_run>
                <form class="toolbar" id="run-form" on:submit=run_now>
                    <Show when=is_aq>
                        <fieldset>
                            <legend>"Entities to sync"</legend>
                            {AQ_ENTITIES
                                .iter()
                                .enumerate()
                                .map(|(i, (wire, label))| view! {
                                    <label class="check">
                                        <input
                                            type="checkbox"
                                            id=format!("run-entity-{wire}")
                                            value=*wire
                                            prop:checked=move || chosen.with(|c| c[i])
                                            on:change=move |ev| {
                                                let on = event_target_checked(&ev);
                                                chosen.update(|c| c[i] = on);
                                            }
                                        />
                                        <span>{*label}</span>
                                    </label>
                                    " "
                                })
                                .collect_view()}
                        </fieldset>
                    </Show>
                    <button
                        type="submit"
                        id="run-now"
                        data-connection-action="run_manually"
                        disabled=move || run_busy.get() || run_blocked().is_some()
                        title=run_blocked
                    >
                        "Run now"
                    </button>
                </form>
            </Show>
            <div class="toolbar">
                <label class="check">
                    <input
                        type="checkbox"
                        id="runs-show-hidden"
                        prop:checked=move || show_hidden.get()
                        on:change=move |ev| show_hidden.set(event_target_checked(&ev))
                    />
                    <span>"Show hidden"</span>
                </label>
            </div>
            <Transition fallback=|| view! { <Loading what="the sync history" /> }>
                {move || suspend(async move {
                    let page = match ctx.runs.await {
                        Err(e) => return view! { <ErrorMessage error=e /> }.into_any(),
                        Ok(page) => page,
                    };
                    // A new first page: a `Load more` still in flight for the old one is dropped.
                    generation.update_value(|g| *g += 1);
                    let empty = page.items.is_empty();
                    items.set(page.items);
                    next.set(page.next_cursor);
                    if empty {
                        return view! { <Empty text="No runs yet." /> }.into_any();
                    }
                    view! {
                    <div class="table-wrap" tabindex="0" role="region" aria-label="Table, scrolls sideways on a narrow screen">
                        <table id="runs-table">
                            <caption>"Sync runs, newest first"</caption>
                            <thead>
                                <tr>
                                    <th scope="col">"Requested"</th>
                                    <th scope="col">"Origin"</th>
                                    <th scope="col">"Entities"</th>
                                    <th scope="col">"Status"</th>
                                    <th scope="col">"Records"</th>
                                    <th scope="col">"Finished"</th>
                                    <th scope="col">"Error"</th>
                                    <th scope="col">"Actions"</th>
                                </tr>
                            </thead>
                            <tbody>{move || items.get().into_iter().map(row).collect_view()}</tbody>
                        </table>
                    </div>
                    <Show when=move || next.with(Option::is_some)>
                        <div class="buttons">
                            <button type="button" class="secondary" id="runs-more" disabled=move || more_busy.get() on:click=load_more>
                                "Load more"
                            </button>
                        </div>
                    </Show>
                    }.into_any()
                })}
            </Transition>
        </section>
    }
}
