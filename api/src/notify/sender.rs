//! The outbox's sender (SPEC S15): one loop per instance takes due messages under a lease
//! (`FOR UPDATE SKIP LOCKED` on PostgreSQL, a conditional `UPDATE` on SQLite), sends each
//! with its stable `Message-ID`, and records the outcome: `sent`; `failed` with the next
//! attempt after an exponential backoff; `dead` after `[smtp] max_attempts` or on an answer
//! the server calls permanent. Nothing here runs in a request.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context as _;
use chrono::{DateTime, Utc};
use hubkeep_shared::api::NotificationStatus;
use hubkeep_shared::ids::NotificationId;
use lettre::message::{Mailbox, MultiPart, header};
use lettre::{AsyncSmtpTransport, AsyncTransport, Message, Tokio1Executor};
use prometheus::{IntCounterVec, IntGaugeVec, Opts, Registry};
use sea_orm::sea_query::{Expr, LockBehavior, LockType};
use sea_orm::{
    ColumnTrait, Condition, DatabaseConnection, DbBackend, DbErr, EntityTrait, PaginatorTrait,
    QueryFilter, QueryOrder, QuerySelect, TransactionTrait,
};

use super::{Body, render};
use crate::AppState;
use crate::config::Settings;
use crate::db::{
    self,
    entities::{notifications, tenant_settings},
};

/// Where messages go.
#[derive(Clone)]
pub enum Transport {
    /// An SMTP server (`[smtp] url`).
    Smtp(AsyncSmtpTransport<Tokio1Executor>),
    /// `<id>.eml` files in a directory (no `[smtp] url`: the demo's outbox).
    Files(PathBuf),
}

impl std::fmt::Debug for Transport {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            // The URL holds the password: never printed.
            Self::Smtp(_) => f.write_str("Smtp(***)"),
            Self::Files(dir) => f.debug_tuple("Files").field(dir).finish(),
        }
    }
}

impl Transport {
    pub fn from_settings(settings: &Settings) -> anyhow::Result<Self> {
        match &settings.smtp.url {
            Some(url) => Ok(Self::Smtp(
                AsyncSmtpTransport::<Tokio1Executor>::from_url(url.trim())
                    .map_err(|e| anyhow::anyhow!("[smtp] url: {e}"))?
                    .timeout(Some(Duration::from_secs(settings.smtp.timeout_secs)))
                    .build(),
            )),
            None => Ok(Self::Files(settings.data_dir.join("outbox"))),
        }
    }
}

/// How messages are addressed and linked: from the operator's settings.
#[derive(Debug, Clone)]
pub struct Letterhead {
    pub from: Mailbox,
    /// The console's public address, for links.
    pub base_url: String,
    /// The right side of every `Message-ID`: the `From` address's domain.
    pub domain: String,
}

impl Letterhead {
    /// `address` is where this server listens: the links' host without `[http] public_url`.
    pub fn from_settings(
        settings: &Settings,
        address: std::net::SocketAddr,
    ) -> anyhow::Result<Self> {
        let from: Mailbox = settings
            .smtp
            .from
            .parse()
            .context("[smtp] from is not an address")?;
        let domain = from.email.domain().to_owned();
        let base_url = settings
            .http
            .public_url
            .clone()
            .unwrap_or_else(|| format!("http://{address}"));
        Ok(Self {
            from,
            base_url,
            domain,
        })
    }

    /// The message's `Message-ID`: the same on every attempt.
    pub fn message_id(&self, id: &NotificationId) -> String {
        format!("<{id}@{}>", self.domain)
    }

    /// The stored body, or an empty one if it does not read (never expected: only
    /// `notify::enqueue` writes it).
    pub fn body(row: &notifications::Model) -> Body {
        serde_json::from_str(&row.body).unwrap_or(Body {
            paragraphs: Vec::new(),
            action: None,
        })
    }

