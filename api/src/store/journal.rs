//! The journal of entry-form submissions, with group commit.
//!
//! One task owns a dedicated SQLite connection. Handlers send it submissions; it takes every
//! submission waiting (up to [`MAX_BATCH`]), decides each one (idempotency replay, version
//! conflicts) against its in-memory view, writes the accepted ones — journal rows, current
//! record versions, audit entries, idempotency keys — in one transaction, and answers only
//! after the commit (WAL, `synchronous=FULL`: fsync'd). So an acknowledged write survives
//! `kill -9`, and many concurrent writes share one fsync.
//!
//! The lake receives journaled rows later, in batches (`server::flush`); until then
//! [`Pending`] makes them visible to form lookups.

use std::collections::HashMap;
use std::sync::Arc;

use serde_json::{Value, json};
use sqlx::{QueryBuilder, Row as _, Sqlite};
use tokio::sync::{mpsc, oneshot};

use super::{Store, StoreError, now_text, sql};
use pipelines::forms::build::Built;
use pipelines::forms::lookup::Pending;
use pipelines::forms::refs::Refs;

/// Most submissions committed together.
pub const MAX_BATCH: usize = 512;

/// A validated, built submission on its way to the journal.
#[derive(Debug)]
pub struct Submission {
    pub form: &'static str,
    pub correcting: bool,
    /// The normalised input (kept as the record's version).
    pub record: Value,
    pub built: Built,
    pub actor: String,
    /// `(Idempotency-Key, hash of method, path and body)`.
    pub idem: Option<(String, String)>,
}

/// What became of a submission.
#[derive(Debug, Clone, PartialEq)]
pub enum Outcome {
    /// Journaled: durable now, in the lake after the next flush.
    Accepted { status: u16, body: Value },
    /// The same Idempotency-Key was used before with the same request: the first answer.
    Replayed { status: u16, body: Value },
    /// The Idempotency-Key was used before with a different request.
    KeyReused,
    /// A create for a key that exists (use a correction).
    Exists { version: i64 },
    /// A correction of a record never entered through this form.
    NotFound,
}

type Job = (Submission, oneshot::Sender<Result<Outcome, String>>);

/// Handle to the journal writer.
#[derive(Debug, Clone)]
pub struct Journal {
    tx: mpsc::Sender<Job>,
}

struct Writer {
    conn: sqlx::SqliteConnection,
    /// (form, key) -> (version, record JSON)
    versions: HashMap<(String, String), (i64, Value)>,
    /// (principal, key) -> (request hash, status, response)
    idem: HashMap<(String, String), (String, u16, Value)>,
    pending: Arc<Pending>,
    refs: Arc<Refs>,
}

impl Journal {
    /// Loads the current versions and idempotency keys and starts the writer.
    pub async fn start(
        store: &Store,
        pending: Arc<Pending>,
        refs: Arc<Refs>,
    ) -> Result<Journal, StoreError> {
        let mut versions = HashMap::new();
        for r in sqlx::query("SELECT form, record_key, version, record FROM records")
            .fetch_all(&store.pool)
            .await
            .map_err(sql("loading record versions"))?
        {
            let rec: String = r.get("record");
            versions.insert(
                (r.get("form"), r.get("record_key")),
                (
                    r.get("version"),
                    serde_json::from_str(&rec).unwrap_or(Value::Null),
                ),
            );
        }
        let mut idem = HashMap::new();
        for r in
            sqlx::query("SELECT principal, key, request_hash, status, response FROM idempotency")
                .fetch_all(&store.pool)
                .await
                .map_err(sql("loading idempotency keys"))?
        {
            let body: String = r.get("response");
            idem.insert(
                (r.get("principal"), r.get("key")),
                (
                    r.get("request_hash"),
                    r.get::<i64, _>("status") as u16,
                    serde_json::from_str(&body).unwrap_or(Value::Null),
                ),
            );
        }
        let conn = store.connection().await?;
        let (tx, rx) = mpsc::channel(4 * MAX_BATCH);
        let w = Writer {
            conn,
            versions,
            idem,
            pending,
            refs,
        };
        tokio::spawn(w.run(rx));
        Ok(Journal { tx })
    }

    /// Journals a submission; returns once it is durable (or refused).
    pub async fn submit(&self, s: Submission) -> Result<Outcome, String> {
        let (tx, rx) = oneshot::channel();
        self.tx
            .send((s, tx))
            .await
            .map_err(|_| "the journal writer has stopped".to_string())?;
        rx.await
            .map_err(|_| "the journal writer dropped the request".to_string())?
    }
}

struct Accepted {
    job: usize,
    key: (String, String),
    version: i64,
    before: Option<Value>,
    status: u16,
}

