//! Health probes, request ids, CORS.

use actix_web::test::TestRequest;

use crate::common::{db_test, test_config, TestApp, TestDb};

db_test!(health_probes_answer, |app| {
    let r = app.get("/health/live", None).await;
    assert_eq!(r.status, 200);
    assert_eq!(r.body["status"], "ok");
    let r = app.get("/health/ready", None).await;
    assert_eq!(r.status, 200);
    let expected = if app.db.url.starts_with("postgres") {
        "postgres"
    } else {
        "sqlite"
    };
    assert_eq!(r.body["database"], expected);
});

db_test!(a_request_id_is_echoed_or_generated, |app| {
    let r = app
        .send(
            TestRequest::get()
                .uri("/health/live")
                .insert_header(("x-request-id", "abc-123")),
        )
        .await;
    assert_eq!(r.header("x-request-id"), Some("abc-123"));
    let r = app.get("/api/v1/nothing", None).await;
    assert_eq!(r.header("x-request-id").map(str::len), Some(36));
    // an unsafe id is replaced, not logged as sent
    let r = app
        .send(
            TestRequest::get()
                .uri("/health/live")
                .insert_header(("x-request-id", "a b\tc")),
        )
        .await;
    assert_ne!(r.header("x-request-id"), Some("a b\tc"));
});

#[actix_web::test]
async fn cors_allows_only_configured_origins() {
    let app = TestApp::start(TestDb::sqlite(), |url| gloss::config::Config {
        cors_origins: vec!["https://app.example.org".into()],
        ..test_config(url)
    })
    .await;
    let r = app
        .send(
            TestRequest::get()
                .uri("/health/live")
                .insert_header(("origin", "https://app.example.org")),
        )
        .await;
    assert_eq!(
        r.header("access-control-allow-origin"),
        Some("https://app.example.org")
    );
    let r = app
        .send(
            TestRequest::default()
                .method(actix_web::http::Method::OPTIONS)
                .uri("/api/v1/me")
                .insert_header(("origin", "https://app.example.org"))
                .insert_header(("access-control-request-method", "PATCH"))
                .insert_header((
                    "access-control-request-headers",
                    "authorization, content-type",
                )),
        )
        .await;
    assert!(r.status < 300, "{} {}", r.status, r.text);
    let r = app
        .send(
            TestRequest::get()
                .uri("/health/live")
                .insert_header(("origin", "https://evil.example.com")),
        )
        .await;
    assert_eq!(r.header("access-control-allow-origin"), None);
}

#[test]
fn start_up_fails_with_one_line_naming_the_database_without_its_password() {
    let config = gloss::config::Config {
        database_url: "postgres://gloss:s3cret@127.0.0.1:1/nowhere".into(),
        ..test_config("")
    };
    let err = gloss::AppState::init(config).err().expect("must fail");
    assert!(
        err.contains("postgres://gloss:***@127.0.0.1:1/nowhere"),
        "{err}"
    );
    assert!(!err.contains("s3cret"), "{err}");
}

#[actix_web::test]
async fn an_exhausted_pool_answers_503_with_retry_after() {
    let app = TestApp::start(TestDb::sqlite(), |url| gloss::config::Config {
        db_pool_size: 1,
        db_pool_timeout: std::time::Duration::from_millis(200),
        ..test_config(url)
    })
    .await;
    let held = app.state.db.pool().get().unwrap();
    let r = app.get("/health/ready", None).await;
    r.assert_problem(503, "service_unavailable");
    assert_eq!(r.header("retry-after"), Some("1"));
    drop(held);
    assert_eq!(app.get("/health/ready", None).await.status, 200);
}

db_test!(the_first_admin_is_made_on_the_command_line, |app| {
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_gloss"))
        .args([
            "admin",
            "create",
            "--username",
            "root",
            "--email",
            "root@example.org",
        ])
        .env("GLOSS_DATABASE_URL", &app.db.url)
        .env("GLOSS_JWT_SECRET", crate::common::TEST_JWT_SECRET)
        .env("GLOSS_ADMIN_PASSWORD", crate::common::PASSWORD)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let root = app.login("root").await;
    let r = app.get("/api/v1/users", Some(&root.token)).await;
    assert_eq!(r.status, 200, "{}", r.text);
    // and set-role works the same way
    app.register("helper").await;
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_gloss"))
        .args(["admin", "set-role", "helper", "moderator"])
        .env("GLOSS_DATABASE_URL", &app.db.url)
        .env("GLOSS_JWT_SECRET", crate::common::TEST_JWT_SECRET)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(
        app.get("/api/v1/users/helper", None).await.body["role"],
        "moderator"
    );
});

#[actix_web::test]
async fn a_cors_refusal_is_a_problem_like_any_other_error() {
    let app = TestApp::start(TestDb::sqlite(), |url| gloss::config::Config {
        cors_origins: vec!["https://app.example.org".into()],
        ..test_config(url)
    })
    .await;
    // a preflight from an origin that is not allowed, and one asking for a header that is not
    for (origin, headers) in [
        ("https://evil.example.com", "authorization"),
        ("https://app.example.org", "x-not-allowed"),
    ] {
        let r = app
            .send(
                TestRequest::default()
                    .method(actix_web::http::Method::OPTIONS)
                    .uri("/api/v1/me")
                    .insert_header(("origin", origin))
                    .insert_header(("access-control-request-method", "PATCH"))
                    .insert_header(("access-control-request-headers", headers)),
            )
            .await;
        assert_eq!(r.status, 400, "{origin} {headers}: {}", r.text);
        assert_eq!(
            r.header("content-type"),
            Some("application/problem+json"),
            "{}",
            r.text
        );
        assert_eq!(r.body["code"], "malformed_request");
        assert!(
            r.body["detail"].as_str().unwrap().contains("CORS"),
            "{}",
            r.text
        );
    }
    // a retry-safe create may carry its key across origins
    let r = app
        .send(
            TestRequest::default()
                .method(actix_web::http::Method::OPTIONS)
                .uri("/api/v1/threads/1/posts")
                .insert_header(("origin", "https://app.example.org"))
                .insert_header(("access-control-request-method", "POST"))
                .insert_header((
                    "access-control-request-headers",
                    "authorization, content-type, idempotency-key",
                )),
        )
        .await;
    assert!(r.status < 300, "{} {}", r.status, r.text);
}
