//! Two tabs, one session (SPEC S14). A duplicated tab starts with a copy of the session
//! storage, refresh token included; a refresh token is single use, so two tabs refreshing on
//! their own would present it twice and the server would end the session as a replay. So a
//! refresh runs under a Web Lock held across every tab of the origin, and the tab that
//! refreshed tells the others the new tokens over a `BroadcastChannel`; a tab that waited for
//! the lock finds its token already replaced and does not send it.
//!
//! A broadcast may reach a waiting tab after the lock does (they travel apart, and a busy
//! machine delays either). So before releasing the lock the refreshing tab also takes a
//! second lock named after the token it used (its SHA-256, never the token) and holds it
//! while the page lives: the lock manager is one consistent state, so a tab that then gets
//! the refresh lock and finds that name held knows its token is spent even when the
//! broadcast has not arrived, and waits for it instead of sending the token.
//!
//! Where the browser has no Web Locks (an insecure context), the lock is this tab's alone.

use std::cell::RefCell;
use std::future::Future;
use std::rc::Rc;

use futures::channel::oneshot;
use js_sys::{Function, Promise, Reflect};
use wasm_bindgen::JsCast as _;
use wasm_bindgen::prelude::*;
use wasm_bindgen_futures::JsFuture;

use super::Tokens;

const LOCK_NAME: &str = "hubkeep.refresh";
const SPENT_PREFIX: &str = "hubkeep.spent.";
const CHANNEL_NAME: &str = "hubkeep.session";

/// What a tab that refreshed tells the others: the token it used and what replaced it.
#[derive(serde::Serialize, serde::Deserialize)]
struct Rotation {
    used: String,
    tokens: Tokens,
}

/// The channel and its message handler, kept for the life of the page.
type Listening = (
    web_sys::BroadcastChannel,
    Closure<dyn FnMut(web_sys::MessageEvent)>,
);

thread_local! {
    static CHANNEL: RefCell<Option<Listening>> = const { RefCell::new(None) };
}

/// Listens for rotations made by other tabs; `adopt(used, tokens)` takes them in.
pub fn listen(adopt: impl Fn(&str, Tokens) + 'static) {
    let Ok(channel) = web_sys::BroadcastChannel::new(CHANNEL_NAME) else {
        return;
    };
    let handler =
        Closure::<dyn FnMut(web_sys::MessageEvent)>::new(move |event: web_sys::MessageEvent| {
            let Some(text) = event.data().as_string() else {
                return;
            };
            if let Ok(rotation) = serde_json::from_str::<Rotation>(&text) {
                adopt(&rotation.used, rotation.tokens);
            }
        });
    channel.set_onmessage(Some(handler.as_ref().unchecked_ref()));
    CHANNEL.with(|c| *c.borrow_mut() = Some((channel, handler)));
}

/// Tells the other tabs that `used` was replaced by `tokens`.
pub fn share(used: &str, tokens: &Tokens) {
    let rotation = Rotation {
        used: used.to_owned(),
        tokens: tokens.clone(),
    };
    let Ok(text) = serde_json::to_string(&rotation) else {
        return;
    };
    CHANNEL.with(|c| {
        if let Some((channel, _)) = c.borrow().as_ref() {
            let _ = channel.post_message(&JsValue::from_str(&text));
        }
    });
}

/// Lets the tasks already queued run (a rotation message posted before the lock was
/// released is taken in before the caller looks at its token).
pub async fn settle() {
    sleep(0).await;
}

/// The name of the lock that says `used` has been exchanged: its SHA-256, hex.
fn spent_name(used: &str) -> String {
    use sha2::Digest as _;
    let digest = sha2::Sha256::digest(used.as_bytes());
    let hex: String = digest.iter().map(|b| format!("{b:02x}")).collect();
    format!("{SPENT_PREFIX}{hex}")
}

/// Records, for every tab of the origin, that `used` has been exchanged: takes the lock
/// named after it and holds it for the life of the page. Returns once the lock is held.
pub async fn mark_spent(used: &str) {
    let Some((locks, request)) = lock_request() else {
        return;
    };
    let (held_tx, held_rx) = oneshot::channel::<()>();
    let held_tx = Rc::new(RefCell::new(Some(held_tx)));
    let granted = held_tx.clone();
    // Granted at once (nobody else takes this name); the promise it returns never settles,
    // so the lock stays held until the page goes away. The locks are kept rather than
    // released after a while: a tab asleep past any bound would otherwise send a spent
    // token; one small lock per refresh (every ~15 minutes) is the price.
    let callback = Closure::<dyn FnMut(JsValue) -> Promise>::new(move |_lock: JsValue| {
        if let Some(tx) = granted.borrow_mut().take() {
            let _ = tx.send(());
        }
        Promise::new(&mut |_, _| {})
    });
    let asked = request.call2(
        &locks,
        &JsValue::from_str(&spent_name(used)),
        callback.as_ref().unchecked_ref(),
    );
    // The callback lives as long as the lock it holds.
    callback.forget();
    if let Ok(asked) = asked.and_then(|p| p.dyn_into::<Promise>()) {
        // A refused request (the page is going away) never calls back: stop waiting then.
        on_refusal(&asked, move || drop(held_tx.borrow_mut().take()));
        let _ = held_rx.await;
    }
}

