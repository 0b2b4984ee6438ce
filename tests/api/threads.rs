//! Threads: creation with typed fields, lists, filters, feeds, views.

use diesel::prelude::*;
use serde_json::json;

use crate::common::{db_test, ForumSetup, TestApp};

/// A forum with a 🇨🇳 prefix and a required date field; returns the prefix id.
async fn forum_with_fields(app: &TestApp) -> (ForumSetup, i64) {
    let s = app.forum().await;
    let p = app
        .post(
            &format!("/api/v1/forums/{}/prefixes", s.forum_id),
            Some(&s.admin.token),
            json!({"label": "🇨🇳"}),
        )
        .await;
    let base = format!("/api/v1/forums/{}/fields", s.forum_id);
    for body in [
        json!({"key": "date_of_event", "label": "Date of Event", "field_type": "date", "required": true}),
        json!({"key": "source", "label": "Source", "field_type": "url"}),
        json!({"key": "casualties", "label": "Casualties", "field_type": "number"}),
        json!({"key": "theatre", "label": "Theatre", "field_type": "choice", "options": ["land", "sea", "air"]}),
    ] {
        assert_eq!(
            app.post(&base, Some(&s.admin.token), body).await.status,
            201
        );
    }
    let prefix = p.body["id"].as_i64().unwrap();
    (s, prefix)
}

db_test!(a_thread_carries_its_prefix_and_typed_fields, |app| {
    let (s, prefix) = forum_with_fields(&app).await;
    let m = app.register("saif").await;
    let r = app
        .post(
            &format!("/api/v1/forums/{}/threads", s.forum_id),
            Some(&m.token),
            json!({"title": "China-Russia Strategic Partners", "body": "China's Xi vows **greater support**.",
                   "prefix_id": prefix, "fields": {"date_of_event": "2025-07-16", "casualties": 0, "theatre": "land",
                   "source": "https://example.org/news"}}),
        )
        .await;
    assert_eq!(r.status, 201, "{}", r.text);
    let t = &r.body["thread"];
    assert_eq!(t["prefix"]["label"], "🇨🇳");
    assert_eq!(t["fields"]["date_of_event"], "2025-07-16");
    assert_eq!(t["fields"]["casualties"], 0.0);
    assert_eq!(t["fields"]["theatre"], "land");
    assert_eq!(t["reply_count"], 0);
    assert_eq!(t["post_positions"], 1);
    assert_eq!(t["author"]["username"], "saif");
    let p = &r.body["first_post"];
    assert_eq!(p["position"], 1);
    assert_eq!(p["body_text"], "China's Xi vows greater support.");
    assert!(p["body_html"]
        .as_str()
        .unwrap()
        .contains("<strong>greater support</strong>"));
    let id = t["id"].as_i64().unwrap();
    assert_eq!(
        r.header("location"),
        Some(format!("/api/v1/threads/{id}").as_str())
    );
    let got = app.get(&format!("/api/v1/threads/{id}"), None).await;
    assert_eq!(got.body["fields"], t["fields"]);
});

