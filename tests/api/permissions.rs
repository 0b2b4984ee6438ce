//! The permission matrix: who may touch whose thread or post. Each rule is checked through the API.

use serde_json::json;

use crate::common::{db_test, Member, TestApp};
use gloss::users::Role;

struct World {
    admin: Member,
    author: Member,
    other: Member,
    moderator: Member,
    forum_id: i64,
    thread_id: i64,
    post_id: i64,
}

async fn world(app: &TestApp) -> World {
    let s = app.forum().await;
    let author = app.register("author").await;
    let other = app.register("other").await;
    let moderator = app
        .promote(&app.register("moddy").await, Role::Moderator)
        .await;
    let (thread_id, _) = app.thread(&author, s.forum_id, "Author's thread").await;
    let post_id = app.reply(&author, thread_id, "Author's reply").await;
    World {
        admin: s.admin,
        author,
        other,
        moderator,
        forum_id: s.forum_id,
        thread_id,
        post_id,
    }
}

db_test!(a_guest_cannot_post_or_start_threads, |app| {
    let w = world(&app).await;
    app.post(
        &format!("/api/v1/threads/{}/posts", w.thread_id),
        None,
        json!({"body": "hi"}),
    )
    .await
    .assert_problem(401, "unauthorized");
    app.post(
        &format!("/api/v1/forums/{}/threads", w.forum_id),
        None,
        json!({"title": "t", "body": "b"}),
    )
    .await
    .assert_problem(401, "unauthorized");
    // but reads
    assert_eq!(
        app.get(&format!("/api/v1/threads/{}/posts", w.thread_id), None)
            .await
            .status,
        200
    );
});

db_test!(a_member_cannot_edit_or_delete_another_members_post, |app| {
    let w = world(&app).await;
    let path = format!("/api/v1/posts/{}", w.post_id);
    app.patch(&path, Some(&w.other.token), json!({"body": "vandalised"}))
        .await
        .assert_problem(403, "forbidden");
    app.delete(&path, Some(&w.other.token))
        .await
        .assert_problem(403, "forbidden");
    let r = app.get(&path, None).await;
    assert_eq!(r.body["body"], "Author's reply");
    assert_eq!(r.body["deleted"], false);
});

db_test!(
    a_member_cannot_edit_or_delete_another_members_thread,
    |app| {
        let w = world(&app).await;
        let path = format!("/api/v1/threads/{}", w.thread_id);
        app.patch(&path, Some(&w.other.token), json!({"title": "mine now"}))
            .await
            .assert_problem(403, "forbidden");
        app.delete(&path, Some(&w.other.token))
            .await
            .assert_problem(403, "forbidden");
        assert_eq!(app.get(&path, None).await.body["title"], "Author's thread");
    }
);

db_test!(
    the_author_edits_their_title_and_post_until_the_thread_is_locked,
    |app| {
        let w = world(&app).await;
        let thread = format!("/api/v1/threads/{}", w.thread_id);
        let r = app
            .patch(
                &thread,
                Some(&w.author.token),
                json!({"title": "Better title"}),
            )
            .await;
        assert_eq!(r.status, 200, "{}", r.text);
        assert_eq!(r.body["title"], "Better title");
        let r = app
            .put(&format!("{thread}/lock"), Some(&w.moderator.token))
            .await;
        assert_eq!(r.body["locked"], true);
        app.patch(&thread, Some(&w.author.token), json!({"title": "Sneaky"}))
            .await
            .assert_problem(403, "thread_locked");
        app.patch(
            &format!("/api/v1/posts/{}", w.post_id),
            Some(&w.author.token),
            json!({"body": "sneaky"}),
        )
        .await
        .assert_problem(403, "thread_locked");
    }
);

db_test!(
    a_locked_thread_refuses_new_posts_from_members_but_not_moderators,
    |app| {
        let w = world(&app).await;
        let lock = format!("/api/v1/threads/{}/lock", w.thread_id);
        assert_eq!(app.put(&lock, Some(&w.moderator.token)).await.status, 200);
        // idempotent
        assert_eq!(
            app.put(&lock, Some(&w.moderator.token)).await.body["locked"],
            true
        );
        let posts = format!("/api/v1/threads/{}/posts", w.thread_id);
        for who in [&w.author, &w.other] {
            let r = app
                .post(&posts, Some(&who.token), json!({"body": "let me in"}))
                .await;
            r.assert_problem(403, "thread_locked");
        }
        assert_eq!(
            app.post(
                &posts,
                Some(&w.moderator.token),
                json!({"body": "mod note"})
            )
            .await
            .status,
            201
        );
        assert_eq!(
            app.delete(&lock, Some(&w.moderator.token)).await.body["locked"],
            false
        );
        assert_eq!(
            app.post(&posts, Some(&w.other.token), json!({"body": "open again"}))
                .await
                .status,
            201
        );
    }
);