    /// The message as it is sent. `sender_name` is the tenant's (settings'
    /// `email_sender_name`); without one, the operator's `From` as configured.
    pub fn message(
        &self,
        row: &notifications::Model,
        sender_name: Option<&str>,
    ) -> Result<Message, String> {
        let to_email = row
            .recipient_email
            .parse()
            .map_err(|_| format!("not an email address: {}", row.recipient_email))?;
        let name = render::header_text(&row.recipient_name);
        let to = Mailbox::new((!name.is_empty()).then_some(name), to_email);
        let body = Self::body(row);
        let subject = render::header_text(&row.subject);
        let from = match sender_name.map(render::header_text) {
            Some(name) if !name.is_empty() => Mailbox::new(Some(name), self.from.email.clone()),
            _ => self.from.clone(),
        };
        Message::builder()
            .from(from)
            .to(to)
            .subject(subject.clone())
            .message_id(Some(self.message_id(&row.id)))
            .header(header::Date::now())
            .multipart(MultiPart::alternative_plain_html(
                render::text(&body, &self.base_url),
                render::html(&subject, &body, &self.base_url),
            ))
            .map_err(|e| e.to_string())
    }
}

/// The outbox's metrics (SPEC S15): attempts by this instance by outcome, and the messages
/// waiting in the shared outbox by status.
#[derive(Clone, Debug)]
pub struct OutboxMetrics {
    attempts: IntCounterVec,
    waiting: IntGaugeVec,
}

impl OutboxMetrics {
    pub fn register(registry: &Registry) -> prometheus::Result<Self> {
        let attempts = IntCounterVec::new(
            Opts::new(
                "hubkeep_notification_attempts_total",
                "Delivery attempts of notification emails by this instance, by outcome \
                 (sent, failed: to be retried, dead: given up)",
            ),
            &["outcome"],
        )?;
        let waiting = IntGaugeVec::new(
            Opts::new(
                "hubkeep_notifications",
                "Notification emails in the outbox that are not sent, by status (queued, \
                 failed, dead), as this instance last counted them",
            ),
            &["status"],
        )?;
        registry.register(Box::new(attempts.clone()))?;
        registry.register(Box::new(waiting.clone()))?;
        Ok(Self { attempts, waiting })
    }

    /// Counts the outbox's unsent messages by status into the gauge.
    async fn count(&self, db: &DatabaseConnection) -> Result<(), DbErr> {
        for status in [
            NotificationStatus::Queued,
            NotificationStatus::Failed,
            NotificationStatus::Dead,
        ] {
            let n = notifications::Entity::find()
                .filter(notifications::Column::Status.eq(status))
                .count(db)
                .await?;
            self.waiting
                .with_label_values(&[status.as_str()])
                .set(i64::try_from(n).unwrap_or(i64::MAX));
        }
        Ok(())
    }
}

/// How often the gauge of waiting messages is recounted.
const COUNT_EVERY: Duration = Duration::from_secs(5);

/// Starts this instance's sender (`[smtp] poll_ms` = 0: none).
pub fn spawn(state: AppState, transport: Transport, metrics: OutboxMetrics) {
    let poll = state.settings.smtp.poll_ms;
    if poll == 0 {
        return;
    }
    let letterhead = Arc::clone(&state.letterhead);
    tokio::spawn(async move {
        let mut interval = tokio::time::interval(Duration::from_millis(poll));
        interval.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        let mut counted: Option<std::time::Instant> = None;
        loop {
            interval.tick().await;
            if let Err(e) = drain(&state, &transport, &letterhead, &metrics).await {
                tracing::warn!(error = %e, "the notification sender could not read the outbox");
            }
            if counted.is_none_or(|at| at.elapsed() >= COUNT_EVERY) {
                counted = Some(std::time::Instant::now());
                if let Err(e) = metrics.count(&state.db).await {
                    tracing::warn!(error = %e, "the notification sender could not count the outbox");
                }
            }
        }
    });
}

