//! The notifier's idempotency claims: one row per (call, channel).

use std::time::Duration;

use super::{PgStore, StoreError};
use crate::domain::CallId;

/// Result of [`PgStore::claim_notification`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NotificationClaim {
    /// This invocation may post; `attempt` counts from 1.
    Claimed {
        /// Which attempt this is.
        attempt: u32,
    },
    /// Posted before: post nothing.
    AlreadySent,
    /// Refused permanently before: post nothing.
    AlreadyFailed,
    /// Another invocation holds a live claim.
    InProgress,
}

/// How a claimed notification ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NotificationOutcome {
    /// Posted.
    Sent,
    /// Failed transiently; the next delivery may claim it.
    Retry,
    /// Refused permanently.
    Failed,
}

impl PgStore {
    /// Claims the right to notify `channel` about a call, for `lease`: in one statement, a new
    /// row, a row whose last attempt failed transiently, or one whose holder's lease expired.
    ///
    /// # Errors
    /// [`StoreError`] on any database fault.
    pub async fn claim_notification(
        &self,
        call_id: &CallId,
        channel: &str,
        lease: Duration,
    ) -> Result<NotificationClaim, StoreError> {
        let lease_secs = lease.as_secs_f64();
        let lease_secs = &lease_secs;
        let claimed = self
            .run(
                || format!("claim notification of call {call_id}"),
                |c| async move {
                    c.client
                        .query_opt(
                            r#"INSERT INTO "Notification" ("callId", channel, status, attempts, "leaseExpiresAt")
                               VALUES ($1, $2, 'sending', 1, now() + make_interval(secs => $3))
                               ON CONFLICT ("callId", channel) DO UPDATE
                                 SET status = 'sending', attempts = "Notification".attempts + 1,
                                     "leaseExpiresAt" = EXCLUDED."leaseExpiresAt", "updatedAt" = now()
                                 WHERE "Notification".status = 'retry'
                                    OR ("Notification".status = 'sending' AND "Notification"."leaseExpiresAt" < now())
                               RETURNING attempts"#,
                            &[&call_id.as_str(), &channel, lease_secs],
                        )
                        .await
                },
            )
            .await?;
        if let Some(row) = claimed {
            let attempt: i32 = row.try_get(0).map_err(|e| StoreError::Query {
                operation: format!("claim notification of call {call_id}"),
                source: e,
            })?;
            return Ok(NotificationClaim::Claimed {
                attempt: u32::try_from(attempt).unwrap_or(1),
            });
        }
        let row = self
            .run(
                || format!("read notification of call {call_id}"),
                |c| async move {
                    c.client
                        .query_opt(
                            r#"SELECT status FROM "Notification" WHERE "callId" = $1 AND channel = $2"#,
                            &[&call_id.as_str(), &channel],
                        )
                        .await
                },
            )
            .await?;
        let status: Option<String> =
            row.map(|r| r.try_get(0))
                .transpose()
                .map_err(|e| StoreError::Query {
                    operation: format!("read notification of call {call_id}"),
                    source: e,
                })?;
        Ok(match status.as_deref() {
            Some("sent") => NotificationClaim::AlreadySent,
            Some("failed") => NotificationClaim::AlreadyFailed,
            // 'sending' with a live lease; a row deleted meanwhile is retried the same way.
            _ => NotificationClaim::InProgress,
        })
    }

    /// Ends a claim: `sent`, `retry` (transient failure, claimable again at once) or `failed`
    /// (permanent), with the error to keep.
    ///
    /// # Errors
    /// [`StoreError`] on any database fault.
    pub async fn finish_notification(
        &self,
        call_id: &CallId,
        channel: &str,
        outcome: NotificationOutcome,
        error: Option<&str>,
    ) -> Result<(), StoreError> {
        let status = match outcome {
            NotificationOutcome::Sent => "sent",
            NotificationOutcome::Retry => "retry",
            NotificationOutcome::Failed => "failed",
        };
        let error: Option<String> = error.map(|e| e.chars().take(1000).collect());
        let error = &error;
        self.run(
            || format!("record notification {status} for call {call_id}"),
            |c| async move {
                c.client
                    .execute(
                        r#"UPDATE "Notification"
                           SET status = $3, "lastError" = $4, "leaseExpiresAt" = NULL, "updatedAt" = now(),
                               "sentAt" = CASE WHEN $3 = 'sent' THEN now() ELSE "sentAt" END
                           WHERE "callId" = $1 AND channel = $2"#,
                        &[&call_id.as_str(), &channel, &status, error],
                    )
                    .await
            },
        )
        .await?;
        Ok(())
    }
}
