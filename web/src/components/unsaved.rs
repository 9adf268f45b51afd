//! The leave-page warning of a form with unsaved changes (SPEC S16).
//!
//! While a guarded form is dirty, closing or reloading the tab asks first (`beforeunload`)
//! and so does following a link inside the console: a capturing click listener on the
//! document runs before the router's own and, unless the person confirms, stops the click.
//! The browser's Back button is not asked about (the router cannot hold a `popstate`).

use std::cell::Cell;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use leptos::prelude::*;
use wasm_bindgen::JsCast;
use wasm_bindgen::closure::Closure;

const QUESTION: &str = "You have unsaved changes. Leave this page and lose them?";

thread_local! {
    /// How many guarded forms are dirty now.
    static DIRTY: Cell<u32> = const { Cell::new(0) };
    static INSTALLED: Cell<bool> = const { Cell::new(false) };
    /// The person agreed to leave by a link: the unload that may follow does not ask.
    static CONFIRMED: Cell<bool> = const { Cell::new(false) };
}

fn dirty() -> bool {
    DIRTY.with(|d| d.get() > 0)
}

/// Asks before leaving while `is_dirty` holds, until the calling component is unmounted.
pub fn guard(is_dirty: Memo<bool>) {
    install();
    // Whether this form is counted in `DIRTY`. Not a reactive value: the cleanup runs while
    // the component's own values are being disposed.
    let counted = Arc::new(AtomicBool::new(false));
    let mine = Arc::clone(&counted);
    Effect::new(move |_| {
        let now = is_dirty.get();
        if now {
            // New edits: an earlier "leave" no longer speaks for them.
            CONFIRMED.with(|c| c.set(false));
        }
        if mine.swap(now, Ordering::Relaxed) != now {
            DIRTY.with(|d| {
                d.set(if now {
                    d.get() + 1
                } else {
                    d.get().saturating_sub(1)
                })
            });
        }
    });
    on_cleanup(move || {
        if counted.swap(false, Ordering::Relaxed) {
            DIRTY.with(|d| d.set(d.get().saturating_sub(1)));
        }
    });
}

/// Whether a click follows a link away from this page in this tab: a plain left click (no
/// modifier: those open another tab or window) on a link without `target` or `download`,
/// to another address than the current one (a `#fragment` of this page, such as the skip
/// link, stays).
fn leaves_the_page(ev: &web_sys::MouseEvent) -> bool {
    if ev.button() != 0 || ev.ctrl_key() || ev.meta_key() || ev.shift_key() || ev.alt_key() {
        return false;
    }
    let Some(link) = ev
        .target()
        .and_then(|t| t.dyn_into::<web_sys::Element>().ok())
        .and_then(|e| e.closest("a[href]").ok().flatten())
    else {
        return false;
    };
    if link.has_attribute("download")
        || link
            .get_attribute("target")
            .is_some_and(|t| !t.is_empty() && t != "_self")
    {
        return false;
    }
    let Some(link) = link.dyn_ref::<web_sys::HtmlAnchorElement>() else {
        return false;
    };
    let Some(here) = web_sys::window().map(|w| w.location()) else {
        return true;
    };
    let same = |a: Result<String, _>, b: String| a.is_ok_and(|a: String| a == b);
    !(same(here.origin(), link.origin())
        && same(here.pathname(), link.pathname())
        && same(here.search(), link.search()))
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
        // A link the person already agreed to follow does not ask twice.
        if dirty() && !CONFIRMED.with(|c| c.replace(false)) {
            ev.prevent_default();
            // Older browsers ask only when a return value is set.
            let _ = js_sys::Reflect::set(&ev, &"returnValue".into(), &"".into());
        }
    });
    let _ = window
        .add_event_listener_with_callback("beforeunload", before_unload.as_ref().unchecked_ref());
    before_unload.forget();

    let click = Closure::<dyn Fn(web_sys::MouseEvent)>::new(|ev: web_sys::MouseEvent| {
        if !dirty() || !leaves_the_page(&ev) {
            return;
        }
        let leave = web_sys::window()
            .and_then(|w| w.confirm_with_message(QUESTION).ok())
            .unwrap_or(true);
        if leave {
            // The form unmounts as the router moves on and stops counting then; a link the
            // router leaves to the browser must not be asked about again on unload.
            CONFIRMED.with(|c| c.set(true));
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