/// Sends every message due now, one at a time; returns how many it tried.
pub async fn drain(
    state: &AppState,
    transport: &Transport,
    letterhead: &Letterhead,
    metrics: &OutboxMetrics,
) -> Result<usize, DbErr> {
    let mut tried = 0;
    let limit = Duration::from_secs(state.settings.smtp.timeout_secs);
    while let Some(row) = claim(&state.db, &state.instance_id, lease(state)).await? {
        let sender_name = tenant_settings::Entity::find_by_id(row.tenant_id.clone())
            .one(&state.db)
            .await
            .ok()
            .flatten()
            .and_then(|s| s.email_sender_name);
        // lettre's own timeout covers connecting only: a server that stalls after its
        // greeting would hold this sender (and, past the lease, let another instance send
        // the message again). The whole exchange gets `timeout_secs`.
        let outcome = tokio::time::timeout(
            limit,
            deliver(transport, letterhead, &row, sender_name.as_deref()),
        )
        .await
        .unwrap_or_else(|_| {
            Outcome::Retry(format!(
                "no answer within {} s (timed out)",
                limit.as_secs()
            ))
        });
        match record(state, &row, outcome).await? {
            Some(status) => metrics.attempts.with_label_values(&[status.as_str()]).inc(),
            None => tracing::warn!(
                notification = %row.id,
                "the lease ran out before the attempt's outcome was written"
            ),
        }
        tried += 1;
    }
    Ok(tried)
}

/// How long a claimed message is this instance's: one delivery's time limit, with a margin
/// for the database writes around it. Another instance takes it only after that.
fn lease(state: &AppState) -> chrono::Duration {
    chrono::Duration::seconds(i64::try_from(state.settings.smtp.timeout_secs).unwrap_or(60) + 30)
}

/// Due, and not being sent by anyone.
fn due(now: DateTime<Utc>) -> Condition {
    Condition::all()
        .add(
            notifications::Column::Status
                .is_in([NotificationStatus::Queued, NotificationStatus::Failed]),
        )
        .add(notifications::Column::NextAttemptAt.lte(now))
        .add(
            Condition::any()
                .add(notifications::Column::LeaseExpiresAt.is_null())
                .add(notifications::Column::LeaseExpiresAt.lt(now)),
        )
}

/// Takes the lease of one due message for `holder`, or `None` when none is due.
async fn claim(
    db: &DatabaseConnection,
    holder: &str,
    lease: chrono::Duration,
) -> Result<Option<notifications::Model>, DbErr> {
    let now = db::now();
    let take = |id: &NotificationId| {
        notifications::Entity::update_many()
            .col_expr(notifications::Column::LeaseHolder, Expr::value(holder))
            .col_expr(
                notifications::Column::LeaseExpiresAt,
                Expr::value(now + lease),
            )
            .filter(notifications::Column::Id.eq(id.clone()))
            .filter(due(now))
    };
    let oldest = || {
        notifications::Entity::find()
            .filter(due(now))
            .order_by_asc(notifications::Column::NextAttemptAt)
            .order_by_asc(notifications::Column::Id)
    };
    if db.get_database_backend() == DbBackend::Postgres {
        // Instances skip each other's rows instead of waiting for them.
        let txn = db.begin().await?;
        let Some(row) = oldest()
            .lock_with_behavior(LockType::Update, LockBehavior::SkipLocked)
            .one(&txn)
            .await?
        else {
            return Ok(None);
        };
        take(&row.id).exec(&txn).await?;
        txn.commit().await?;
        return Ok(Some(row));
    }
    // SQLite has one writer: the conditional UPDATE decides, whoever read the row first.
    for row in oldest().limit(8).all(db).await? {
        if take(&row.id).exec(db).await?.rows_affected == 1 {
            return Ok(Some(row));
        }
    }
    Ok(None)
}

/// What one attempt came to.
#[derive(Debug)]
enum Outcome {
    Sent,
    /// Worth another try (a refused connection, a 4xx answer, a time-out).
    Retry(String),
    /// Never worth another try (a 5xx answer, an address that is none).
    Permanent(String),
}

async fn deliver(
    transport: &Transport,
    letterhead: &Letterhead,
    row: &notifications::Model,
    sender_name: Option<&str>,
) -> Outcome {
    let message = match letterhead.message(row, sender_name) {
        Ok(m) => m,
        Err(e) => return Outcome::Permanent(e),
    };
    match transport {
        Transport::Smtp(smtp) => match smtp.send(message).await {
            Ok(_) => Outcome::Sent,
            Err(e) if e.is_permanent() => Outcome::Permanent(e.to_string()),
            Err(e) => Outcome::Retry(e.to_string()),
        },
        Transport::Files(dir) => match write_file(dir, &row.id, &message.formatted()).await {
            Ok(()) => Outcome::Sent,
            Err(e) => Outcome::Retry(e.to_string()),
        },
    }
}

