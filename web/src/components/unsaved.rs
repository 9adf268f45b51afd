//! The leave-page warning of a form with unsaved changes (SPEC S16).
//!
//! While a guarded form is dirty, closing or reloading the tab asks first (`beforeunload`)
//! and so does following a link inside the console: a capturing click listener on the
//! document runs before the router's own and, unless the person confirms, stops the click.
//! The browser's Back button is not asked about (the router cannot hold a `popstate`).

use std::cell::Cell;

use leptos::prelude::*;
use wasm_bindgen::JsCast;
use wasm_bindgen::closure::Closure;

const QUESTION: &str = "You have unsaved changes. Leave this page and lose them?";

thread_local! {
    /// How many guarded forms are dirty now.
    static DIRTY: Cell<u32> = const { Cell::new(0) };
    static INSTALLED: Cell<bool> = const { Cell::new(false) };
}

fn dirty() -> bool {
    DIRTY.with(|d| d.get() > 0)
}

/// Asks before leaving while `is_dirty` holds, until the calling component is unmounted.
pub fn guard(is_dirty: Memo<bool>) {
    install();
    let counted = StoredValue::new(false);
    let count = move |now: bool| {
        if counted.get_value() != now {
            counted.set_value(now);
            DIRTY.with(|d| {
                d.set(if now {
                    d.get() + 1
                } else {
                    d.get().saturating_sub(1)
                })
            });
        }
    };
    Effect::new(move |_| count(is_dirty.get()));
    on_cleanup(move || {
        if counted.try_get_value() == Some(true) {
            DIRTY.with(|d| d.set(d.get().saturating_sub(1)));
        }
    });
}

/// The two listeners, once per page load (they live as long as the page).
fn install() {
    if INSTALLED.with(|i| i.replace(true)) {
        return;
    }
    let Some(window) = web_sys::window() else {
        return;
    };
    let before_unload = Closure::<dyn Fn(web_sys::Event)>::new(|ev: web_sys::Event| {
        if dirty() {
            ev.prevent_default();
            // Older browsers ask only when a return value is set.
            let _ = js_sys::Reflect::set(&ev, &"returnValue".into(), &"".into());
        }
    });
    let _ = window
        .add_event_listener_with_callback("beforeunload", before_unload.as_ref().unchecked_ref());
    before_unload.forget();

    let click = Closure::<dyn Fn(web_sys::MouseEvent)>::new(|ev: web_sys::MouseEvent| {
        if !dirty() || ev.default_prevented() || ev.button() != 0 {
            return;
        }
        let link = ev
            .target()
            .and_then(|t| t.dyn_into::<web_sys::Element>().ok())
            .and_then(|e| e.closest("a[href]").ok().flatten());
        if link.is_none() {
            return;
        }
        let leave = web_sys::window()
            .and_then(|w| w.confirm_with_message(QUESTION).ok())
            .unwrap_or(true);
        if leave {
            DIRTY.with(|d| d.set(0));
        } else {
            ev.prevent_default();
            ev.stop_immediate_propagation();
        }
    });
    if let Some(document) = window.document() {
        let _ = document.add_event_listener_with_callback_and_bool(
            "click",
            click.as_ref().unchecked_ref(),
            true,
        );
    }
    click.forget();
}
