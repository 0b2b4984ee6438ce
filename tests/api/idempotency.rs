//! `Idempotency-Key` on creates: a retried `POST` with the same key and body gets the first answer
//! again and makes nothing twice, on both databases, under concurrent retries and across two
//! server processes.

use actix_web::http::Method;
use actix_web::test::TestRequest;
use diesel::prelude::*;
use futures_util::stream::{self, StreamExt};
use serde_json::{json, Value};

use crate::common::{db_test, Member, Resp, TestApp};
use crate::stream::{http_with, Server};

/// `POST path` as `member` with an `Idempotency-Key`.
async fn post_keyed(app: &TestApp, path: &str, member: &Member, key: &str, body: Value) -> Resp {
    app.send(
        TestRequest::default()
            .method(Method::POST)
            .uri(path)
            .insert_header(("Authorization", format!("Bearer {}", member.token)))
            .insert_header(("Idempotency-Key", key))
            .set_json(body),
    )
    .await
}

/// How many posts the thread holds, first post included.
async fn post_count(app: &TestApp, thread: i64) -> i64 {
    let r = app.get(&format!("/api/v1/threads/{thread}"), None).await;
    assert_eq!(r.status, 200, "{}", r.text);
    r.body["reply_count"].as_i64().unwrap() + 1
}

db_test!(a_retried_reply_with_the_same_key_is_made_once, |app| {
    let s = app.forum().await;
    let lin = app.register("lin").await;
    let (t, _) = app.thread(&lin, s.forum_id, "Retries").await;
    let path = format!("/api/v1/threads/{t}/posts");
    let body = json!({"body": "Sent over a train's wifi."});
    let first = post_keyed(&app, &path, &lin, "retry-1", body.clone()).await;
    assert_eq!(first.status, 201, "{}", first.text);
    assert_eq!(first.header("Idempotent-Replayed"), None);
    let again = post_keyed(&app, &path, &lin, "retry-1", body.clone()).await;
    assert_eq!(again.status, 201, "{}", again.text);
    assert_eq!(again.header("Idempotent-Replayed"), Some("true"));
    assert_eq!(again.body, first.body, "the same answer, the same post");
    assert_eq!(again.header("Location"), first.header("Location"));
    assert!(again
        .header("Content-Type")
        .is_some_and(|c| c.starts_with("application/json")));
    assert_eq!(post_count(&app, t).await, 2);
    // a new key is a new reply
    let other = post_keyed(&app, &path, &lin, "retry-2", body).await;
    assert_eq!(other.status, 201);
    assert_ne!(other.body["id"], first.body["id"]);
    assert_eq!(post_count(&app, t).await, 3);
});

db_test!(a_key_sent_again_with_another_body_is_refused, |app| {
    let s = app.forum().await;
    let lin = app.register("lin").await;
    let (t, _) = app.thread(&lin, s.forum_id, "Retries").await;
    let path = format!("/api/v1/threads/{t}/posts");
    let r = post_keyed(&app, &path, &lin, "k", json!({"body": "one"})).await;
    assert_eq!(r.status, 201);
    post_keyed(&app, &path, &lin, "k", json!({"body": "two"}))
        .await
        .assert_problem(422, "idempotency_key_reused");
    // another path with the same key is another request too
    let (t2, _) = app.thread(&lin, s.forum_id, "Elsewhere").await;
    post_keyed(
        &app,
        &format!("/api/v1/threads/{t2}/posts"),
        &lin,
        "k",
        json!({"body": "one"}),
    )
    .await
    .assert_problem(422, "idempotency_key_reused");
    assert_eq!(post_count(&app, t).await, 2);
    assert_eq!(post_count(&app, t2).await, 1);
});

db_test!(keys_are_kept_per_member, |app| {
    let s = app.forum().await;
    let lin = app.register("lin").await;
    let saif = app.register("saif").await;
    let (t, _) = app.thread(&lin, s.forum_id, "Two members").await;
    let path = format!("/api/v1/threads/{t}/posts");
    let body = json!({"body": "Same words."});
    let a = post_keyed(&app, &path, &lin, "shared-key", body.clone()).await;
    let b = post_keyed(&app, &path, &saif, "shared-key", body).await;
    assert_eq!((a.status, b.status), (201, 201));
    assert_eq!(b.header("Idempotent-Replayed"), None);
    assert_eq!(b.body["author"]["username"], "saif");
    assert_eq!(post_count(&app, t).await, 3);
});

db_test!(a_failed_request_does_not_keep_its_key, |app| {
    let s = app.forum().await;
    let lin = app.register("lin").await;
    let (t, _) = app.thread(&lin, s.forum_id, "Fix and retry").await;
    let path = format!("/api/v1/threads/{t}/posts");
    post_keyed(&app, &path, &lin, "fix", json!({"body": ""}))
        .await
        .assert_problem(422, "validation_failed");
    // the corrected request may use the same key
    let r = post_keyed(&app, &path, &lin, "fix", json!({"body": "Now with words."})).await;
    assert_eq!(r.status, 201, "{}", r.text);
    assert_eq!(r.header("Idempotent-Replayed"), None);
});

db_test!(a_malformed_key_is_a_400_naming_the_header, |app| {
    let s = app.forum().await;
    let lin = app.register("lin").await;
    let (t, _) = app.thread(&lin, s.forum_id, "Bad keys").await;
    let path = format!("/api/v1/threads/{t}/posts");
    for key in ["", "has space", &"x".repeat(256), "ключ"] {
        let r = app
            .send(
                TestRequest::default()
                    .method(Method::POST)
                    .uri(&path)
                    .insert_header(("Authorization", format!("Bearer {}", lin.token)))
                    .insert_header((
                        "Idempotency-Key",
                        actix_web::http::header::HeaderValue::from_bytes(key.as_bytes()).unwrap(),
                    ))
                    .set_json(json!({"body": "x"})),
            )
            .await;
        r.assert_problem(400, "malformed_request");
        assert_eq!(r.error_fields(), vec!["Idempotency-Key"], "{key:?}");
    }
    assert_eq!(post_count(&app, t).await, 1);
});