db_test!(wrong_field_values_are_refused_naming_the_field, |app| {
    let (s, _) = forum_with_fields(&app).await;
    let m = app.register("saif").await;
    let path = format!("/api/v1/forums/{}/threads", s.forum_id);
    let cases = [
        (
            json!({"date_of_event": "16 July 2025"}),
            "fields.date_of_event",
        ),
        (json!({"date_of_event": 20250716}), "fields.date_of_event"),
        (
            json!({"date_of_event": "2025-07-16", "casualties": "many"}),
            "fields.casualties",
        ),
        (
            json!({"date_of_event": "2025-07-16", "theatre": "space"}),
            "fields.theatre",
        ),
        (
            json!({"date_of_event": "2025-07-16", "source": "javascript:alert(1)"}),
            "fields.source",
        ),
        (
            json!({"date_of_event": "2025-07-16", "mood": "tense"}),
            "fields.mood",
        ),
        (json!({}), "fields.date_of_event"),
    ];
    for (fields, expected) in cases {
        let r = app
            .post(
                &path,
                Some(&m.token),
                json!({"title": "t", "body": "b", "fields": fields}),
            )
            .await;
        r.assert_problem(422, "validation_failed");
        assert_eq!(r.error_fields(), vec![expected.to_string()], "{}", r.text);
    }
    let r = app
        .post(&path, Some(&m.token), json!({"title": "t", "body": "b", "fields": {"date_of_event": "2025-07-16"}, "prefix_id": 999}))
        .await;
    assert_eq!(r.error_fields(), vec!["prefix_id"]);
    let r = app
        .post(
            &path,
            Some(&m.token),
            json!({"title": "", "body": " ", "fields": {"date_of_event": "2025-07-16"}}),
        )
        .await;
    assert_eq!(r.error_fields(), vec!["title", "body"]);
    // nothing was created by the refusals
    let list = app.get(&path, None).await;
    assert_eq!(list.body["total"], 0);
    assert_eq!(
        app.get(&format!("/api/v1/forums/{}", s.forum_id), None)
            .await
            .body["thread_count"],
        0
    );
});

db_test!(threads_are_filtered_by_prefix_and_by_a_date_range, |app| {
    let (s, prefix) = forum_with_fields(&app).await;
    let m = app.register("saif").await;
    let path = format!("/api/v1/forums/{}/threads", s.forum_id);
    for (title, date, with_prefix) in [
        ("June", "2025-06-30", false),
        ("July", "2025-07-16", true),
        ("August", "2025-08-01", true),
    ] {
        let mut body = json!({"title": title, "body": "b", "fields": {"date_of_event": date, "casualties": date[5..7].parse::<i32>().unwrap()}});
        if with_prefix {
            body["prefix_id"] = json!(prefix);
        }
        assert_eq!(app.post(&path, Some(&m.token), body).await.status, 201);
    }
    let titles = |r: &crate::common::Resp| -> Vec<String> {
        r.body["items"]
            .as_array()
            .unwrap()
            .iter()
            .map(|t| t["title"].as_str().unwrap().to_string())
            .collect()
    };
    let r = app.get(&format!("{path}?prefix_id={prefix}"), None).await;
    assert_eq!(titles(&r), vec!["August", "July"]);
    assert_eq!(r.body["total"], 2);
    let r = app
        .get(
            &format!("{path}?field=date_of_event&min=2025-07-01&max=2025-07-31"),
            None,
        )
        .await;
    assert_eq!(titles(&r), vec!["July"]);
    let r = app
        .get(&format!("{path}?field=date_of_event&min=2025-07-01"), None)
        .await;
    assert_eq!(titles(&r), vec!["August", "July"]);
    let r = app
        .get(&format!("{path}?field=date_of_event&eq=2025-06-30"), None)
        .await;
    assert_eq!(titles(&r), vec!["June"]);
    // numbers compare as numbers (7 < 10 though "7" > "10")
    let r = app
        .get(&format!("{path}?field=casualties&max=7"), None)
        .await;
    assert_eq!(titles(&r), vec!["July", "June"]);
    let r = app
        .get(&format!("{path}?field=date_of_event&min=July"), None)
        .await;
    assert_eq!(r.error_fields(), vec!["min"]);
    let r = app.get(&format!("{path}?field=nope&min=1"), None).await;
    assert_eq!(r.error_fields(), vec!["field"]);
    let r = app.get(&format!("{path}?min=1"), None).await;
    assert_eq!(r.error_fields(), vec!["field"]);
});

