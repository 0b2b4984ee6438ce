//! Counters stay true: after every kind of change, each stored counter and last-post pointer equals
//! what the posts themselves say (computed here by independent SQL).

use diesel::prelude::*;
use diesel::sql_types::{BigInt, Nullable};
use serde_json::json;

use crate::common::{db_test, TestApp};

#[derive(QueryableByName, Debug)]
struct Check {
    #[diesel(sql_type = BigInt)]
    id: i64,
    #[diesel(sql_type = BigInt)]
    stored: i64,
    #[diesel(sql_type = BigInt)]
    expected: i64,
}

#[derive(QueryableByName, Debug)]
struct PointerCheck {
    #[diesel(sql_type = BigInt)]
    id: i64,
    #[diesel(sql_type = Nullable<BigInt>)]
    stored: Option<i64>,
    #[diesel(sql_type = Nullable<BigInt>)]
    expected: Option<i64>,
}

const VISIBLE: &str = "p.deleted_at IS NULL AND t.deleted_at IS NULL";

#[derive(QueryableByName, Debug)]
struct PostDoc {
    #[diesel(sql_type = BigInt)]
    id: i64,
    #[diesel(sql_type = diesel::sql_types::Text)]
    body_text: String,
    #[diesel(sql_type = diesel::sql_types::Text)]
    body_terms: String,
}

pub(crate) async fn assert_counters_true(app: &TestApp, after: &str) {
    let after = after.to_string();
    app.state
        .db
        .run(move |conn| {
            let counts = [
                ("users.message_count", format!(
                    "SELECT u.id AS id, u.message_count AS stored, (SELECT COUNT(*) FROM posts p JOIN threads t ON t.id = p.thread_id \
                     WHERE p.user_id = u.id AND {VISIBLE}) AS expected FROM users u")),
                ("threads.reply_count", "SELECT t.id AS id, t.reply_count AS stored, \
                     (SELECT COUNT(*) FROM posts p WHERE p.thread_id = t.id AND p.deleted_at IS NULL) - 1 AS expected FROM threads t".to_string()),
                ("forums.thread_count", "SELECT f.id AS id, f.thread_count AS stored, (SELECT COUNT(*) FROM threads t \
                     WHERE t.forum_id = f.id AND t.deleted_at IS NULL) AS expected FROM forums f".to_string()),
                ("forums.post_count", format!("SELECT f.id AS id, f.post_count AS stored, (SELECT COUNT(*) FROM posts p \
                     JOIN threads t ON t.id = p.thread_id WHERE t.forum_id = f.id AND {VISIBLE}) AS expected FROM forums f")),
                // uploads: each member's bytes against the quota, each stored file's users
                ("users.upload_bytes", "SELECT u.id AS id, u.upload_bytes AS stored, \
                     (SELECT CAST(COALESCE(SUM(a.size), 0) AS BIGINT) FROM attachments a WHERE a.user_id = u.id) AS expected FROM users u".to_string()),
                ("attachments without a file", "SELECT CAST(0 AS BIGINT) AS id, COUNT(*) AS stored, CAST(0 AS BIGINT) AS expected FROM attachments a \
                     WHERE NOT EXISTS (SELECT 1 FROM media_blobs b WHERE b.hash = a.display_hash AND b.path = a.display_path) \
                     OR NOT EXISTS (SELECT 1 FROM media_blobs b WHERE b.hash = a.thumb_hash AND b.path = a.thumb_path)".to_string()),
                ("attachments shown but not marked used", "SELECT CAST(0 AS BIGINT) AS id, COUNT(*) AS stored, CAST(0 AS BIGINT) AS expected FROM post_attachments pa \
                     JOIN attachments a ON a.id = pa.attachment_id WHERE NOT a.used".to_string()),
            ];
            for (what, sql) in counts {
                let rows: Vec<Check> = diesel::sql_query(sql).load(conn)?;
                for r in rows {
                    assert_eq!(r.stored, r.expected, "{what} of {} is wrong after {after}", r.id);
                }
            }
            // each stored file counts exactly the attachment sizes and avatar sizes that use it
            {
                use gloss::db::schema::{attachments, media_blobs, users};
                use std::collections::HashMap;
                let mut expected: HashMap<String, i64> = HashMap::new();
                let files: Vec<(String, String)> = attachments::table
                    .select((attachments::display_hash, attachments::thumb_hash))
                    .load(conn)?;
                for (d, t) in files {
                    *expected.entry(d).or_default() += 1;
                    *expected.entry(t).or_default() += 1;
                }
                let avatars: Vec<Option<String>> = users::table.select(users::avatar_files).load(conn)?;
                for hash in avatars.iter().flatten().flat_map(|a| a.split(' ')) {
                    *expected.entry(hash.to_string()).or_default() += 1;
                }
                let stored: HashMap<String, i64> = media_blobs::table
                    .select((media_blobs::hash, media_blobs::refs))
                    .load::<(String, i64)>(conn)?
                    .into_iter()
                    .collect();
                assert_eq!(stored, expected, "stored files' counts are wrong after {after}");
            }
            let pointers = [
                ("threads.last_post_id", "SELECT t.id AS id, t.last_post_id AS stored, (SELECT p.id FROM posts p \
                     WHERE p.thread_id = t.id AND p.deleted_at IS NULL ORDER BY p.position DESC LIMIT 1) AS expected FROM threads t".to_string()),
                ("forums.last_post_id", format!("SELECT f.id AS id, f.last_post_id AS stored, (SELECT p.id FROM posts p \
                     JOIN threads t ON t.id = p.thread_id WHERE t.forum_id = f.id AND {VISIBLE} \
                     ORDER BY p.created_at DESC, p.id DESC LIMIT 1) AS expected FROM forums f")),
            ];
            for (what, sql) in pointers {
                let rows: Vec<PointerCheck> = diesel::sql_query(sql).load(conn)?;
                for r in rows {
                    assert_eq!(r.stored, r.expected, "{what} of {} is wrong after {after}", r.id);
                }
            }
            // the search index: one document per thread, post and annotation, none left over
            let docs = [
                ("search documents of thread", "threads"),
                ("search documents of post", "posts"),
                ("search documents of annotation", "annotations"),
            ];
            for (what, table) in docs {
                let kind = &table[..table.len() - 1];
                let sql = format!(
                    "SELECT x.id AS id, (SELECT COUNT(*) FROM search_docs d WHERE d.kind = '{kind}' \
                     AND d.ref_id = x.id) AS stored, CAST(1 AS BIGINT) AS expected FROM {table} x \
                     UNION ALL SELECT CAST(0 AS BIGINT) AS id, COUNT(*) AS stored, CAST(0 AS BIGINT) AS expected \
                     FROM search_docs d WHERE d.kind = '{kind}' AND NOT EXISTS (SELECT 1 FROM {table} x WHERE x.id = d.ref_id)"
                );
                let rows: Vec<Check> = diesel::sql_query(sql).load(conn)?;
                for r in rows {
                    assert_eq!(r.stored, r.expected, "{what} {} is wrong after {after} (0: left over)", r.id);
                }
            }
            // every document's scope names its kind, author and its thread's forum as they are now
            let rows: Vec<Check> = diesel::sql_query(
                "SELECT d.id AS id, CAST(1 AS BIGINT) AS stored, CAST(0 AS BIGINT) AS expected FROM search_docs d \
                 JOIN threads t ON t.id = d.thread_id \
                 WHERE d.scope_terms <> 'gk' || d.kind || ' gu' || d.user_id || ' gf' || t.forum_id",
            )
            .load(conn)?;
            let stale: Vec<i64> = rows.iter().map(|r| r.id).collect();
            assert!(stale.is_empty(), "the scope of search documents {stale:?} is stale after {after}");
            // and each post's document holds the post's text as it is now
            let rows: Vec<PostDoc> = diesel::sql_query(
                "SELECT p.id AS id, p.body_text AS body_text, d.body_terms AS body_terms \
                 FROM posts p JOIN search_docs d ON d.kind = 'post' AND d.ref_id = p.id",
            )
            .load(conn)?;
            for PostDoc { id, body_text: text, body_terms: terms } in rows {
                assert_eq!(terms, gloss::text::search::index_text(&text), "the search document of post {id} is stale after {after}");
            }
            Ok(())
        })
        .await
        .unwrap();
}

