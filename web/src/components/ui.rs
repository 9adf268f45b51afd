//! Small building blocks every page uses: loading/empty states, notices, a confirmation
//! dialog, time formatting and the signed-in user's context.

use chrono::{DateTime, Utc};
use leptos::prelude::*;
use wasm_bindgen::{JsCast, JsValue};

use crate::api::ClientError;
use hubkeep_shared::api::Me;

/// The signed-in user as `/me` last answered, provided by the shell to every page.
#[derive(Debug, Clone, Copy)]
pub struct MeCtx {
    pub me: RwSignal<Option<Me>>,
    /// Bump to reload `/me` (after a change that may alter one's own access or badges).
    pub reload: RwSignal<u32>,
}

impl MeCtx {
    /// Whether `/me` allows a hub action (false until loaded).
    pub fn can(&self, action: hubkeep_shared::HubAction) -> bool {
        self.me.with(|m| m.as_ref().is_some_and(|m| m.can(action)))
    }

    /// Whether `id` is the signed-in user (false until loaded).
    pub fn is_me(&self, id: &hubkeep_shared::UserId) -> bool {
        self.me
            .with(|m| m.as_ref().is_some_and(|m| &m.user.id == id))
    }

    pub fn refresh(&self) {
        self.reload.update(|n| *n += 1);
    }
}

/// The shell's context; pages are only rendered inside the shell.
pub fn use_me() -> MeCtx {
    expect_context::<MeCtx>()
}

/// `Suspend::new` with the future boxed and its view erased: one copy of leptos's suspense
/// machinery (its future wrapper, its render and rebuild) for every suspended view of the
/// console instead of one per call site (SPEC S16: the console's weight).
pub fn suspend<V: IntoView + 'static>(
    fut: impl std::future::Future<Output = V> + Send + 'static,
) -> Suspend<AnyView> {
    let boxed: std::pin::Pin<Box<dyn std::future::Future<Output = AnyView> + Send>> =
        Box::pin(async move { fut.await.into_any() });
    Suspend::new(boxed)
}

pub use super::resource::{Res, resource};

/// `2026-11-23` → that date; `None` for anything else (a date input's value). By hand:
/// chrono's format parser would cost the WASM more than this.
pub fn parse_ymd(v: &str) -> Option<chrono::NaiveDate> {
    let mut parts = v.split('-');
    let (y, m, d) = (parts.next()?, parts.next()?, parts.next()?);
    if parts.next().is_some() || y.len() != 4 || m.len() != 2 || d.len() != 2 {
        return None;
    }
    let all_digits = |s: &str| s.bytes().all(|b| b.is_ascii_digit());
    if !(all_digits(y) && all_digits(m) && all_digits(d)) {
        return None;
    }
    chrono::NaiveDate::from_ymd_opt(y.parse().ok()?, m.parse().ok()?, d.parse().ok()?)
}

/// `2026-11-23T20:11` (a datetime-local input's value) → its date and `(hour, minute)`.
pub fn parse_ymd_hm(v: &str) -> Option<(chrono::NaiveDate, u32, u32)> {
    let (day, hm) = v.split_once('T')?;
    let (h, m) = hm.split_once(':')?;
    let two = |s: &str| -> Option<u32> {
        (s.len() == 2 && s.bytes().all(|b| b.is_ascii_digit()))
            .then(|| s.parse().ok())
            .flatten()
    };
    let (h, m) = (two(h)?, two(m)?);
    (h < 24 && m < 60).then_some(())?;
    Some((parse_ymd(day)?, h, m))
}

/// A polite "loading" line.
#[component]
pub fn Loading(#[prop(into)] what: String) -> impl IntoView {
    view! { <p class="status" role="status" aria-busy="true">"Loading "{what}"…"</p> }
}

/// What an empty list says.
#[component]
pub fn Empty(#[prop(into)] text: String) -> impl IntoView {
    view! { <p class="empty">{text}</p> }
}

/// Kinds of notice.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NoticeKind {
    Ok,
    Error,
}

/// One message in the notice area.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Notice {
    pub id: u64,
    pub kind: NoticeKind,
    pub text: String,
}

/// The notice area (top of the content, `aria-live`), provided by the shell.
#[derive(Debug, Clone, Copy)]
pub struct Notices {
    items: RwSignal<Vec<Notice>>,
    next: StoredValue<u64>,
}

impl Default for Notices {
    fn default() -> Self {
        Self::new()
    }
}

impl Notices {
    pub fn new() -> Self {
        Self {
            items: RwSignal::new(Vec::new()),
            next: StoredValue::new(1),
        }
    }

