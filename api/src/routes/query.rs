//! `POST /api/v1/query`: read-only SQL on the lake.
//!
//! Defence in depth: (0) text with more operators or deeper nesting than
//! `warehouse::guard` allows is refused from its tokens, before a deep tree exists; (1) only one
//! SELECT / WITH / EXPLAIN statement parses through (checked on the AST); (2) the planner
//! refuses DDL, DML and other statements anyway; (3) the session
//! holds only the caller's views of the lake tables (shop-scoped, role-filtered): no file or
//! URL tables exist in it; (4) each query has a memory pool, a time limit and a row cap, runs
//! on a separate runtime so a heavy query cannot starve the server, and at most
//! `limits.concurrent` run at once; functions that allocate far beyond their input (`repeat`,
//! `lpad`, `range`…) are capped per call (`warehouse::guard::cap_functions`).

use std::sync::Arc;

use arrow::record_batch::RecordBatch;
use axum::body::Bytes;
use axum::extract::{Extension, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use datafusion::execution::context::SQLOptions;
use datafusion::execution::runtime_env::RuntimeEnvBuilder;
use datafusion::prelude::{SessionConfig, SessionContext};
use datafusion::sql::parser::{DFParser, Statement as DFStatement};
use datafusion::sql::sqlparser::ast::Statement;
use futures::StreamExt;
use serde::Deserialize;
use serde_json::{Value, json};
use warehouse::datafusion;

use crate::auth::roles::Perm;
use crate::auth::{Principal, require};
use crate::server::error::ApiError;
use crate::server::state::{AppState, QueryLimits};

/// Longest SQL text accepted.
const MAX_SQL: usize = 64 * 1024;

/// The request body.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct QueryRequest {
    /// One SELECT, WITH or EXPLAIN statement.
    pub sql: String,
}

/// Output formats, by `Accept`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OutFormat {
    Json,
    Csv,
    Arrow,
    Parquet,
}

impl OutFormat {
    /// Picks the first acceptable format of an `Accept` header (JSON when absent or `*/*`).
    pub fn negotiate(accept: Option<&str>) -> Option<OutFormat> {
        let Some(a) = accept else {
            return Some(OutFormat::Json);
        };
        for part in a.split(',') {
            let m = part
                .split(';')
                .next()
                .unwrap_or("")
                .trim()
                .to_ascii_lowercase();
            let f = match m.as_str() {
                "application/json" | "*/*" | "application/*" => OutFormat::Json,
                "text/csv" | "text/*" => OutFormat::Csv,
                "application/vnd.apache.arrow.stream" => OutFormat::Arrow,
                "application/vnd.apache.parquet" | "application/x-parquet" => OutFormat::Parquet,
                _ => continue,
            };
            return Some(f);
        }
        None
    }

    fn mime(self) -> &'static str {
        match self {
            OutFormat::Json => "application/json",
            OutFormat::Csv => "text/csv; charset=utf-8",
            OutFormat::Arrow => "application/vnd.apache.arrow.stream",
            OutFormat::Parquet => "application/vnd.apache.parquet",
        }
    }
}

/// Refuses anything but a single query, naming what was found.
pub fn guard(sql: &str) -> Result<(), ApiError> {
    if sql.len() > MAX_SQL {
        return Err(ApiError::TooLarge(format!(
            "SQL is longer than {MAX_SQL} bytes"
        )));
    }
    warehouse::guard::check_sql(sql).map_err(|e| ApiError::invalid("sql", e.to_string()))?;
    let stmts = DFParser::parse_sql(sql)
        .map_err(|e| ApiError::invalid("sql", format!("does not parse: {e}")))?;
    if stmts.len() != 1 {
        return Err(ApiError::invalid(
            "sql",
            format!("must be exactly one statement, got {}", stmts.len()),
        ));
    }
    let ok = match &stmts[0] {
        DFStatement::Statement(s) => match s.as_ref() {
            Statement::Query(_) => true,
            Statement::Explain { statement, .. } => {
                matches!(statement.as_ref(), Statement::Query(_))
            }
            _ => false,
        },
        DFStatement::Explain(e) => matches!(
            e.statement.as_ref(),
            DFStatement::Statement(s) if matches!(s.as_ref(), Statement::Query(_))
        ),
        _ => false,
    };
    if !ok {
        let what = sql.split_whitespace().next().unwrap_or("").to_uppercase();
        return Err(ApiError::invalid(
            "sql",
            format!("only SELECT, WITH and EXPLAIN of a query are allowed (got {what})"),
        ));
    }
    Ok(())
}

/// The caller's session: memory-limited, with only their views of the lake.
pub async fn session_for(st: &AppState, p: &Principal) -> Result<SessionContext, ApiError> {
    scoped_session(&st.tables, &st.limits, p).await
}

