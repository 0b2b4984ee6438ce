//! Hostile input stays a 4xx: text PostgreSQL cannot store (NUL) is refused naming the field, on
//! both databases and in every place text enters (bodies, query strings, paths); Markdown whose
//! structure would make rendering slow is refused before it is rendered.

use actix_web::http::Method;
use serde_json::{json, Value};

use crate::common::{db_test, PASSWORD};

const NUL: &str = "a\u{0}b";

/// (method, path, token, body, the field the 422 must name)
type Case = (Method, String, Option<String>, Option<Value>, &'static str);

db_test!(
    nul_characters_are_refused_naming_the_field_everywhere,
    |app| {
        let s = app.forum().await;
        let saif = app.register("saif").await;
        let (t, first) = app.thread(&saif, s.forum_id, "Target").await;
        let admin = s.admin.token.clone();
        // (method, path, token, body, the field the 422 must name)
        let cases: Vec<Case> = vec![
            (
                Method::POST,
                "/api/v1/auth/register".into(),
                None,
                Some(json!({"username": NUL, "password": PASSWORD})),
                "username",
            ),
            (
                Method::POST,
                "/api/v1/auth/register".into(),
                None,
                Some(json!({"username": "newbie", "password": format!("{PASSWORD}{NUL}")})),
                "password",
            ),
            (
                Method::POST,
                "/api/v1/auth/register".into(),
                None,
                Some(
                    json!({"username": "newbie", "password": PASSWORD, "email": format!("x{NUL}@example.org")}),
                ),
                "email",
            ),
            (
                Method::POST,
                "/api/v1/auth/login".into(),
                None,
                Some(json!({"login": NUL, "password": PASSWORD})),
                "login",
            ),
            (
                Method::POST,
                "/api/v1/auth/login".into(),
                None,
                Some(json!({"login": "saif", "password": NUL})),
                "password",
            ),
            (
                Method::POST,
                "/api/v1/auth/refresh".into(),
                None,
                Some(json!({"refresh_token": NUL})),
                "refresh_token",
            ),
            (
                Method::POST,
                format!("/api/v1/forums/{}/threads", s.forum_id),
                Some(saif.token.clone()),
                Some(json!({"title": NUL, "body": "fine"})),
                "title",
            ),
            (
                Method::POST,
                format!("/api/v1/forums/{}/threads", s.forum_id),
                Some(saif.token.clone()),
                Some(json!({"title": "fine", "body": NUL})),
                "body",
            ),
            (
                Method::POST,
                format!("/api/v1/threads/{t}/posts"),
                Some(saif.token.clone()),
                Some(json!({"body": NUL})),
                "body",
            ),
            (
                Method::POST,
                format!("/api/v1/threads/{t}/posts"),
                Some(saif.token.clone()),
                Some(
                    json!({"body": "fine", "citations": [{"post_id": first, "selector": {"exact": NUL}}]}),
                ),
                "citations[0].selector.exact",
            ),
            (
                Method::PATCH,
                format!("/api/v1/posts/{first}"),
                Some(saif.token.clone()),
                Some(json!({"body": NUL})),
                "body",
            ),
            (
                Method::PATCH,
                format!("/api/v1/threads/{t}"),
                Some(saif.token.clone()),
                Some(json!({"title": NUL})),
                "title",
            ),
            (
                Method::POST,
                format!("/api/v1/posts/{first}/annotations"),
                Some(saif.token.clone()),
                Some(
                    json!({"motivation": "commenting", "body": NUL, "selector": {"exact": "first post"}}),
                ),
                "body",
            ),
            (
                Method::POST,
                format!("/api/v1/posts/{first}/annotations"),
                Some(saif.token.clone()),
                Some(
                    json!({"motivation": "tagging", "tags": ["ok", NUL], "selector": {"exact": "first post"}}),
                ),
                "tags[1]",
            ),
            (
                Method::PATCH,
                "/api/v1/me".into(),
                Some(saif.token.clone()),
                Some(json!({"about": NUL})),
                "about",
            ),
            (
                Method::PATCH,
                "/api/v1/me".into(),
                Some(saif.token.clone()),
                Some(json!({"display_name": NUL})),
                "display_name",
            ),
            (
                Method::POST,
                "/api/v1/forums".into(),
                Some(admin.clone()),
                Some(
                    json!({"kind": "forum", "parent_id": s.category_id, "title": "T", "description": NUL}),
                ),
                "description",
            ),
            (
                Method::POST,
                "/api/v1/profile-fields".into(),
                Some(admin.clone()),
                Some(json!({"key": "nation", "label": NUL, "field_type": "text"})),
                "label",
            ),
            (
                Method::POST,
                "/api/v1/groups".into(),
                Some(admin.clone()),
                Some(json!({"name": NUL})),
                "name",
            ),
            (
                Method::GET,
                format!("/api/v1/forums/{}/threads?field=a%00b&eq=x", s.forum_id),
                None,
                None,
                "field",
            ),
            (
                Method::GET,
                "/api/v1/users/sa%00if".into(),
                None,
                None,
                "path",
            ),
            (
                Method::GET,
                "/api/v1/users/sa%00if/posts".into(),
                None,
                None,
                "path",
            ),
            (
                Method::PUT,
                format!("/api/v1/posts/{first}/reactions/li%00ke"),
                Some(saif.token.clone()),
                None,
                "path",
            ),
        ];
        for (method, path, token, body, field) in cases {
            let r = app
                .call(method.clone(), &path, token.as_deref(), body)
                .await;
            r.assert_problem(422, "validation_failed");
            assert_eq!(
                r.error_fields(),
                vec![field.to_string()],
                "{method} {path}: {}",
                r.text
            );
        }
    }
);

db_test!(
    markdown_nested_too_deep_is_refused_and_ordinary_nesting_is_not,
    |app| {
        let s = app.forum().await;
        let saif = app.register("saif").await;
        let (t, _) = app.thread(&saif, s.forum_id, "Shapes").await;
        for shape in [
            "1. ".repeat(16_000),
            "> ".repeat(20_000),
            "- > ".repeat(12_000),
            "<div>".repeat(9_000),
        ] {
            let r = app
                .post(
                    &format!("/api/v1/threads/{t}/posts"),
                    Some(&saif.token),
                    json!({"body": shape}),
                )
                .await;
            r.assert_problem(422, "validation_failed");
            assert_eq!(r.error_fields(), vec!["body".to_string()], "{}", r.text);
        }
        let fine = "- one\n  - two\n    - three\n\n> > a quote of a quote\n\n**bold** and *em*";
        app.reply(&saif, t, fine).await;
    }
);

db_test!(
    oversized_selectors_and_refresh_tokens_are_refused_naming_the_field,
    |app| {
        let s = app.forum().await;
        let saif = app.register("saif").await;
        let (_, first) = app.thread(&saif, s.forum_id, "Long").await;
        let r = app
        .post(
            &format!("/api/v1/posts/{first}/annotations"),
            Some(&saif.token),
            json!({"motivation": "highlighting", "selector": {"exact": "first post", "prefix": "p".repeat(1001)}}),
        )
        .await;
        r.assert_problem(422, "validation_failed");
        assert_eq!(
            r.error_fields(),
            vec!["selector.prefix".to_string()],
            "{}",
            r.text
        );
        let r = app
            .post(
                "/api/v1/auth/refresh",
                None,
                json!({"refresh_token": "g".repeat(257)}),
            )
            .await;
        r.assert_problem(422, "validation_failed");
        assert_eq!(
            r.error_fields(),
            vec!["refresh_token".to_string()],
            "{}",
            r.text
        );
    }
);
