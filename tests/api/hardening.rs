//! The smaller holes a hostile or careless client finds: context of deleted sources, 404s that tell
//! deleted from missing, literal paths read as ids, route words as usernames, unbounded admin text,
//! and the headers every response carries.

use actix_web::http::Method;
use actix_web::test::TestRequest;
use serde_json::json;

use crate::common::{db_test, PASSWORD};

db_test!(citations_of_a_deleted_post_show_members_no_context, |app| {
    let s = app.forum().await;
    let saif = app.register("saif").await;
    let lin = app.register("lin").await;
    let (t, _) = app.thread(&saif, s.forum_id, "Sources").await;
    let source = app
        .reply(
            &saif,
            t,
            "Before the passage, the cited words, and after the passage.",
        )
        .await;
    let r = app
        .post(
            &format!("/api/v1/threads/{t}/posts"),
            Some(&lin.token),
            json!({"body": "Quoting.", "citations": [{"post_id": source, "selector": {"exact": "the cited words"}}]}),
        )
        .await;
    assert_eq!(r.status, 201, "{}", r.text);
    let before = app
        .get(
            &format!("/api/v1/posts/{source}/citations"),
            Some(&lin.token),
        )
        .await;
    assert_eq!(
        before.body["items"][0]["selector"]["prefix"],
        "Before the passage, "
    );
    assert_eq!(
        app.delete(&format!("/api/v1/posts/{source}"), Some(&saif.token))
            .await
            .status,
        204
    );
    let after = app
        .get(
            &format!("/api/v1/posts/{source}/citations"),
            Some(&lin.token),
        )
        .await;
    assert_eq!(after.status, 200, "{}", after.text);
    let c = &after.body["items"][0];
    assert_eq!(c["quoted_text"], "the cited words");
    assert_eq!(c["selector"]["prefix"], "", "{}", after.text);
    assert_eq!(c["selector"]["suffix"], "", "{}", after.text);
    assert!(c["selector"]["start"].is_null());
    // a moderator still sees where the passage was
    let modr = app
        .promote(
            &app.register("mikhail").await,
            gloss::users::Role::Moderator,
        )
        .await;
    let staff = app
        .get(
            &format!("/api/v1/posts/{source}/citations"),
            Some(&modr.token),
        )
        .await;
    assert_eq!(
        staff.body["items"][0]["selector"]["prefix"],
        "Before the passage, "
    );
});

db_test!(
    a_deleted_post_and_a_missing_one_answer_the_same_404,
    |app| {
        let s = app.forum().await;
        let saif = app.register("saif").await;
        let (t, _) = app.thread(&saif, s.forum_id, "Gone").await;
        let p = app.reply(&saif, t, "Soon deleted.").await;
        assert_eq!(
            app.delete(&format!("/api/v1/posts/{p}"), Some(&saif.token))
                .await
                .status,
            204
        );
        let missing = 999_999;
        for (id, path) in [
            (p, format!("/api/v1/posts/{p}")),
            (missing, format!("/api/v1/posts/{missing}")),
        ] {
            let r = app.get(&path, None).await;
            r.assert_problem(404, "not_found");
            assert_eq!(
                r.body["detail"],
                format!("no post has id {id}"),
                "{}",
                r.text
            );
        }
        // the same for its annotations' and revisions' paths
        let r = app.get(&format!("/api/v1/posts/{p}/revisions"), None).await;
        assert_eq!(
            r.body["detail"],
            format!("no post has id {p}"),
            "{}",
            r.text
        );
    }
);

db_test!(literal_paths_are_not_read_as_ids, |app| {
    let saif = app.register("saif").await;
    let r = app
        .call(
            Method::PATCH,
            "/api/v1/posts/latest",
            Some(&saif.token),
            Some(json!({"body": "x"})),
        )
        .await;
    r.assert_problem(405, "method_not_allowed");
    assert_eq!(r.header("allow"), Some("GET"));
    let r = app
        .call(Method::OPTIONS, "/api/v1/users/online", None, None)
        .await;
    assert_eq!(r.header("allow"), Some("GET"), "{}", r.text);
    let r = app
        .call(
            Method::DELETE,
            "/api/v1/threads/latest",
            Some(&saif.token),
            None,
        )
        .await;
    r.assert_problem(405, "method_not_allowed");
    // a template path with a bad id is still a 404
    app.get("/api/v1/posts/not-a-number", None)
        .await
        .assert_problem(404, "not_found");
});