impl Writer {
    async fn run(mut self, mut rx: mpsc::Receiver<Job>) {
        while let Some(first) = rx.recv().await {
            let mut jobs = vec![first];
            while jobs.len() < MAX_BATCH {
                match rx.try_recv() {
                    Ok(j) => jobs.push(j),
                    Err(_) => break,
                }
            }
            self.batch(jobs).await;
        }
    }

    async fn batch(&mut self, jobs: Vec<Job>) {
        let mut answers: Vec<Option<Outcome>> = vec![None; jobs.len()];
        let mut accepted: Vec<Accepted> = Vec::new();
        // Decisions see earlier submissions of the same batch.
        let mut seen_versions: HashMap<(String, String), i64> = HashMap::new();
        let mut seen_idem: HashMap<(String, String), String> = HashMap::new();
        for (i, (s, _)) in jobs.iter().enumerate() {
            if let Some((k, h)) = &s.idem {
                let ik = (s.actor.clone(), k.clone());
                if let Some((hash, status, body)) = self.idem.get(&ik) {
                    answers[i] = Some(if hash == h {
                        Outcome::Replayed {
                            status: *status,
                            body: body.clone(),
                        }
                    } else {
                        Outcome::KeyReused
                    });
                    continue;
                }
                if let Some(hash) = seen_idem.get(&ik) {
                    // Same key twice in one batch: the later one waits for the earlier's answer.
                    answers[i] = Some(if hash == h {
                        Outcome::Replayed {
                            status: 0,
                            body: Value::Null,
                        }
                    } else {
                        Outcome::KeyReused
                    });
                    continue;
                }
            }
            let key = (s.form.to_string(), s.built.key.clone());
            let current = seen_versions
                .get(&key)
                .copied()
                .or_else(|| self.versions.get(&key).map(|(v, _)| *v));
            let version = match (current, s.correcting) {
                (Some(v), false) => {
                    answers[i] = Some(Outcome::Exists { version: v });
                    continue;
                }
                (None, true) => {
                    answers[i] = Some(Outcome::NotFound);
                    continue;
                }
                (Some(v), true) => v + 1,
                (None, false) => 1,
            };
            seen_versions.insert(key.clone(), version);
            if let Some((k, h)) = &s.idem {
                seen_idem.insert((s.actor.clone(), k.clone()), h.clone());
            }
            let before = self.versions.get(&key).map(|(_, r)| r.clone());
            accepted.push(Accepted {
                job: i,
                key,
                version,
                before,
                status: if s.correcting { 200 } else { 201 },
            });
        }
        let committed = if accepted.is_empty() {
            Ok(Vec::new())
        } else {
            self.commit(&jobs, &accepted).await
        };
        match committed {
            Ok(seqs) => {
                for (a, seq) in accepted.iter().zip(&seqs) {
                    let s = &jobs[a.job].0;
                    let body = response(s, a.version, *seq);
                    self.versions
                        .insert(a.key.clone(), (a.version, s.record.clone()));
                    if let Some((k, h)) = &s.idem {
                        self.idem.insert(
                            (s.actor.clone(), k.clone()),
                            (h.clone(), a.status, body.clone()),
                        );
                    }
                    for (table, rows) in &s.built.tables {
                        if let Some(def) =
                            warehouse::schema::CATALOG.iter().find(|d| d.name == *table)
                        {
                            let group = s
                                .built
                                .replace
                                .iter()
                                .find(|(t, _)| t == table)
                                .map(|(_, g)| g.as_str());
                            self.pending.put(*seq, table, def, rows, group);
                        }
                    }
                    for (kind, id, val) in &s.built.refs {
                        self.refs.add(*kind, id, val);
                    }
                    answers[a.job] = Some(Outcome::Accepted {
                        status: a.status,
                        body,
                    });
                }
            }
            Err(e) => {
                tracing::error!(error = %e, "journal commit failed");
                for a in &accepted {
                    answers[a.job] = None;
                }
                for (i, (_, tx)) in jobs.into_iter().enumerate() {
                    let r = match answers[i].take() {
                        Some(o) => Ok(o),
                        None => Err(format!("the journal could not commit: {e}")),
                    };
                    let _ = tx.send(r);
                }
                return;
            }
        }
        for (i, (s, tx)) in jobs.into_iter().enumerate() {
            let out = match answers[i].take() {
                // A repeat inside the batch gets the first one's stored answer.
                Some(Outcome::Replayed { status: 0, .. }) => s
                    .idem
                    .as_ref()
                    .and_then(|(k, _)| self.idem.get(&(s.actor.clone(), k.clone())))
                    .map(|(_, status, body)| Outcome::Replayed {
                        status: *status,
                        body: body.clone(),
                    })
                    .unwrap_or(Outcome::KeyReused),
                Some(o) => o,
                None => Outcome::KeyReused,
            };
            let _ = tx.send(Ok(out));
        }
    }

