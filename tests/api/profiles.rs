//! Profiles, groups and ranks on author cards; members online.

use serde_json::json;

use crate::common::db_test;

db_test!(author_cards_carry_rank_groups_and_profile_fields, |app| {
    let s = app.forum().await;
    let saif = app.register("saif").await;
    let a = &s.admin.token;
    for (key, label) in [("nation", "Nation"), ("residence", "Residence")] {
        let r = app
            .post(
                "/api/v1/profile-fields",
                Some(a),
                json!({"key": key, "label": label, "field_type": "country"}),
            )
            .await;
        assert_eq!(r.status, 201, "{}", r.text);
    }
    let g = app
        .post(
            "/api/v1/groups",
            Some(a),
            json!({"name": "Axis Group", "badge": "Axis Group"}),
        )
        .await;
    assert_eq!(g.status, 201, "{}", g.text);
    let gid = g.body["id"].as_i64().unwrap();
    assert_eq!(
        app.put(&format!("/api/v1/groups/{gid}/members/saif"), Some(a))
            .await
            .status,
        204
    );
    assert_eq!(
        app.put(&format!("/api/v1/groups/{gid}/members/saif"), Some(a))
            .await
            .status,
        204
    );
    let r = app.call(actix_web::http::Method::PUT, "/api/v1/ranks", Some(a),
        Some(json!({"items": [{"min_messages": 0, "title": "Recruit"}, {"min_messages": 2, "title": "Senior Member"}]}))).await;
    assert_eq!(r.status, 200, "{}", r.text);
    let r = app
        .patch(
            "/api/v1/me",
            Some(&saif.token),
            json!({"profile": {"nation": "cn", "residence": "RU"}, "avatar_url": "https://cdn.example.org/saif.png"}),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(r.body["avatar_url"], "https://cdn.example.org/saif.png");
    let r = app
        .patch(
            "/api/v1/me",
            Some(&saif.token),
            json!({"avatar_url": "javascript:alert(1)"}),
        )
        .await;
    assert_eq!(r.error_fields(), vec!["avatar_url"]);
    let (t, _) = app.thread(&saif, s.forum_id, "Cards").await;
    app.reply(&saif, t, "second message").await;
    let page = app.get(&format!("/api/v1/threads/{t}/posts"), None).await;
    let card = &page.body["items"][0]["author"];
    assert_eq!(card["rank_title"], "Senior Member");
    assert_eq!(card["message_count"], 2);
    assert_eq!(
        card["avatar_url"], "https://cdn.example.org/saif.png",
        "{card}"
    );
    assert_eq!(
        card["groups"],
        json!([{"id": gid, "name": "Axis Group", "badge": "Axis Group"}])
    );
    assert_eq!(
        card["profile"],
        json!([{"key": "nation", "label": "Nation", "value": "CN"}, {"key": "residence", "label": "Residence", "value": "RU"}])
    );
    let profile = app.get("/api/v1/users/saif", None).await;
    assert_eq!(profile.body["groups"], card["groups"]);
    assert_eq!(profile.body["rank_title"], "Senior Member");
    assert!(profile.body.get("email").is_none());
    // clearing a value, and bad values named by field
    let r = app
        .patch(
            "/api/v1/me",
            Some(&saif.token),
            json!({"profile": {"residence": null}}),
        )
        .await;
    assert_eq!(r.status, 200);
    assert_eq!(
        app.get("/api/v1/users/saif", None).await.body["profile"]
            .as_array()
            .unwrap()
            .len(),
        1
    );
    let r = app
        .patch(
            "/api/v1/me",
            Some(&saif.token),
            json!({"profile": {"nation": "China"}}),
        )
        .await;
    assert_eq!(r.error_fields(), vec!["profile.nation"]);
    let r = app
        .patch(
            "/api/v1/me",
            Some(&saif.token),
            json!({"profile": {"shoe_size": "44"}}),
        )
        .await;
    assert_eq!(r.error_fields(), vec!["profile.shoe_size"]);
    assert_eq!(
        app.delete(&format!("/api/v1/groups/{gid}/members/saif"), Some(a))
            .await
            .status,
        204
    );
    assert_eq!(
        app.get("/api/v1/users/saif", None).await.body["groups"],
        json!([])
    );
});

db_test!(only_admins_define_fields_groups_and_ranks, |app| {
    let m = app.register("member").await;
    let t = Some(m.token.as_str());
    app.post(
        "/api/v1/profile-fields",
        t,
        json!({"key": "nation", "label": "Nation", "field_type": "country"}),
    )
    .await
    .assert_problem(403, "forbidden");
    app.post("/api/v1/groups", t, json!({"name": "G", "badge": "G"}))
        .await
        .assert_problem(403, "forbidden");
    app.call(
        actix_web::http::Method::PUT,
        "/api/v1/ranks",
        t,
        Some(json!({"items": [{"min_messages": 0, "title": "x"}]})),
    )
    .await
    .assert_problem(403, "forbidden");
    assert_eq!(
        app.get("/api/v1/ranks", None).await.body["items"][2]["title"],
        "Senior Member"
    );
    let admin = app.admin("boss").await;
    let r = app
        .call(
            actix_web::http::Method::PUT,
            "/api/v1/ranks",
            Some(&admin.token),
            Some(json!({"items": [{"min_messages": 5, "title": "x"}]})),
        )
        .await;
    assert_eq!(r.error_fields(), vec!["items"]);
});

db_test!(members_online_respects_hidden_presence, |app| {
    let saif = app.register("saif").await;
    let lin = app.register("lin").await;
    app.get("/api/v1/me", Some(&saif.token)).await;
    let r = app.get("/api/v1/users/online", None).await;
    assert_eq!(r.status, 200, "{}", r.text);
    let names: Vec<&str> = r.body["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|u| u["username"].as_str().unwrap())
        .collect();
    assert_eq!(names, vec!["saif"]);
    assert_eq!(r.body["count"], 1);
    // written in a batch, still online after the flush (and no write happened per request before it)
    assert_eq!(app.state.presence.flush(&app.state.db).await.unwrap(), 1);
    assert_eq!(app.get("/api/v1/users/online", None).await.body["count"], 1);
    let r = app
        .patch(
            "/api/v1/me",
            Some(&lin.token),
            json!({"hide_presence": true}),
        )
        .await;
    assert_eq!(r.body["hide_presence"], true);
    let r = app.get("/api/v1/users/online", None).await;
    assert_eq!(r.body["count"], 1);
    assert_eq!(r.body["hidden_count"], 1);
    assert!(!r.text.contains("\"lin\""));
    app.get("/api/v1/users/online?window_minutes=0", None)
        .await
        .assert_problem(422, "validation_failed");
});