db_test!(route_words_are_reserved_usernames, |app| {
    for name in ["online", "Latest", "me", "unread", "admin"] {
        let r = app
            .post(
                "/api/v1/auth/register",
                None,
                json!({"username": name, "password": PASSWORD}),
            )
            .await;
        r.assert_problem(422, "validation_failed");
        assert_eq!(r.error_fields(), vec!["username".to_string()], "{}", r.text);
    }
    app.register("onliner").await;
});

db_test!(admin_field_descriptions_have_a_maximum, |app| {
    let s = app.forum().await;
    let r = app
        .post(
            &format!("/api/v1/forums/{}/fields", s.forum_id),
            Some(&s.admin.token),
            json!({"key": "date_of_event", "label": "Date", "field_type": "date", "description": "x".repeat(200_000)}),
        )
        .await;
    r.assert_problem(422, "validation_failed");
    assert_eq!(r.error_fields(), vec!["description".to_string()]);
    let ok = app
        .post(
            &format!("/api/v1/forums/{}/fields", s.forum_id),
            Some(&s.admin.token),
            json!({"key": "date_of_event", "label": "Date", "field_type": "date", "description": "x".repeat(500)}),
        )
        .await;
    assert_eq!(ok.status, 201, "{}", ok.text);
    let r = app
        .patch(
            &format!("/api/v1/thread-fields/{}", ok.body["id"]),
            Some(&s.admin.token),
            json!({"description": "y".repeat(501)}),
        )
        .await;
    r.assert_problem(422, "validation_failed");
});

db_test!(responses_carry_security_and_cache_headers, |app| {
    let saif = app.register("saif").await;
    let me = app.get("/api/v1/me", Some(&saif.token)).await;
    assert_eq!(me.header("x-content-type-options"), Some("nosniff"));
    assert_eq!(me.header("cache-control"), Some("no-store"));
    assert_eq!(me.header("x-frame-options"), Some("DENY"));
    assert!(me
        .header("content-security-policy")
        .unwrap()
        .contains("frame-ancestors 'none'"));
    let forums = app.get("/api/v1/forums", Some(&saif.token)).await;
    assert_eq!(forums.header("cache-control"), Some("private, no-cache"));
    let guest = app.get("/api/v1/forums", None).await;
    assert_eq!(guest.header("x-content-type-options"), Some("nosniff"));
    let error = app.get("/api/v1/nowhere", None).await;
    assert_eq!(error.header("x-content-type-options"), Some("nosniff"));
    let docs = app.send(TestRequest::get().uri("/docs/")).await;
    let csp = docs.header("content-security-policy").unwrap();
    assert!(
        csp.contains("script-src 'self'") && csp.contains("frame-ancestors 'none'"),
        "{csp}"
    );
});

/// PostgreSQL only: its server can end connections under a running Gloss (a restart, a failover).
#[actix_web::test]
async fn a_lost_database_connection_is_a_503_and_the_server_recovers() {
    let Some(app) = crate::common::TestApp::postgres().await else {
        return;
    };
    let saif = app.register("saif").await;
    assert_eq!(app.get("/health/ready", None).await.status, 200);
    app.db.terminate_connections();
    let mut statuses = Vec::new();
    for _ in 0..12 {
        let r = app.get("/api/v1/me", Some(&saif.token)).await;
        if r.status == 503 {
            r.assert_problem(503, "service_unavailable");
            assert!(r.header("retry-after").is_some());
        }
        statuses.push(r.status);
    }
    assert_eq!(
        statuses[0], 503,
        "the first request on a dead connection: {statuses:?}"
    );
    assert!(
        statuses.iter().all(|s| *s == 200 || *s == 503),
        "{statuses:?}"
    );
    assert!(
        statuses[statuses.len() - 3..].iter().all(|s| *s == 200),
        "no recovery: {statuses:?}"
    );
    assert_eq!(app.get("/health/ready", None).await.status, 200);
}

db_test!(profile_field_options_have_a_maximum_length, |app| {
    let admin = app.admin("ada").await;
    let r = app
        .post(
            "/api/v1/profile-fields",
            Some(&admin.token),
            json!({"key": "nation", "label": "Nation", "field_type": "choice", "options": ["ok", "x".repeat(100_000)]}),
        )
        .await;
    r.assert_problem(422, "validation_failed");
    assert_eq!(r.error_fields(), vec!["options".to_string()]);
});
