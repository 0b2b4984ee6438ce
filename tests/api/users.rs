//! The caller's account, public profiles and the admin-only list.

use serde_json::json;

use crate::common::db_test;
use gloss::users::Role;

db_test!(a_public_profile_has_no_email_or_secret, |app| {
    app.register("saif").await;
    let r = app.get("/api/v1/users/SAIF", None).await;
    assert_eq!(r.status, 200);
    assert_eq!(r.body["username"], "saif");
    assert!(r.body["joined_at"].as_str().unwrap().ends_with('Z'));
    for private in ["email", "password_hash", "disabled", "email_key"] {
        assert!(
            r.body.get(private).is_none(),
            "{private} leaked: {}",
            r.text
        );
    }
    app.get("/api/v1/users/nobody", None)
        .await
        .assert_problem(404, "not_found");
});

db_test!(a_member_edits_their_profile, |app| {
    let m = app.register("saif").await;
    let r = app
        .patch(
            "/api/v1/me",
            Some(&m.token),
            json!({"display_name": "Saif A.", "about": "Defense analyst."}),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(r.body["display_name"], "Saif A.");
    assert_eq!(r.body["about"], "Defense analyst.");
    assert_eq!(r.body["email"], "saif@example.org");
    // null clears, absence keeps
    let r = app
        .patch("/api/v1/me", Some(&m.token), json!({"display_name": null}))
        .await;
    assert_eq!(r.body["display_name"], serde_json::Value::Null);
    assert_eq!(r.body["about"], "Defense analyst.");
    let r = app.get("/api/v1/users/saif", None).await;
    assert_eq!(r.body["about"], "Defense analyst.");
});

db_test!(
    a_member_cannot_take_another_members_email_or_set_their_role,
    |app| {
        app.register("first").await;
        let m = app.register("second").await;
        let r = app
            .patch(
                "/api/v1/me",
                Some(&m.token),
                json!({"email": "FIRST@example.org"}),
            )
            .await;
        r.assert_problem(409, "conflict");
        assert_eq!(r.error_fields(), vec!["email"]);
        let r = app
            .patch("/api/v1/me", Some(&m.token), json!({"role": "admin"}))
            .await;
        r.assert_problem(422, "validation_failed");
        assert_eq!(r.error_fields(), vec!["role"]);
        let r = app
            .patch(
                "/api/v1/me",
                Some(&m.token),
                json!({"email": "not-an-email"}),
            )
            .await;
        assert_eq!(r.error_fields(), vec!["email"]);
    }
);

db_test!(a_member_calling_an_admin_endpoint_is_forbidden, |app| {
    let m = app.register("member").await;
    app.get("/api/v1/users", Some(&m.token))
        .await
        .assert_problem(403, "forbidden");
    app.patch(
        "/api/v1/users/member",
        Some(&m.token),
        json!({"role": "admin"}),
    )
    .await
    .assert_problem(403, "forbidden");
    let moderator = app.promote(&m, Role::Moderator).await;
    app.get("/api/v1/users", Some(&moderator.token))
        .await
        .assert_problem(403, "forbidden");
    app.get("/api/v1/users", None)
        .await
        .assert_problem(401, "unauthorized");
    // the refused change did not happen
    assert_eq!(
        app.get("/api/v1/users/member", None).await.body["role"],
        "moderator"
    );
});

db_test!(an_admin_lists_accounts_page_by_page, |app| {
    let admin = app.admin("boss").await;
    for i in 0..4 {
        app.register(&format!("member{i}")).await;
    }
    let r = app
        .get("/api/v1/users?page=2&per_page=2", Some(&admin.token))
        .await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(r.body["total"], 5);
    assert_eq!(r.body["total_pages"], 3);
    assert_eq!(r.body["page"], 2);
    assert_eq!(r.body["per_page"], 2);
    let names: Vec<&str> = r.body["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|u| u["username"].as_str().unwrap())
        .collect();
    assert_eq!(names, vec!["member1", "member2"]);
    assert_eq!(r.body["items"][0]["email"], "member1@example.org");
});

db_test!(
    an_admin_makes_a_moderator_but_cannot_demote_themselves,
    |app| {
        let admin = app.admin("boss").await;
        app.register("helper").await;
        let r = app
            .patch(
                "/api/v1/users/helper",
                Some(&admin.token),
                json!({"role": "moderator"}),
            )
            .await;
        assert_eq!(r.status, 200, "{}", r.text);
        assert_eq!(r.body["role"], "moderator");
        app.patch(
            "/api/v1/users/boss",
            Some(&admin.token),
            json!({"role": "member"}),
        )
        .await
        .assert_problem(403, "forbidden");
        app.patch(
            "/api/v1/users/helper",
            Some(&admin.token),
            json!({"role": "emperor"}),
        )
        .await
        .assert_problem(422, "validation_failed");
        app.patch(
            "/api/v1/users/nobody",
            Some(&admin.token),
            json!({"role": "member"}),
        )
        .await
        .assert_problem(404, "not_found");
    }
);