/// Writes `<dir>/<id>.eml` whole (a temporary name, then a rename).
async fn write_file(
    dir: &std::path::Path,
    id: &NotificationId,
    bytes: &[u8],
) -> std::io::Result<()> {
    tokio::fs::create_dir_all(dir).await?;
    let tmp = dir.join(format!(".{id}.eml.tmp"));
    tokio::fs::write(&tmp, bytes).await?;
    tokio::fs::rename(&tmp, dir.join(format!("{id}.eml"))).await
}

/// The delay before attempt `attempts + 1`: `base · 2^(attempts − 1)`, at most `max`.
pub fn backoff(attempts: i32, base_secs: u64, max_secs: u64) -> chrono::Duration {
    let exp = u32::try_from(attempts.saturating_sub(1).clamp(0, 30)).unwrap_or(30);
    let secs = base_secs
        .saturating_mul(1u64 << exp)
        .min(max_secs.max(base_secs));
    chrono::Duration::seconds(i64::try_from(secs).unwrap_or(i64::MAX))
}

/// Writes an attempt's outcome, if this instance still holds the lease and nobody changed
/// the message meanwhile; answers the status it wrote, `None` when it wrote nothing.
async fn record(
    state: &AppState,
    row: &notifications::Model,
    outcome: Outcome,
) -> Result<Option<NotificationStatus>, DbErr> {
    let now = db::now();
    let attempts = row.attempts + 1;
    let smtp = &state.settings.smtp;
    let mut update = notifications::Entity::update_many()
        .col_expr(notifications::Column::Attempts, Expr::value(attempts))
        .col_expr(
            notifications::Column::LeaseHolder,
            Expr::value(Option::<String>::None),
        )
        .col_expr(
            notifications::Column::LeaseExpiresAt,
            Expr::value(Option::<DateTime<Utc>>::None),
        );
    let status = match &outcome {
        Outcome::Sent => {
            update = update
                .col_expr(notifications::Column::SentAt, Expr::value(now))
                .col_expr(
                    notifications::Column::LastError,
                    Expr::value(Option::<String>::None),
                );
            NotificationStatus::Sent
        }
        Outcome::Retry(e) | Outcome::Permanent(e) => {
            let dead = matches!(outcome, Outcome::Permanent(_))
                || attempts >= i32::try_from(smtp.max_attempts).unwrap_or(i32::MAX);
            update = update
                .col_expr(notifications::Column::LastError, Expr::value(truncate(e)))
                .col_expr(
                    notifications::Column::NextAttemptAt,
                    Expr::value(now + backoff(attempts, smtp.retry_base_secs, smtp.retry_max_secs)),
                );
            if dead {
                NotificationStatus::Dead
            } else {
                NotificationStatus::Failed
            }
        }
    };
    tracing::info!(notification = %row.id, status = status.as_str(), attempts, "notification attempt");
    let written = update
        .col_expr(notifications::Column::Status, Expr::value(status))
        .filter(notifications::Column::Id.eq(row.id.clone()))
        .filter(notifications::Column::LeaseHolder.eq(&*state.instance_id))
        .filter(notifications::Column::Attempts.eq(row.attempts))
        .exec(&state.db)
        .await?;
    Ok((written.rows_affected == 1).then_some(status))
}

/// An SMTP answer can be long; the list shows its start.
fn truncate(e: &str) -> String {
    e.chars().take(500).collect()
}

#[cfg(test)]
mod tests {
    use super::backoff;

    #[test]
    fn s15_backoff_doubles_from_the_base_up_to_the_bound() {
        let secs = |n| backoff(n, 30, 3600).num_seconds();
        assert_eq!([secs(1), secs(2), secs(3), secs(4)], [30, 60, 120, 240]);
        assert_eq!(secs(8), 3600);
        assert_eq!(secs(60), 3600);
    }
}
