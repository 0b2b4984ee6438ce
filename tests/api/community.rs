//! Community: reactions, watching, notifications, unread tracking.

use serde_json::json;

use crate::common::{db_test, Member, TestApp};

struct Scene {
    admin: Member,
    saif: Member,
    lin: Member,
    forum_id: i64,
    thread_id: i64,
    post_id: i64,
}

async fn scene(app: &TestApp) -> Scene {
    let s = app.forum().await;
    let saif = app.register("saif").await;
    let lin = app.register("lin").await;
    let (thread_id, post_id) = app.thread(&saif, s.forum_id, "Partners").await;
    Scene {
        admin: s.admin,
        saif,
        lin,
        forum_id: s.forum_id,
        thread_id,
        post_id,
    }
}

async fn notifications(app: &TestApp, m: &Member) -> Vec<serde_json::Value> {
    let r = app.get("/api/v1/notifications", Some(&m.token)).await;
    assert_eq!(r.status, 200, "{}", r.text);
    r.body["items"].as_array().unwrap().clone()
}

fn kinds(items: &[serde_json::Value]) -> Vec<String> {
    items
        .iter()
        .map(|n| n["kind"].as_str().unwrap().to_string())
        .collect()
}

db_test!(reactions_are_idempotent_counted_and_scored, |app| {
    let sc = scene(&app).await;
    let path = format!("/api/v1/posts/{}/reactions/like", sc.post_id);
    let r = app.put(&path, Some(&sc.lin.token)).await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(
        r.body["reactions"],
        json!([{"kind": "like", "emoji": "👍", "count": 1, "reacted": true}])
    );
    // the same answer on repeat
    let again = app.put(&path, Some(&sc.lin.token)).await;
    assert_eq!(again.body, r.body);
    // the post and the author's card carry it
    let page = app
        .get(
            &format!("/api/v1/threads/{}/posts", sc.thread_id),
            Some(&sc.lin.token),
        )
        .await;
    assert_eq!(page.body["items"][0]["reactions"][0]["count"], 1);
    assert_eq!(page.body["items"][0]["reactions"][0]["reacted"], true);
    assert_eq!(page.body["items"][0]["author"]["reaction_score"], 1);
    let guest = app
        .get(&format!("/api/v1/threads/{}/posts", sc.thread_id), None)
        .await;
    assert_eq!(guest.body["items"][0]["reactions"][0]["reacted"], false);
    let who = app
        .get(&format!("/api/v1/posts/{}/reactions", sc.post_id), None)
        .await;
    assert_eq!(who.body["items"][0]["user"]["username"], "lin");
    assert_eq!(who.body["total"], 1);
    // no reacting to one's own post; unknown kinds are 404
    app.put(&path, Some(&sc.saif.token))
        .await
        .assert_problem(403, "forbidden");
    app.put(
        &format!("/api/v1/posts/{}/reactions/love", sc.post_id),
        Some(&sc.lin.token),
    )
    .await
    .assert_problem(404, "not_found");
    // an admin adds a kind
    let k = app
        .post(
            "/api/v1/reaction-kinds",
            Some(&sc.admin.token),
            json!({"key": "insightful", "label": "Insightful", "emoji": "💡"}),
        )
        .await;
    assert_eq!(k.status, 201, "{}", k.text);
    app.post(
        "/api/v1/reaction-kinds",
        Some(&sc.lin.token),
        json!({"key": "x", "label": "X", "emoji": "x"}),
    )
    .await
    .assert_problem(403, "forbidden");
    assert_eq!(
        app.put(
            &format!("/api/v1/posts/{}/reactions/insightful", sc.post_id),
            Some(&sc.lin.token)
        )
        .await
        .status,
        200
    );
    // taking it back, twice, answers the same
    assert_eq!(app.delete(&path, Some(&sc.lin.token)).await.status, 204);
    assert_eq!(app.delete(&path, Some(&sc.lin.token)).await.status, 204);
    let card = app
        .get(&format!("/api/v1/threads/{}/posts", sc.thread_id), None)
        .await;
    assert_eq!(card.body["items"][0]["author"]["reaction_score"], 1);
    assert_eq!(card.body["items"][0]["reactions"][0]["kind"], "insightful");
});