/// A session for `p` over the tables of `tables`: the memory pool of `limits`, capped
/// allocating functions, and only the views `p`'s role and shops allow.
pub async fn scoped_session(
    tables: &warehouse::TableCache,
    limits: &QueryLimits,
    p: &Principal,
) -> Result<SessionContext, ApiError> {
    let config = SessionConfig::new()
        .with_information_schema(true)
        .with_target_partitions(2)
        .set_bool("datafusion.sql_parser.parse_float_as_decimal", true)
        .set_bool("datafusion.execution.parquet.pushdown_filters", true);
    let runtime = RuntimeEnvBuilder::new()
        .with_memory_limit(limits.memory_bytes, 1.0)
        .build_arc()
        .map_err(|e| ApiError::internal("building a query runtime", e))?;
    let user = SessionContext::new_with_config_rt(config.clone(), Arc::clone(&runtime));
    warehouse::guard::cap_functions(&user);
    let base = SessionContext::new_with_config_rt(config, runtime);
    tables
        .register_all(&base)
        .await
        .map_err(|e| ApiError::internal("opening the lake tables", e))?;
    crate::auth::scope::register_scoped(&base, &user, p)
        .await
        .map_err(|e| ApiError::internal("scoping the lake tables", e))?;
    Ok(user)
}

/// Runs `sql` for `p` under the limits; returns the batches.
pub async fn run_limited(
    st: &AppState,
    p: &Principal,
    sql: &str,
) -> Result<Vec<RecordBatch>, ApiError> {
    guard(sql)?;
    let _slot = tokio::time::timeout(
        std::time::Duration::from_secs(10),
        Arc::clone(&st.query_slots).acquire_owned(),
    )
    .await
    .map_err(|_| ApiError::Limit("too many queries are running; try again shortly".into()))?
    .map_err(|e| ApiError::internal("waiting for a query slot", e))?;
    let ctx = session_for(st, p).await?;
    run_in(ctx, sql, &st.limits).await
}

/// Runs `sql` as the principal `id` (`token:…`, `user:…`), for work a principal defined and
/// the server runs later (stored alert rules): the same guard, session and limits as if that
/// principal sent it now; refused when it has been revoked or disabled or may not query.
pub async fn run_as(
    store: &crate::store::Store,
    tables: &warehouse::TableCache,
    limits: &QueryLimits,
    id: &str,
    sql: &str,
) -> Result<Vec<RecordBatch>, ApiError> {
    let p = store
        .principal_by_id(id)
        .await?
        .ok_or_else(|| ApiError::Forbidden(format!("{id} was revoked or disabled")))?;
    require(&p, Perm::Query)?;
    guard(sql)?;
    let ctx = scoped_session(tables, limits, &p).await?;
    run_in(ctx, sql, limits).await
}

/// Plans and runs `sql` in `ctx` on the query runtime, within the time limit and row cap.
async fn run_in(
    ctx: SessionContext,
    sql: &str,
    limits: &QueryLimits,
) -> Result<Vec<RecordBatch>, ApiError> {
    let sql = sql.to_string();
    let max_rows = limits.max_rows;
    let limit = limits.timeout;
    let work = async move {
        let opts = SQLOptions::new()
            .with_allow_ddl(false)
            .with_allow_dml(false)
            .with_allow_statements(false);
        let df = ctx
            .sql_with_options(&sql, opts)
            .await
            .map_err(|e| ApiError::invalid("sql", e.to_string()))?;
        let mut stream = df
            .execute_stream()
            .await
            .map_err(|e| ApiError::invalid("sql", e.to_string()))?;
        let mut out = Vec::new();
        let mut rows = 0usize;
        while let Some(b) = stream.next().await {
            let b = b.map_err(|e| query_error(&e.to_string()))?;
            rows += b.num_rows();
            if rows > max_rows {
                return Err(ApiError::Limit(format!(
                    "the result has more than {max_rows} rows; add a LIMIT or aggregate"
                )));
            }
            out.push(b);
        }
        // An empty result still names its columns (headers of exports, `columns` in JSON).
        if out.is_empty() {
            out.push(RecordBatch::new_empty(stream.schema()));
        }
        Ok(out)
    };
    let task = query_runtime().spawn(work);
    let abort = task.abort_handle();
    match tokio::time::timeout(limit, task).await {
        Ok(Ok(r)) => r,
        Ok(Err(e)) => {
            // A panic inside the engine on a pathological query (e.g. a string beyond Arrow's
            // 2 GiB offsets): the task is gone, the server is fine; say the query was stopped.
            tracing::error!(error = %e, "a query task failed");
            Err(ApiError::Limit(
                "the query was stopped: it exceeded an engine limit (e.g. a value larger than 2 GiB)".into(),
            ))
        }
        Err(_) => {
            abort.abort();
            Err(ApiError::Limit(format!(
                "the query ran longer than {} s and was stopped",
                limit.as_secs()
            )))
        }
    }
}

fn query_error(msg: &str) -> ApiError {
    if msg.contains("Resources exhausted") || msg.contains("memory") {
        ApiError::Limit(format!("the query needs more memory than allowed: {msg}"))
    } else {
        ApiError::invalid("sql", msg.to_string())
    }
}

