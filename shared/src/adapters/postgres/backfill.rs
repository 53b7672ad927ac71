//! The backfill's keyset pages over calls without current analytics, and its attempt counts.

use std::time::Duration;

use chrono::{DateTime, Utc};

use super::{PgStore, StoreError};

/// What [`PgStore::backfill_page`] selects.
#[derive(Debug, Clone)]
pub struct BackfillQuery<'a> {
    /// Calls that ended after this.
    pub since: DateTime<Utc>,
    /// …and at or before this (now minus the grace period, at most).
    pub until: DateTime<Utc>,
    /// Only this agent's calls.
    pub agent_id: Option<&'a str>,
    /// Also calls analyzed by another analyzer or prompt version, and given-up calls.
    pub reanalyze: bool,
    /// Attempts after which a call without analytics is left alone.
    pub max_attempts: u32,
    /// The analyzer now configured.
    pub current_analyzer: &'a str,
    /// Its prompt version.
    pub current_prompt_version: Option<&'a str>,
    /// Rows per page.
    pub page_size: usize,
}

/// Where a backfill run stopped: the last (`"endedAt"`, id) it handled.
#[derive(Debug, Clone, PartialEq)]
pub struct BackfillCursor {
    /// `"endedAt"` of the last call handled.
    pub ended_at: DateTime<Utc>,
    /// Its id.
    pub call_id: String,
}

/// A call the backfill selected.
#[derive(Debug, Clone, PartialEq)]
pub struct BackfillCandidate {
    /// The call.
    pub call_id: String,
    /// When it ended.
    pub ended_at: DateTime<Utc>,
}

/// The selection of [`PgStore::backfill_page`] without `reanalyze` (public for EXPLAIN in
/// tests and benchmarks). Two anti-joins, so each page is a range scan of
/// `"Call_endedAt_id_idx"` from the cursor with primary-key probes.
pub const BACKFILL_PAGE_SQL: &str = r#"SELECT c.id::text, c."endedAt"::timestamptz
FROM "Call" c
WHERE (c."endedAt", c.id) > ($1, $2::text) AND c."endedAt" > $3 AND c."endedAt" <= $4
  AND ($5::text IS NULL OR c."agentId" = $5)
  AND NOT EXISTS (SELECT 1 FROM "Analytics" a WHERE a."callId" = c.id)
  AND NOT EXISTS (SELECT 1 FROM "BackfillAttempt" b WHERE b."callId" = c.id AND b.attempts >= $6)
ORDER BY c."endedAt", c.id
LIMIT $7"#;

/// The `reanalyze` selection: calls with no analytics whatever their attempts, and calls whose
/// row another analyzer or prompt version made.
const BACKFILL_REANALYZE_PAGE_SQL: &str = r#"SELECT c.id::text, c."endedAt"::timestamptz
FROM "Call" c
LEFT JOIN "Analytics" a ON a."callId" = c.id
WHERE (c."endedAt", c.id) > ($1, $2::text) AND c."endedAt" > $3 AND c."endedAt" <= $4
  AND ($5::text IS NULL OR c."agentId" = $5)
  AND (a."callId" IS NULL OR a.analyzer <> $6 OR a."promptVersion" IS DISTINCT FROM $7::text)
ORDER BY c."endedAt", c.id
LIMIT $8"#;