db_test!(a_key_is_forgotten_after_24_hours, |app| {
    let s = app.forum().await;
    let lin = app.register("lin").await;
    let (t, _) = app.thread(&lin, s.forum_id, "Next day").await;
    let path = format!("/api/v1/threads/{t}/posts");
    let body = json!({"body": "Daily."});
    assert_eq!(
        post_keyed(&app, &path, &lin, "daily", body.clone())
            .await
            .status,
        201
    );
    app.state
        .db
        .run(|conn| {
            let sql = gloss::db::dialect_sql(conn, "UPDATE idempotency_keys SET created_at = $1");
            diesel::sql_query(sql)
                .bind::<diesel::sql_types::Timestamp, _>(
                    gloss::db::now() - chrono::Duration::hours(25),
                )
                .execute(conn)?;
            Ok(())
        })
        .await
        .unwrap();
    let r = post_keyed(&app, &path, &lin, "daily", body).await;
    assert_eq!(r.status, 201);
    assert_eq!(r.header("Idempotent-Replayed"), None);
    assert_eq!(post_count(&app, t).await, 3);
});

db_test!(a_key_is_ignored_without_an_access_token, |app| {
    // there is no member to keep it for: the second registration is one, and finds the name taken
    for expected in [201, 409] {
        let r = app
            .send(
                TestRequest::default()
                    .method(Method::POST)
                    .uri("/api/v1/auth/register")
                    .insert_header(("Idempotency-Key", "signup"))
                    .set_json(json!({"username": "lin", "password": crate::common::PASSWORD})),
            )
            .await;
        assert_eq!(r.status, expected, "{}", r.text);
    }
});

db_test!(
    sixteen_concurrent_retries_from_eight_members_make_one_thing_each,
    |app| {
        let s = app.forum().await;
        let mut members = Vec::new();
        for i in 0..8 {
            members.push(app.register(&format!("member{i}")).await);
        }
        let (t, _) = app.thread(&members[0], s.forum_id, "Crowded retries").await;
        let path = format!("/api/v1/threads/{t}/posts");
        // each member sends the same keyed reply 6 times, all in flight together
        let ops: Vec<(usize, usize)> = (0..48).map(|i| (i % 8, i / 8)).collect();
        let answers: Vec<(usize, Resp)> = stream::iter(ops)
            .map(|(m, _)| {
                let (app, path, member) = (&app, &path, &members[m]);
                async move {
                    let body = json!({"body": format!("Only once, from {}.", member.username)});
                    (m, post_keyed(app, path, member, "once", body).await)
                }
            })
            .buffer_unordered(16)
            .collect()
            .await;
        let mut made = std::collections::HashMap::new();
        for (m, r) in &answers {
            match r.status {
                201 => {
                    made.entry(*m)
                        .or_insert_with(Vec::new)
                        .push(r.body["id"].as_i64().unwrap());
                }
                409 => r.assert_problem(409, "idempotency_key_in_use"),
                other => panic!("unexpected {other}: {}", r.text),
            }
        }
        for m in 0..8 {
            let ids = made.get(&m).cloned().unwrap_or_default();
            assert!(!ids.is_empty(), "member {m} got no 201");
            assert!(
                ids.iter().all(|id| *id == ids[0]),
                "member {m}: one post, answered alike: {ids:?}"
            );
        }
        assert_eq!(post_count(&app, t).await, 9, "one reply per member");
        crate::counters::assert_counters_true(&app, "concurrent keyed replies").await;
    }
);

db_test!(
    a_retry_on_another_process_gets_the_same_answer_on_postgresql,
    |app| {
        if !app.db.url.starts_with("postgres") {
            // SQLite is one process's database
            return;
        }
        let s = app.forum().await;
        let lin = app.register("lin").await;
        let (t, _) = app.thread(&lin, s.forum_id, "Two doors").await;
        let a = Server::start(&app.db.url);
        let b = Server::start(&app.db.url);
        let headers = format!(
            "Authorization: Bearer {}\r\nIdempotency-Key: two-doors\r\n",
            lin.token
        );
        let path = format!("/api/v1/threads/{t}/posts");
        let body = json!({"body": "Through either door."});
        // at once on both processes, then once more on each
        let (x, y) = std::thread::scope(|scope| {
            let x = scope.spawn(|| http_with(a.port, "POST", &path, &headers, Some(body.clone())));
            let y = scope.spawn(|| http_with(b.port, "POST", &path, &headers, Some(body.clone())));
            (x.join().unwrap().unwrap(), y.join().unwrap().unwrap())
        });
        let mut ids = Vec::new();
        for (status, answer) in [
            x,
            y,
            http_with(a.port, "POST", &path, &headers, Some(body.clone())).unwrap(),
            http_with(b.port, "POST", &path, &headers, Some(body.clone())).unwrap(),
        ] {
            match status {
                201 => ids.push(answer["id"].as_i64().unwrap()),
                409 => assert_eq!(answer["code"], "idempotency_key_in_use"),
                other => panic!("unexpected {other}: {answer}"),
            }
        }
        assert!(ids.len() >= 2, "the two later retries are answered 201");
        assert!(ids.iter().all(|id| *id == ids[0]), "{ids:?}");
        assert_eq!(post_count(&app, t).await, 2);
    }
);
