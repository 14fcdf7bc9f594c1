//! Attacks by callers holding a valid token, against the real `zhongtai serve` process (so a
//! crash is a dead process, and memory is the process's peak RSS):
//!
//! - SQL that overflowed the planner's stack, or made scalar functions allocate gigabytes, is
//!   refused; the server stays up with `/healthz` under 1 s, and its peak RSS stays under the
//!   query memory limit plus a stated margin;
//! - a shop-scoped admin cannot mint unscoped tokens or users, take over a wider user, revoke a
//!   wider token or read other shops' audit entries;
//! - logins are throttled per user and address (a right password after a burst of wrong ones
//!   is still refused) and a burst does not stall other requests; a new password ends the
//!   sessions opened with the old one;
//! - idle, half-sent and dribbling connections are closed after the header deadline;
//! - CSV cells a spreadsheet would run as formulas are escaped; a JSON body naming a key twice
//!   is refused; the job backend's file is owner-only;
//! - connector secrets stay with their connector: a document naming a variable outside the
//!   allowlist is refused, another connector's stored secret never reaches a second one's
//!   listener, and a scoped integrator cannot schedule syncs through a document;
//! - a stored alert rule runs as the principal who stored it: a query its author may not run
//!   is refused when stored, and once the author is revoked the rule no longer reads anything.

use std::io::Write as _;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use reqwest::{Client, Method, StatusCode};
use serde_json::{Value, json};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

use crate::support::{BIN, Lake, Proc, demo_lake, spawn, token};

const SHOP_A: &str = "jst:10001";
const SHOP_B: &str = "jst:10002";
/// The server's query memory limit in these tests, MiB.
const QUERY_MB: u64 = 128;
/// What the server may use beyond one query's memory: the loaded lake, caches, runtimes.
const MARGIN_MB: u64 = 768;

struct Server {
    proc: Proc,
    base: String,
    http: Client,
    lake: Lake,
}

fn start(lake: Lake) -> Server {
    let mb = QUERY_MB.to_string();
    let (proc, lines) = spawn(
        &lake,
        &[
            "serve",
            "--addr",
            "127.0.0.1:0",
            "--query-memory-mb",
            &mb,
            "--query-timeout-s",
            "5",
        ],
        "listening on ",
    );
    let base = lines
        .last()
        .and_then(|l| l.strip_prefix("listening on "))
        .expect("address")
        .to_string();
    Server {
        proc,
        base,
        http: Client::new(),
        lake,
    }
}

fn add_user(lake: &Lake, name: &str, password: &str, shops: Option<&str>) {
    let mut args = vec!["user", "add", name, "--role", "admin"];
    if let Some(s) = shops {
        args.extend(["--shops", s]);
    }
    let mut child = Command::new(BIN)
        .arg("--data-dir")
        .arg(lake.path())
        .args(&args)
        .stdin(Stdio::piped())
        .stdout(Stdio::null())
        .spawn()
        .expect("user add");
    child
        .stdin
        .take()
        .expect("stdin")
        .write_all(format!("{password}\n").as_bytes())
        .expect("password");
    assert!(child.wait().expect("wait").success(), "user add {name}");
}

impl Server {
    async fn call(
        &self,
        method: Method,
        path: &str,
        auth: &str,
        body: Option<Value>,
    ) -> (StatusCode, Value) {
        let mut r = self
            .http
            .request(method, format!("{}{path}", self.base))
            .timeout(Duration::from_secs(60));
        if !auth.is_empty() {
            r = r.bearer_auth(auth);
        }
        if let Some(b) = body {
            r = r
                .header("content-type", "application/json")
                .body(b.to_string());
        }
        let resp = r.send().await.expect("request");
        let status = resp.status();
        let text = resp.text().await.expect("body");
        (
            status,
            serde_json::from_str(&text).unwrap_or(Value::String(text)),
        )
    }

    async fn sql(&self, auth: &str, sql: &str) -> (StatusCode, Value) {
        self.call(
            Method::POST,
            "/api/v1/query",
            auth,
            Some(json!({"sql": sql})),
        )
        .await
    }

    /// How long `/healthz` takes to answer 200.
    async fn healthz(&self) -> Duration {
        let t = Instant::now();
        let r = self
            .http
            .get(format!("{}/healthz", self.base))
            .timeout(Duration::from_secs(30))
            .send()
            .await
            .expect("healthz");
        assert_eq!(r.status(), StatusCode::OK);
        t.elapsed()
    }

    fn alive(&mut self) -> bool {
        self.proc.0.try_wait().expect("try_wait").is_none()
    }