    fn push(&self, kind: NoticeKind, text: String) {
        let id = self.next.get_value();
        self.next.set_value(id + 1);
        self.items.update(|v| {
            v.push(Notice { id, kind, text });
            let len = v.len();
            if len > 4 {
                v.drain(..len - 4);
            }
        });
        if kind == NoticeKind::Ok {
            let items = self.items;
            set_timeout(
                move || items.update(|v| v.retain(|n| n.id != id)),
                std::time::Duration::from_secs(6),
            );
        }
    }

    /// A success message (disappears after a few seconds).
    pub fn ok(&self, text: impl Into<String>) {
        self.push(NoticeKind::Ok, text.into());
    }

    /// An error message (stays until dismissed).
    pub fn error(&self, error: &ClientError) {
        self.push(NoticeKind::Error, describe(error));
    }

    /// An error message from text.
    pub fn error_text(&self, text: impl Into<String>) {
        self.push(NoticeKind::Error, text.into());
    }

    pub fn dismiss(&self, id: u64) {
        self.items.update(|v| v.retain(|n| n.id != id));
    }
}

/// The notices of the shell.
pub fn use_notices() -> Notices {
    expect_context::<Notices>()
}

/// An error as one readable sentence: the problem's detail, its field errors and its code.
pub fn describe(error: &ClientError) -> String {
    let mut text = error.to_string();
    let fields = error.field_errors();
    if !fields.is_empty() {
        text.push_str(" — ");
        text.push_str(&fields.join("; "));
    }
    if let ClientError::Problem(p) = error {
        text.push_str(&format!(" ({})", p.code));
    }
    text
}

/// Renders the notice list.
#[component]
pub fn NoticeArea() -> impl IntoView {
    let notices = use_notices();
    view! {
        <div class="notices" role="status" aria-live="polite">
            <For
                each=move || notices.items.get()
                key=|n| n.id
                children=move |n| {
                    let id = n.id;
                    let class = match n.kind {
                        NoticeKind::Ok => "notice ok",
                        NoticeKind::Error => "notice bad",
                    };
                    let role = match n.kind {
                        NoticeKind::Ok => "status",
                        NoticeKind::Error => "alert",
                    };
                    view! {
                        <div class=class role=role data-notice=if n.kind == NoticeKind::Ok { "ok" } else { "error" }>
                            <span>{n.text}</span>
                            <button type="button" class="link" aria-label="Dismiss" on:click=move |_| notices.dismiss(id)>"×"</button>
                        </div>
                    }
                }
            />
        </div>
    }
}

/// A modal dialog: labelled, focus moves into it on open, Escape or Cancel closes it.
/// `children` is the body; the caller renders its own buttons inside.
#[component]
pub fn Dialog(
    open: RwSignal<bool>,
    #[prop(into)] title: String,
    /// A stable id (used for `aria-labelledby` and by tests).
    #[prop(into)]
    id: String,
    children: ChildrenFn,
) -> impl IntoView {
    let title_id = format!("{id}-title");
    let node = NodeRef::<leptos::html::Div>::new();
    // The element that had focus when the dialog opened gets it back when it closes.
    let opener = StoredValue::new_local(None::<web_sys::HtmlElement>);
    Effect::new(move |was_open: Option<bool>| {
        let is_open = open.get();
        if is_open && was_open != Some(true) {
            opener.set_value(
                document()
                    .active_element()
                    .and_then(|e| wasm_bindgen::JsCast::dyn_into::<web_sys::HtmlElement>(e).ok()),
            );
        }
        if !is_open
            && was_open == Some(true)
            && let Some(el) = opener.get_value()
        {
            let _ = el.focus();
        }
        is_open
    });
    Effect::new(move |_| {
        if open.get()
            && let Some(el) = node.get()
        {
            // Focus the first field or button of the dialog.
            if let Ok(Some(first)) = el.query_selector(
                "input:not([disabled]), select, textarea, button:not(.dialog-close)",
            ) && let Some(html) = wasm_bindgen::JsCast::dyn_ref::<web_sys::HtmlElement>(&first)
            {
                let _ = html.focus();
            }
        }
    });
    let children = StoredValue::new(children);
    view! {
        <Show when=move || open.get()>
            <div class="backdrop" on:click=move |_| open.set(false)></div>
            <div
                class="dialog"
                role="dialog"
                aria-modal="true"
                aria-labelledby=title_id.clone()
                id=id.clone()
                node_ref=node
                on:keydown=move |ev: web_sys::KeyboardEvent| {
                    if ev.key() == "Escape" {
                        open.set(false);
                    }
                }
            >
                <div class="dialog-head">
                    <h2 id=title_id.clone()>{title.clone()}</h2>
                    <button type="button" class="link dialog-close" aria-label="Close" on:click=move |_| open.set(false)>"×"</button>
                </div>
                {children.read_value()()}
            </div>
        </Show>
    }
}