db_test!(a_member_cannot_moderate, |app| {
    let w = world(&app).await;
    let t = format!("/api/v1/threads/{}", w.thread_id);
    for who in [&w.author, &w.other] {
        app.put(&format!("{t}/lock"), Some(&who.token))
            .await
            .assert_problem(403, "forbidden");
        app.put(&format!("{t}/sticky"), Some(&who.token))
            .await
            .assert_problem(403, "forbidden");
        app.post(
            &format!("{t}/move"),
            Some(&who.token),
            json!({"forum_id": w.forum_id}),
        )
        .await
        .assert_problem(403, "forbidden");
        app.post(&format!("{t}/restore"), Some(&who.token), json!({}))
            .await
            .assert_problem(403, "forbidden");
        app.post(
            &format!("/api/v1/posts/{}/restore", w.post_id),
            Some(&who.token),
            json!({}),
        )
        .await
        .assert_problem(403, "forbidden");
    }
});

db_test!(a_moderator_edits_and_deletes_any_post_and_thread, |app| {
    let w = world(&app).await;
    let r = app
        .patch(
            &format!("/api/v1/posts/{}", w.post_id),
            Some(&w.moderator.token),
            json!({"body": "[edited by staff]"}),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.text);
    let revs = app
        .get(&format!("/api/v1/posts/{}/revisions", w.post_id), None)
        .await;
    assert_eq!(revs.body["items"][1]["editor"]["username"], "moddy");
    assert_eq!(
        app.delete(
            &format!("/api/v1/posts/{}", w.post_id),
            Some(&w.moderator.token)
        )
        .await
        .status,
        204
    );
    let t = format!("/api/v1/threads/{}", w.thread_id);
    assert_eq!(app.delete(&t, Some(&w.moderator.token)).await.status, 204);
    // members no longer see the thread; moderators and admins do, and restore it
    app.get(&t, Some(&w.author.token))
        .await
        .assert_problem(404, "not_found");
    app.get(&format!("{t}/posts"), None)
        .await
        .assert_problem(404, "not_found");
    assert_eq!(
        app.get(&t, Some(&w.admin.token)).await.body["deleted"],
        true
    );
    let r = app
        .post(&format!("{t}/restore"), Some(&w.moderator.token), json!({}))
        .await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(app.get(&t, None).await.body["deleted"], false);
});

db_test!(
    an_author_deletes_their_own_thread_only_while_nobody_replied,
    |app| {
        let w = world(&app).await;
        let (lonely, _) = app.thread(&w.other, w.forum_id, "Nobody answers").await;
        assert_eq!(
            app.delete(&format!("/api/v1/threads/{lonely}"), Some(&w.other.token))
                .await
                .status,
            204
        );
        app.reply(&w.other, w.thread_id, "a reply").await;
        app.delete(
            &format!("/api/v1/threads/{}", w.thread_id),
            Some(&w.author.token),
        )
        .await
        .assert_problem(403, "forbidden");
        // the first post goes only with its thread
        let first = app
            .get(&format!("/api/v1/threads/{}", w.thread_id), None)
            .await
            .body["first_post_id"]
            .as_i64()
            .unwrap();
        app.delete(&format!("/api/v1/posts/{first}"), Some(&w.moderator.token))
            .await
            .assert_problem(409, "conflict");
    }
);

db_test!(a_banned_member_with_a_live_token_cannot_write, |app| {
    let w = world(&app).await;
    let r = app
        .patch(
            "/api/v1/users/other",
            Some(&w.admin.token),
            json!({"disabled": true}),
        )
        .await;
    assert_eq!(r.status, 200);
    app.post(
        &format!("/api/v1/threads/{}/posts", w.thread_id),
        Some(&w.other.token),
        json!({"body": "still here"}),
    )
    .await
    .assert_problem(403, "account_disabled");
});
