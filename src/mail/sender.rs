//! Drains the outbox through SMTP (lettre). Each row is claimed with a conditional UPDATE
//! before it is sent, so several instances never send the same row; a failed attempt waits
//! with exponential backoff, and after `smtp.max_attempts` (or a permanent refusal) the row is
//! `dead`. A crash between the server's acceptance and the `sent` mark can repeat that one
//! email after the lease; its Message-ID stays the same, so mail clients show it once.

use std::time::Duration;

use chrono::{DateTime, Utc};
use lettre::message::{Mailbox, MultiPart};
use lettre::transport::smtp::authentication::Credentials;
use lettre::transport::smtp::client::{Tls, TlsParameters};
use lettre::{AsyncSmtpTransport, AsyncTransport, Message, Tokio1Executor};
use serde_json::json;

use crate::config::SmtpConfig;
use crate::db::outbox::{self, OutboxRow};
use crate::db::{self, ledger};
use crate::error::{AppError, AppResult};
use crate::jobs::JobContext;

/// What one drain did.
#[derive(Debug, Default, Clone, serde::Serialize)]
pub struct DrainReport {
    pub sent: usize,
    pub retrying: usize,
    pub dead: usize,
}

/// The SMTP side: transport and sender address.
pub struct Sender {
    transport: AsyncSmtpTransport<Tokio1Executor>,
    from: Mailbox,
    config: SmtpConfig,
}

impl Sender {
    pub fn new(config: &SmtpConfig) -> anyhow::Result<Self> {
        let host = config.host.as_str();
        let builder = match config.security.as_str() {
            "tls" => AsyncSmtpTransport::<Tokio1Executor>::builder_dangerous(host)
                .tls(Tls::Wrapper(TlsParameters::new(host.to_string())?)),
            "starttls" => AsyncSmtpTransport::<Tokio1Executor>::builder_dangerous(host)
                .tls(Tls::Required(TlsParameters::new(host.to_string())?)),
            _ => AsyncSmtpTransport::<Tokio1Executor>::builder_dangerous(host),
        };
        let mut builder = builder
            .port(config.port)
            .timeout(Some(Duration::from_secs(config.timeout_secs)));
        if !config.username.is_empty() {
            builder = builder.credentials(Credentials::new(
                config.username.clone(),
                config.password.clone(),
            ));
        }
        Ok(Sender {
            transport: builder.build(),
            from: config
                .from
                .parse()
                .map_err(|e| anyhow::anyhow!("config error: smtp.from: {e}"))?,
            config: config.clone(),
        })
    }

    /// Builds the message of a row.
    fn message(&self, row: &OutboxRow) -> Result<Message, String> {
        let to: Mailbox = row
            .recipient
            .parse()
            .map_err(|e| format!("bad recipient address: {e}"))?;
        Message::builder()
            .from(self.from.clone())
            .to(to)
            .subject(row.subject.clone())
            .message_id(Some(row.message_id.clone()))
            // Written when the event was recorded (the service's clock, not the wall clock
            // at sending), and the same on every retry, as its Message-ID is.
            .date(row.created_at.and_utc().into())
            .multipart(MultiPart::alternative_plain_html(
                row.body_text.clone(),
                row.body_html.clone(),
            ))
            .map_err(|e| format!("cannot build the message: {e}"))
    }

    /// Seconds to wait after the `attempts`-th failure.
    fn backoff_secs(&self, attempts: i32) -> i64 {
        let shift = u32::try_from(attempts.clamp(1, 30) - 1).unwrap_or(0);
        self.config
            .backoff_initial_secs
            .saturating_mul(1_i64 << shift)
            .min(self.config.backoff_max_secs)
    }

    /// Sends up to `smtp.batch_size` rows that are due now, oldest first, claiming each first;
    /// the next pass takes the next ones (so the batch size paces what a relay receives).
    pub async fn drain(&self, ctx: &JobContext) -> AppResult<DrainReport> {
        let mut report = DrainReport::default();
        let batch = self.config.batch_size;
        let now = ctx.clock.now();
        let ids = ctx
            .db(move |c| Ok(outbox::due(c, now.naive_utc(), batch)?))
            .await?;
        for id in &ids {
            if ctx.stopping.load(std::sync::atomic::Ordering::SeqCst) {
                // Shutting down: the emails not yet claimed wait for the next pass.
                break;
            }
            if let Some(row) = self.claim(ctx, id, now).await? {
                self.attempt(ctx, row, &mut report).await?;
            }
        }
        Ok(report)
    }