/// A runtime of its own for queries, so a heavy query cannot starve request handling.
fn query_runtime() -> &'static tokio::runtime::Handle {
    static RT: std::sync::OnceLock<tokio::runtime::Runtime> = std::sync::OnceLock::new();
    RT.get_or_init(|| {
        tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .thread_name("zhongtai-query")
            // Planning recurses over the expression tree; the text limits keep it shallow and
            // this keeps a margin far beyond them.
            .thread_stack_size(16 << 20)
            .enable_all()
            .build()
            .unwrap_or_else(|e| panic!("cannot start the query runtime: {e}"))
    })
    .handle()
}

/// `POST /api/v1/query`.
#[utoipa::path(
    post, path = "/api/v1/query", tag = "query",
    request_body = QueryRequest,
    responses(
        (status = 200, description = "Result rows; JSON by default, or CSV, Arrow IPC stream or Parquet by `Accept`"),
        (status = 401, description = "No credentials"), (status = 403, description = "Role may not query"),
        (status = 406, description = "No acceptable output format"),
        (status = 422, description = "Not a read-only query, invalid SQL, or a limit was hit"),
    ),
    security(("bearer" = []))
)]
pub async fn query(
    State(st): State<AppState>,
    Extension(p): Extension<Principal>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response, ApiError> {
    require(&p, Perm::Query)?;
    let accept = headers.get(header::ACCEPT).and_then(|v| v.to_str().ok());
    let fmt = OutFormat::negotiate(accept).ok_or_else(|| {
        ApiError::NotAcceptable(
            "Accept one of application/json, text/csv, application/vnd.apache.arrow.stream, application/vnd.apache.parquet".into(),
        )
    })?;
    let v = super::forms::json_body(&headers, &body, MAX_SQL + 1024)?;
    let req: QueryRequest = serde_json::from_value(v)
        .map_err(|e| ApiError::invalid("(body)", format!("expected {{\"sql\": \"…\"}}: {e}")))?;
    let batches = run_limited(&st, &p, &req.sql).await?;
    encode(fmt, &batches)
}

/// Encodes batches in a format.
pub fn encode(fmt: OutFormat, batches: &[RecordBatch]) -> Result<Response, ApiError> {
    let enc = |e: &dyn std::fmt::Display| ApiError::internal("encoding a result", e);
    let bytes: Vec<u8> = match fmt {
        OutFormat::Json => {
            let schema = batches.first().map(|b| b.schema());
            let mut w = arrow::json::ArrayWriter::new(Vec::new());
            for b in batches {
                w.write(b).map_err(|e| enc(&e))?;
            }
            w.finish().map_err(|e| enc(&e))?;
            let raw = w.into_inner();
            let columns: Vec<Value> = schema
                .map(|s| {
                    s.fields()
                        .iter()
                        .map(|f| json!({"name": f.name(), "type": f.data_type().to_string()}))
                        .collect()
                })
                .unwrap_or_default();
            let n = batches.iter().map(RecordBatch::num_rows).sum::<usize>();
            // The rows are spliced in as arrow-json wrote them, so decimals keep their exact
            // text (12.30 stays 12.30; a JSON round trip through f64 would not promise that).
            let mut out = format!(
                "{{\"columns\":{},\"row_count\":{n},\"rows\":",
                Value::from(columns)
            )
            .into_bytes();
            if raw.is_empty() {
                out.extend_from_slice(b"[]");
            } else {
                out.extend_from_slice(&raw);
            }
            out.push(b'}');
            return Ok((StatusCode::OK, [(header::CONTENT_TYPE, fmt.mime())], out).into_response());
        }
        OutFormat::Csv => {
            let mut w = arrow::csv::WriterBuilder::new()
                .with_header(true)
                .build(Vec::new());
            for b in batches {
                let safe = crate::output::csv_safe(b).map_err(|e| enc(&e))?;
                w.write(&safe).map_err(|e| enc(&e))?;
            }
            w.into_inner()
        }
        OutFormat::Arrow => {
            let Some(first) = batches.first() else {
                return Ok((
                    StatusCode::OK,
                    [(header::CONTENT_TYPE, fmt.mime())],
                    Vec::new(),
                )
                    .into_response());
            };
            let mut w = arrow::ipc::writer::StreamWriter::try_new(Vec::new(), &first.schema())
                .map_err(|e| enc(&e))?;
            for b in batches {
                w.write(b).map_err(|e| enc(&e))?;
            }
            w.finish().map_err(|e| enc(&e))?;
            w.into_inner().map_err(|e| enc(&e))?
        }
        OutFormat::Parquet => {
            let Some(first) = batches.first() else {
                return Ok((
                    StatusCode::OK,
                    [(header::CONTENT_TYPE, fmt.mime())],
                    Vec::new(),
                )
                    .into_response());
            };
            let mut w = parquet::arrow::ArrowWriter::try_new(Vec::new(), first.schema(), None)
                .map_err(|e| enc(&e))?;
            for b in batches {
                w.write(b).map_err(|e| enc(&e))?;
            }
            w.into_inner().map_err(|e| enc(&e))?
        }
    };
    Ok((StatusCode::OK, [(header::CONTENT_TYPE, fmt.mime())], bytes).into_response())
}
