//! Live updates over SSE, against real server processes (the `gloss` binary) on the test database.

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::{json, Value};

use crate::common::{db_test, Member, TestApp, TEST_JWT_SECRET};

/// A `gloss` server process on the test database; killed when dropped.
pub(crate) struct Server {
    child: Child,
    pub(crate) port: u16,
}

impl Server {
    pub(crate) fn start(url: &str) -> Server {
        Server::start_with(url, &[])
    }

    pub(crate) fn start_with(url: &str, env: &[(&str, &str)]) -> Server {
        let port = TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let child = Command::new(env!("CARGO_BIN_EXE_gloss"))
            .envs(env.iter().copied())
            .env("GLOSS_DATABASE_URL", url)
            .env("GLOSS_BIND", format!("127.0.0.1:{port}"))
            .env("GLOSS_JWT_SECRET", TEST_JWT_SECRET)
            .env("GLOSS_WORKERS", "2")
            .env("GLOSS_LOG", "warn")
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("the gloss binary starts");
        let server = Server { child, port };
        let deadline = Instant::now() + Duration::from_secs(30);
        while Instant::now() < deadline {
            if let Ok((200, _)) = http(port, "GET", "/health/live", None, None) {
                return server;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        panic!("the server on port {port} did not come up");
    }
}

impl Server {
    /// Stops the server as an orchestrator would (SIGTERM) and waits for it to exit.
    fn terminate(&mut self) {
        let pid = self.child.id().to_string();
        let sent = Command::new("kill")
            .args(["-TERM", &pid])
            .status()
            .expect("kill runs");
        assert!(sent.success());
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            if let Some(status) = self.child.try_wait().unwrap() {
                assert!(status.success(), "the server exited with {status}");
                return;
            }
            assert!(
                Instant::now() < deadline,
                "the server did not stop on SIGTERM"
            );
            std::thread::sleep(Duration::from_millis(50));
        }
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A minimal HTTP/1.1 client: one request per connection.
pub(crate) fn http(
    port: u16,
    method: &str,
    path: &str,
    token: Option<&str>,
    body: Option<Value>,
) -> std::io::Result<(u16, Value)> {
    let auth = token
        .map(|t| format!("Authorization: Bearer {t}\r\n"))
        .unwrap_or_default();
    http_with(port, method, path, &auth, body)
}

/// The same, with extra header lines (each ending in `\r\n`).
pub(crate) fn http_with(
    port: u16,
    method: &str,
    path: &str,
    headers: &str,
    body: Option<Value>,
) -> std::io::Result<(u16, Value)> {
    let mut s = TcpStream::connect(("127.0.0.1", port))?;
    s.set_read_timeout(Some(Duration::from_secs(10)))?;
    let body = body.map(|b| b.to_string()).unwrap_or_default();
    write!(
        s,
        "{method} {path} HTTP/1.1\r\nHost: localhost\r\n{headers}Content-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    )?;
    let mut raw = String::new();
    s.read_to_string(&mut raw)?;
    let status = raw
        .split(' ')
        .nth(1)
        .and_then(|c| c.parse().ok())
        .unwrap_or(0);
    let json = raw
        .split("\r\n\r\n")
        .nth(1)
        .and_then(|b| serde_json::from_str(b.trim()).ok())
        .unwrap_or(Value::Null);
    Ok((status, json))
}

/// An open event stream.
struct Sse {
    stream: TcpStream,
    text: String,
    seen: usize,
}

#[derive(Debug, Clone)]
struct Event {
    id: i64,
    event: String,
    data: Value,
}

impl Sse {
    fn open(port: u16, token: &str, last_event_id: Option<i64>) -> Sse {
        let mut stream = TcpStream::connect(("127.0.0.1", port)).unwrap();
        let resume = last_event_id
            .map(|id| format!("Last-Event-ID: {id}\r\n"))
            .unwrap_or_default();
        write!(stream, "GET /api/v1/stream HTTP/1.1\r\nHost: localhost\r\nAuthorization: Bearer {token}\r\n{resume}Accept: text/event-stream\r\nAccept-Encoding: gzip, br\r\n\r\n").unwrap();
        stream
            .set_read_timeout(Some(Duration::from_millis(200)))
            .unwrap();
        let mut sse = Sse {
            stream,
            text: String::new(),
            seen: 0,
        };
        let deadline = Instant::now() + Duration::from_secs(10);
        while !sse.text.contains(": connected") {
            assert!(
                Instant::now() < deadline,
                "the stream did not open: {}",
                sse.text
            );
            sse.read_some();
        }
        assert!(sse.text.starts_with("HTTP/1.1 200"), "{}", sse.text);
        let head = sse.text.to_ascii_lowercase();
        assert!(head.contains("content-type: text/event-stream"));
        // the client accepts gzip and br, and the events still come plain, one by one
        assert!(head.contains("content-encoding: identity"), "{head}");
        sse
    }

    fn read_some(&mut self) {
        let mut buf = [0u8; 8192];
        match self.stream.read(&mut buf) {
            Ok(n) => self.text.push_str(&String::from_utf8_lossy(&buf[..n])),
            Err(e)
                if matches!(
                    e.kind(),
                    std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut
                ) => {}
            Err(e) => panic!("stream read failed: {e}"),
        }
    }

    fn parse(&self) -> Vec<Event> {
        let mut out = Vec::new();
        for block in self.text.split("\n\n") {
            let (mut id, mut event, mut data) = (None, None, None);
            for line in block.lines().map(|l| l.trim_end_matches('\r')) {
                if let Some(v) = line.strip_prefix("id: ") {
                    id = v.parse().ok();
                } else if let Some(v) = line.strip_prefix("event: ") {
                    event = Some(v.to_string());
                } else if let Some(v) = line.strip_prefix("data: ") {
                    data = serde_json::from_str(v).ok();
                }
            }
            if let (Some(id), Some(event), Some(data)) = (id, event, data) {
                out.push(Event { id, event, data });
            }
        }
        out
    }

    /// Waits until `n` new events have arrived, and returns them. The 10 s limit is under the
    /// stream's 15 s keepalive (after which it would read the database anyway), so an event that
    /// arrives proves the wake-up path: NOTIFY on PostgreSQL, the in-process hub on SQLite. (5 s
    /// was too short for a spawned server on 2 busy cores while the whole suite runs.)
    fn next(&mut self, n: usize) -> Vec<Event> {
        let deadline = Instant::now() + Duration::from_secs(10);
        loop {
            let all = self.parse();
            if all.len() >= self.seen + n {
                let new = all[self.seen..self.seen + n].to_vec();
                self.seen += n;
                return new;
            }
            assert!(
                Instant::now() < deadline,
                "expected {n} more events; stream so far: {}",
                self.text
            );
            self.read_some();
        }
    }
}

/// A thread by saif (who watches it automatically) and a second member, lin.
async fn scene(app: &TestApp) -> (Member, Member, i64) {
    let s = app.forum().await;
    let saif = app.register("saif").await;
    let lin = app.register("lin").await;
    let (t, _) = app.thread(&saif, s.forum_id, "Live").await;
    (saif, lin, t)
}

db_test!(
    a_reply_arrives_on_the_watchers_stream_and_a_reconnect_catches_up,
    |app| {
        let (saif, lin, t) = scene(&app).await;
        let url = app.db.url.clone();
        let (saif_token, lin_token) = (saif.token.clone(), lin.token.clone());
        web_block(move || {
            let server = Server::start(&url);
            let mut sse = Sse::open(server.port, &saif_token, None);
            let (status, post) = http(
                server.port,
                "POST",
                &format!("/api/v1/threads/{t}/posts"),
                Some(&lin_token),
                Some(json!({"body": "hello"})),
            )
            .unwrap();
            assert_eq!(status, 201, "{post}");
            let events = sse.next(2);
            let kinds: Vec<&str> = events.iter().map(|e| e.event.as_str()).collect();
            assert_eq!(kinds, vec!["notification", "post"]);
            assert_eq!(events[0].data["kind"], "reply");
            assert_eq!(events[1].data["id"], post["id"]);
            // each event's data is the REST resource it announces, as saif reads it
            let (_, rest_post) = http(
                server.port,
                "GET",
                &format!("/api/v1/posts/{}", post["id"]),
                Some(&saif_token),
                None,
            )
            .unwrap();
            assert_eq!(events[1].data, rest_post);
            let (_, notes) =
                http(server.port, "GET", "/api/v1/notifications", Some(&saif_token), None).unwrap();
            assert_eq!(events[0].data, notes["items"][0]);
            let last = events[1].id;
            drop(sse);
            // missed while away: a reconnect with Last-Event-ID receives it first
            let (status, missed) = http(
                server.port,
                "POST",
                &format!("/api/v1/threads/{t}/posts"),
                Some(&lin_token),
                Some(json!({"body": "while you were away"})),
            )
            .unwrap();
            assert_eq!(status, 201);
            let mut again = Sse::open(server.port, &saif_token, Some(last));
            let events = again.next(2);
            assert!(events.iter().all(|e| e.id > last));
            assert_eq!(events[1].data["id"], missed["id"]);
            // lin's own stream got nothing about lin's own posts
            let mut own = Sse::open(server.port, &lin_token, Some(0));
            std::thread::sleep(Duration::from_millis(500));
            own.read_some();
            assert!(own.parse().is_empty(), "{}", own.text);
            // a private annotation on saif's post tells saif's stream nothing; a public one does
            let first = first_post(server.port, t);
            let note = |visibility: &str| {
                json!({"motivation": "commenting", "body": "a note", "visibility": visibility, "selector": {"exact": "first post"}})
            };
            let path = format!("/api/v1/posts/{first}/annotations");
            let (status, _) = http(server.port, "POST", &path, Some(&lin_token), Some(note("private"))).unwrap();
            assert_eq!(status, 201);
            let (status, public) = http(server.port, "POST", &path, Some(&lin_token), Some(note("public"))).unwrap();
            assert_eq!(status, 201);
            let next = again.next(1);
            assert_eq!(next[0].data["kind"], "annotation");
            assert_eq!(next[0].data["annotation_id"], public["id"], "the private one came first: {}", again.text);
        })
        .await;
    }
);

db_test!(a_stream_needs_a_valid_token, |app| {
    let url = app.db.url.clone();
    web_block(move || {
        let server = Server::start(&url);
        let (status, body) = http(server.port, "GET", "/api/v1/stream", None, None).unwrap();
        assert_eq!(status, 401);
        assert_eq!(body["type"], "urn:gloss:problem:unauthorized");
        let (status, _) = http(
            server.port,
            "GET",
            "/api/v1/stream?access_token=forged",
            None,
            None,
        )
        .unwrap();
        assert_eq!(status, 401);
    })
    .await;
});

db_test!(views_and_presence_survive_a_clean_shutdown, |app| {
    let (saif, _, t) = scene(&app).await;
    let url = app.db.url.clone();
    let token = saif.token.clone();
    web_block(move || {
        // no periodic flush during the test: only the one at shutdown can save the counts
        let mut server = Server::start_with(&url, &[("GLOSS_VIEW_FLUSH_INTERVAL", "3600")]);
        for _ in 0..3 {
            let (status, _) = http(
                server.port,
                "GET",
                &format!("/api/v1/threads/{t}"),
                Some(&token),
                None,
            )
            .unwrap();
            assert_eq!(status, 200);
        }
        let (status, _) = http(
            server.port,
            "GET",
            &format!("/api/v1/threads/{t}"),
            None,
            None,
        )
        .unwrap();
        assert_eq!(status, 200);
        server.terminate();
    })
    .await;
    let (thread, saif_row) = app
        .state
        .db
        .run(move |conn| {
            Ok((
                gloss::threads::db::find(conn, t)?.unwrap(),
                gloss::users::db::find_by_username(conn, "saif")?.unwrap(),
            ))
        })
        .await
        .unwrap();
    // saif's three views count once (once per viewer and hour), the guest's once
    assert_eq!(thread.view_count, 2);
    assert!(saif_row.last_seen_at.is_some());
});

db_test!(a_stream_ends_when_its_access_token_expires, |app| {
    let (saif, _, _) = scene(&app).await;
    let url = app.db.url.clone();
    let short = gloss::auth::tokens::TokenKeys::new(
        TEST_JWT_SECRET.as_bytes(),
        &[],
        "gloss",
        "gloss-api",
        Duration::from_secs(2),
    )
    .issue(saif.id, gloss::users::Role::Member)
    .unwrap();
    web_block(move || {
        let server = Server::start(&url);
        let mut sse = Sse::open(server.port, &short, None);
        let deadline = Instant::now() + Duration::from_secs(10);
        // the chunked body's last chunk: the server ended the stream
        while !sse.text.contains("\r\n0\r\n\r\n") {
            assert!(
                Instant::now() < deadline,
                "the stream outlived its token: {}",
                sse.text
            );
            sse.read_some();
        }
    })
    .await;
});

/// Two Gloss processes share one PostgreSQL database: an event made through one reaches a stream
/// held open on the other (LISTEN/NOTIFY, no other service).
#[actix_web::test]
async fn an_event_made_on_one_process_reaches_a_stream_on_another() {
    let Some(app) = TestApp::postgres().await else {
        return;
    };
    let (saif, lin, t) = scene(&app).await;
    let url = app.db.url.clone();
    web_block(move || {
        let a = Server::start(&url);
        let b = Server::start(&url);
        let mut sse = Sse::open(b.port, &saif.token, None);
        let (status, post) = http(
            a.port,
            "POST",
            &format!("/api/v1/threads/{t}/posts"),
            Some(&lin.token),
            Some(json!({"body": "from process A"})),
        )
        .unwrap();
        assert_eq!(status, 201, "{post}");
        let events = sse.next(2);
        assert_eq!(events[1].event, "post");
        assert_eq!(events[1].data["id"], post["id"]);
    })
    .await;
}

fn first_post(port: u16, thread: i64) -> i64 {
    let (_, t) = http(
        port,
        "GET",
        &format!("/api/v1/threads/{thread}"),
        None,
        None,
    )
    .unwrap();
    t["first_post_id"].as_i64().unwrap()
}

/// Runs blocking socket work off the test's async runtime.
pub(crate) async fn web_block(f: impl FnOnce() + Send + 'static) {
    actix_web::web::block(f)
        .await
        .expect("the blocking test body panicked");
}