    async fn claim(
        &self,
        ctx: &JobContext,
        id: &str,
        now: DateTime<Utc>,
    ) -> AppResult<Option<OutboxRow>> {
        let id = id.to_string();
        let instance = ctx.instance.clone();
        let until = now + chrono::Duration::seconds(self.config.lease_secs);
        ctx.db(move |c| {
            Ok(outbox::claim(
                c,
                &id,
                &instance,
                now.naive_utc(),
                until.naive_utc(),
            )?)
        })
        .await
    }

    async fn attempt(
        &self,
        ctx: &JobContext,
        row: OutboxRow,
        report: &mut DrainReport,
    ) -> AppResult<()> {
        // lettre bounds only the TCP connect: a server that accepts and then stays silent
        // would hold the pass (and every email behind it) for ever. The whole exchange of one
        // email is bounded by `timeout_secs`, and a timeout is a failure like any other.
        let limit = Duration::from_secs(self.config.timeout_secs.max(1));
        let result = match self.message(&row) {
            Ok(msg) => match tokio::time::timeout(limit, self.transport.send(msg)).await {
                Ok(sent) => sent.map(|_| ()).map_err(|e| {
                    let permanent = refuses_the_email(e.is_permanent(), e.status().map(u16::from));
                    (e.to_string(), permanent)
                }),
                Err(_) => Err((
                    format!(
                        "no answer from the mail server within {} s",
                        limit.as_secs()
                    ),
                    false,
                )),
            },
            Err(e) => Err((e, true)),
        };
        let now = ctx.clock.now();
        let instance = ctx.instance.clone();
        match result {
            Ok(()) => {
                report.sent += 1;
                ctx.db(move |c| {
                    db::write_tx(c, |c| {
                        if outbox::mark_sent(c, &row.id, &instance, now.naive_utc())? {
                            record(c, &row, "email.sent", now, None)?;
                        }
                        Ok::<_, AppError>(())
                    })
                })
                .await
            }
            Err((error, permanent)) => {
                tracing::warn!(outbox = %row.id, attempts = row.attempts, %error, "email not sent");
                let give_up = permanent || row.attempts >= self.config.max_attempts;
                let retry_at = (!give_up)
                    .then(|| now + chrono::Duration::seconds(self.backoff_secs(row.attempts)));
                if give_up {
                    report.dead += 1;
                } else {
                    report.retrying += 1;
                }
                ctx.db(move |c| {
                    db::write_tx(c, |c| {
                        let at = retry_at.map(|t| t.naive_utc());
                        if outbox::mark_failed(c, &row.id, &instance, &error, at)? && give_up {
                            record(c, &row, "email.dead", now, Some(&error))?;
                        }
                        Ok::<_, AppError>(())
                    })
                })
                .await
            }
        }
    }
}

/// Whether a failed attempt refused the email itself, for good (given up at once): a permanent
/// (5xx) answer, except a refused login (530, 534, 535, 538) — the relay's configuration (a
/// changed password), not this email's fault, retried like an outage.
fn refuses_the_email(permanent: bool, code: Option<u16>) -> bool {
    permanent && !code.is_some_and(|c| matches!(c, 530 | 534 | 535 | 538))
}

/// The ledger entry of a sent or abandoned email (on its hazard when it concerns one).
pub(crate) fn record(
    conn: &mut db::DbConn,
    row: &OutboxRow,
    kind: &str,
    now: DateTime<Utc>,
    error: Option<&str>,
) -> diesel::QueryResult<()> {
    let hazards = row.hazards();
    let hazard = (hazards.len() == 1).then(|| hazards[0].as_str());
    let payload = json!({
        "outbox_id": row.id,
        "message_id": row.message_id,
        "recipient": row.recipient,
        "subject": row.subject,
        "hazards": hazards,
        "attempts": row.attempts,
        "error": error,
    });
    ledger::append(conn, hazard, kind, None, now, &payload).map(|_| ())
}

#[cfg(test)]
mod tests {
    #[test]
    fn only_a_refusal_of_the_email_itself_gives_it_up() {
        use super::refuses_the_email as gives_up;
        assert!(gives_up(true, Some(550)), "mailbox unavailable");
        assert!(gives_up(true, Some(553)), "address not allowed");
        assert!(
            !gives_up(true, Some(535)),
            "login refused: the relay's password"
        );
        assert!(!gives_up(true, Some(530)), "login required");
        assert!(
            !gives_up(false, Some(421)),
            "service not available, try later"
        );
        assert!(!gives_up(false, None), "connection refused, timeout");
    }
}
