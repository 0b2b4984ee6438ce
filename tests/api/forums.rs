//! The forum tree, prefixes and custom fields.

use serde_json::json;

use crate::common::db_test;

db_test!(an_admin_builds_the_forum_tree, |app| {
    let s = app.forum().await;
    let second = app
        .post(
            "/api/v1/forums",
            Some(&s.admin.token),
            json!({"kind": "forum", "parent_id": s.category_id, "title": "Russian Defense", "position": -1}),
        )
        .await;
    assert_eq!(second.status, 201, "{}", second.text);
    assert_eq!(
        second.header("location"),
        Some(format!("/api/v1/forums/{}", second.body["id"]).as_str())
    );
    assert_eq!(second.body["slug"], "russian-defense");
    let tree = app.get("/api/v1/forums", None).await;
    assert_eq!(tree.status, 200);
    let top = tree.body["items"].as_array().unwrap();
    assert_eq!(top.len(), 1);
    assert_eq!(top[0]["kind"], "category");
    let children: Vec<&str> = top[0]["children"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["title"].as_str().unwrap())
        .collect();
    // reordered by position: -1 before 0
    assert_eq!(children, vec!["Russian Defense", "Chinese Defense"]);
    let one = app
        .get(&format!("/api/v1/forums/{}", s.category_id), None)
        .await;
    assert_eq!(one.body["children"].as_array().unwrap().len(), 2);
    // reorder through PATCH
    let r = app
        .patch(
            &format!("/api/v1/forums/{}", second.body["id"]),
            Some(&s.admin.token),
            json!({"position": 5}),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.text);
    let tree = app.get("/api/v1/forums", None).await;
    assert_eq!(
        tree.body["items"][0]["children"][0]["title"],
        "Chinese Defense"
    );
});

db_test!(forum_validation_names_the_field, |app| {
    let s = app.forum().await;
    let r = app
        .post(
            "/api/v1/forums",
            Some(&s.admin.token),
            json!({"kind": "forum", "title": ""}),
        )
        .await;
    assert_eq!(r.error_fields(), vec!["title"]);
    let r = app
        .post(
            "/api/v1/forums",
            Some(&s.admin.token),
            json!({"kind": "board", "title": "x"}),
        )
        .await;
    assert_eq!(r.error_fields(), vec!["kind"]);
    let r = app
        .post(
            "/api/v1/forums",
            Some(&s.admin.token),
            json!({"kind": "forum", "title": "x", "slug": "chinese-defense"}),
        )
        .await;
    r.assert_problem(409, "conflict");
    let r = app
        .post(
            "/api/v1/forums",
            Some(&s.admin.token),
            json!({"kind": "forum", "title": "x", "parent_id": 999}),
        )
        .await;
    assert_eq!(r.error_fields(), vec!["parent_id"]);
    let r = app
        .patch(
            &format!("/api/v1/forums/{}", s.category_id),
            Some(&s.admin.token),
            json!({"parent_id": s.forum_id}),
        )
        .await;
    assert_eq!(
        r.error_fields(),
        vec!["parent_id"],
        "a forum cannot go inside its own child: {}",
        r.text
    );
});

db_test!(only_admins_manage_forums, |app| {
    let s = app.forum().await;
    let member = app.register("member").await;
    let moderator = app
        .promote(
            &app.register("mikhail").await,
            gloss::users::Role::Moderator,
        )
        .await;
    for who in [&member, &moderator] {
        app.post(
            "/api/v1/forums",
            Some(&who.token),
            json!({"kind": "forum", "title": "x"}),
        )
        .await
        .assert_problem(403, "forbidden");
        app.patch(
            &format!("/api/v1/forums/{}", s.forum_id),
            Some(&who.token),
            json!({"title": "x"}),
        )
        .await
        .assert_problem(403, "forbidden");
        app.delete(&format!("/api/v1/forums/{}", s.forum_id), Some(&who.token))
            .await
            .assert_problem(403, "forbidden");
        app.post(
            &format!("/api/v1/forums/{}/prefixes", s.forum_id),
            Some(&who.token),
            json!({"label": "x"}),
        )
        .await
        .assert_problem(403, "forbidden");
    }
    app.post(
        "/api/v1/forums",
        None,
        json!({"kind": "forum", "title": "x"}),
    )
    .await
    .assert_problem(401, "unauthorized");
});

db_test!(a_forum_with_threads_is_deleted_only_by_moving_them, |app| {
    let s = app.forum().await;
    let m = app.register("saif").await;
    let (thread, _) = app.thread(&m, s.forum_id, "Keep me").await;
    let other = app
        .post(
            "/api/v1/forums",
            Some(&s.admin.token),
            json!({"kind": "forum", "parent_id": s.category_id, "title": "Archive"}),
        )
        .await;
    let other_id = other.body["id"].as_i64().unwrap();
    let path = format!("/api/v1/forums/{}", s.forum_id);
    app.delete(&path, Some(&s.admin.token))
        .await
        .assert_problem(409, "conflict");
    app.delete(
        &format!("/api/v1/forums/{}", s.category_id),
        Some(&s.admin.token),
    )
    .await
    .assert_problem(409, "conflict");
    app.delete(
        &format!("{path}?move_threads_to={}", s.category_id),
        Some(&s.admin.token),
    )
    .await
    .assert_problem(422, "validation_failed");
    let r = app
        .delete(
            &format!("{path}?move_threads_to={other_id}"),
            Some(&s.admin.token),
        )
        .await;
    assert_eq!(r.status, 204, "{}", r.text);
    app.get(&path, None).await.assert_problem(404, "not_found");
    let t = app.get(&format!("/api/v1/threads/{thread}"), None).await;
    assert_eq!(t.body["forum_id"], other_id);
    let f = app.get(&format!("/api/v1/forums/{other_id}"), None).await;
    assert_eq!(f.body["thread_count"], 1);
    assert_eq!(f.body["post_count"], 1);
});