/// Runs `refused` if `promise` (a lock request) rejects.
fn on_refusal(promise: &Promise, refused: impl FnOnce() + 'static) {
    let mut refused = Some(refused);
    let handler = Closure::<dyn FnMut(JsValue)>::new(move |_: JsValue| {
        if let Some(f) = refused.take() {
            f();
        }
    });
    let _ = promise.catch(&handler);
    handler.forget();
}

/// Whether some tab of the origin has exchanged `used` (it holds the lock named after it).
pub async fn is_spent(used: &str) -> bool {
    let Some((locks, _)) = lock_request() else {
        return false;
    };
    let Ok(query) =
        Reflect::get(&locks, &JsValue::from_str("query")).and_then(|q| q.dyn_into::<Function>())
    else {
        return false;
    };
    let Ok(promise) = query.call0(&locks).and_then(|p| p.dyn_into::<Promise>()) else {
        return false;
    };
    let Ok(snapshot) = JsFuture::from(promise).await else {
        return false;
    };
    let name = JsValue::from_str(&spent_name(used));
    Reflect::get(&snapshot, &JsValue::from_str("held"))
        .ok()
        .and_then(|held| held.dyn_into::<js_sys::Array>().ok())
        .is_some_and(|held| {
            held.iter().any(|lock| {
                Reflect::get(&lock, &JsValue::from_str("name")).is_ok_and(|n| n == name)
            })
        })
}

/// Waits up to `ms` milliseconds of clock time (a hidden tab's timers run late, so ticks
/// are not counted) for `done` to hold.
pub async fn wait_until(ms: u32, done: impl Fn() -> bool) -> bool {
    let deadline = js_sys::Date::now() + f64::from(ms);
    while !done() {
        if js_sys::Date::now() >= deadline {
            return false;
        }
        sleep(50).await;
    }
    true
}

async fn sleep(ms: i32) {
    let promise = Promise::new(&mut |resolve, _| {
        if let Some(window) = web_sys::window() {
            let _ = window.set_timeout_with_callback_and_timeout_and_arguments_0(&resolve, ms);
        }
    });
    let _ = JsFuture::from(promise).await;
}

/// Runs `work` while holding the origin-wide refresh lock.
pub async fn exclusively<T>(work: impl Future<Output = T>) -> T {
    let Some(request) = lock_request() else {
        return work.await;
    };
    let (granted_tx, granted_rx) = oneshot::channel::<Function>();
    let granted_tx = Rc::new(RefCell::new(Some(granted_tx)));
    let refused_tx = granted_tx.clone();
    // The lock is held until the promise the callback returns settles: the callback hands
    // its `resolve` out, and it is called once `work` is done.
    let callback = Closure::<dyn FnMut(JsValue) -> Promise>::new(move |_lock: JsValue| {
        let mut tx = granted_tx.borrow_mut().take();
        Promise::new(&mut |resolve, _| {
            if let Some(tx) = tx.take() {
                let _ = tx.send(resolve);
            }
        })
    });
    let (locks, function) = request;
    let asked = function.call2(
        &locks,
        &JsValue::from_str(LOCK_NAME),
        callback.as_ref().unchecked_ref(),
    );
    let Ok(asked) = asked.and_then(|p| p.dyn_into::<Promise>()) else {
        return work.await;
    };
    // Refused (the page is going away): the work runs without the lock rather than never.
    on_refusal(&asked, move || drop(refused_tx.borrow_mut().take()));
    let Ok(release) = granted_rx.await else {
        return work.await;
    };
    let out = work.await;
    let _ = release.call0(&JsValue::NULL);
    drop(callback);
    out
}

/// `navigator.locks` and its `request`, when the browser has them.
fn lock_request() -> Option<(JsValue, Function)> {
    let navigator = web_sys::window()?.navigator();
    let locks = Reflect::get(&navigator, &JsValue::from_str("locks")).ok()?;
    if locks.is_undefined() || locks.is_null() {
        return None;
    }
    let request = Reflect::get(&locks, &JsValue::from_str("request"))
        .ok()?
        .dyn_into::<Function>()
        .ok()?;
    Some((locks, request))
}