/// `2026-11-23T20:11:49.123Z` → `2026-11-23 20:11 UTC`: how a time shows on hover, and in
/// a browser without `Intl`.
pub fn fmt_utc(at: &DateTime<Utc>) -> String {
    // Written by hand: chrono's strftime machinery would cost the WASM more than this.
    use chrono::{Datelike as _, Timelike as _};
    format!(
        "{:04}-{:02}-{:02} {:02}:{:02} UTC",
        at.year(),
        at.month(),
        at.day(),
        at.hour(),
        at.minute()
    )
}

/// `at` as `Intl.DateTimeFormat` writes it in the viewer's locale, in `zone` (an IANA name)
/// or, without one, in the viewer's own time zone (SPEC S16: times in the viewer's zone);
/// `None` when the browser cannot (an unknown zone).
fn intl_time(at: &DateTime<Utc>, zone: Option<&str>) -> Option<String> {
    let date = js_sys::Date::new(&JsValue::from_f64(at.timestamp_millis() as f64));
    // `format` is a bound getter: any `this` does.
    let call = |format: &js_sys::Function| format.call1(&JsValue::UNDEFINED, &date).ok();
    match zone {
        // The viewer's zone: one formatter for the page's life (a table has many times).
        None => VIEWER_TIME.with(|f| f.get_or_init(|| time_format(None)).as_ref().and_then(call)),
        Some(zone) => time_format(Some(zone)).as_ref().and_then(call),
    }?
    .as_string()
}

thread_local! {
    /// The viewer's `Intl.DateTimeFormat(...).format`, made once.
    static VIEWER_TIME: std::cell::OnceCell<Option<js_sys::Function>> =
        const { std::cell::OnceCell::new() };
    /// `Intl.DisplayNames([], {type: 'currency'})` and its `of`, made once.
    static CURRENCY_NAMES: std::cell::OnceCell<Option<(JsValue, js_sys::Function)>> =
        const { std::cell::OnceCell::new() };
}

/// `new Intl[ctor]([], options)`, or `None` where the browser refuses (an unknown zone
/// throws a RangeError from the constructor: caught, not a panic).
fn intl(ctor: &str, options: &[(&str, &str)]) -> Option<JsValue> {
    let object = js_sys::Object::new();
    for (k, v) in options {
        js_sys::Reflect::set(&object, &(*k).into(), &(*v).into()).ok()?;
    }
    let construct = js_sys::Reflect::get(&js_sys::global(), &"Intl".into())
        .and_then(|intl| js_sys::Reflect::get(&intl, &ctor.into()))
        .ok()?;
    let construct: &js_sys::Function = construct.dyn_ref()?;
    js_sys::Reflect::construct(
        construct,
        &js_sys::Array::of2(&js_sys::Array::new(), &object),
    )
    .ok()
}

/// A method of an `Intl` object.
fn method(of: &JsValue, name: &str) -> Option<js_sys::Function> {
    js_sys::Reflect::get(of, &name.into()).ok()?.dyn_into().ok()
}

/// The `format` of a date-and-time formatter in `zone` (else the viewer's).
fn time_format(zone: Option<&str>) -> Option<js_sys::Function> {
    let mut options = vec![
        ("year", "numeric"),
        ("month", "short"),
        ("day", "numeric"),
        ("hour", "2-digit"),
        ("minute", "2-digit"),
        ("hourCycle", "h23"),
        ("timeZoneName", "short"),
    ];
    if let Some(zone) = zone {
        options.push(("timeZone", zone));
    }
    method(&intl("DateTimeFormat", &options)?, "format")
}

/// A time in the viewer's time zone (`4 Dec 2026, 13:05 GMT+1`), or in UTC where the browser
/// cannot say.
pub fn fmt_time(at: &DateTime<Utc>) -> String {
    intl_time(at, None).unwrap_or_else(|| fmt_utc(at))
}

/// `GBP — British Pound`: a currency code with its name in the viewer's language, from the
/// browser's `Intl.DisplayNames` (the code alone where the browser has no name for it).
pub fn currency_label(code: &str) -> String {
    let name = CURRENCY_NAMES.with(|names| {
        let (names, of) = names
            .get_or_init(|| {
                let names = intl("DisplayNames", &[("type", "currency")])?;
                let of = method(&names, "of")?;
                Some((names, of))
            })
            .as_ref()?;
        of.call1(names, &code.into()).ok()?.as_string()
    });
    match name {
        Some(name) if name != code => format!("{code} — {name}"),
        _ => code.to_owned(),
    }
}

