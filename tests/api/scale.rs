//! A thread page is a fixed number of queries whatever its depth or size.

use diesel::prelude::*;
use diesel::sql_types::BigInt;

use crate::common::db_test;

const POSTS: i64 = 10_000;

db_test!(
    page_one_and_the_last_page_of_a_10000_post_thread_cost_the_same_queries,
    |app| {
        let s = app.forum().await;
        let members = [
            app.register("saif").await,
            app.register("lin").await,
            app.register("mikhail").await,
        ];
        let (thread, _) = app
            .thread(&members[0], s.forum_id, "Ten thousand posts")
            .await;
        let ids: Vec<i64> = members.iter().map(|m| m.id).collect();
        // Bulk-load positions 2..=10,000 by three authors in one statement per backend.
        app.state
        .db
        .run(move |conn| {
            let select = format!(
                "SELECT {thread}, CASE g % 3 WHEN 0 THEN {} WHEN 1 THEN {} ELSE {} END, g, 'reply', '<p>reply</p>', 'reply', \
                 CURRENT_TIMESTAMP FROM seq",
                ids[0], ids[1], ids[2]
            );
            let insert = "INSERT INTO posts (thread_id, user_id, position, body, body_html, body_text, created_at)";
            let sql = match conn {
                gloss::db::DbConn::Pg(_) => format!("WITH seq AS (SELECT generate_series(2, {POSTS}) AS g) {insert} {select}"),
                gloss::db::DbConn::Sqlite(_) => format!(
                    "{insert} WITH RECURSIVE seq(g) AS (SELECT 2 UNION ALL SELECT g + 1 FROM seq WHERE g < {POSTS}) {select}"
                ),
            };
            // a bulk load on a busy machine may outlast the server's statement timeout
            crate::common::no_statement_timeout(conn)?;
            diesel::sql_query(sql).execute(conn)?;
            diesel::sql_query(format!("UPDATE threads SET last_position = {POSTS}, reply_count = {} WHERE id = {thread}", POSTS - 1))
                .execute(conn)?;
            #[derive(QueryableByName)]
            struct N {
                #[diesel(sql_type = BigInt)]
                n: i64,
            }
            let n: N = diesel::sql_query(format!("SELECT COUNT(*) AS n FROM posts WHERE thread_id = {thread}")).get_result(conn)?;
            assert_eq!(n.n, POSTS);
            Ok(())
        })
        .await
        .unwrap();

        let mut costs = Vec::new();
        for (page, per_page) in [
            (1, 20),
            (POSTS / 20, 20),
            (1, 100),
            (POSTS / 100, 100),
            (2, 5),
        ] {
            let before = app.state.db.query_count();
            let r = app
                .get(
                    &format!("/api/v1/threads/{thread}/posts?page={page}&per_page={per_page}"),
                    None,
                )
                .await;
            let cost = app.state.db.query_count() - before;
            assert_eq!(r.status, 200, "{}", r.text);
            let items = r.body["items"].as_array().unwrap();
            assert_eq!(items.len() as i64, per_page);
            assert_eq!(items[0]["position"], (page - 1) * per_page + 1);
            assert_eq!(r.body["total"], POSTS);
            costs.push(cost);
        }
        eprintln!("queries per thread page (page 1, last page, per_page 100 first and last, per_page 5): {costs:?}");
        assert!(
            costs.iter().all(|c| *c == costs[0]),
            "query counts differ: {costs:?}"
        );
        // the thread; its page of posts; the authors' cards (users, rank ladder, groups, profile
        // fields and values); the annotations visible to the caller (counts and heat maps); the
        // cited-by counts; the reaction kinds and counts
        assert!(costs[0] <= 11, "a thread page takes {} queries", costs[0]);
    }
);

db_test!(
    the_unread_list_stops_at_its_cap_of_the_newest_thousand,
    |app| {
        let s = app.forum().await;
        let saif = app.register("saif").await;
        let lin = app.register("lin").await;
        let (first, _) = app.thread(&saif, s.forum_id, "The oldest unread").await;
        // 1,010 more threads by saif, each newer than the last, loaded in one statement
        let (forum, author) = (s.forum_id, saif.id);
        app.state
            .db
            .run(move |conn| {
                let select = format!(
                    "SELECT {forum}, {author}, 'Thread ' || g, 0, 0, 1, {author}, NOW_PLUS_G, false, false, \
                     NOW_PLUS_G, NOW_PLUS_G FROM seq"
                );
                let insert = "INSERT INTO threads (forum_id, user_id, title, reply_count, view_count, last_position, \
                              last_post_user_id, last_post_at, sticky, locked, created_at, updated_at)";
                let sql = match conn {
                    gloss::db::DbConn::Pg(_) => format!(
                        "WITH seq AS (SELECT generate_series(1, 1010) AS g) {insert} {}",
                        select.replace("NOW_PLUS_G", "(LOCALTIMESTAMP + g * INTERVAL '1 second')")
                    ),
                    gloss::db::DbConn::Sqlite(_) => format!(
                        "{insert} WITH RECURSIVE seq(g) AS (SELECT 1 UNION ALL SELECT g + 1 FROM seq WHERE g < 1010) {}",
                        select.replace("NOW_PLUS_G", "strftime('%Y-%m-%d %H:%M:%f', 'now', '+' || g || ' seconds')")
                    ),
                };
                // a bulk load on a busy machine may outlast the server's statement timeout
                crate::common::no_statement_timeout(conn)?;
                diesel::sql_query(sql).execute(conn)?;
                Ok(())
            })
            .await
            .unwrap();
        let page = |n: u32| {
            let app = &app;
            let token = lin.token.clone();
            async move {
                let r = app
                    .get(&format!("/api/v1/threads/unread?page={n}"), Some(&token))
                    .await;
                assert_eq!(r.status, 200, "{}", r.text);
                r.body
            }
        };
        let one = page(1).await;
        assert_eq!(one["total"], 1000, "the newest thousand of 1,011 unread");
        assert_eq!(one["total_pages"], 50);
        assert_eq!(one["items"][0]["title"], "Thread 1010");
        let last = page(50).await;
        assert_eq!(last["items"].as_array().unwrap().len(), 20);
        assert_eq!(
            last["items"][19]["title"], "Thread 11",
            "the 1,000th newest"
        );
        let past = page(51).await;
        assert_eq!(past["items"], serde_json::json!([]));
        assert_eq!(past["total"], 1000);
        // the oldest unread thread is past the cap
        let ids: Vec<i64> = one["items"]
            .as_array()
            .unwrap()
            .iter()
            .map(|t| t["id"].as_i64().unwrap())
            .collect();
        assert!(!ids.contains(&first));
    }
);
