//! Regression tests for defects found in review.

use serde_json::{json, Value};

use crate::common::db_test;

db_test!(
    nobody_posts_in_a_deleted_thread_not_even_a_moderator,
    |app| {
        let s = app.forum().await;
        let m = app.register("saif").await;
        let (t, _) = app.thread(&m, s.forum_id, "Gone").await;
        assert_eq!(
            app.delete(&format!("/api/v1/threads/{t}"), Some(&s.admin.token))
                .await
                .status,
            204
        );
        app.post(
            &format!("/api/v1/threads/{t}/posts"),
            Some(&s.admin.token),
            json!({"body": "hello?"}),
        )
        .await
        .assert_problem(409, "conflict");
        // and the forum's last post does not point into it
        let f = app
            .get(&format!("/api/v1/forums/{}", s.forum_id), None)
            .await;
        assert_eq!(f.body["last_post"], Value::Null);
    }
);

db_test!(a_w3c_annotation_can_be_private, |app| {
    let s = app.forum().await;
    let saif = app.register("saif").await;
    let lin = app.register("lin").await;
    let (_, post) = app.thread(&saif, s.forum_id, "W3C").await;
    let doc = json!({"@context": "http://www.w3.org/ns/anno.jsonld", "type": "Annotation", "motivation": "bookmarking",
        "visibility": "private", "target": {"selector": {"type": "TextQuoteSelector", "exact": "first post"}}});
    let r = app
        .post(
            &format!("/api/v1/w3c/posts/{post}/annotations"),
            Some(&lin.token),
            doc,
        )
        .await;
    assert_eq!(r.status, 201, "{}", r.text);
    let id = r.header("location").unwrap().rsplit('/').next().unwrap();
    let plain = app
        .get(&format!("/api/v1/annotations/{id}"), Some(&lin.token))
        .await;
    assert_eq!(plain.body["visibility"], "private");
    assert_eq!(
        app.get(&format!("/api/v1/posts/{post}/annotations"), None)
            .await
            .body["total"],
        0
    );
});

db_test!(
    making_an_annotation_private_takes_its_replies_along,
    |app| {
        let s = app.forum().await;
        let saif = app.register("saif").await;
        let lin = app.register("lin").await;
        let (_, post) = app.thread(&saif, s.forum_id, "Replies").await;
        let a = app
        .post(&format!("/api/v1/posts/{post}/annotations"), Some(&lin.token),
            json!({"motivation": "commenting", "body": "hm", "selector": {"exact": "first post"}}))
        .await;
        let id = a.body["id"].as_i64().unwrap();
        let reply = app
            .post(
                &format!("/api/v1/annotations/{id}/replies"),
                Some(&saif.token),
                json!({"body": "indeed"}),
            )
            .await;
        let rid = reply.body["id"].as_i64().unwrap();
        let r = app
            .patch(
                &format!("/api/v1/annotations/{id}"),
                Some(&lin.token),
                json!({"visibility": "private"}),
            )
            .await;
        assert_eq!(r.status, 200, "{}", r.text);
        app.get(&format!("/api/v1/annotations/{rid}"), Some(&saif.token))
            .await
            .assert_problem(404, "not_found");
        app.get(&format!("/api/v1/annotations/{id}/replies"), None)
            .await
            .assert_problem(404, "not_found");
        assert_eq!(
            app.get("/api/v1/users/saif/annotations", None).await.body["items"],
            json!([])
        );
        // and back
        app.patch(
            &format!("/api/v1/annotations/{id}"),
            Some(&lin.token),
            json!({"visibility": "public"}),
        )
        .await;
        assert_eq!(
            app.get(&format!("/api/v1/annotations/{rid}"), None)
                .await
                .status,
            200
        );
    }
);

db_test!(
    the_citations_of_a_deleted_post_keep_the_quote_but_not_its_current_place,
    |app| {
        let s = app.forum().await;
        let saif = app.register("saif").await;
        let lin = app.register("lin").await;
        let (t, post) = app.thread(&saif, s.forum_id, "Cited").await;
        let first_reply = app.reply(&saif, t, "a reply with quotable words").await;
        let r = app
        .post(&format!("/api/v1/threads/{t}/posts"), Some(&lin.token),
            json!({"body": "quoting", "citations": [{"post_id": first_reply, "selector": {"exact": "quotable words"}}]}))
        .await;
        assert_eq!(r.status, 201, "{}", r.text);
        assert_eq!(
            app.delete(&format!("/api/v1/posts/{first_reply}"), Some(&saif.token))
                .await
                .status,
            204
        );
        let c = app
            .get(&format!("/api/v1/posts/{first_reply}/citations"), None)
            .await;
        assert_eq!(c.body["items"][0]["quoted_text"], "quotable words");
        assert_eq!(c.body["items"][0]["source_changed"], true);
        assert_eq!(c.body["items"][0]["selector"]["start"], Value::Null);
        let c = app
            .get(
                &format!("/api/v1/posts/{first_reply}/citations"),
                Some(&s.admin.token),
            )
            .await;
        assert!(c.body["items"][0]["selector"]["start"].is_number());
        let _ = post;
    }
);