db_test!(
    watchers_are_notified_of_replies_but_never_of_their_own,
    |app| {
        let sc = scene(&app).await;
        // the author watches automatically; lin watches by hand
        assert_eq!(
            app.put(
                &format!("/api/v1/threads/{}/watch", sc.thread_id),
                Some(&sc.lin.token)
            )
            .await
            .status,
            204
        );
        assert_eq!(
            app.put(
                &format!("/api/v1/threads/{}/watch", sc.thread_id),
                Some(&sc.lin.token)
            )
            .await
            .status,
            204
        );
        let p = app.reply(&sc.lin, sc.thread_id, "a reply").await;
        let n = notifications(&app, &sc.saif).await;
        assert_eq!(kinds(&n), vec!["reply"]);
        assert_eq!(n[0]["post_id"], p);
        assert_eq!(n[0]["actor"]["username"], "lin");
        assert_eq!(n[0]["thread_title"], "Partners");
        assert!(
            notifications(&app, &sc.lin).await.is_empty(),
            "no notification for one's own reply"
        );
        let w = app.get("/api/v1/me/watched", Some(&sc.lin.token)).await;
        assert_eq!(w.body["threads"][0]["id"], sc.thread_id);
        assert_eq!(w.body["threads"][0]["reading"]["watching"], true);
        // unwatching stops them
        assert_eq!(
            app.delete(
                &format!("/api/v1/threads/{}/watch", sc.thread_id),
                Some(&sc.saif.token)
            )
            .await
            .status,
            204
        );
        app.reply(&sc.lin, sc.thread_id, "another").await;
        assert_eq!(notifications(&app, &sc.saif).await.len(), 1);
    }
);

db_test!(one_event_makes_one_notification, |app| {
    let sc = scene(&app).await;
    // saif watches the thread (auto), is mentioned and cited by the same post: one notification
    let r = app
        .post(
            &format!("/api/v1/threads/{}/posts", sc.thread_id),
            Some(&sc.lin.token),
            json!({"body": "@saif look at your own words", "citations": [{"post_id": sc.post_id, "selector": {"exact": "first post"}}]}),
        )
        .await;
    assert_eq!(r.status, 201, "{}", r.text);
    let n = notifications(&app, &sc.saif).await;
    assert_eq!(kinds(&n), vec!["mention"]);
    assert_eq!(
        app.get("/api/v1/notifications/unread-count", Some(&sc.saif.token))
            .await
            .body["unread"],
        1
    );
});

db_test!(
    members_are_told_of_mentions_citations_annotations_and_reactions,
    |app| {
        let sc = scene(&app).await;
        let third = app.register("mikhail").await;
        app.delete(
            &format!("/api/v1/threads/{}/watch", sc.thread_id),
            Some(&sc.saif.token),
        )
        .await;
        app.reply(&third, sc.thread_id, "hello @LIN").await;
        app.post(&format!("/api/v1/threads/{}/posts", sc.thread_id), Some(&third.token),
        json!({"body": "quoting", "citations": [{"post_id": sc.post_id, "selector": {"exact": "first post"}}]})).await;
        let a = app
        .post(&format!("/api/v1/posts/{}/annotations", sc.post_id), Some(&sc.lin.token),
            json!({"motivation": "commenting", "body": "hm", "selector": {"exact": "first post"}}))
        .await;
        app.post(
            &format!("/api/v1/annotations/{}/replies", a.body["id"]),
            Some(&third.token),
            json!({"body": "yes"}),
        )
        .await;
        app.put(
            &format!("/api/v1/posts/{}/reactions/like", sc.post_id),
            Some(&third.token),
        )
        .await;
        // a private annotation tells nobody
        app.post(&format!("/api/v1/posts/{}/annotations", sc.post_id), Some(&third.token),
        json!({"motivation": "commenting", "body": "secret @saif", "visibility": "private", "selector": {"exact": "first post"}})).await;
        assert_eq!(
            kinds(&notifications(&app, &sc.lin).await),
            vec!["annotation_reply", "mention"]
        );
        assert_eq!(
            kinds(&notifications(&app, &sc.saif).await),
            vec!["reaction", "annotation", "citation"]
        );
    }
);