    /// Writes the accepted submissions in one transaction; returns their journal seqs.
    async fn commit(&mut self, jobs: &[Job], acc: &[Accepted]) -> Result<Vec<i64>, StoreError> {
        let at = now_text();
        let mut tx = sqlx::Connection::begin(&mut self.conn)
            .await
            .map_err(sql("starting a journal transaction"))?;
        let mut seqs = Vec::with_capacity(acc.len());
        for chunk in acc.chunks(128) {
            let mut qb: QueryBuilder<Sqlite> = QueryBuilder::new(
                "INSERT INTO journal (form, record_key, version, shop_id, record, rows, entered_by, entered_at) ",
            );
            qb.push_values(chunk, |mut b, a| {
                let s = &jobs[a.job].0;
                b.push_bind(s.form)
                    .push_bind(a.key.1.clone())
                    .push_bind(a.version)
                    .push_bind(s.built.shop_id.clone())
                    .push_bind(s.record.to_string())
                    .push_bind(pipelines::forms::flush::entry_document(&s.built).to_string())
                    .push_bind(s.actor.clone())
                    .push_bind(at.clone());
            });
            qb.push(" RETURNING seq");
            let rows = qb
                .build()
                .fetch_all(&mut *tx)
                .await
                .map_err(sql("writing the journal"))?;
            let mut got: Vec<i64> = rows.iter().map(|r| r.get::<i64, _>(0)).collect();
            got.sort_unstable();
            seqs.extend(got);
        }
        for (chunk, chunk_seqs) in acc.chunks(128).zip(seqs.chunks(128)) {
            let mut qb: QueryBuilder<Sqlite> = QueryBuilder::new(
                "INSERT OR REPLACE INTO records (form, record_key, version, seq, shop_id, record) ",
            );
            qb.push_values(chunk.iter().zip(chunk_seqs), |mut b, (a, seq)| {
                let s = &jobs[a.job].0;
                b.push_bind(s.form)
                    .push_bind(a.key.1.clone())
                    .push_bind(a.version)
                    .push_bind(*seq)
                    .push_bind(s.built.shop_id.clone())
                    .push_bind(s.record.to_string());
            });
            qb.build()
                .execute(&mut *tx)
                .await
                .map_err(sql("writing record versions"))?;
            let mut qb: QueryBuilder<Sqlite> = QueryBuilder::new(
                "INSERT INTO audit (at, actor, action, resource, shop_id, before, after) ",
            );
            qb.push_values(chunk, |mut b, a| {
                let s = &jobs[a.job].0;
                b.push_bind(at.clone())
                    .push_bind(s.actor.clone())
                    .push_bind(if s.correcting { "correct" } else { "create" })
                    .push_bind(format!("forms/{}/{}@{}", s.form, a.key.1, a.version))
                    .push_bind(s.built.shop_id.clone())
                    .push_bind(a.before.as_ref().map(Value::to_string))
                    .push_bind(s.record.to_string());
            });
            qb.build()
                .execute(&mut *tx)
                .await
                .map_err(sql("writing the audit log"))?;
            let with_key: Vec<(&Accepted, i64)> = chunk
                .iter()
                .zip(chunk_seqs)
                .filter(|(a, _)| jobs[a.job].0.idem.is_some())
                .map(|(a, s)| (a, *s))
                .collect();
            if !with_key.is_empty() {
                let mut qb: QueryBuilder<Sqlite> = QueryBuilder::new(
                    "INSERT INTO idempotency (principal, key, request_hash, status, response, created_at) ",
                );
                qb.push_values(with_key, |mut b, (a, seq)| {
                    let s = &jobs[a.job].0;
                    let (k, h) = s.idem.clone().unwrap_or_default();
                    b.push_bind(s.actor.clone())
                        .push_bind(k)
                        .push_bind(h)
                        .push_bind(i64::from(a.status))
                        .push_bind(response(s, a.version, seq).to_string())
                        .push_bind(at.clone());
                });
                qb.build()
                    .execute(&mut *tx)
                    .await
                    .map_err(sql("writing idempotency keys"))?;
            }
        }
        tx.commit().await.map_err(sql("committing the journal"))?;
        Ok(seqs)
    }
}

fn response(s: &Submission, version: i64, seq: i64) -> Value {
    json!({
        "form": s.form,
        "id": s.built.key,
        "version": version,
        "journal_seq": seq,
        "status": "accepted",
        "visible_after": "the next lake flush (about a second)",
    })
}
