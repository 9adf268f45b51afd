//! Sign in with OpenID Connect (SPEC S13): the pages a browser sees outside the console's
//! shell, whether or not it holds a session.
//!
//! `tenant` is a tenant's own sign-in page `/t/{slug}`: its name, "Sign in with <label>"
//! when it offers OIDC, and why the last attempt was refused (`messages`). `complete` is
//! `/signin/complete`, where the server sends the browser back with a one-time code in the
//! fragment; it trades the code for the session and opens the page the person asked for.

mod complete;
mod messages;
mod tenant;

pub use complete::SignInCompletePage;
pub use tenant::TenantSignInPage;
