//! `GET /metrics`: Prometheus text behind a token, absent without one.

use actix_web::test::TestRequest;
use serde_json::json;

use crate::common::{db_test, test_config, TestApp, TestDb};

async fn app_with_token(db: TestDb) -> TestApp {
    TestApp::start(db, |url| {
        let mut c = test_config(url);
        c.metrics_token = Some("metrics-secret-of-the-test".into());
        c.rate_writes_per_minute = 2;
        c
    })
    .await
}

db_test!(metrics_are_absent_without_a_token, |app| {
    app.get("/metrics", None)
        .await
        .assert_problem(404, "not_found");
});

db_test!(metrics_need_the_token_and_count_requests_by_route, |app| {
    let app = app_with_token(app.db).await;
    app.get("/metrics", None)
        .await
        .assert_problem(401, "unauthorized");
    app.get("/metrics", Some("a-guess"))
        .await
        .assert_problem(401, "unauthorized");
    let s = app.forum().await;
    let saif = app.register("saif").await;
    let (t, _) = app.thread(&saif, s.forum_id, "Counted").await;
    app.get(&format!("/api/v1/threads/{t}/posts"), None).await;
    app.reply(&saif, t, "one").await;
    let limited = app
        .post(
            &format!("/api/v1/threads/{t}/posts"),
            Some(&saif.token),
            json!({"body": "three"}),
        )
        .await;
    assert_eq!(limited.status, 429);
    let r = app
        .send(
            TestRequest::get()
                .uri("/metrics")
                .insert_header(("Authorization", "Bearer metrics-secret-of-the-test")),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert!(r.header("content-type").unwrap().starts_with("text/plain"));
    let text = &r.text;
    for needle in [
        r#"gloss_http_requests_total{method="GET",route="/api/v1/threads/{thread_id}/posts",status="200"} 1"#,
        r#"gloss_http_requests_total{method="POST",route="/api/v1/threads/{thread_id}/posts",status="201"} 1"#,
        r#"gloss_rate_limited_total{route="/api/v1/threads/{thread_id}/posts"} 1"#,
        "gloss_http_request_duration_seconds_bucket",
        r#"gloss_db_pool_connections{state="in_use"}"#,
        r#"gloss_db_pool_connections{state="waiting"} 0"#,
        "gloss_sse_clients 0",
        "gloss_markdown_render_seconds_count 2",
    ] {
        assert!(text.contains(needle), "missing {needle} in:\n{text}");
    }
});
