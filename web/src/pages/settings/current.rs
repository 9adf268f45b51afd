//! The settings as saved: the defaults, the PSA connection (secrets only as "set / not set")
//! and the accounting mappings.

use super::*;

#[component]
pub(super) fn CurrentSettings(settings: Settings) -> impl IntoView {
    let dash = || "—".to_owned();
    let psa = settings.psa.clone();
    let mappings = settings.accounting_mappings.clone();
    view! {
        <section class="panel" id="settings-view" aria-labelledby="settings-view-title">
            <h2 id="settings-view-title">"Current settings"</h2>
            <dl class="facts">
                <dt>"Default timezone"</dt>
                <dd>{settings.default_timezone.clone()}</dd>
                <dt>"Invitation expiry"</dt>
                <dd>{format!("{} days", settings.invitation_expiry_days)}</dd>
                <dt>"Session lifetime"</dt>
                <dd>{format!("{} hours", settings.session_lifetime_hours)}</dd>
                <dt>"Email sender name"</dt>
                <dd id="settings-email-sender-value">{settings.email_sender_name.clone().unwrap_or_else(|| "— (the server's)".to_owned())}</dd>
                <dt>"PSA provider"</dt>
                <dd>{psa.provider.as_str()}</dd>
                <dt>"Zone URL"</dt>
                <dd>{psa.zone_url.clone().unwrap_or_else(|| "— (discovered from the API user)".to_owned())}</dd>
                <dt>"API user"</dt>
                <dd>{psa.api_user.clone().unwrap_or_else(dash)}</dd>
                <dt>"Directory path"</dt>
                <dd>{psa.directory_path.clone().unwrap_or_else(dash)}</dd>
                <dt>"Integration code"</dt>
                <dd>{set_text(psa.integration_code_set)}</dd>
                <dt>"Secret"</dt>
                <dd>{set_text(psa.secret_set)}</dd>
                <dt>"Launch secret last rotated"</dt>
                <dd>{time(&psa.launch_secret_rotated_at)}</dd>
                <dt>"Last changed"</dt>
                <dd>{time(&settings.updated_at)}</dd>
            </dl>
            <h3>"Accounting mappings"</h3>
            {if mappings.is_empty() {
                view! { <Empty text="No accounting mappings." /> }.into_any()
            } else {
                view! {
                    <div class="table-wrap" tabindex="0" role="region" aria-label="Table, scrolls sideways on a narrow screen">
                        <table id="mappings-table" aria-label="Accounting mappings">
                            <thead>
                                <tr>
                                    <th scope="col">"Source code"</th>
                                    <th scope="col">"Account code"</th>
                                    <th scope="col">"Description"</th>
                                </tr>
                            </thead>
                            <tbody>
                                {mappings
                                    .into_iter()
                                    .map(|m| {
                                        view! {
                                            <tr>
                                                <td><code>{m.source_code}</code></td>
                                                <td><code>{m.account_code}</code></td>
                                                <td>{m.description}</td>
                                            </tr>
                                        }
                                    })
                                    .collect_view()}
                            </tbody>
                        </table>
                    </div>
                }
                    .into_any()
            }}
        </section>
    }
}