impl PgStore {
    /// One keyset page of calls to backfill, ordered by (`"endedAt"`, id), after `after`.
    /// Without `reanalyze`: calls with no analytics row whose backfill attempts are below
    /// `max_attempts`. With it: those regardless of attempts, plus calls whose row was made by
    /// another analyzer or prompt version than `current`.
    ///
    /// # Errors
    /// [`StoreError`] on any database fault.
    pub async fn backfill_page(
        &self,
        query: &BackfillQuery<'_>,
        after: Option<&BackfillCursor>,
    ) -> Result<Vec<BackfillCandidate>, StoreError> {
        // Without a cursor the range starts at `since` itself (every id sorts after "").
        let (from_ended, from_id) = match after {
            Some(cursor) => (cursor.ended_at, cursor.call_id.as_str()),
            None => (query.since, ""),
        };
        let page_size = i64::try_from(query.page_size).unwrap_or(i64::MAX);
        let max_attempts = i32::try_from(query.max_attempts).unwrap_or(i32::MAX);
        let rows = if query.reanalyze {
            let params: [&(dyn tokio_postgres::types::ToSql + Sync); 8] = [
                &from_ended,
                &from_id,
                &query.since,
                &query.until,
                &query.agent_id,
                &query.current_analyzer,
                &query.current_prompt_version,
                &page_size,
            ];
            let params = &params;
            self.run(
                || "select a reanalyze page".to_string(),
                |c| async move { c.client.query(BACKFILL_REANALYZE_PAGE_SQL, params).await },
            )
            .await?
        } else {
            let params: [&(dyn tokio_postgres::types::ToSql + Sync); 7] = [
                &from_ended,
                &from_id,
                &query.since,
                &query.until,
                &query.agent_id,
                &max_attempts,
                &page_size,
            ];
            let params = &params;
            self.run(
                || "select a backfill page".to_string(),
                |c| async move { c.client.query(BACKFILL_PAGE_SQL, params).await },
            )
            .await?
        };
        let read = |e| StoreError::Query {
            operation: "read a backfill page".into(),
            source: e,
        };
        rows.iter()
            .map(|row| {
                Ok(BackfillCandidate {
                    call_id: row.try_get(0).map_err(read)?,
                    ended_at: row.try_get(1).map_err(read)?,
                })
            })
            .collect()
    }

    /// Calls in the window with no analytics that reached `max_attempts`: what the backfill
    /// leaves alone until someone asks with `reanalyze`.
    ///
    /// # Errors
    /// [`StoreError`] on any database fault.
    pub async fn count_given_up(&self, query: &BackfillQuery<'_>) -> Result<u64, StoreError> {
        let max_attempts = i32::try_from(query.max_attempts).unwrap_or(i32::MAX);
        let (since, until, agent, max_attempts) =
            (&query.since, &query.until, &query.agent_id, &max_attempts);
        let row = self
            .run(
                || "count given-up calls".to_string(),
                |c| async move {
                    c.client
                        .query_one(
                            r#"SELECT count(*) FROM "BackfillAttempt" b JOIN "Call" c ON c.id = b."callId"
                               WHERE b.attempts >= $4 AND c."endedAt" > $1 AND c."endedAt" <= $2
                                 AND ($3::text IS NULL OR c."agentId" = $3)
                                 AND NOT EXISTS (SELECT 1 FROM "Analytics" a WHERE a."callId" = c.id)"#,
                            &[since, until, agent, max_attempts],
                        )
                        .await
                },
            )
            .await?;
        let count: i64 = row.try_get(0).map_err(|e| StoreError::Query {
            operation: "count given-up calls".into(),
            source: e,
        })?;
        Ok(u64::try_from(count).unwrap_or(0))
    }

    /// Counts one more backfill attempt for each call, unless one was counted less than
    /// `min_interval` ago: a duplicate scheduled delivery or two overlapping runs enqueue a
    /// call twice within seconds, and must not use up its attempts early.
    ///
    /// # Errors
    /// [`StoreError`] on any database fault.
    pub async fn record_backfill_attempts(
        &self,
        call_ids: &[&str],
        min_interval: Duration,
    ) -> Result<(), StoreError> {
        if call_ids.is_empty() {
            return Ok(());
        }
        let interval_secs = min_interval.as_secs_f64();
        self.run(
            || format!("record backfill attempts of {} calls", call_ids.len()),
            |c| async move {
                c.client
                    .execute(
                        r#"INSERT INTO "BackfillAttempt" ("callId", attempts, "lastEnqueuedAt")
                           SELECT id, 1, now() FROM unnest($1::text[]) AS id
                           ON CONFLICT ("callId") DO UPDATE
                             SET attempts = "BackfillAttempt".attempts + 1, "lastEnqueuedAt" = now()
                             WHERE "BackfillAttempt"."lastEnqueuedAt" IS NULL
                                OR "BackfillAttempt"."lastEnqueuedAt"
                                   <= now() - make_interval(secs => $2::float8)"#,
                        &[&call_ids, &interval_secs],
                    )
                    .await
            },
        )
        .await?;
        Ok(())
    }
}