db_test!(
    a_forum_lists_sticky_threads_first_then_by_last_activity,
    |app| {
        let s = app.forum().await;
        let m = app.register("saif").await;
        let (a, _) = app.thread(&m, s.forum_id, "A").await;
        let (b, _) = app.thread(&m, s.forum_id, "B").await;
        let (c, _) = app.thread(&m, s.forum_id, "C").await;
        app.reply(&m, a, "bump A").await;
        let r = app
            .put(&format!("/api/v1/threads/{b}/sticky"), Some(&s.admin.token))
            .await;
        assert_eq!(r.status, 200, "{}", r.text);
        assert_eq!(r.body["sticky"], true);
        let list = app
            .get(
                &format!("/api/v1/forums/{}/threads?per_page=2", s.forum_id),
                None,
            )
            .await;
        let ids: Vec<i64> = list.body["items"]
            .as_array()
            .unwrap()
            .iter()
            .map(|t| t["id"].as_i64().unwrap())
            .collect();
        assert_eq!(ids, vec![b, a]);
        assert_eq!(list.body["total"], 3);
        assert_eq!(list.body["total_pages"], 2);
        let page2 = app
            .get(
                &format!("/api/v1/forums/{}/threads?per_page=2&page=2", s.forum_id),
                None,
            )
            .await;
        assert_eq!(page2.body["items"][0]["id"], c);
    }
);