db_test!(
    notifications_are_read_one_by_one_or_all_and_hide_deleted_content,
    |app| {
        let sc = scene(&app).await;
        app.put(
            &format!("/api/v1/threads/{}/watch", sc.thread_id),
            Some(&sc.lin.token),
        )
        .await;
        let third = app.register("mikhail").await;
        let p1 = app.reply(&third, sc.thread_id, "one").await;
        app.reply(&third, sc.thread_id, "two").await;
        let n = notifications(&app, &sc.lin).await;
        assert_eq!(n.len(), 2);
        let id = n[0]["id"].as_i64().unwrap();
        assert_eq!(
            app.post(
                &format!("/api/v1/notifications/{id}/read"),
                Some(&sc.lin.token),
                json!({})
            )
            .await
            .status,
            204
        );
        app.post(
            &format!("/api/v1/notifications/{id}/read"),
            Some(&sc.saif.token),
            json!({}),
        )
        .await
        .assert_problem(404, "not_found");
        assert_eq!(
            app.get("/api/v1/notifications/unread-count", Some(&sc.lin.token))
                .await
                .body["unread"],
            1
        );
        // a deleted post takes its notification with it
        app.delete(&format!("/api/v1/posts/{p1}"), Some(&sc.admin.token))
            .await;
        assert_eq!(notifications(&app, &sc.lin).await.len(), 1);
        assert_eq!(
            app.get("/api/v1/notifications/unread-count", Some(&sc.lin.token))
                .await
                .body["unread"],
            0
        );
        assert_eq!(
            app.post(
                "/api/v1/notifications/read-all",
                Some(&sc.lin.token),
                json!({})
            )
            .await
            .status,
            204
        );
        assert!(notifications(&app, &sc.lin)
            .await
            .iter()
            .all(|n| n["read"] == true));
    }
);

db_test!(a_watched_forum_tells_of_new_threads, |app| {
    let sc = scene(&app).await;
    assert_eq!(
        app.put(
            &format!("/api/v1/forums/{}/watch", sc.forum_id),
            Some(&sc.lin.token)
        )
        .await
        .status,
        204
    );
    let (t, _) = app.thread(&sc.saif, sc.forum_id, "News").await;
    let n = notifications(&app, &sc.lin).await;
    assert_eq!(kinds(&n), vec!["new_thread"]);
    assert_eq!(n[0]["thread_id"], t);
    assert_eq!(
        app.get("/api/v1/me/watched", Some(&sc.lin.token))
            .await
            .body["forums"][0]["id"],
        sc.forum_id
    );
});