db_test!(prefixes_are_managed_per_forum_and_carry_emoji, |app| {
    let s = app.forum().await;
    let r = app
        .post(
            &format!("/api/v1/forums/{}/prefixes", s.forum_id),
            Some(&s.admin.token),
            json!({"label": "🇨🇳"}),
        )
        .await;
    assert_eq!(r.status, 201, "{}", r.text);
    let id = r.body["id"].as_i64().unwrap();
    let list = app
        .get(&format!("/api/v1/forums/{}/prefixes", s.forum_id), None)
        .await;
    assert_eq!(list.body["items"][0]["label"], "🇨🇳");
    let r = app
        .patch(
            &format!("/api/v1/prefixes/{id}"),
            Some(&s.admin.token),
            json!({"label": "🇷🇺"}),
        )
        .await;
    assert_eq!(r.body["label"], "🇷🇺");
    let r = app
        .post(
            &format!("/api/v1/forums/{}/prefixes", s.forum_id),
            Some(&s.admin.token),
            json!({"label": ""}),
        )
        .await;
    assert_eq!(r.error_fields(), vec!["label"]);
    assert_eq!(
        app.delete(&format!("/api/v1/prefixes/{id}"), Some(&s.admin.token))
            .await
            .status,
        204
    );
    assert_eq!(
        app.get(&format!("/api/v1/forums/{}/prefixes", s.forum_id), None)
            .await
            .body["items"],
        json!([])
    );
});

db_test!(custom_fields_are_defined_with_types, |app| {
    let s = app.forum().await;
    let base = format!("/api/v1/forums/{}/fields", s.forum_id);
    let r = app
        .post(&base, Some(&s.admin.token), json!({"key": "date_of_event", "label": "Date of Event", "field_type": "date", "required": true}))
        .await;
    assert_eq!(r.status, 201, "{}", r.text);
    let r = app
        .post(&base, Some(&s.admin.token), json!({"key": "theatre", "label": "Theatre", "field_type": "choice", "options": ["land", "sea", "air"]}))
        .await;
    assert_eq!(r.status, 201, "{}", r.text);
    assert_eq!(r.body["options"], json!(["land", "sea", "air"]));
    // a choice field needs options; other types refuse them; keys are unique per forum
    let r = app
        .post(
            &base,
            Some(&s.admin.token),
            json!({"key": "c", "label": "C", "field_type": "choice"}),
        )
        .await;
    assert_eq!(r.error_fields(), vec!["options"]);
    let r = app
        .post(
            &base,
            Some(&s.admin.token),
            json!({"key": "n", "label": "N", "field_type": "number", "options": ["1"]}),
        )
        .await;
    assert_eq!(r.error_fields(), vec!["options"]);
    let r = app
        .post(
            &base,
            Some(&s.admin.token),
            json!({"key": "Bad Key", "label": "N", "field_type": "number"}),
        )
        .await;
    assert_eq!(r.error_fields(), vec!["key"]);
    let r = app
        .post(
            &base,
            Some(&s.admin.token),
            json!({"key": "theatre", "label": "Again", "field_type": "text"}),
        )
        .await;
    r.assert_problem(409, "conflict");
    let list = app.get(&base, None).await;
    let keys: Vec<&str> = list.body["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["key"].as_str().unwrap())
        .collect();
    assert_eq!(keys, vec!["date_of_event", "theatre"]);
    assert_eq!(list.body["items"][0]["field_type"], "date");
});

db_test!(a_category_carries_the_sums_of_its_forums, |app| {
    let s = app.forum().await;
    let second = app
        .post(
            "/api/v1/forums",
            Some(&s.admin.token),
            json!({"kind": "forum", "parent_id": s.category_id, "title": "Russian Defense"}),
        )
        .await
        .body["id"]
        .as_i64()
        .unwrap();
    let m = app.register("saif").await;
    let (a, _) = app.thread(&m, s.forum_id, "One").await;
    app.reply(&m, a, "A reply.").await;
    let (b, _) = app.thread(&m, second, "Two").await;
    let last = app.reply(&m, b, "The newest post.").await;
    let tree = app.get("/api/v1/forums", None).await;
    let category = &tree.body["items"][0];
    assert_eq!(category["kind"], "category");
    assert_eq!(category["thread_count"], 2);
    assert_eq!(category["post_count"], 4);
    assert_eq!(category["last_post"]["post_id"], last);
    assert_eq!(category["last_post"]["thread_title"], "Two");
    let one = app
        .get(&format!("/api/v1/forums/{}", s.category_id), None)
        .await;
    assert_eq!(one.body["thread_count"], 2);
    assert_eq!(one.body["children"].as_array().unwrap().len(), 2);
    assert_eq!(one.body["children"][1]["thread_count"], 1);
    let forum = app.get(&format!("/api/v1/forums/{second}"), None).await;
    assert_eq!(forum.body["thread_count"], 1);
    assert_eq!(forum.body["post_count"], 2);
});
