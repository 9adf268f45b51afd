//! The Access tab: the saved set of elevated security levels.

use super::*;
use crate::components::ui::{resource, suspend};

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
pub(super) fn AccessTab() -> impl IntoView {
    let me = use_me();
    let notices = use_notices();

    // The levels and the saved set; loaded again after a save.
    let data = resource(load_access);
    let selected = RwSignal::new(BTreeSet::<i64>::new());
    let filter = RwSignal::new(String::new());
    let saving = RwSignal::new(false);
    let confirm_open = RwSignal::new(false);
    let access_error = RwSignal::new(None::<String>);

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
                    data.refetch();
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
            <ul class="choices" aria-label="Security levels">
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
            <Transition fallback=|| view! { <Loading what="security levels" /> }>
                {move || suspend(async move {
                    let d = match data.await {
                        Err(e) => return view! { <ErrorMessage error=e /> }.into_any(),
                        Ok(d) => d,
                    };
                    // A (re)load shows the saved set as the selection.
                    selected.set(d.saved.clone());
                    if d.levels.is_empty() {
                        return view! { <Empty text="The PSA lists no security levels." /> }.into_any();
                    }
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
                })}
            </Transition>
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
