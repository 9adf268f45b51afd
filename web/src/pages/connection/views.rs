//! Saved views (SPEC S4).

use super::*;
use crate::components::ui::{resource, suspend};

pub(super) fn summarize_json(v: &Value) -> String {
    let text = serde_json::to_string(v).unwrap_or_default();
    if text.chars().count() > 80 {
        format!("{}…", text.chars().take(80).collect::<String>())
    } else {
        text
    }
}

#[component]
pub(super) fn ViewsSection(ctx: Ctx) -> impl IntoView {
    let views = resource(move || {
        let id = ctx.id.get();
        async move { api::views::list(&id, &PageQuery::default()).await }
    });
    let busy = RwSignal::new(false);
    let open = RwSignal::new(false);
    let editing = RwSignal::new(None::<ViewId>);
    let name = RwSignal::new(String::new());
    let definition = RwSignal::new(String::new());
    let errors = RwSignal::new(Vec::<String>::new());
    let can_manage = move || ctx.can(Act::ManageViews);

    let start_new = move |_| {
        editing.set(None);
        name.set(String::new());
        definition.set("{\n  \n}".to_owned());
        errors.set(Vec::new());
        open.set(true);
    };
    let start_edit = move |v: ConnectionView| {
        editing.set(Some(v.id.clone()));
        name.set(v.name.clone());
        definition.set(serde_json::to_string_pretty(&v.definition).unwrap_or_default());
        errors.set(Vec::new());
        open.set(true);
    };
    let submit = move |ev: SubmitEvent| {
        ev.prevent_default();
        errors.set(Vec::new());
        let mut problems = FieldErrors::new();
        let n = problems.check::<ShortName>("Name", &name.get_untracked());
        let def = problems.check::<ViewDefinition>("Definition", &definition.get_untracked());
        let (Some(n), Some(def)) = (n, def) else {
            errors.set(problems.lines());
            return;
        };
        let n = n.into_string();
        let input = ViewInput {
            name: n.clone(),
            definition: def.to_value(),
        };
        let target = editing.get_untracked();
        let created = target.is_none();
        let id = ctx.id.get_untracked();
        write(
            ctx,
            busy,
            async move {
                match target {
                    None => api::views::create(&id, &input).await,
                    Some(view_id) => api::views::replace(&id, &view_id, &input).await,
                }
            },
            if created {
                format!("View {n} created.")
            } else {
                format!("View {n} saved.")
            },
            move |_| {
                open.set(false);
                views.refetch();
                ctx.refresh();
            },
            move |e| errors.set(e.field_errors()),
        );
    };
    let remove = move |id: ViewId, view_name: String| {
        ctx.ask(
            format!("Delete the view {view_name}?"),
            "Delete view",
            Some("manage_views"),
            move || {
                let connection_id = ctx.id.get_untracked();
                let id = id.clone();
                write(
                    ctx,
                    busy,
                    async move { api::views::delete_view(&connection_id, &id).await },
                    format!("View {view_name} deleted."),
                    move |_| {
                        views.refetch();
                        ctx.refresh();
                    },
                    |_| (),
                );
            },
        );
    };

    view! {
        <section class="panel" id="views" aria-labelledby="views-title">
            <h2 id="views-title">"Views"</h2>
            <Show when=can_manage>
                <div class="toolbar">
                    <button
                        type="button"
                        id="new-view"
                        data-connection-action="manage_views"
                        disabled=move || busy.get() || ctx.cancelled()
                        title=move || ctx.cancelled_title()
                        on:click=start_new
                    >
                        "New view"
                    </button>
                </div>
            </Show>
            <Transition fallback=|| view! { <Loading what="views" /> }>
                {move || suspend(async move {
                    match views.await {
                        Err(e) => view! { <ErrorMessage error=e /> }.into_any(),
                        Ok(page) if page.items.is_empty() => view! { <Empty text="No views yet." /> }.into_any(),
                        Ok(page) => view! {
                            <div class="table-wrap" tabindex="0" role="region" aria-label="Table, scrolls sideways on a narrow screen">
                                <table id="views-table">
                                    <caption>"Named views of this connection's data"</caption>
                                    <thead>
                                        <tr>
                                            <th scope="col">"Name"</th>
                                            <th scope="col">"Definition"</th>
                                            <th scope="col">"Updated"</th>
                                            <th scope="col">"Actions"</th>
                                        </tr>
                                    </thead>
                                    <tbody>
                                        {page.items.into_iter().map(|v| {
                                            let for_edit = v.clone();
                                            let id = v.id.clone();
                                            let vname = v.name.clone();
                                            view! {
                                                <tr data-view-id=v.id.to_string()>
                                                    <td>{v.name.clone()}</td>
                                                    <td><code>{summarize_json(&v.definition)}</code></td>
                                                    <td>{time(&v.updated_at)}</td>
                                                    <td class="actions">
                                                        {move || can_manage().then(|| {
                                                            let for_edit = for_edit.clone();
                                                            let id = id.clone();
                                                            let vname = vname.clone();
                                                            let vname2 = vname.clone();
                                                            view! {
                                                                <button
                                                                    type="button"
                                                                    class="secondary"
                                                                    data-connection-action="manage_views"
                                                                    aria-label=format!("Edit the view {vname}")
                                                                    disabled=move || busy.get() || ctx.cancelled()
                                                                    title=move || ctx.cancelled_title()
                                                                    on:click=move |_| start_edit(for_edit.clone())
                                                                >
                                                                    "Edit"
                                                                </button>
                                                                <button
                                                                    type="button"
                                                                    class="danger"
                                                                    data-connection-action="manage_views"
                                                                    aria-label=format!("Delete the view {vname2}")
                                                                    disabled=move || busy.get() || ctx.cancelled()
                                                                    title=move || ctx.cancelled_title()
                                                                    on:click=move |_| remove(id.clone(), vname.clone())
                                                                >
                                                                    "Delete"
                                                                </button>
                                                            }
                                                        })}
                                                    </td>
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
            <Dialog open=open title="View" id="view-dialog">
                <form on:submit=submit novalidate>
                    <p class="hint">{move || if editing.get().is_some() { "Change the view's name or definition." } else { "A new view: a name and a JSON object that defines it." }}</p>
                    <label class="field">
                        <span>"Name"</span>
                        <input
                            id="view-name"
                            maxlength="100"
                            prop:value=move || name.get()
                            on:input=move |ev| name.set(event_target_value(&ev))
                        />
                    </label>
                    <label class="field">
                        <span>"Definition (a JSON object)"</span>
                        <textarea
                            id="view-definition"
                            rows="8"
                            spellcheck="false"
                            prop:value=move || definition.get()
                            on:input=move |ev| definition.set(event_target_value(&ev))
                        ></textarea>
                    </label>
                    {field_errors_view("view-errors".to_owned(), errors)}
                    <div class="buttons">
                        <button type="submit" id="view-submit" data-connection-action="manage_views" disabled=move || busy.get() || ctx.cancelled()>
                            "Save view"
                        </button>
                        <button type="button" class="secondary" on:click=move |_| open.set(false)>"Cancel"</button>
                    </div>
                </form>
            </Dialog>
        </section>
    }
}
