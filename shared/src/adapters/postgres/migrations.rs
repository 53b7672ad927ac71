//! The schema: the migrations in `migrations/`, compiled in, and how they are applied.

use tracing::info;

use super::{PgStore, StoreError};

/// One migration: a version, a name and its SQL.
#[derive(Debug, Clone, Copy)]
pub struct Migration {
    /// Applied in ascending order; recorded in `postcall_schema_migrations`.
    pub version: i32,
    /// File name without the number.
    pub name: &'static str,
    /// The SQL, run in one transaction.
    pub sql: &'static str,
}

/// The migrations in `migrations/`, compiled in so that a function can apply them at cold start.
pub const MIGRATIONS: &[Migration] = &[
    Migration {
        version: 1,
        name: "call_and_turn",
        sql: include_str!("../../../../migrations/0001_call_and_turn.sql"),
    },
    Migration {
        version: 2,
        name: "analytics",
        sql: include_str!("../../../../migrations/0002_analytics.sql"),
    },
    Migration {
        version: 3,
        name: "dashboard_indexes",
        sql: include_str!("../../../../migrations/0003_dashboard_indexes.sql"),
    },
    Migration {
        version: 4,
        name: "notification",
        sql: include_str!("../../../../migrations/0004_notification.sql"),
    },
    Migration {
        version: 5,
        name: "backfill",
        sql: include_str!("../../../../migrations/0005_backfill.sql"),
    },
    Migration {
        version: 6,
        name: "top_leads_index",
        sql: include_str!("../../../../migrations/0006_top_leads_index.sql"),
    },
    Migration {
        version: 7,
        name: "sentiment_rollup",
        sql: include_str!("../../../../migrations/0007_sentiment_rollup.sql"),
    },
    Migration {
        version: 8,
        name: "top_leads_by_end_time",
        sql: include_str!("../../../../migrations/0008_top_leads_by_end_time.sql"),
    },
    Migration {
        version: 9,
        name: "rollup_quarter_hours",
        sql: include_str!("../../../../migrations/0009_rollup_quarter_hours.sql"),
    },
    Migration {
        version: 10,
        name: "rollup_statement_triggers",
        sql: include_str!("../../../../migrations/0010_rollup_statement_triggers.sql"),
    },
];

impl PgStore {
    /// Applies the migrations not yet recorded in `postcall_schema_migrations`, each in its own
    /// transaction, under an advisory lock so that concurrent cold starts apply each once.
    /// Returns the versions applied now.
    ///
    /// # Errors
    /// [`StoreError`] when connecting or a migration fails (that migration is rolled back).
    pub async fn migrate(&self) -> Result<Vec<i32>, StoreError> {
        let mut client = self.open_client().await?;
        let fail = |operation: &str| {
            let operation = operation.to_owned();
            move |source| StoreError::Query { operation, source }
        };
        // The lock is per session and released when this connection closes at the end.
        client
            .batch_execute(
                "SELECT pg_advisory_lock(7412019) ;
                 CREATE TABLE IF NOT EXISTS postcall_schema_migrations (
                     version integer PRIMARY KEY,
                     name text NOT NULL,
                     applied_at timestamptz NOT NULL DEFAULT now())",
            )
            .await
            .map_err(fail("lock and create postcall_schema_migrations"))?;
        let applied: Vec<i32> = client
            .query("SELECT version FROM postcall_schema_migrations", &[])
            .await
            .map_err(fail("read applied migrations"))?
            .iter()
            .map(|row| row.get(0))
            .collect();
        let mut now_applied = Vec::new();
        for migration in MIGRATIONS.iter().filter(|m| !applied.contains(&m.version)) {
            let operation = format!("apply migration {} ({})", migration.version, migration.name);
            let tx = client.transaction().await.map_err(fail(&operation))?;
            tx.batch_execute(migration.sql)
                .await
                .map_err(fail(&operation))?;
            tx.execute(
                "INSERT INTO postcall_schema_migrations (version, name) VALUES ($1, $2)",
                &[&migration.version, &migration.name],
            )
            .await
            .map_err(fail(&operation))?;
            tx.commit().await.map_err(fail(&operation))?;
            info!(
                version = migration.version,
                name = migration.name,
                "migration applied"
            );
            now_applied.push(migration.version);
        }
        Ok(now_applied)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn migrations_are_numbered_in_order_and_match_their_files() {
        for m in MIGRATIONS {
            assert!(!m.sql.trim().is_empty(), "{}", m.name);
        }
        let versions: Vec<i32> = MIGRATIONS.iter().map(|m| m.version).collect();
        assert_eq!(versions, (1..=MIGRATIONS.len() as i32).collect::<Vec<_>>());
    }
}
