//! The test app: a fresh database per test (a SQLite file, or a PostgreSQL database cloned from
//! a migrated template), the real application built by `gloss::build_app`, and request helpers.

use std::sync::OnceLock;

use actix_web::body::BoxBody;
use actix_web::dev::ServiceResponse;
use actix_web::http::{header::HeaderMap, Method};
use actix_web::test::{self, TestRequest};
use diesel::prelude::*;
use diesel::PgConnection;
use futures_util::future::LocalBoxFuture;
use serde_json::{json, Value};

use gloss::config::Config;
use gloss::AppState;

/// The secret tests sign with (a real deployment sets its own through GLOSS_JWT_SECRET).
pub const TEST_JWT_SECRET: &str = "test-secret-that-is-long-enough-for-hs256!";
/// A password that passes validation.
pub const PASSWORD: &str = "correct horse battery";

/// Runs a test body once against SQLite and once against PostgreSQL.
macro_rules! db_test {
    ($name:ident, |$app:ident| $body:block) => {
        mod $name {
            #[allow(unused_imports)]
            use super::*;

            #[actix_web::test]
            async fn sqlite() {
                let $app = $crate::common::TestApp::sqlite().await;
                $body
            }

            #[actix_web::test]
            async fn postgres() {
                let Some($app) = $crate::common::TestApp::postgres().await else {
                    return;
                };
                $body
            }
        }
    };
}
pub(crate) use db_test;

/// A database that exists for one test and is removed after it.
pub struct TestDb {
    pub url: String,
    pg: Option<(String, String)>, // (admin url, database name)
    _dir: Option<tempfile::TempDir>,
}

impl Drop for TestDb {
    fn drop(&mut self) {
        if let Some((admin, name)) = &self.pg {
            if let Ok(mut conn) = PgConnection::establish(admin) {
                let _ =
                    diesel::sql_query(format!("DROP DATABASE IF EXISTS \"{name}\" WITH (FORCE)"))
                        .execute(&mut conn);
            }
        }
    }
}

impl TestDb {
    /// Ends every server connection to this PostgreSQL database, as a restart of the server would.
    pub fn terminate_connections(&self) {
        let (admin, name) = self.pg.as_ref().expect("a PostgreSQL test database");
        let mut conn = PgConnection::establish(admin).unwrap();
        diesel::sql_query(format!(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = '{name}' AND pid <> pg_backend_pid()"
        ))
        .execute(&mut conn)
        .unwrap();
    }
}

/// The PostgreSQL server tests use, or why PostgreSQL cases are skipped.
pub fn postgres_admin_url() -> Option<String> {
    match std::env::var("GLOSS_TEST_POSTGRES_URL") {
        Ok(url) if !url.is_empty() => Some(url),
        _ => {
            if std::env::var("CI").is_ok_and(|v| v == "true") {
                panic!("CI=true but GLOSS_TEST_POSTGRES_URL is not set: the PostgreSQL cases must run in CI");
            }
            eprintln!(
                "skipped: GLOSS_TEST_POSTGRES_URL is not set, so this PostgreSQL case did not run"
            );
            None
        }
    }
}

fn with_database(url: &str, name: &str) -> String {
    let mut u = url::Url::parse(url).expect("GLOSS_TEST_POSTGRES_URL is not a URL");
    u.set_path(&format!("/{name}"));
    u.to_string()
}