db_test!(more_threads_by_a_member, |app| {
    let s = app.forum().await;
    let saif = app.register("saif").await;
    let other = app.register("other").await;
    app.thread(&saif, s.forum_id, "One").await;
    app.thread(&other, s.forum_id, "Not saif's").await;
    app.thread(&saif, s.forum_id, "Two").await;
    let r = app.get("/api/v1/users/saif/threads", None).await;
    assert_eq!(r.status, 200, "{}", r.text);
    let titles: Vec<&str> = r.body["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["title"].as_str().unwrap())
        .collect();
    assert_eq!(titles, vec!["Two", "One"]);
    assert_eq!(r.body["total"], 2);
    app.get("/api/v1/users/nobody/threads", None)
        .await
        .assert_problem(404, "not_found");
});

db_test!(
    latest_threads_is_a_cursor_feed_stable_under_inserts,
    |app| {
        let s = app.forum().await;
        let m = app.register("saif").await;
        let mut ids = Vec::new();
        for i in 0..5 {
            ids.push(app.thread(&m, s.forum_id, &format!("T{i}")).await.0);
        }
        let first = app.get("/api/v1/threads/latest?limit=2", None).await;
        assert_eq!(first.status, 200, "{}", first.text);
        let got: Vec<i64> = first.body["items"]
            .as_array()
            .unwrap()
            .iter()
            .map(|t| t["id"].as_i64().unwrap())
            .collect();
        assert_eq!(got, vec![ids[4], ids[3]]);
        // a new thread arrives between two page reads: the next page neither repeats nor skips
        app.thread(&m, s.forum_id, "Newer").await;
        let cursor = first.body["next_cursor"].as_str().unwrap();
        let second = app
            .get(
                &format!("/api/v1/threads/latest?limit=2&cursor={cursor}"),
                None,
            )
            .await;
        let got: Vec<i64> = second.body["items"]
            .as_array()
            .unwrap()
            .iter()
            .map(|t| t["id"].as_i64().unwrap())
            .collect();
        assert_eq!(got, vec![ids[2], ids[1]]);
        let cursor = second.body["next_cursor"].as_str().unwrap();
        let last = app
            .get(
                &format!("/api/v1/threads/latest?limit=2&cursor={cursor}"),
                None,
            )
            .await;
        assert_eq!(last.body["items"].as_array().unwrap().len(), 1);
        assert_eq!(last.body["next_cursor"], serde_json::Value::Null);
        app.get("/api/v1/threads/latest?cursor=garbage", None)
            .await
            .assert_problem(422, "validation_failed");
    }
);

db_test!(
    views_are_counted_once_per_viewer_in_memory_and_flushed_in_batches,
    |app| {
        let s = app.forum().await;
        let m = app.register("saif").await;
        let lin = app.register("lin").await;
        let (t, _) = app.thread(&m, s.forum_id, "Viewed").await;
        let before = app.state.db.query_count();
        // a guest, then two members, each reading twice: three viewers, three views
        for token in [None, Some(m.token.as_str()), Some(lin.token.as_str())] {
            for _ in 0..2 {
                app.get(&format!("/api/v1/threads/{t}"), token).await;
            }
        }
        let r = app.get(&format!("/api/v1/threads/{t}"), None).await;
        assert_eq!(r.body["view_count"], 3);
        // reading wrote nothing: 7 requests of a fixed number of read queries each
        let per_read = (app.state.db.query_count() - before) / 7;
        assert!(per_read <= 8, "{per_read} queries per read");
        let flushed = app.state.views.flush(&app.state.db).await.unwrap();
        assert_eq!(flushed, 1);
        // a fresh server on the same database (a restart) sees the flushed count
        let restarted = gloss::AppState::init(crate::common::test_config(&app.db.url)).unwrap();
        let row = restarted
            .db
            .run(move |conn| Ok(gloss::threads::db::find(conn, t)?.unwrap()))
            .await
            .unwrap();
        assert_eq!(row.view_count, 3);
    }
);

db_test!(
    a_forums_thread_total_comes_from_its_counter_and_stays_exact,
    |app| {
        let s = app.forum().await;
        let m = app.register("saif").await;
        let mut ids = Vec::new();
        for i in 0..7 {
            ids.push(app.thread(&m, s.forum_id, &format!("Thread {i}")).await.0);
        }
        let admin = &s.admin.token;
        app.delete(&format!("/api/v1/threads/{}", ids[0]), Some(admin))
            .await;
        app.delete(&format!("/api/v1/threads/{}", ids[1]), Some(admin))
            .await;
        let r = app
            .post(
                &format!("/api/v1/threads/{}/restore", ids[1]),
                Some(admin),
                json!({}),
            )
            .await;
        assert!(r.status < 300, "{}", r.text);
        let list = |page: u32| {
            let path = format!(
                "/api/v1/forums/{}/threads?per_page=2&page={page}",
                s.forum_id
            );
            let app = &app;
            async move { app.get(&path, None).await.body }
        };
        let first = list(1).await;
        assert_eq!(first["total"], 6);
        assert_eq!(first["total_pages"], 3);
        let mut seen = Vec::new();
        for page in 1..=3 {
            for t in list(page).await["items"].as_array().unwrap() {
                seen.push(t["id"].as_i64().unwrap());
            }
        }
        seen.sort_unstable();
        assert_eq!(seen, ids[1..].to_vec());
        // a moderator's list with deleted threads counts them
        let all = app
            .get(
                &format!("/api/v1/forums/{}/threads?include_deleted=true", s.forum_id),
                Some(admin),
            )
            .await;
        assert_eq!(all.body["total"], 7);
    }
);

db_test!(
    pages_of_a_forum_with_sticky_and_bumped_threads_match_the_whole_list,
    |app| {
        let s = app.forum().await;
        let m = app.register("saif").await;
        let mut ids = Vec::new();
        for i in 0..9 {
            ids.push(app.thread(&m, s.forum_id, &format!("Thread {i}")).await.0);
        }
        // two sticky threads, and activity that reorders the rest
        for t in [ids[2], ids[6]] {
            let r = app
                .put(&format!("/api/v1/threads/{t}/sticky"), Some(&s.admin.token))
                .await;
            assert!(r.status < 300, "{}", r.text);
        }
        app.reply(&m, ids[0], "bump").await;
        app.reply(&m, ids[4], "bump").await;
        let order = |body: &serde_json::Value| -> Vec<i64> {
            body["items"]
                .as_array()
                .unwrap()
                .iter()
                .map(|t| t["id"].as_i64().unwrap())
                .collect()
        };
        let path = format!("/api/v1/forums/{}/threads", s.forum_id);
        let whole = order(&app.get(&format!("{path}?per_page=100"), None).await.body);
        assert_eq!(whole.len(), 9);
        assert_eq!(&whole[..2], &[ids[6], ids[2]], "sticky first");
        assert_eq!(whole[2], ids[4], "then by last activity");
        let mut paged = Vec::new();
        for page in 1..=5 {
            let r = app
                .get(&format!("{path}?per_page=2&page={page}"), None)
                .await;
            assert_eq!(r.body["total"], 9);
            paged.extend(order(&r.body));
        }
        assert_eq!(paged, whole);
        let past = app.get(&format!("{path}?per_page=2&page=6"), None).await;
        assert_eq!(past.body["items"], serde_json::json!([]));
    }
);

db_test!(
    the_pages_of_a_600_thread_forum_with_ties_and_sticky_threads_match_the_whole_order,
    |app| {
        let s = app.forum().await;
        let m = app.register("saif").await;
        app.thread(&m, s.forum_id, "Made through the API").await;
        // 600 threads loaded in one statement: every seventh sticky, last activity in groups
        // of three equal times (ties broken by id), times out of id order
        let (forum, author) = (s.forum_id, m.id);
        app.state
            .db
            .run(move |conn| {
                let at = |now: &str, g: &str| match conn {
                    gloss::db::DbConn::Pg(_) => {
                        format!("({now} - (({g} * 37) % 600 / 3) * INTERVAL '1 minute')")
                    }
                    gloss::db::DbConn::Sqlite(_) => format!(
                        "strftime('%Y-%m-%d %H:%M:%f', 'now', '-' || (({g} * 37) % 600 / 3) || ' minutes')"
                    ),
                };
                let t = at("LOCALTIMESTAMP", "g");
                let select = format!(
                    "SELECT {forum}, {author}, 'Thread ' || g, 0, 0, 1, {author}, {t}, (g % 7 = 0), false, {t}, {t} FROM seq"
                );
                let insert = "INSERT INTO threads (forum_id, user_id, title, reply_count, view_count, last_position, \
                              last_post_user_id, last_post_at, sticky, locked, created_at, updated_at)";
                let sql = match conn {
                    gloss::db::DbConn::Pg(_) => format!("WITH seq AS (SELECT generate_series(1, 600) AS g) {insert} {select}"),
                    gloss::db::DbConn::Sqlite(_) => format!(
                        "{insert} WITH RECURSIVE seq(g) AS (SELECT 1 UNION ALL SELECT g + 1 FROM seq WHERE g < 600) {select}"
                    ),
                };
                // a bulk load on a busy machine may outlast the server's statement timeout
                crate::common::no_statement_timeout(conn)?;
                diesel::sql_query(sql).execute(conn)?;
                diesel::sql_query(format!("UPDATE forums SET thread_count = thread_count + 600 WHERE id = {forum}"))
                    .execute(conn)?;
                Ok(())
            })
            .await
            .unwrap();
        // the whole order, as the database sorts it
        let whole: Vec<i64> = app
            .state
            .db
            .run(move |conn| {
                use gloss::db::schema::threads;
                Ok(threads::table
                    .filter(threads::forum_id.eq(forum))
                    .filter(threads::deleted_at.is_null())
                    .order((
                        threads::sticky.desc(),
                        threads::last_post_at.desc(),
                        threads::id.desc(),
                    ))
                    .select(threads::id)
                    .load::<i64>(conn)?)
            })
            .await
            .unwrap();
        assert_eq!(whole.len(), 601);
        let path = format!("/api/v1/forums/{}/threads", s.forum_id);
        for per_page in [50, 7] {
            let mut paged = Vec::new();
            let pages = (601 + per_page - 1) / per_page;
            for page in 1..=pages + 1 {
                let r = app
                    .get(&format!("{path}?per_page={per_page}&page={page}"), None)
                    .await;
                assert_eq!(r.status, 200, "{}", r.text);
                assert_eq!(r.body["total"], 601);
                let items = r.body["items"].as_array().unwrap();
                if page > pages {
                    assert!(items.is_empty(), "past the last page");
                }
                paged.extend(items.iter().map(|t| t["id"].as_i64().unwrap()));
            }
            assert_eq!(paged, whole, "pages of {per_page}");
        }
    }
);