db_test!(a_text_field_filter_with_only_a_lower_bound_works, |app| {
    let s = app.forum().await;
    let m = app.register("saif").await;
    let base = format!("/api/v1/forums/{}/fields", s.forum_id);
    app.post(
        &base,
        Some(&s.admin.token),
        json!({"key": "country", "label": "Country", "field_type": "text"}),
    )
    .await;
    let path = format!("/api/v1/forums/{}/threads", s.forum_id);
    for c in ["Algeria", "Zambia", "Égypte"] {
        let r = app
            .post(
                &path,
                Some(&m.token),
                json!({"title": c, "body": "b", "fields": {"country": c}}),
            )
            .await;
        assert_eq!(r.status, 201, "{}", r.text);
    }
    let r = app.get(&format!("{path}?field=country&min=B"), None).await;
    let mut titles: Vec<String> = r.body["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["title"].as_str().unwrap().to_string())
        .collect();
    titles.sort();
    assert!(titles.contains(&"Zambia".to_string()), "{titles:?}");
    assert!(!titles.contains(&"Algeria".to_string()), "{titles:?}");
});

db_test!(
    a_role_change_or_ban_takes_effect_on_the_next_request,
    |app| {
        let s = app.forum().await;
        let m = app.register("saif").await;
        let (t, _) = app.thread(&m, s.forum_id, "Power").await;
        let moddy = app
            .promote(&app.register("moddy").await, gloss::users::Role::Moderator)
            .await;
        assert_eq!(
            app.put(&format!("/api/v1/threads/{t}/lock"), Some(&moddy.token))
                .await
                .status,
            200
        );
        let r = app
            .patch(
                "/api/v1/users/moddy",
                Some(&s.admin.token),
                json!({"role": "member"}),
            )
            .await;
        assert_eq!(r.status, 200, "{}", r.text);
        // the same, still unexpired token no longer carries the old role
        app.delete(&format!("/api/v1/threads/{t}/lock"), Some(&moddy.token))
            .await
            .assert_problem(403, "forbidden");
        app.patch(
            "/api/v1/users/moddy",
            Some(&s.admin.token),
            json!({"disabled": true}),
        )
        .await;
        app.get("/api/v1/me", Some(&moddy.token))
            .await
            .assert_problem(403, "account_disabled");
    }
);

db_test!(an_empty_patch_changes_nothing_and_is_not_an_error, |app| {
    // found by Schemathesis: an empty changeset used to be a 500
    let s = app.forum().await;
    let m = app.register("saif").await;
    let (t, post) = app.thread(&m, s.forum_id, "Empty patches").await;
    let field = app
        .post(
            &format!("/api/v1/forums/{}/fields", s.forum_id),
            Some(&s.admin.token),
            json!({"key": "k", "label": "K", "field_type": "text"}),
        )
        .await;
    let prefix = app
        .post(
            &format!("/api/v1/forums/{}/prefixes", s.forum_id),
            Some(&s.admin.token),
            json!({"label": "P"}),
        )
        .await;
    let a = app
        .post(
            &format!("/api/v1/posts/{post}/annotations"),
            Some(&m.token),
            json!({"motivation": "highlighting", "selector": {"exact": "first post"}}),
        )
        .await;
    for (path, token) in [
        (
            format!("/api/v1/thread-fields/{}", field.body["id"]),
            &s.admin.token,
        ),
        (
            format!("/api/v1/prefixes/{}", prefix.body["id"]),
            &s.admin.token,
        ),
        (format!("/api/v1/forums/{}", s.forum_id), &s.admin.token),
        ("/api/v1/users/saif".to_string(), &s.admin.token),
        (format!("/api/v1/threads/{t}"), &m.token),
        (format!("/api/v1/annotations/{}", a.body["id"]), &m.token),
        ("/api/v1/me".to_string(), &m.token),
    ] {
        let r = app.patch(&path, Some(token), json!({})).await;
        assert_eq!(r.status, 200, "PATCH {path} {{}}: {}", r.text);
    }
});