/// A migrated template database, made once per migration set (named by a hash of the
/// migrations, so a changed schema gets a new template) and cloned for every test.
fn postgres_template(admin: &str) -> &'static str {
    static TEMPLATE: OnceLock<String> = OnceLock::new();
    TEMPLATE.get_or_init(|| {
        let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/migrations/postgres");
        let mut files: Vec<_> = walk(std::path::Path::new(dir));
        files.sort();
        let mut hash: u64 = 0xcbf29ce484222325;
        for f in &files {
            for b in f.to_string_lossy().bytes().chain(std::fs::read(f).unwrap()) {
                hash = (hash ^ b as u64).wrapping_mul(0x100000001b3);
            }
        }
        let name = format!("gloss_tpl_{hash:016x}");
        let mut conn =
            PgConnection::establish(admin).expect("cannot connect to GLOSS_TEST_POSTGRES_URL");
        diesel::sql_query("SELECT pg_advisory_lock(7411)")
            .execute(&mut conn)
            .unwrap();
        #[derive(QueryableByName)]
        struct Found {
            #[diesel(sql_type = diesel::sql_types::BigInt)]
            n: i64,
        }
        let found: Found =
            diesel::sql_query("SELECT count(*) AS n FROM pg_database WHERE datname = $1")
                .bind::<diesel::sql_types::Text, _>(&name)
                .get_result(&mut conn)
                .unwrap();
        if found.n == 0 {
            let tmp = format!("{name}_tmp_{}", std::process::id());
            diesel::sql_query(format!("CREATE DATABASE \"{tmp}\""))
                .execute(&mut conn)
                .unwrap();
            {
                let mut db = gloss::db::establish(&with_database(admin, &tmp)).unwrap();
                gloss::db::run_migrations(&mut db).unwrap();
            }
            diesel::sql_query(format!("ALTER DATABASE \"{tmp}\" RENAME TO \"{name}\""))
                .execute(&mut conn)
                .unwrap();
        }
        diesel::sql_query("SELECT pg_advisory_unlock(7411)")
            .execute(&mut conn)
            .unwrap();
        name
    })
}

fn walk(dir: &std::path::Path) -> Vec<std::path::PathBuf> {
    let mut out = Vec::new();
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            out.extend(walk(&path));
        } else {
            out.push(path);
        }
    }
    out
}

impl TestDb {
    /// A fresh SQLite file in a temporary folder.
    pub fn sqlite() -> TestDb {
        let dir = tempfile::tempdir().unwrap();
        let url = dir.path().join("test.db").to_string_lossy().into_owned();
        TestDb {
            url,
            pg: None,
            _dir: Some(dir),
        }
    }

    /// A fresh PostgreSQL database cloned from the migrated template; `None` when PostgreSQL is
    /// not configured for tests.
    pub fn postgres() -> Option<TestDb> {
        let admin = postgres_admin_url()?;
        let template = postgres_template(&admin);
        let name = format!("gloss_test_{}", uuid::Uuid::new_v4().simple());
        let mut conn = PgConnection::establish(&admin).unwrap();
        let mut attempt = 0;
        loop {
            match diesel::sql_query(format!(
                "CREATE DATABASE \"{name}\" TEMPLATE \"{template}\""
            ))
            .execute(&mut conn)
            {
                Ok(_) => break,
                // another clone of the template may be in progress
                Err(e)
                    if attempt < 50 && e.to_string().contains("being accessed by other users") =>
                {
                    attempt += 1;
                    std::thread::sleep(std::time::Duration::from_millis(100));
                }
                Err(e) => panic!("cannot create test database: {e}"),
            }
        }
        Some(TestDb {
            url: with_database(&admin, &name),
            pg: Some((admin, name)),
            _dir: None,
        })
    }
}

/// The configuration tests run with.
pub fn test_config(url: &str) -> Config {
    Config {
        database_url: url.to_string(),
        jwt_secret: Some(TEST_JWT_SECRET.into()),
        db_pool_size: 4,
        // limits are off unless a test is about them (tests register many members from one address)
        rate_auth_per_minute: 0,
        rate_failed_logins: 0,
        rate_writes_per_minute: 0,
        ..Config::default()
    }
}

/// An HTTP response, read whole.
#[derive(Debug)]
pub struct Resp {
    pub status: u16,
    pub headers: HeaderMap,
    pub text: String,
    /// The body as JSON (`Null` when empty or not JSON).
    pub body: Value,
}

impl Resp {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }

    /// Asserts a problem+json error of the given status and code.
    #[track_caller]
    pub fn assert_problem(&self, status: u16, code: &str) {
        assert_eq!(
            self.status, status,
            "unexpected status; body: {}",
            self.text
        );
        assert_eq!(
            self.header("content-type"),
            Some("application/problem+json"),
            "not a problem: {}",
            self.text
        );
        assert_eq!(
            self.body["type"],
            format!("urn:gloss:problem:{code}"),
            "body: {}",
            self.text
        );
        assert_eq!(self.body["status"], status);
        assert!(self.body["title"].is_string() && self.body["detail"].is_string());
    }

    /// The field names of a validation problem.
    pub fn error_fields(&self) -> Vec<String> {
        self.body["errors"]
            .as_array()
            .map(|a| {
                a.iter()
                    .map(|e| e["field"].as_str().unwrap_or("").to_string())
                    .collect()
            })
            .unwrap_or_default()
    }
}

