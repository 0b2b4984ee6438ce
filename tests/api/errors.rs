//! Bad input never hurts: every error is problem+json with the right 4xx.

use actix_web::test::TestRequest;
use serde_json::json;

use crate::common::db_test;

db_test!(an_unknown_route_is_a_404_problem, |app| {
    app.get("/api/v1/nothing-here", None)
        .await
        .assert_problem(404, "not_found");
    app.get("/", None).await.assert_problem(404, "not_found");
});

db_test!(a_wrong_method_is_a_problem, |app| {
    let r = app
        .send(TestRequest::delete().uri("/api/v1/auth/login"))
        .await;
    assert!(r.status == 404 || r.status == 405, "{}", r.status);
    assert_eq!(r.header("content-type"), Some("application/problem+json"));
    let r = app.send(TestRequest::put().uri("/health/live")).await;
    assert_eq!(r.header("content-type"), Some("application/problem+json"));
});

db_test!(malformed_json_is_a_400_problem, |app| {
    for body in [
        "{",
        "{\"username\": }",
        "[1, 2",
        "not json at all",
        "{\"a\":1} trailing",
    ] {
        let r = app
            .send(
                TestRequest::post()
                    .uri("/api/v1/auth/register")
                    .insert_header(("content-type", "application/json"))
                    .set_payload(body),
            )
            .await;
        r.assert_problem(400, "malformed_request");
    }
    let r = app
        .send(
            TestRequest::post()
                .uri("/api/v1/auth/register")
                .insert_header(("content-type", "application/json")),
        )
        .await;
    r.assert_problem(400, "malformed_request");
});

db_test!(json_of_the_wrong_shape_is_a_422_naming_the_field, |app| {
    let r = app.post("/api/v1/auth/login", None, json!([1, 2, 3])).await;
    r.assert_problem(422, "validation_failed");
    let r = app
        .post(
            "/api/v1/auth/login",
            None,
            json!({"login": ["x"], "password": "y"}),
        )
        .await;
    r.assert_problem(422, "validation_failed");
    assert_eq!(r.error_fields(), vec!["login"]);
});

db_test!(a_wrong_content_type_is_a_415_problem, |app| {
    let r = app
        .send(
            TestRequest::post()
                .uri("/api/v1/auth/login")
                .insert_header(("content-type", "text/plain"))
                .set_payload(r#"{"login": "a", "password": "b"}"#),
        )
        .await;
    r.assert_problem(415, "unsupported_media_type");
    let r = app
        .send(
            TestRequest::post()
                .uri("/api/v1/auth/login")
                .set_payload(r#"{"login": "a", "password": "b"}"#),
        )
        .await;
    r.assert_problem(415, "unsupported_media_type");
});

db_test!(an_oversize_body_is_a_413_problem, |app| {
    let big = "x".repeat(app.state.config.body_limit + 1);
    let r = app
        .send(
            TestRequest::post()
                .uri("/api/v1/auth/register")
                .insert_header(("content-type", "application/json"))
                .set_payload(format!(r#"{{"username": "a", "password": "{big}"}}"#)),
        )
        .await;
    r.assert_problem(413, "payload_too_large");
});

db_test!(a_huge_page_size_is_refused_not_served, |app| {
    let admin = app.admin("boss").await;
    let r = app
        .get("/api/v1/users?per_page=1000000", Some(&admin.token))
        .await;
    r.assert_problem(422, "validation_failed");
    assert_eq!(r.error_fields(), vec!["per_page"]);
    let r = app.get("/api/v1/users?page=0", Some(&admin.token)).await;
    assert_eq!(r.error_fields(), vec!["page"]);
    let r = app.get("/api/v1/users?page=abc", Some(&admin.token)).await;
    r.assert_problem(422, "validation_failed");
    assert_eq!(r.error_fields(), vec!["page"]);
    let r = app
        .get(
            "/api/v1/users?page=99999999999999999999",
            Some(&admin.token),
        )
        .await;
    r.assert_problem(422, "validation_failed");
    let r = app.get("/api/v1/users?sort=evil", Some(&admin.token)).await;
    r.assert_problem(422, "validation_failed");
    assert_eq!(r.error_fields(), vec!["sort"]);
});

db_test!(a_whole_number_sent_as_a_float_is_an_integer, |app| {
    // JSON Schema counts 40.0 as an integer, so the document's `type: integer` admits it
    let s = app.forum().await;
    let lin = app.register("lin").await;
    let (t, _) = app.thread(&lin, s.forum_id, "Floats").await;
    let read = format!("/api/v1/threads/{t}/read");
    let r = app
        .post(&read, Some(&lin.token), json!({"position": 1.0}))
        .await;
    assert!(r.status < 300, "{} {}", r.status, r.text);
    let r = app
        .post(&read, Some(&lin.token), json!({"position": 1.5}))
        .await;
    r.assert_problem(422, "validation_failed");
    assert_eq!(r.error_fields(), vec!["position"]);
});

db_test!(a_new_annotation_sent_with_blank_text_is_refused, |app| {
    // leave `body` out for an annotation without text; blank text is a client's mistake
    let s = app.forum().await;
    let lin = app.register("lin").await;
    let (_, post) = app.thread(&lin, s.forum_id, "Blank").await;
    let r = app
        .post(
            &format!("/api/v1/posts/{post}/annotations"),
            Some(&lin.token),
            json!({"motivation": "highlighting", "body": "  ", "selector": {"exact": "first post"}}),
        )
        .await;
    r.assert_problem(422, "validation_failed");
    assert_eq!(r.error_fields(), vec!["body"]);
    let r = app
        .post(
            &format!("/api/v1/posts/{post}/annotations"),
            Some(&lin.token),
            json!({"motivation": "highlighting", "selector": {"exact": "first post"}}),
        )
        .await;
    assert_eq!(r.status, 201, "{}", r.text);
});
