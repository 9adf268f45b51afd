//! The accounting mappings editor of the settings form.

use super::*;

/// One row of the mappings editor, with a stable key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct MappingRow {
    key: u64,
    source_code: RwSignal<String>,
    account_code: RwSignal<String>,
    description: RwSignal<String>,
}

impl MappingRow {
    /// A row for `m`, keyed with the next key of `next_key`.
    pub(super) fn new(next_key: StoredValue<u64>, m: AccountingMapping) -> Self {
        let key = next_key.get_value();
        next_key.set_value(key + 1);
        Self {
            key,
            source_code: RwSignal::new(m.source_code),
            account_code: RwSignal::new(m.account_code),
            description: RwSignal::new(m.description),
        }
    }

    /// The mapping the row holds now, trimmed.
    pub(super) fn mapping_untracked(&self) -> AccountingMapping {
        AccountingMapping {
            source_code: self.source_code.get_untracked().trim().to_owned(),
            account_code: self.account_code.get_untracked().trim().to_owned(),
            description: self.description.get_untracked().trim().to_owned(),
        }
    }
}

/// The mappings fieldset: one editable row per mapping, a remove button each, and a button
/// adding an empty row.
#[component]
pub(super) fn MappingsEditor(
    rows: RwSignal<Vec<MappingRow>>,
    next_key: StoredValue<u64>,
) -> impl IntoView {
    view! {
        <fieldset>
            <legend>"Accounting mappings"</legend>
            <div class="table-wrap" tabindex="0" role="region" aria-label="Table, scrolls sideways on a narrow screen">
                <table id="mappings-editor" aria-label="Accounting mappings (editable)">
                    <thead>
                        <tr>
                            <th scope="col">"Source code"</th>
                            <th scope="col">"Account code"</th>
                            <th scope="col">"Description"</th>
                            <th scope="col">"Actions"</th>
                        </tr>
                    </thead>
                    <tbody>
                        <For
                            each=move || rows.get()
                            key=|r| r.key
                            children=move |r| {
                                let key = r.key;
                                let cell = move |label: &'static str, sig: RwSignal<String>| {
                                    view! {
                                        <td>
                                            <input
                                                type="text"
                                                aria-label=label
                                                prop:value=move || sig.get()
                                                on:input=move |ev| sig.set(event_target_value(&ev))
                                            />
                                        </td>
                                    }
                                };
                                view! {
                                    <tr data-mapping-key=key>
                                        {cell("Source code", r.source_code)}
                                        {cell("Account code", r.account_code)}
                                        {cell("Description", r.description)}
                                        <td class="actions">
                                            <button
                                                type="button"
                                                class="link"
                                                aria-label="Remove this mapping"
                                                on:click=move |_| rows.update(|v| v.retain(|x| x.key != key))
                                            >
                                                "Remove"
                                            </button>
                                        </td>
                                    </tr>
                                }
                            }
                        />
                    </tbody>
                </table>
            </div>
            <div class="buttons">
                <button
                    type="button"
                    class="secondary"
                    id="add-mapping"
                    on:click=move |_| {
                        let row = MappingRow::new(
                            next_key,
                            AccountingMapping {
                                source_code: String::new(),
                                account_code: String::new(),
                                description: String::new(),
                            },
                        );
                        rows.update(|v| v.push(row));
                    }
                >
                    "Add mapping"
                </button>
            </div>
        </fieldset>
    }
}