    /// The process's peak resident memory, MiB.
    fn peak_rss_mb(&self) -> u64 {
        let status = std::fs::read_to_string(format!("/proc/{}/status", self.proc.0.id()))
            .expect("proc status");
        let kb: u64 = status
            .lines()
            .find_map(|l| l.strip_prefix("VmHWM:"))
            .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
            .expect("VmHWM");
        kb / 1024
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sql_that_crashed_or_exhausted_the_server_is_refused_and_memory_stays_bounded() {
    let mut s = start(demo_lake());
    let admin = token(&s.lake, "admin", None);
    let chain = |term: &str, op: &str, n: usize| vec![term; n].join(op);
    let attacks = [
        format!("SELECT {}", chain("1", " + ", 2_000)),
        format!("SELECT {}", chain("'a'", " || ", 4_000)),
        format!(
            "SELECT count(*) FROM orders WHERE {}",
            chain("order_id LIKE 'x%'", " OR ", 2_000)
        ),
        format!("SELECT {}", chain("1", " + ", 1_500)),
        "SELECT length(repeat('x', 2147483647))".into(),
        "SELECT sum(length(repeat(order_id, 100000))) FROM orders".into(),
        "SELECT cardinality(range(1, 100000000))".into(),
        "SELECT cardinality(generate_series(1, 100000000))".into(),
        "SELECT length(lpad('x', 2000000000))".into(),
        "SELECT max(length(rpad(order_id, 50000000))) FROM orders".into(),
        "SELECT cardinality(array_repeat(order_id, 10000000)) FROM orders LIMIT 1".into(),
    ];
    for sql in &attacks {
        let short: String = sql.chars().take(50).collect();
        let t = Instant::now();
        let (st, v) = s.sql(&admin, sql).await;
        assert!(st.is_client_error(), "{short}: {st} {v}");
        assert!(
            t.elapsed() < Duration::from_secs(10),
            "{short} took {:?}",
            t.elapsed()
        );
        assert!(s.alive(), "the server died on {short}");
        let h = s.healthz().await;
        assert!(
            h < Duration::from_secs(1),
            "healthz took {h:?} after {short}"
        );
    }
    let peak = s.peak_rss_mb();
    eprintln!("peak RSS after the SQL attacks: {peak} MiB");
    assert!(
        peak < QUERY_MB + MARGIN_MB,
        "peak RSS {peak} MiB exceeds the query limit {QUERY_MB} MiB + margin {MARGIN_MB} MiB"
    );
    // Real questions still answer, and exact.
    let (st, v) = s
        .sql(
            &admin,
            "SELECT count(*) AS n, length(repeat('ab', 1000)) AS l FROM orders",
        )
        .await;
    assert_eq!(st, StatusCode::OK, "{v}");
    assert_eq!(v["rows"][0]["n"], json!(600));
    assert_eq!(v["rows"][0]["l"], json!(2000));
    // CSV never hands a spreadsheet a formula.
    let r = s
        .http
        .post(format!("{}/api/v1/query", s.base))
        .bearer_auth(&admin)
        .header("content-type", "application/json")
        .header("accept", "text/csv")
        .body(json!({"sql": "SELECT '=HYPERLINK(1)' AS a, '-2+3' AS b, '@x' AS c, 'plain' AS d, -5.25 AS e"}).to_string())
        .send()
        .await
        .expect("csv");
    assert_eq!(r.status(), StatusCode::OK);
    let text = r.text().await.expect("text");
    assert_eq!(
        text.lines().nth(1),
        Some("'=HYPERLINK(1),'-2+3,'@x,plain,-5.25"),
        "{text}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_shop_scoped_admin_stays_within_its_shops() {
    let s = start(demo_lake());
    let root = token(&s.lake, "admin", None);
    let scoped = token(&s.lake, "admin", Some(SHOP_A));
    add_user(&s.lake, "boss", "a-long-password-1", None);
    let (_, me) = s.call(Method::GET, "/api/v1/me", &scoped, None).await;
    let scoped_id = me["id"].as_str().expect("id").to_string();
    // An unscoped admin's own entry in the audit log.
    let (st, _) = s
        .call(
            Method::POST,
            "/api/v1/tokens",
            &root,
            Some(json!({"name": "ops", "role": "finance"})),
        )
        .await;
    assert_eq!(st, StatusCode::CREATED);

    for (body, want) in [
        (
            json!({"name": "all", "role": "admin"}),
            StatusCode::FORBIDDEN,
        ),
        (
            json!({"name": "b", "role": "finance", "shops": [SHOP_B]}),
            StatusCode::FORBIDDEN,
        ),
        (
            json!({"name": "ab", "role": "finance", "shops": [SHOP_A, SHOP_B]}),
            StatusCode::FORBIDDEN,
        ),
        (
            json!({"name": "a", "role": "finance", "shops": [SHOP_A]}),
            StatusCode::CREATED,
        ),
    ] {
        let (st, v) = s
            .call(Method::POST, "/api/v1/tokens", &scoped, Some(body.clone()))
            .await;
        assert_eq!(st, want, "{body}: {v}");
    }
    for (body, want) in [
        (
            json!({"username": "wide", "password": "a-long-password-2", "role": "admin"}),
            StatusCode::FORBIDDEN,
        ),
        // Taking over an unscoped user by saving it again with a known password.
        (
            json!({"username": "boss", "password": "a-long-password-3", "role": "admin", "shops": [SHOP_A]}),
            StatusCode::FORBIDDEN,
        ),
        (
            json!({"username": "shop-a", "password": "a-long-password-4", "role": "operator", "shops": [SHOP_A]}),
            StatusCode::CREATED,
        ),
    ] {
        let (st, v) = s
            .call(Method::POST, "/api/v1/users", &scoped, Some(body.clone()))
            .await;
        assert_eq!(st, want, "{body}: {v}");
    }
    // The unscoped user's password still works (checked via login).
    let r = s
        .http
        .post(format!("{}/api/v1/login", s.base))
        .header("content-type", "application/json")
        .body(json!({"username": "boss", "password": "a-long-password-1"}).to_string())
        .send()
        .await
        .expect("login");
    assert_eq!(r.status(), StatusCode::NO_CONTENT);

    let (_, all) = s.call(Method::GET, "/api/v1/tokens", &root, None).await;
    let (_, mine) = s.call(Method::GET, "/api/v1/tokens", &scoped, None).await;
    let tokens = |v: &Value| v["tokens"].as_array().expect("tokens").clone();
    assert!(tokens(&all).iter().any(|t| t["shops"].is_null()));
    assert!(!tokens(&mine).is_empty());
    for t in tokens(&mine) {
        assert_eq!(
            t["shops"],
            json!([SHOP_A]),
            "a scoped admin lists only its shops' tokens: {t}"
        );
    }
    let wide = tokens(&all)
        .into_iter()
        .find(|t| t["shops"].is_null())
        .expect("an unscoped token");
    let path = format!("/api/v1/tokens/{}", wide["id"].as_str().expect("id"));
    let (st, _) = s.call(Method::DELETE, &path, &scoped, None).await;
    assert_eq!(
        st,
        StatusCode::NOT_FOUND,
        "a wider token is not revocable, as if missing"
    );
    let (st, _) = s.call(Method::GET, "/api/v1/me", &root, None).await;
    assert_eq!(st, StatusCode::OK, "the unscoped admin's token still works");

    let (st, v) = s
        .call(Method::GET, "/api/v1/audit?limit=1000", &scoped, None)
        .await;
    assert_eq!(st, StatusCode::OK);
    let entries = v["entries"].as_array().expect("entries");
    assert!(!entries.is_empty(), "its own entries are there");
    for e in entries {
        let own = e["actor"] == json!(scoped_id);
        assert!(
            own || e["shop_id"] == json!(SHOP_A),
            "another shop's or an unscoped entry: {e}"
        );
    }
    let (_, v) = s
        .call(Method::GET, "/api/v1/audit?limit=1000", &root, None)
        .await;
    assert!(
        v["entries"]
            .as_array()
            .expect("entries")
            .iter()
            .any(|e| e["actor"] != json!(scoped_id) && e["shop_id"].is_null())
    );
}

async fn login(s: &Server, user: &str, password: &str) -> (StatusCode, Option<String>) {
    let r = s
        .http
        .post(format!("{}/api/v1/login", s.base))
        .header("content-type", "application/json")
        .body(json!({"username": user, "password": password}).to_string())
        .timeout(Duration::from_secs(60))
        .send()
        .await
        .expect("login");
    let cookie = r
        .headers()
        .get("set-cookie")
        .and_then(|v| v.to_str().ok())
        .and_then(|c| c.split(';').next())
        .map(str::to_string);
    (r.status(), cookie)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn logins_are_throttled_and_a_burst_does_not_stall_the_server() {
    let s = start(Lake::new());
    add_user(&s.lake, "eve", "a-long-password-1", None);
    add_user(&s.lake, "boss", "the-right-password", None);
    // A new password ends the sessions of the old one.
    let (st, cookie) = login(&s, "eve", "a-long-password-1").await;
    assert_eq!(st, StatusCode::NO_CONTENT);
    let cookie = cookie.expect("session cookie");
    let me = |c: String| {
        s.http
            .get(format!("{}/api/v1/me", s.base))
            .header("cookie", c)
            .send()
    };
    assert_eq!(
        me(cookie.clone()).await.expect("me").status(),
        StatusCode::OK
    );
    add_user(&s.lake, "eve", "a-new-long-password", None);
    assert_eq!(
        me(cookie).await.expect("me").status(),
        StatusCode::UNAUTHORIZED,
        "a session of the old password"
    );

    // A body naming a key twice is refused: which value wins differs between parsers.
    let r = s
        .http
        .post(format!("{}/api/v1/login", s.base))
        .header("content-type", "application/json")
        .body(r#"{"username": "nobody", "username": "eve", "password": "a-new-long-password"}"#)
        .send()
        .await
        .expect("login");
    assert_eq!(r.status(), StatusCode::BAD_REQUEST);
    assert!(r.text().await.expect("text").contains("appears twice"));
    // The job backend holds alert values: owner only.
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(s.lake.path().join("jobs.db"))
            .expect("jobs.db")
            .permissions()
            .mode();
        assert_eq!(mode & 0o077, 0, "jobs.db is {mode:o}");
    }
    // Behind a TLS proxy the session cookie is Secure; every answer says nosniff.
    let r = s
        .http
        .post(format!("{}/api/v1/login", s.base))
        .header("content-type", "application/json")
        .header("x-forwarded-proto", "https")
        .body(json!({"username": "eve", "password": "a-new-long-password"}).to_string())
        .send()
        .await
        .expect("login");
    assert_eq!(r.status(), StatusCode::NO_CONTENT);
    let set = r.headers()["set-cookie"]
        .to_str()
        .expect("cookie")
        .to_string();
    assert!(
        set.contains("; Secure") && set.contains("HttpOnly"),
        "{set}"
    );
    assert_eq!(r.headers()["x-content-type-options"], "nosniff");

    // 40 wrong passwords at once, while /healthz is watched.
    let watch = async {
        let mut worst = Duration::ZERO;
        for _ in 0..20 {
            worst = worst.max(s.healthz().await);
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        worst
    };
    let burst = futures::future::join_all((0..40).map(|i| {
        login(
            &s,
            "boss",
            if i % 2 == 0 { "wrong-one" } else { "wrong-two" },
        )
    }));
    let (worst, answers) = tokio::join!(watch, burst);
    assert!(
        worst < Duration::from_secs(1),
        "healthz took {worst:?} during the burst"
    );
    let throttled = answers
        .iter()
        .filter(|(st, _)| *st == StatusCode::TOO_MANY_REQUESTS)
        .count();
    let refused = answers
        .iter()
        .filter(|(st, _)| *st == StatusCode::UNAUTHORIZED)
        .count();
    assert_eq!(throttled + refused, 40, "{answers:?}");
    assert!(
        refused <= 5,
        "only the free attempts are checked: {refused}"
    );
    // The right password right after is refused too, and says when to come back.
    let r = s
        .http
        .post(format!("{}/api/v1/login", s.base))
        .header("content-type", "application/json")
        .body(json!({"username": "boss", "password": "the-right-password"}).to_string())
        .send()
        .await
        .expect("login");
    assert_eq!(r.status(), StatusCode::TOO_MANY_REQUESTS);
    let wait: u64 = r
        .headers()
        .get("retry-after")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse().ok())
        .expect("Retry-After");
    assert!(wait >= 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn idle_half_sent_and_dribbling_connections_are_closed() {
    let s = start(Lake::new());
    let addr = s.base.trim_start_matches("http://").to_string();
    let mut held = Vec::new();
    for i in 0..200 {
        let mut c = tokio::net::TcpStream::connect(&addr)
            .await
            .expect("connect");
        match i % 4 {
            0 => {}
            1 => c
                .write_all(b"GET /healthz HTTP/1.1\r\nHost: x\r\n")
                .await
                .expect("partial"),
            _ => c.write_all(b"G").await.expect("first byte"),
        }
        held.push((i, c));
    }
    // Kept-alive connections: one quick request answered, then the next one dribbled (its
    // headers get their own deadline, not only the idle timeout).
    for i in 200..220 {
        let mut c = tokio::net::TcpStream::connect(&addr)
            .await
            .expect("connect");
        c.write_all(b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n")
            .await
            .expect("request");
        let mut buf = [0u8; 1024];
        let n = tokio::time::timeout(Duration::from_secs(5), c.read(&mut buf))
            .await
            .expect("answer in time")
            .expect("answer");
        assert!(
            buf[..n].starts_with(b"HTTP/1.1 200"),
            "{:?}",
            String::from_utf8_lossy(&buf[..n])
        );
        c.write_all(b"G").await.expect("next request");
        held.push((1000 + (i - 200) * 4 + 2, c));
    }
    // Dribble a byte a second to half of them, watching /healthz meanwhile.
    let started = Instant::now();
    let mut worst = Duration::ZERO;
    while started.elapsed() < Duration::from_secs(13) {
        for (i, c) in held.iter_mut() {
            if *i % 4 >= 2 {
                let _ = c.write_all(b"E").await;
            }
        }
        worst = worst.max(s.healthz().await);
        tokio::time::sleep(Duration::from_secs(1)).await;
    }
    assert!(
        worst < Duration::from_secs(1),
        "healthz took {worst:?} while connections were held"
    );
    // Every held connection has been closed by the server.
    for (i, mut c) in held {
        let mut buf = [0u8; 1024];
        let closed = match tokio::time::timeout(Duration::from_secs(5), c.read(&mut buf)).await {
            Ok(Ok(0)) | Ok(Err(_)) => true,
            Ok(Ok(_)) => {
                // An error response first (e.g. 408), then the close.
                matches!(
                    tokio::time::timeout(Duration::from_secs(5), c.read(&mut buf)).await,
                    Ok(Ok(0)) | Ok(Err(_))
                )
            }
            Err(_) => false,
        };
        assert!(closed, "connection {i} (kind {}) is still open", i % 4);
    }
    assert!(s.healthz().await < Duration::from_secs(1));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn stored_alert_rules_run_as_their_author() {
    let lake = demo_lake();
    // One channel nobody listens on: rules need a channel, this test needs no delivery.
    lake.file(
        "zhongtai.toml",
        "[alerts.channels.mail]\nkind = \"email\"\nhost = \"127.0.0.1\"\nport = 9\ntls = \"none\"\nfrom = \"zt <a@example.com>\"\nto = [\"b@example.com\"]\n",
    );
    let integrator = token(&lake, "integrator", None);
    let admin = token(&lake, "admin", None);
    let s = start(lake);
    let (_, me) = s.call(Method::GET, "/api/v1/me", &integrator, None).await;
    let id = me["id"]
        .as_str()
        .expect("id")
        .trim_start_matches("token:")
        .to_string();
    let rule = |sql: &str| json!({"sql": sql, "op": ">", "threshold": "0", "channels": ["mail"]});
    // Salaries are payroll data an integrator may not read: not as SQL, not as a rule.
    let (st, _) = s.sql(&integrator, "SELECT count(*) FROM salaries").await;
    assert!(st.is_client_error());
    let (st, v) = s
        .call(
            Method::PUT,
            "/api/v1/alerts/rules/peek",
            &integrator,
            Some(rule(
                "SELECT employee_name AS key, gross_amount AS value FROM salaries",
            )),
        )
        .await;
    assert_eq!(st, StatusCode::UNPROCESSABLE_ENTITY, "{v}");
    assert!(v.to_string().contains("salaries"), "{v}");
    // A rule over what it may read is stored, and finds keys.
    let (st, v) = s
        .call(
            Method::PUT,
            "/api/v1/alerts/rules/big-orders",
            &integrator,
            Some(rule(
                "SELECT order_id AS key, pay_amount AS value FROM orders WHERE pay_amount > 500",
            )),
        )
        .await;
    assert_eq!(st, StatusCode::OK, "{v}");
    // An admin's rule over salaries: its keys (names) and values (pay) are payroll data.
    let (st, v) = s
        .call(
            Method::PUT,
            "/api/v1/alerts/rules/payroll",
            &admin,
            Some(rule(
                "SELECT employee_name AS key, gross_amount AS value FROM salaries",
            )),
        )
        .await;
    assert_eq!(st, StatusCode::OK, "{v}");
    let run = s.lake.ok(&["jobs", "run", "alerts", "--inline"]);
    assert!(!run.contains("revoked"), "{run}");
    let r: Value = serde_json::from_str(run.trim()).unwrap_or(json!({}));
    assert!(r.to_string().contains("keys"), "{run}");
    let rules_seen = |v: &Value| -> std::collections::BTreeSet<String> {
        v["alerts"]
            .as_array()
            .expect("alerts")
            .iter()
            .filter_map(|k| k["rule"].as_str().map(str::to_string))
            .collect()
    };
    let (st, all) = s.call(Method::GET, "/api/v1/alerts", &admin, None).await;
    assert_eq!(st, StatusCode::OK, "{all}");
    assert!(
        rules_seen(&all).contains("payroll") && rules_seen(&all).contains("big-orders"),
        "{all}"
    );
    let (st, theirs) = s
        .call(Method::GET, "/api/v1/alerts", &integrator, None)
        .await;
    assert_eq!(st, StatusCode::OK, "{theirs}");
    assert!(rules_seen(&theirs).contains("big-orders"), "{theirs}");
    assert!(
        !rules_seen(&theirs).contains("payroll") && !theirs.to_string().contains("gross"),
        "an integrator read payroll alert values: {theirs}"
    );
    // Its author revoked, the rule reads nothing and says why.
    s.lake.ok(&["token", "revoke", &id]);
    let run = s.lake.ok(&["jobs", "run", "alerts", "--inline"]);
    assert!(
        run.contains("big-orders") && run.contains("revoked or disabled"),
        "{run}"
    );
}

/// A listener that records what reaches it and answers `{}`.
async fn recorder() -> (String, std::sync::Arc<std::sync::Mutex<Vec<u8>>>) {
    let l = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let addr = format!("http://{}", l.local_addr().expect("addr"));
    let seen = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
    let keep = std::sync::Arc::clone(&seen);
    tokio::spawn(async move {
        while let Ok((mut c, _)) = l.accept().await {
            let mut buf = [0u8; 8192];
            let n = tokio::time::timeout(Duration::from_secs(5), c.read(&mut buf))
                .await
                .ok()
                .and_then(Result::ok)
                .unwrap_or(0);
            keep.lock().expect("lock").extend_from_slice(&buf[..n]);
            let _ = c
                .write_all(b"HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: 2\r\n\r\n{}")
                .await;
        }
    });
    (addr, seen)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn connector_secrets_stay_with_their_connector_and_the_allowlist() {
    let s = start(Lake::new());
    let integrator = token(&s.lake, "integrator", None);
    let scoped = token(&s.lake, "integrator", Some(SHOP_A));
    let example = std::fs::read_to_string(
        std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("../examples/connectors/minishop.toml"),
    )
    .expect("example");
    let register = |doc: String, who: &str| {
        let who = who.to_string();
        let s = &s;
        async move {
            s.call(
                Method::POST,
                "/api/v1/connectors",
                &who,
                Some(json!({"document": doc})),
            )
            .await
        }
    };
    // A schedule starts syncs across shops: not for a scoped integrator.
    let (st, v) = register(example.clone(), &scoped).await;
    assert_eq!(st, StatusCode::FORBIDDEN, "{v}");
    let (st, v) = register(example.clone(), &integrator).await;
    assert_eq!(st, StatusCode::CREATED, "{v}");
    let (st, v) = s
        .call(
            Method::PUT,
            "/api/v1/connectors/minishop/secrets",
            &integrator,
            Some(json!({"ZHONGTAI_SECRET_MINISHOP": "secret-of-minishop"})),
        )
        .await;
    assert_eq!(st, StatusCode::NO_CONTENT, "{v}");

    // A second connector naming the same variable, pointed at the attacker's listener, with a
    // signer that sends the secret as it is.
    let (listener, seen) = recorder().await;
    let start_signer = example.find("[signer]").expect("signer");
    let end_signer = start_signer + example[start_signer..].find("\n\n").expect("end");
    let evil = format!(
        "{}[signer]\nkind = \"bearer\"\nsecret = \"api_secret\"{}",
        &example[..start_signer],
        &example[end_signer..]
    )
    .replace("name = \"minishop\"", "name = \"evil\"")
    .replace("schedule = \"*/15 * * * *\"\n", "")
    .replace("http://127.0.0.1:7302", &listener);
    let (st, v) = register(evil.clone(), &integrator).await;
    assert_eq!(st, StatusCode::CREATED, "{v}");
    let (st, v) = s
        .call(
            Method::POST,
            "/api/v1/connectors/evil/test",
            &integrator,
            None,
        )
        .await;
    let got = String::from_utf8_lossy(&seen.lock().expect("lock")).to_string();
    assert!(
        !got.contains("secret-of-minishop"),
        "another connector's secret leaked: {got}"
    );
    assert!(
        st.is_client_error() || v.to_string().contains("not set"),
        "{st} {v}"
    );

    // Any other variable of the server: refused at registration, named.
    for var in ["HOME", "PATH", "ZHONGTAI_JOBS_URL"] {
        let doc = evil
            .replace("name = \"evil\"", "name = \"evil2\"")
            .replace("ZHONGTAI_SECRET_MINISHOP", var);
        let (st, v) = register(doc, &integrator).await;
        assert_eq!(st, StatusCode::UNPROCESSABLE_ENTITY, "{var}: {v}");
        assert!(v.to_string().contains(var), "{v}");
    }
    let (st, _) = s
        .call(
            Method::PUT,
            "/api/v1/connectors/evil/secrets",
            &integrator,
            Some(json!({"HOME": "x"})),
        )
        .await;
    assert_eq!(st, StatusCode::UNPROCESSABLE_ENTITY);
    // Listings say set / not set per connector, never the value.
    let (_, v) = s
        .call(Method::GET, "/api/v1/connectors", &integrator, None)
        .await;
    let text = v.to_string();
    assert!(!text.contains("secret-of-minishop"));
    let set = |name: &str| {
        v["connectors"]
            .as_array()
            .expect("connectors")
            .iter()
            .find(|c| c["name"] == json!(name))
            .map(|c| c["secrets_set"]["api_secret"].clone())
    };
    assert_eq!(set("minishop"), Some(json!(true)), "{v}");
    assert_eq!(set("evil"), Some(json!(false)), "{v}");
}

/// The one problem of a 422 answer, with `id` written as `<id>`: another shop's record must
/// read exactly like a record that does not exist.
fn problem(v: &Value, id: &str) -> (String, String) {
    let f = &v["error"]["fields"][0];
    (
        f["field"].as_str().unwrap_or_default().to_string(),
        f["message"]
            .as_str()
            .unwrap_or_default()
            .replace(id, "<id>"),
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn other_shops_rows_and_records_stay_invisible_to_a_scoped_caller() {
    let s = start(demo_lake());
    let root = token(&s.lake, "admin", None);
    let scoped = token(&s.lake, "admin", Some(SHOP_A));
    let one = |v: &Value, col: &str| -> Value { v["rows"][0][col].clone() };

    // Stock movements caused by another shop's orders or returns are not shared stock data.
    for ty in ["order", "refund", "shipment"] {
        let parent = match ty {
            "order" => "orders o ON o.order_id",
            "refund" => "refunds o ON o.refund_id",
            _ => "shipments o ON o.shipment_id",
        };
        let (st, all) = s
            .sql(
                &root,
                &format!(
                    "SELECT count(*) AS n FROM stock_movements m JOIN {parent} = m.ref_id \
                     WHERE m.ref_type = '{ty}' AND o.shop_id = '{SHOP_A}'"
                ),
            )
            .await;
        assert_eq!(st, StatusCode::OK, "{all}");
        let (st, mine) = s
            .sql(
                &scoped,
                &format!("SELECT count(*) AS n FROM stock_movements WHERE ref_type = '{ty}'"),
            )
            .await;
        assert_eq!(st, StatusCode::OK, "{mine}");
        assert_eq!(one(&mine, "n"), one(&all, "n"), "{ty} movements of shop A");
        if ty == "order" {
            assert!(one(&mine, "n").as_i64().is_some_and(|n| n > 0), "{mine}");
        }
    }
    let (_, v) = s
        .sql(&root, "SELECT count(*) AS n FROM stock_movements WHERE ref_type IS NULL OR ref_type NOT IN ('order', 'refund', 'shipment')")
        .await;
    let (_, w) = s
        .sql(&scoped, "SELECT count(*) AS n FROM stock_movements WHERE ref_type IS NULL OR ref_type NOT IN ('order', 'refund', 'shipment')")
        .await;
    assert_eq!(
        one(&v, "n"),
        one(&w, "n"),
        "company-wide movements stay shared"
    );

    // Form validation answers for another shop's record as for a missing one.
    let pick = |sql: String| {
        let s = &s;
        let root = &root;
        async move {
            let (st, v) = s.sql(root, &sql).await;
            assert_eq!(st, StatusCode::OK, "{sql}: {v}");
            v["rows"][0]["id"].as_str().expect("an id").to_string()
        }
    };
    let line = pick(format!(
        "SELECT order_item_id AS id FROM order_items WHERE shop_id = '{SHOP_B}' LIMIT 1"
    ))
    .await;
    let case = pick(format!("SELECT refund_id AS id FROM refunds WHERE shop_id = '{SHOP_B}' AND kind <> 'refund_only' LIMIT 1")).await;
    let supplier = pick("SELECT supplier_id AS id FROM suppliers LIMIT 1".into()).await;
    let warehouse = pick("SELECT warehouse_id AS id FROM warehouses LIMIT 1".into()).await;
    type Body<'a> = Box<dyn Fn(&str) -> Value + 'a>;
    let cases: Vec<(&str, Body, String)> = vec![
        (
            "purchase_requests",
            Box::new(|id: &str| {
                json!({"order_item_id": id, "supplier_id": supplier, "warehouse_id": warehouse,
                       "unit_cost": "1.00", "promised_date": "2026-12-20"})
            }),
            line,
        ),
        (
            "return_receipts",
            Box::new(|id: &str| {
                json!({"refund_id": id, "warehouse_id": warehouse, "qty": 999,
                       "received_at": "2026-11-20 10:00:00"})
            }),
            case,
        ),
        (
            "marketing_expenses",
            Box::new(|id: &str| {
                json!({"shop_id": id, "channel": "ztc", "kind": "ads", "amount": "10.00",
                       "spend_date": "2026-11-20"})
            }),
            SHOP_B.to_string(),
        ),
    ];
    for (form, body, other) in &cases {
        let path = format!("/api/v1/forms/{form}");
        let (st, theirs) = s
            .call(Method::POST, &path, &scoped, Some(body(other)))
            .await;
        assert_eq!(st, StatusCode::UNPROCESSABLE_ENTITY, "{form}: {theirs}");
        let missing = "NOPE-404";
        let (st, none) = s
            .call(Method::POST, &path, &scoped, Some(body(missing)))
            .await;
        assert_eq!(st, StatusCode::UNPROCESSABLE_ENTITY, "{form}: {none}");
        assert_eq!(
            problem(&theirs, other),
            problem(&none, missing),
            "{form}: {theirs} vs {none}"
        );
        // The unscoped admin is not refused for the same record (the record exists).
        let (st, v) = s.call(Method::POST, &path, &root, Some(body(other))).await;
        assert!(
            st != StatusCode::UNPROCESSABLE_ENTITY || problem(&v, other) != problem(&none, missing),
            "{form}: the record is real: {v}"
        );
    }
}

impl Server {
    /// Status and raw body of a GET.
    async fn get_raw(&self, auth: &str, path: &str) -> (StatusCode, Vec<u8>) {
        let r = self
            .http
            .get(format!("{}{path}", self.base))
            .bearer_auth(auth)
            .timeout(Duration::from_secs(120))
            .send()
            .await
            .expect("request");
        let st = r.status();
        (st, r.bytes().await.expect("body").to_vec())
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn scoped_numbers_equal_unscoped_numbers_filtered_to_the_same_shop() {
    let s = start(demo_lake());
    let root = token(&s.lake, "admin", None);
    let scoped = token(&s.lake, "admin", Some(SHOP_A));
    // Salaries allocate shared staff across every shop's GMV: a scoped caller reads its
    // shop's share of that allocation, not the allocation over its own rows only.
    for m in ["salaries", "gross_profit"] {
        let (st, all) = s
            .call(
                Method::GET,
                &format!("/api/v1/metrics/{m}?by=shop,month&shops={SHOP_A}"),
                &root,
                None,
            )
            .await;
        assert_eq!(st, StatusCode::OK, "{m}: {all}");
        let (st, mine) = s
            .call(
                Method::GET,
                &format!("/api/v1/metrics/{m}?by=shop,month"),
                &scoped,
                None,
            )
            .await;
        assert_eq!(st, StatusCode::OK, "{m}: {mine}");
        assert!(
            all["rows"].as_array().is_some_and(|r| !r.is_empty()),
            "{m}: {all}"
        );
        assert_eq!(
            mine["rows"], all["rows"],
            "{m}: scoped vs unscoped filtered"
        );
    }
    // The allocation's parts sum to the salaries paid, fen for fen.
    let (_, parts) = s
        .sql(
            &root,
            "SELECT CAST(sum(amount) AS VARCHAR) AS a FROM salary_costs",
        )
        .await;
    let (_, paid) = s
        .sql(
            &root,
            "SELECT CAST(sum(gross_amount) AS VARCHAR) AS a FROM salaries",
        )
        .await;
    assert_eq!(
        parts["rows"][0]["a"], paid["rows"][0]["a"],
        "{parts} vs {paid}"
    );
    // The shared staff rows themselves stay out of a scoped caller's salaries table.
    let (_, shared) = s
        .sql(
            &scoped,
            "SELECT count(*) AS n FROM salaries WHERE shop_id IS NULL",
        )
        .await;
    assert_eq!(shared["rows"][0]["n"], json!(0), "{shared}");

    // Company-wide dashboards and reports (stock, purchasing) answer scoped callers, with
    // the same figures as an unscoped caller filtering to the shop.
    for d in ["warehouse", "purchasing"] {
        let (st, mine) = s
            .call(
                Method::GET,
                &format!("/api/v1/dashboards/{d}"),
                &scoped,
                None,
            )
            .await;
        assert_eq!(st, StatusCode::OK, "{d}: {mine}");
        let (st, all) = s
            .call(
                Method::GET,
                &format!("/api/v1/dashboards/{d}?shop={SHOP_A}"),
                &root,
                None,
            )
            .await;
        assert_eq!(st, StatusCode::OK, "{d}: {all}");
        for (a, b) in mine["panels"]
            .as_array()
            .expect("panels")
            .iter()
            .zip(all["panels"].as_array().expect("panels"))
        {
            assert_eq!(a["spec"]["data"], b["spec"]["data"], "{d}/{}", a["id"]);
            if a["id"] != "suggestions" && a["source"]["forecast"].is_null() {
                assert!(a["error"].is_null(), "{d}/{}: {}", a["id"], a["error"]);
            }
        }
    }
    for path in [
        "/api/v1/dashboards/warehouse.xlsx",
        "/api/v1/reports/stock-valuation.xlsx",
        "/api/v1/reports/stock-valuation.pdf",
    ] {
        let (st, body) = s.get_raw(&scoped, path).await;
        assert_eq!(
            st,
            StatusCode::OK,
            "{path}: {}",
            String::from_utf8_lossy(&body[..body.len().min(400)])
        );
        assert!(body.len() > 1000, "{path}: {} bytes", body.len());
    }
}

#[test]
fn the_command_line_query_has_the_servers_sql_limits() {
    let lake = Lake::new();
    let deep = format!("SELECT {}", vec!["1"; 3000].join(" + "));
    let err = lake.fails(&["query", &deep]);
    assert!(
        err.contains("refused") && err.contains("operators"),
        "{err}"
    );
    let err = lake.fails(&["query", "SELECT length(repeat('x', 2147483647)) AS n"]);
    assert!(err.contains("repeat"), "{err}");
    let ok = lake.ok(&["query", "SELECT length(repeat('x', 1000)) AS n"]);
    assert!(ok.contains("1000"), "{ok}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_form_naming_another_writers_key_is_refused_at_once() {
    let s = start(demo_lake());
    let admin = token(&s.lake, "admin", None);
    let (_, v) = s
        .sql(&admin, "SELECT payment_id, order_id, source FROM payments WHERE source NOT LIKE 'form:%' LIMIT 1")
        .await;
    let taken = v["rows"][0]["payment_id"]
        .as_str()
        .expect("payment")
        .to_string();
    let order = v["rows"][0]["order_id"]
        .as_str()
        .expect("order")
        .to_string();
    let owner = v["rows"][0]["source"].as_str().expect("source").to_string();
    let body = |id: Option<&str>| {
        let mut b = json!({"order_id": order, "channel": "bank", "txn_no": "T-1", "amount": "12.30", "paid_at": "2026-11-20 10:00:00"});
        if let Some(id) = id {
            b["payment_id"] = json!(id);
        }
        b
    };
    let (st, v) = s
        .call(
            Method::POST,
            "/api/v1/forms/payments",
            &admin,
            Some(body(Some(&taken))),
        )
        .await;
    assert_eq!(st, StatusCode::UNPROCESSABLE_ENTITY, "{v}");
    let f = &v["error"]["fields"][0];
    assert_eq!(f["field"], "payment_id", "{v}");
    assert!(
        f["message"]
            .as_str()
            .is_some_and(|m| m.contains(&owner) && m.contains(&taken)),
        "{v}"
    );
    // A fresh id, or none, is accepted.
    for id in [Some("MANUAL-FRESH-1"), None] {
        let (st, v) = s
            .call(
                Method::POST,
                "/api/v1/forms/payments",
                &admin,
                Some(body(id)),
            )
            .await;
        assert_eq!(st, StatusCode::CREATED, "{id:?}: {v}");
    }
    // The synced row is unchanged.
    let (_, v) = s
        .sql(
            &admin,
            &format!("SELECT source FROM payments WHERE payment_id = '{taken}'"),
        )
        .await;
    assert_eq!(v["rows"][0]["source"], json!(owner), "{v}");
}