db_test!(
    read_positions_advance_never_backwards_and_show_the_first_unread,
    |app| {
        let sc = scene(&app).await;
        for i in 2..=25 {
            app.reply(&sc.saif, sc.thread_id, &format!("r{i}")).await;
        }
        let t = format!("/api/v1/threads/{}", sc.thread_id);
        let r = app.get(&t, Some(&sc.lin.token)).await;
        assert_eq!(r.body["reading"]["unread"], true);
        assert_eq!(r.body["reading"]["first_unread_position"], 1);
        assert_eq!(
            app.post(
                &format!("{t}/read"),
                Some(&sc.lin.token),
                json!({"position": 21})
            )
            .await
            .status,
            204
        );
        assert_eq!(
            app.post(
                &format!("{t}/read"),
                Some(&sc.lin.token),
                json!({"position": 3})
            )
            .await
            .status,
            204
        );
        let r = app.get(&t, Some(&sc.lin.token)).await;
        assert_eq!(r.body["reading"]["last_read_position"], 21);
        assert_eq!(r.body["reading"]["first_unread_position"], 22);
        assert_eq!(r.body["reading"]["first_unread_page"], 2);
        assert_eq!(
            app.get(&t, None).await.body["reading"],
            serde_json::Value::Null
        );
        app.post(
            &format!("{t}/read"),
            Some(&sc.lin.token),
            json!({"position": 0}),
        )
        .await
        .assert_problem(422, "validation_failed");
        // reading past the end reads to the end
        app.post(
            &format!("{t}/read"),
            Some(&sc.lin.token),
            json!({"position": 999}),
        )
        .await;
        assert_eq!(
            app.get(&t, Some(&sc.lin.token)).await.body["reading"]["unread"],
            false
        );
    }
);

db_test!(
    unread_threads_across_forums_and_marking_a_forum_read,
    |app| {
        let sc = scene(&app).await;
        let (t2, _) = app.thread(&sc.saif, sc.forum_id, "Second").await;
        let r = app.get("/api/v1/threads/unread", Some(&sc.lin.token)).await;
        assert_eq!(r.status, 200, "{}", r.text);
        let ids: Vec<i64> = r.body["items"]
            .as_array()
            .unwrap()
            .iter()
            .map(|t| t["id"].as_i64().unwrap())
            .collect();
        assert_eq!(ids, vec![t2, sc.thread_id]);
        // the author has read what they wrote
        assert_eq!(
            app.get("/api/v1/threads/unread", Some(&sc.saif.token))
                .await
                .body["total"],
            0
        );
        app.post(
            &format!("/api/v1/threads/{t2}/read"),
            Some(&sc.lin.token),
            json!({"position": 1}),
        )
        .await;
        assert_eq!(
            app.get("/api/v1/threads/unread", Some(&sc.lin.token))
                .await
                .body["total"],
            1
        );
        assert_eq!(
            app.post(
                &format!("/api/v1/forums/{}/read", sc.forum_id),
                Some(&sc.lin.token),
                json!({})
            )
            .await
            .status,
            204
        );
        assert_eq!(
            app.get("/api/v1/threads/unread", Some(&sc.lin.token))
                .await
                .body["total"],
            0
        );
        app.reply(&sc.saif, t2, "news").await;
        let r = app.get("/api/v1/threads/unread", Some(&sc.lin.token)).await;
        assert_eq!(r.body["items"][0]["id"], t2);
        assert_eq!(r.body["items"][0]["reading"]["first_unread_position"], 2);
        app.get("/api/v1/threads/unread", None)
            .await
            .assert_problem(401, "unauthorized");
    }
);

db_test!(new_annotations_on_read_posts_are_news, |app| {
    let sc = scene(&app).await;
    let t = format!("/api/v1/threads/{}", sc.thread_id);
    app.post(
        &format!("{t}/read"),
        Some(&sc.lin.token),
        json!({"position": 1}),
    )
    .await;
    assert_eq!(
        app.get(&t, Some(&sc.lin.token)).await.body["reading"]["new_annotations"],
        false
    );
    let third = app.register("mikhail").await;
    // a private annotation is not news to anyone else
    app.post(&format!("/api/v1/posts/{}/annotations", sc.post_id), Some(&third.token),
        json!({"motivation": "highlighting", "visibility": "private", "selector": {"exact": "first post"}})).await;
    assert_eq!(
        app.get(&t, Some(&sc.lin.token)).await.body["reading"]["new_annotations"],
        false
    );
    app.post(
        &format!("/api/v1/posts/{}/annotations", sc.post_id),
        Some(&third.token),
        json!({"motivation": "highlighting", "selector": {"exact": "first post"}}),
    )
    .await;
    assert_eq!(
        app.get(&t, Some(&sc.lin.token)).await.body["reading"]["new_annotations"],
        true
    );
    // the annotator's own annotation is not news to them
    app.post(
        &format!("{t}/read"),
        Some(&third.token),
        json!({"position": 1}),
    )
    .await;
    assert_eq!(
        app.get(&t, Some(&third.token)).await.body["reading"]["new_annotations"],
        false
    );
    // catching up clears it
    app.post(
        &format!("{t}/read"),
        Some(&sc.lin.token),
        json!({"position": 1}),
    )
    .await;
    assert_eq!(
        app.get(&t, Some(&sc.lin.token)).await.body["reading"]["new_annotations"],
        false
    );
});

