//! The subscription: pay and cancel (SPEC S4).

use super::*;

/// `12.5` → 1250 cents; at most two decimals, not negative.
pub(super) fn parse_amount_cents(raw: &str) -> Option<i64> {
    let raw = raw.trim();
    if raw.is_empty() {
        return None;
    }
    let (whole, frac) = raw.split_once('.').unwrap_or((raw, ""));
    if frac.len() > 2
        || !whole.chars().all(|c| c.is_ascii_digit())
        || !frac.chars().all(|c| c.is_ascii_digit())
        || (whole.is_empty() && frac.is_empty())
    {
        return None;
    }
    let whole: i64 = if whole.is_empty() {
        0
    } else {
        whole.parse().ok()?
    };
    let frac: i64 = if frac.is_empty() {
        0
    } else if frac.len() == 1 {
        frac.parse::<i64>().ok()? * 10
    } else {
        frac.parse().ok()?
    };
    whole.checked_mul(100)?.checked_add(frac)
}

#[component]
pub(super) fn SubscriptionSection(ctx: Ctx) -> impl IntoView {
    let busy = RwSignal::new(false);
    let pay_open = RwSignal::new(false);
    let months = RwSignal::new("1".to_owned());
    let amount = RwSignal::new(String::new());
    let currency = RwSignal::new("USD".to_owned());
    let errors = RwSignal::new(Vec::<String>::new());

    let pay = move |ev: SubmitEvent| {
        ev.prevent_default();
        errors.set(Vec::new());
        let mut problems = Vec::new();
        let m = months.get_untracked().trim().parse::<u32>().ok();
        if !m.is_some_and(|m| (1..=MAX_PAYMENT_MONTHS).contains(&m)) {
            problems.push(format!(
                "Months: a whole number from 1 to {MAX_PAYMENT_MONTHS}"
            ));
        }
        let cents = parse_amount_cents(&amount.get_untracked());
        if cents.is_none() {
            problems.push("Amount: a number of at least 0, with at most two decimals".to_owned());
        }
        let cur = currency.get_untracked().trim().to_uppercase();
        if let Err(message) = refused::<CurrencyCode>("Currency", &cur) {
            problems.push(message);
        }
        if !problems.is_empty() {
            errors.set(problems);
            return;
        }
        let payment = PaymentInput {
            months: m.unwrap_or(1),
            amount_cents: cents.unwrap_or(0),
            currency: cur,
        };
        let id = ctx.id.get_untracked();
        write(
            ctx,
            busy,
            async move { api::connections::pay(&id, &payment).await },
            "Payment recorded.",
            move |_| {
                pay_open.set(false);
                amount.set(String::new());
                ctx.refresh();
            },
            move |e| errors.set(e.field_errors()),
        );
    };

    let cancel = move |_| {
        ctx.ask(
            "Cancel this connection's subscription? It keeps its history but refuses runs and changes until the owner pays again.",
            "Cancel subscription",
            Some("cancel"),
            move || {
                let id = ctx.id.get_untracked();
                write(
                    ctx,
                    busy,
                    async move { api::connections::cancel(&id).await },
                    "The subscription is cancelled.",
                    move |_| ctx.refresh(),
                    |_| (),
                );
            },
        );
    };

    view! {
        <section class="panel" id="subscription" aria-labelledby="subscription-title">
            <h2 id="subscription-title">"Subscription"</h2>
            <dl class="facts">
                <dt>"Status"</dt>
                <dd>{move || ctx.with_conn(|c| status_badge(c.status.as_str()))}</dd>
                <dt>"Paid through"</dt>
                <dd id="paid-through">{move || ctx.with_conn(|c| c.paid_through.map_or_else(|| "—".to_owned(), |d| d.to_string()))}</dd>
                <Show when=move || ctx.cancelled()>
                    <dt>"Cancelled"</dt>
                    <dd>{move || ctx.with_conn(|c| opt_time(c.cancelled_at.as_ref()))}</dd>
                </Show>
            </dl>
            <div class="buttons">
                <Show when=move || ctx.can(Act::Pay)>
                    <button
                        type="button"
                        id="pay-open"
                        data-connection-action="pay"
                        disabled=move || busy.get()
                        on:click=move |_| {
                            errors.set(Vec::new());
                            pay_open.set(true);
                        }
                    >
                        "Pay"
                    </button>
                </Show>
                <Show when=move || ctx.can(Act::Cancel) && !ctx.cancelled()>
                    <button
                        type="button"
                        class="danger"
                        id="cancel-open"
                        data-connection-action="cancel"
                        disabled=move || busy.get()
                        on:click=cancel
                    >
                        "Cancel subscription"
                    </button>
                </Show>
            </div>
            <Dialog open=pay_open title="Pay for the subscription" id="pay-dialog">
                <form on:submit=pay novalidate>
                    <label class="field">
                        <span>"Months"</span>
                        <input
                            id="pay-months"
                            type="number"
                            min="1"
                            max=MAX_PAYMENT_MONTHS.to_string()
                            step="1"
                            prop:value=move || months.get()
                            on:input=move |ev| months.set(event_target_value(&ev))
                        />
                    </label>
                    <label class="field">
                        <span>"Amount"</span>
                        <input
                            id="pay-amount"
                            inputmode="decimal"
                            placeholder="120.00"
                            prop:value=move || amount.get()
                            on:input=move |ev| amount.set(event_target_value(&ev))
                        />
                    </label>
                    <label class="field">
                        <span>"Currency"</span>
                        <input
                            id="pay-currency"
                            maxlength="3"
                            autocomplete="off"
                            prop:value=move || currency.get()
                            on:input=move |ev| currency.set(event_target_value(&ev).to_uppercase())
                        />
                    </label>
                    {field_errors_view("pay-errors".to_owned(), errors)}
                    <div class="buttons">
                        <button type="submit" id="pay-submit" data-connection-action="pay" disabled=move || busy.get()>
                            "Pay"
                        </button>
                        <button type="button" class="secondary" on:click=move |_| pay_open.set(false)>"Cancel"</button>
                    </div>
                </form>
            </Dialog>
        </section>
    }
}