/// An optional time, or a dash.
pub fn fmt_opt_time(at: Option<&DateTime<Utc>>) -> String {
    at.map(fmt_time).unwrap_or_else(|| "—".to_owned())
}

/// A time shown in the viewer's zone, its UTC on hover and in `datetime`.
pub fn time(at: &DateTime<Utc>) -> impl IntoView + use<> {
    view! {
        <time datetime=at.to_rfc3339_opts(chrono::SecondsFormat::Secs, true) title=fmt_utc(at)>
            {fmt_time(at)}
        </time>
    }
}

/// An optional time, or a dash.
pub fn opt_time(at: Option<&DateTime<Utc>>) -> impl IntoView + use<> {
    at.map(time).into_any_or_dash()
}

/// A run's time in the viewer's zone and, when it differs, in the connection's zone `zone`
/// (SPEC S16: connection times in the connection's time zone where they concern its runs).
pub fn run_time(at: &DateTime<Utc>, zone: &str) -> impl IntoView + use<> {
    let mine = fmt_time(at);
    let theirs = intl_time(at, Some(zone)).filter(|t| *t != mine);
    view! {
        <time datetime=at.to_rfc3339_opts(chrono::SecondsFormat::Secs, true) title=fmt_utc(at)>
            {mine}
        </time>
        {theirs.map(|t| view! { <br /><span class="meta" data-connection-zone=zone.to_owned()>{t}</span> })}
    }
}

/// An optional run time, or a dash.
pub fn opt_run_time(at: Option<&DateTime<Utc>>, zone: &str) -> AnyView {
    match at {
        Some(at) => run_time(at, zone).into_any(),
        None => "—".into_any(),
    }
}

/// `Some(view)` as itself, `None` as a dash.
trait IntoAnyOrDash {
    fn into_any_or_dash(self) -> AnyView;
}

impl<V: IntoView + 'static> IntoAnyOrDash for Option<V> {
    fn into_any_or_dash(self) -> AnyView {
        match self {
            Some(v) => v.into_any(),
            None => "—".into_any(),
        }
    }
}

/// The value of an `<input>`/`<select>`/`<textarea>` event target.
pub fn target_value(ev: &leptos::ev::Event) -> String {
    event_target_value(ev)
}

/// Whether a checkbox event's target is checked.
pub fn target_checked(ev: &leptos::ev::Event) -> bool {
    event_target_checked(ev)
}

/// A hub access level as a small badge.
pub fn access_badge(level: hubkeep_shared::HubAccess) -> impl IntoView {
    let (class, text) = match level {
        hubkeep_shared::HubAccess::Elevated => ("badge elevated", "Elevated"),
        hubkeep_shared::HubAccess::Limited => ("badge limited", "Limited"),
        hubkeep_shared::HubAccess::None => ("badge none", "No access"),
    };
    view! { <span class=class data-access=level.to_string()>{text}</span> }
}

/// Copies `text` to the clipboard and says whether it worked.
pub fn copy_to_clipboard(text: &str) {
    let notices = use_notices();
    let promise = window().navigator().clipboard().write_text(text);
    leptos::task::spawn_local(async move {
        match wasm_bindgen_futures::JsFuture::from(promise).await {
            Ok(_) => notices.ok("Copied"),
            Err(_) => {
                notices.error_text("The browser refused to copy: select the text and copy it.")
            }
        }
    });
}

/// A secret shown once (a new API or engine token, a rotated launch secret): the value, a
/// copy button, what to do with it, and Done to hide it for good.
#[component]
pub fn SecretOnce(
    /// What the secret is (`Token “ci”:`).
    #[prop(into)]
    label: String,
    #[prop(into)] value: String,
    /// The id of the `<code>` holding the value.
    #[prop(into)]
    code_id: String,
    /// The id of the copy button.
    #[prop(into)]
    copy_id: String,
    /// What to do with it now.
    #[prop(into)]
    note: String,
    /// An id for the box itself.
    #[prop(optional, into)]
    id: Option<String>,
    /// Hides the box.
    #[prop(into)]
    on_done: Callback<()>,
) -> impl IntoView {
    let copied = value.clone();
    view! {
        <div class="secret" role="status" id=id>
            <span>{label}</span>
            <code id=code_id>{value}</code>
            <button type="button" class="secondary" id=copy_id on:click=move |_| copy_to_clipboard(&copied)>
                "Copy"
            </button>
            <span>{note}</span>
            <button type="button" class="secondary" on:click=move |_| on_done.run(())>"Done"</button>
        </div>
    }
}