db_test!(
    annotations_on_one_post_coalesce_into_one_notification_while_unread,
    |app| {
        let sc = scene(&app).await;
        let third = app.register("mikhail").await;
        for i in 0..30 {
            let who = if i % 2 == 0 { &sc.lin } else { &third };
            let r = app
                .post(
                    &format!("/api/v1/posts/{}/annotations", sc.post_id),
                    Some(&who.token),
                    json!({"motivation": "commenting", "body": format!("note {i}"), "selector": {"exact": "first post"}}),
                )
                .await;
            assert_eq!(r.status, 201, "{}", r.text);
        }
        app.put(
            &format!("/api/v1/posts/{}/reactions/like", sc.post_id),
            Some(&sc.lin.token),
        )
        .await;
        app.put(
            &format!("/api/v1/posts/{}/reactions/like", sc.post_id),
            Some(&third.token),
        )
        .await;
        let n = notifications(&app, &sc.saif).await;
        assert_eq!(kinds(&n), vec!["reaction", "annotation"], "{n:?}");
        assert_eq!(n[1]["count"], 30);
        assert_eq!(n[1]["actor"]["username"], "mikhail", "the latest actor");
        assert_eq!(n[0]["count"], 2);
        assert_eq!(
            app.get("/api/v1/notifications/unread-count", Some(&sc.saif.token))
                .await
                .body["unread"],
            2
        );
        // once read, the next annotation starts a new notification
        app.post(
            "/api/v1/notifications/read-all",
            Some(&sc.saif.token),
            json!({}),
        )
        .await;
        app.post(
            &format!("/api/v1/posts/{}/annotations", sc.post_id),
            Some(&sc.lin.token),
            json!({"motivation": "highlighting", "selector": {"exact": "first post"}}),
        )
        .await;
        let n = notifications(&app, &sc.saif).await;
        assert_eq!(n.len(), 3);
        assert_eq!(
            (n[0]["count"].as_i64(), n[0]["read"].as_bool()),
            (Some(1), Some(false))
        );
    }
);

db_test!(
    activity_older_than_the_unread_window_counts_as_read,
    |app| {
        use diesel::prelude::*;
        use gloss::db::schema::{threads, users};
        let sc = scene(&app).await;
        let (recent, _) = app.thread(&sc.saif, sc.forum_id, "Recent").await;
        {
            // lin joined long ago; the scene's thread was last active 40 days ago, the other 10
            let mut conn = app.state.db.pool().get().unwrap();
            let days_ago = |d: i64| gloss::db::now() - chrono::Duration::days(d);
            diesel::update(users::table.find(sc.lin.id))
                .set(users::created_at.eq(days_ago(400)))
                .execute(&mut conn)
                .unwrap();
            diesel::update(threads::table.find(sc.thread_id))
                .set(threads::last_post_at.eq(days_ago(40)))
                .execute(&mut conn)
                .unwrap();
            diesel::update(threads::table.find(recent))
                .set(threads::last_post_at.eq(days_ago(10)))
                .execute(&mut conn)
                .unwrap();
        }
        let r = app.get("/api/v1/threads/unread", Some(&sc.lin.token)).await;
        assert_eq!(r.status, 200, "{}", r.text);
        assert_eq!(r.body["total"], 1);
        assert_eq!(r.body["items"][0]["id"], recent);
    }
);