type Caller = Box<dyn Fn(TestRequest) -> LocalBoxFuture<'static, ServiceResponse<BoxBody>>>;

/// The application under test, on its own database.
pub struct TestApp {
    call: Caller,
    pub state: AppState,
    pub db: TestDb,
    /// The folder uploaded images go to (unless the test set a bucket or a folder of its own).
    pub media: tempfile::TempDir,
}

/// A signed-in member.
#[derive(Debug, Clone)]
pub struct Member {
    pub id: i64,
    pub username: String,
    pub token: String,
    pub refresh_token: String,
}

impl TestApp {
    pub async fn sqlite() -> TestApp {
        Self::start(TestDb::sqlite(), test_config).await
    }

    pub async fn postgres() -> Option<TestApp> {
        Some(Self::start(TestDb::postgres()?, test_config).await)
    }

    /// Starts the app on `db` with a configuration made by `config`.
    pub async fn start(db: TestDb, config: impl Fn(&str) -> Config) -> TestApp {
        let media = tempfile::tempdir().unwrap();
        let mut config = config(&db.url);
        if config.media_dir == Config::default().media_dir {
            config.media_dir = media.path().to_string_lossy().into_owned();
        }
        let state = AppState::init(config).expect("the app must start");
        let service = std::rc::Rc::new(test::init_service(gloss::build_app(state.clone())).await);
        let call: Caller = Box::new(move |req| {
            let service = service.clone();
            Box::pin(async move {
                test::call_service(&*service, req.to_request())
                    .await
                    .map_into_boxed_body()
            })
        });
        TestApp {
            call,
            state,
            db,
            media,
        }
    }

    /// Sends a prepared request; the answer's status, headers and bytes as sent.
    pub async fn send_raw(&self, req: TestRequest) -> (u16, HeaderMap, actix_web::web::Bytes) {
        let res = (self.call)(req).await;
        let status = res.status().as_u16();
        let headers = res.headers().clone();
        (status, headers, test::read_body(res).await)
    }

    /// Sends a prepared request.
    pub async fn send(&self, req: TestRequest) -> Resp {
        let res = (self.call)(req).await;
        let status = res.status().as_u16();
        let headers = res.headers().clone();
        let bytes = test::read_body(res).await;
        let text = String::from_utf8_lossy(&bytes).into_owned();
        let body = serde_json::from_slice(&bytes).unwrap_or(Value::Null);
        Resp {
            status,
            headers,
            text,
            body,
        }
    }

    /// Sends `method path` with an optional bearer token and JSON body.
    pub async fn call(
        &self,
        method: Method,
        path: &str,
        token: Option<&str>,
        body: Option<Value>,
    ) -> Resp {
        let mut req = TestRequest::default().method(method).uri(path);
        if let Some(t) = token {
            req = req.insert_header(("Authorization", format!("Bearer {t}")));
        }
        if let Some(b) = body {
            req = req.set_json(b);
        }
        self.send(req).await
    }

    pub async fn get(&self, path: &str, token: Option<&str>) -> Resp {
        self.call(Method::GET, path, token, None).await
    }

    pub async fn post(&self, path: &str, token: Option<&str>, body: Value) -> Resp {
        self.call(Method::POST, path, token, Some(body)).await
    }

    pub async fn patch(&self, path: &str, token: Option<&str>, body: Value) -> Resp {
        self.call(Method::PATCH, path, token, Some(body)).await
    }

    /// Registers `username` with [`PASSWORD`] and returns the signed-in member.
    pub async fn register(&self, username: &str) -> Member {
        let r = self
            .post(
                "/api/v1/auth/register",
                None,
                json!({"username": username, "password": PASSWORD, "email": format!("{username}@example.org")}),
            )
            .await;
        assert_eq!(r.status, 201, "register failed: {}", r.text);
        member_from(&r.body)
    }

    /// Signs in with [`PASSWORD`].
    pub async fn login(&self, login: &str) -> Member {
        let r = self
            .post(
                "/api/v1/auth/login",
                None,
                json!({"login": login, "password": PASSWORD}),
            )
            .await;
        assert_eq!(r.status, 200, "login failed: {}", r.text);
        member_from(&r.body)
    }