db_test!(counters_follow_every_kind_of_change, |app| {
    let s = app.forum().await;
    let other_forum = app.other_forum(&s, "Other").await;
    let a = app.register("saif").await;
    let b = app.register("lin").await;
    let (t1, _) = app.thread(&a, s.forum_id, "One").await;
    assert_counters_true(&app, "creating a thread").await;
    let (t2, _) = app.thread(&b, s.forum_id, "Two").await;
    let p1 = app.reply(&b, t1, "b in one").await;
    let p2 = app.reply(&a, t1, "a in one").await;
    app.reply(&a, t2, "a in two").await;
    assert_counters_true(&app, "replies").await;
    let f = app
        .get(&format!("/api/v1/forums/{}", s.forum_id), None)
        .await;
    assert_eq!(
        (
            f.body["thread_count"].as_i64(),
            f.body["post_count"].as_i64()
        ),
        (Some(2), Some(5))
    );
    assert_eq!(app.get("/api/v1/users/saif", None).await.status, 200);

    // deleting the newest post moves the thread's and the forum's last-post pointers back
    assert_eq!(
        app.delete(&format!("/api/v1/posts/{p2}"), Some(&a.token))
            .await
            .status,
        204
    );
    assert_counters_true(&app, "deleting a post").await;
    assert_eq!(
        app.get(&format!("/api/v1/threads/{t1}"), None).await.body["last_post"]["post_id"],
        p1
    );
    assert_eq!(
        app.post(
            &format!("/api/v1/posts/{p2}/restore"),
            Some(&s.admin.token),
            json!({})
        )
        .await
        .status,
        200
    );
    assert_counters_true(&app, "restoring a post").await;

    assert_eq!(
        app.delete(&format!("/api/v1/threads/{t1}"), Some(&s.admin.token))
            .await
            .status,
        204
    );
    assert_counters_true(&app, "deleting a thread").await;
    let f = app
        .get(&format!("/api/v1/forums/{}", s.forum_id), None)
        .await;
    assert_eq!(
        (
            f.body["thread_count"].as_i64(),
            f.body["post_count"].as_i64()
        ),
        (Some(1), Some(2))
    );
    assert_eq!(
        app.post(
            &format!("/api/v1/threads/{t1}/restore"),
            Some(&s.admin.token),
            json!({})
        )
        .await
        .status,
        200
    );
    assert_counters_true(&app, "restoring a thread").await;

    let r = app
        .post(
            &format!("/api/v1/threads/{t1}/move"),
            Some(&s.admin.token),
            json!({"forum_id": other_forum}),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert_counters_true(&app, "moving a thread").await;
    let f = app
        .get(&format!("/api/v1/forums/{other_forum}"), None)
        .await;
    assert_eq!(
        (
            f.body["thread_count"].as_i64(),
            f.body["post_count"].as_i64()
        ),
        (Some(1), Some(3))
    );
    assert_eq!(f.body["last_post"]["thread_title"], "One");
    let tree = app.get("/api/v1/forums", None).await;
    assert_eq!(tree.status, 200);
});
