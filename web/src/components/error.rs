//! How the console shows a failed load.

use leptos::prelude::*;

use crate::api::ClientError;

/// An error message with the problem's code and request id when the API gave them.
#[component]
pub fn ErrorMessage(error: ClientError) -> impl IntoView {
    let (code, request_id) = match &error {
        ClientError::Problem(p) => (Some(p.code.clone()), p.request_id.clone()),
        _ => (None, None),
    };
    view! {
        <div class="error" role="alert">
            <p>{error.to_string()}</p>
            {code.map(|c| view! { <p><small>"Code: "<code>{c}</code></small></p> })}
            {request_id.map(|id| view! { <p><small>"Request id: "<code>{id}</code></small></p> })}
        </div>
    }
}

/// The fallback of an `ErrorBoundary`: each error, readable.
pub fn error_list(errors: ArcRwSignal<Errors>) -> impl IntoView {
    view! {
        <div class="error" role="alert">
            <ul>
                {move || {
                    errors
                        .get()
                        .into_iter()
                        .map(|(_, e)| view! { <li>{e.to_string()}</li> })
                        .collect_view()
                }}
            </ul>
        </div>
    }
}

/// Shown instead of a page whose code could not be fetched (the network, or a new build
/// deployed since this tab loaded the console): a reload gets the current build.
#[component]
pub fn PageLoadFailed() -> impl IntoView {
    view! {
        <div class="error" role="alert" id="page-load-failed">
            <p>"This page could not be loaded. Check the connection, then reload the console."</p>
            <p>
                <button type="button" on:click=|_| {
                    let _ = window().location().reload();
                }>"Reload"</button>
            </p>
        </div>
    }
}