    /// Gives `member` a role directly in the database (as `gloss admin set-role` does) and signs
    /// in again so the token carries it.
    pub async fn promote(&self, member: &Member, role: gloss::users::Role) -> Member {
        let id = member.id;
        self.state
            .db
            .run(move |conn| {
                Ok(gloss::users::db::set_role_and_status(
                    conn,
                    id,
                    Some(role),
                    None,
                )?)
            })
            .await
            .unwrap();
        self.login(&member.username).await
    }

    /// A signed-in admin.
    pub async fn admin(&self, username: &str) -> Member {
        let m = self.register(username).await;
        self.promote(&m, gloss::users::Role::Admin).await
    }
}

fn member_from(body: &Value) -> Member {
    Member {
        id: body["user"]["id"].as_i64().unwrap(),
        username: body["user"]["username"].as_str().unwrap().to_string(),
        token: body["access_token"].as_str().unwrap().to_string(),
        refresh_token: body["refresh_token"].as_str().unwrap().to_string(),
    }
}

/// A forum to post in, made by an admin through the API.
pub struct ForumSetup {
    pub admin: Member,
    pub category_id: i64,
    pub forum_id: i64,
}

impl TestApp {
    /// A category with one forum in it, and the admin who made them.
    pub async fn forum(&self) -> ForumSetup {
        let admin = self.admin("ada").await;
        let c = self
            .post(
                "/api/v1/forums",
                Some(&admin.token),
                json!({"kind": "category", "title": "Defense & Geopolitics"}),
            )
            .await;
        assert_eq!(c.status, 201, "{}", c.text);
        let category_id = c.body["id"].as_i64().unwrap();
        let f = self
            .post(
                "/api/v1/forums",
                Some(&admin.token),
                json!({"kind": "forum", "parent_id": category_id, "title": "Chinese Defense"}),
            )
            .await;
        assert_eq!(f.status, 201, "{}", f.text);
        ForumSetup {
            admin,
            category_id,
            forum_id: f.body["id"].as_i64().unwrap(),
        }
    }

    /// A second forum in the setup's category, named `title`; its id.
    pub async fn other_forum(&self, s: &ForumSetup, title: &str) -> i64 {
        let r = self
            .post(
                "/api/v1/forums",
                Some(&s.admin.token),
                json!({"kind": "forum", "parent_id": s.category_id, "title": title}),
            )
            .await;
        assert_eq!(r.status, 201, "{}", r.text);
        r.body["id"].as_i64().unwrap()
    }

    /// Starts a thread; returns (thread id, first post id).
    pub async fn thread(&self, author: &Member, forum_id: i64, title: &str) -> (i64, i64) {
        let r = self
            .post(
                &format!("/api/v1/forums/{forum_id}/threads"),
                Some(&author.token),
                json!({"title": title, "body": format!("The first post of *{title}*.")}),
            )
            .await;
        assert_eq!(r.status, 201, "{}", r.text);
        (
            r.body["thread"]["id"].as_i64().unwrap(),
            r.body["first_post"]["id"].as_i64().unwrap(),
        )
    }

    /// Replies to a thread; returns the post id.
    pub async fn reply(&self, author: &Member, thread_id: i64, body: &str) -> i64 {
        let r = self
            .post(
                &format!("/api/v1/threads/{thread_id}/posts"),
                Some(&author.token),
                json!({"body": body}),
            )
            .await;
        assert_eq!(r.status, 201, "{}", r.text);
        r.body["id"].as_i64().unwrap()
    }

    pub async fn delete(&self, path: &str, token: Option<&str>) -> Resp {
        self.call(Method::DELETE, path, token, None).await
    }

    pub async fn put(&self, path: &str, token: Option<&str>) -> Resp {
        self.call(Method::PUT, path, token, None).await
    }
}

/// Lifts PostgreSQL's statement timeout on this (pooled, test-only) connection, for bulk loads.
pub fn no_statement_timeout(conn: &mut gloss::db::DbConn) -> diesel::QueryResult<()> {
    if let gloss::db::DbConn::Pg(_) = conn {
        diesel::sql_query("SET statement_timeout = 0").execute(conn)?;
    }
    Ok(())
}
