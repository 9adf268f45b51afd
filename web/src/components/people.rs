//! The people picker (SPEC S16): type part of a name or email, choose from what
//! `GET /api/v1/people` finds. An ARIA 1.2 combobox: the input owns a listbox, arrows move,
//! Enter chooses, Escape closes.
//!
//! Who may search is the server's decision (inviters and elevated users); when it refuses,
//! the picker says so once and the field takes an email address as typed (where the form
//! allows one).

use std::time::Duration;

use hubkeep_shared::api::{PeopleQuery, Person};
use hubkeep_shared::fields::{FieldRule as _, PeopleSearch};
use leptos::prelude::*;
use leptos::task::spawn_local;

use crate::api;

/// Typing pauses this long before a search.
const PAUSE: Duration = Duration::from_millis(200);

/// `Margaret Chen <margaret.chen@example.com>`.
pub fn person_text(p: &Person) -> String {
    format!("{} <{}>", p.display_name, p.email)
}

/// The picker. `chosen` is the person picked (cleared as soon as the text changes);
/// `text` what the field holds, so a form may read a typed email from it.
#[component]
pub fn PersonPicker(
    /// The input's id; the listbox is `{id}-options`.
    id: &'static str,
    #[prop(into)] label: String,
    chosen: RwSignal<Option<Person>>,
    text: RwSignal<String>,
    #[prop(optional)] hint: Option<&'static str>,
    #[prop(optional, into)] disabled: Signal<bool>,
) -> impl IntoView {
    let found = RwSignal::new(Vec::<Person>::new());
    let open = RwSignal::new(false);
    let active = RwSignal::new(None::<usize>);
    let status = RwSignal::new(String::new());
    // Each keystroke, choice or blur starts a new generation; an answer is shown only while
    // its generation is the latest, so a late answer never reopens the list. Read with
    // `try_`: a timer or an answer may outlive the picker (then it is `None`).
    let generation = StoredValue::new(0u64);
    let next_generation = move || {
        let next = generation.try_get_value().unwrap_or_default() + 1;
        let _ = generation.try_set_value(next);
        next
    };
    let current = move |mine: u64| generation.try_get_value() == Some(mine);
    // Once the server has refused this viewer a search, the picker stops asking.
    let refused = StoredValue::new(false);
    let list_id = format!("{id}-options");
    let hint_id = format!("{id}-hint");
    let status_id = format!("{id}-status");
    let option_id = move |i: usize| format!("{id}-option-{i}");
    let focused = move || {
        web_sys::window()
            .and_then(|w| w.document())
            .and_then(|d| d.active_element())
            .is_some_and(|e| e.id() == id)
    };

    let search = move |q: String| {
        let mine = next_generation();
        // Asks only what the server would answer (the shared rule), and not once refused.
        let Ok(q) = PeopleSearch::parse(&q) else {
            found.set(Vec::new());
            open.set(false);
            active.set(None);
            return;
        };
        if refused.get_value() {
            return;
        }
        set_timeout(
            move || {
                if !current(mine) {
                    return;
                }
                spawn_local(async move {
                    let result = api::users::people(&PeopleQuery::new(q.as_str())).await;
                    if !current(mine) {
                        return;
                    }
                    match result {
                        Ok(page) => {
                            status.set(match page.items.len() {
                                0 => "Nobody found.".to_owned(),
                                1 => "1 person found.".to_owned(),
                                n => format!("{n} people found."),
                            });
                            active.set(None);
                            open.set(!page.items.is_empty() && focused());
                            found.set(page.items);
                        }
                        Err(e) if e.status() == Some(403) => {
                            let _ = refused.try_set_value(true);
                            found.set(Vec::new());
                            open.set(false);
                            status.set(
                                "Searching people needs a role that may invite, or elevated access."
                                    .to_owned(),
                            );
                        }
                        Err(e) => {
                            found.set(Vec::new());
                            open.set(false);
                            status.set(format!(
                                "The search failed: {}",
                                crate::components::ui::describe(&e)
                            ));
                        }
                    }
                });
            },
            PAUSE,
        );
    };
    let choose = move |i: usize| {
        if let Some(p) = found.with_untracked(|f| f.get(i).cloned()) {
            next_generation();
            text.set(person_text(&p));
            chosen.set(Some(p));
            open.set(false);
            active.set(None);
            status.set(String::new());
        }
    };
    let close = move || {
        next_generation();
        open.set(false);
        active.set(None);
    };
    let on_input = move |ev: leptos::ev::Event| {
        let value = event_target_value(&ev);
        text.set(value.clone());
        chosen.set(None);
        search(value);
    };
    let on_keydown = move |ev: web_sys::KeyboardEvent| {
        let n = found.with_untracked(Vec::len);
        match ev.key().as_str() {
            "ArrowDown" if n > 0 => {
                ev.prevent_default();
                open.set(true);
                active.update(|a| *a = Some(a.map_or(0, |i| (i + 1) % n)));
            }
            "ArrowUp" if n > 0 => {
                ev.prevent_default();
                open.set(true);
                active.update(|a| *a = Some(a.map_or(n - 1, |i| (i + n - 1) % n)));
            }
            "Enter" if open.get_untracked() => {
                if let Some(i) = active.get_untracked() {
                    ev.prevent_default();
                    choose(i);
                }
            }
            "Escape" if open.get_untracked() => {
                ev.prevent_default();
                open.set(false);
                active.set(None);
            }
            _ => {}
        }
    };
    let described = match hint {
        Some(_) => format!("{hint_id} {status_id}"),
        None => status_id.clone(),
    };
    view! {
        <div class="picker">
            <label class="field">
                <span>{label}</span>
                <input
                    id=id
                    type="text"
                    role="combobox"
                    autocomplete="off"
                    aria-autocomplete="list"
                    aria-controls=list_id.clone()
                    aria-expanded=move || open.get().to_string()
                    aria-activedescendant=move || active.get().map(option_id)
                    aria-describedby=described
                    data-chosen-user-id=move || chosen.with(|c| c.as_ref().map(|p| p.id.to_string()))
                    prop:value=move || text.get()
                    on:input=on_input
                    on:keydown=on_keydown
                    on:blur=move |_| {
                        // Let a click on an option land first.
                        set_timeout(close, Duration::from_millis(150));
                    }
                    disabled=move || disabled.get()
                />
            </label>
            <ul id=list_id role="listbox" class="picker-options" aria-label="People found" hidden=move || !open.get()>
                {move || {
                    found
                        .get()
                        .into_iter()
                        .enumerate()
                        .map(|(i, p)| {
                            view! {
                                <li
                                    id=option_id(i)
                                    role="option"
                                    data-user-id=p.id.to_string()
                                    aria-selected=move || (active.get() == Some(i)).to_string()
                                    class:active=move || active.get() == Some(i)
                                    on:mousedown=move |ev| {
                                        ev.prevent_default();
                                        choose(i);
                                    }
                                >
                                    <span class="picker-name">{p.display_name.clone()}</span>
                                    " "
                                    <span class="meta">{p.email.clone()}</span>
                                </li>
                            }
                        })
                        .collect_view()
                }}
            </ul>
            {hint.map(|h| view! { <p class="hint" id=hint_id>{h}</p> })}
            <p class="meta picker-status" id=status_id role="status">{move || status.get()}</p>
        </div>
    }
}
