//! The seed's thread page from two requests (three for a member, with the read marker): the
//! thread view and the site-wide blocks.

use serde_json::{json, Value};

use crate::common::{db_test, ForumSetup, Member, TestApp};

struct Seed {
    s: ForumSetup,
    saif: Member,
    lin: Member,
    thread: i64,
    first_post: i64,
    other_thread: i64,
}

/// The seed page's thread: a prefix and a date field, saif's article and replies, a highlight,
/// a private note, a reaction, and another thread of saif's.
async fn seed(app: &TestApp) -> Seed {
    let s = app.forum().await;
    let prefix = app
        .post(
            &format!("/api/v1/forums/{}/prefixes", s.forum_id),
            Some(&s.admin.token),
            json!({"label": "🇨🇳"}),
        )
        .await
        .body["id"]
        .as_i64()
        .unwrap();
    let field = app
        .post(
            &format!("/api/v1/forums/{}/fields", s.forum_id),
            Some(&s.admin.token),
            json!({"key": "date_of_event", "label": "Date of Event", "field_type": "date"}),
        )
        .await;
    assert_eq!(field.status, 201, "{}", field.text);
    let saif = app.register("saif").await;
    let lin = app.register("lin").await;
    let t = app
        .post(
            &format!("/api/v1/forums/{}/threads", s.forum_id),
            Some(&saif.token),
            json!({"title": "China-Russia Strategic Partners", "prefix_id": prefix,
                   "fields": {"date_of_event": "2025-07-16"},
                   "body": "AFP Beijing\nPublished: 15 Jul 2025\n\nXi vows to strengthen mutual support."}),
        )
        .await;
    assert_eq!(t.status, 201, "{}", t.text);
    let thread = t.body["thread"]["id"].as_i64().unwrap();
    let first_post = t.body["first_post"]["id"].as_i64().unwrap();
    for i in 0..3 {
        app.reply(&lin, thread, &format!("Reply {i}.")).await;
    }
    let annotate = |vis: &str| json!({"motivation": "highlighting", "visibility": vis, "selector": {"exact": "mutual support"}});
    for vis in ["public", "private"] {
        let r = app
            .post(
                &format!("/api/v1/posts/{first_post}/annotations"),
                Some(&lin.token),
                annotate(vis),
            )
            .await;
        assert_eq!(r.status, 201, "{}", r.text);
    }
    let r = app
        .put(
            &format!("/api/v1/posts/{first_post}/reactions/like"),
            Some(&lin.token),
        )
        .await;
    assert!(r.status < 300, "{}", r.text);
    let (other_thread, _) = app.thread(&saif, s.forum_id, "SCO ministers meet").await;
    Seed {
        s,
        saif,
        lin,
        thread,
        first_post,
        other_thread,
    }
}

fn ids(list: &Value) -> Vec<i64> {
    list.as_array()
        .unwrap()
        .iter()
        .map(|t| t["id"].as_i64().unwrap())
        .collect()
}

db_test!(a_guest_gets_the_seed_page_from_two_requests, |app| {
    let sd = seed(&app).await;
    let view = app
        .get(&format!("/api/v1/threads/{}/view", sd.thread), None)
        .await;
    assert_eq!(view.status, 200, "{}", view.text);
    let v = &view.body;
    // the thread with its breadcrumb, prefix and labelled fields
    assert_eq!(v["thread"]["title"], "China-Russia Strategic Partners");
    assert_eq!(v["thread"]["prefix"]["label"], "🇨🇳");
    assert_eq!(v["thread"]["reading"], Value::Null);
    let crumbs: Vec<(&str, &str)> = v["breadcrumb"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| (c["kind"].as_str().unwrap(), c["title"].as_str().unwrap()))
        .collect();
    assert_eq!(
        crumbs,
        vec![
            ("category", "Defense & Geopolitics"),
            ("forum", "Chinese Defense")
        ]
    );
    assert_eq!(v["breadcrumb"][1]["id"], sd.s.forum_id);
    assert_eq!(
        v["fields"],
        json!([{"key": "date_of_event", "label": "Date of Event", "field_type": "date", "value": "2025-07-16"}])
    );
    // the posts with cards, Analyze Post counts, heat map and reactions; the page numbers
    assert_eq!(v["posts"]["total"], 4);
    assert_eq!(v["posts"]["total_pages"], 1);
    let first = &v["posts"]["items"][0];
    assert_eq!(first["id"], sd.first_post);
    assert_eq!(first["author"]["username"], "saif");
    assert!(first["author"]["rank_title"].is_string());
    assert_eq!(
        first["annotation_count"], 1,
        "a guest sees the public highlight only"
    );
    assert_eq!(first["highlights"][0]["count"], 1);
    assert_eq!(first["reactions"][0]["kind"], "like");
    assert_eq!(first["reactions"][0]["count"], 1);
    assert_eq!(first["reactions"][0]["reacted"], false);
    assert_eq!(ids(&v["more_by_author"]), vec![sd.other_thread]);
    assert_eq!(v["unread"], Value::Null);

    let site = app.get("/api/v1/site", None).await;
    assert_eq!(site.status, 200, "{}", site.text);
    assert_eq!(site.header("cache-control"), Some("public, max-age=5"));
    let b = &site.body;
    let latest = &b["latest_posts"][0];
    assert_eq!(latest["thread_id"], sd.other_thread);
    assert_eq!(latest["thread_title"], "SCO ministers meet");
    assert_eq!(latest["forum_title"], "Chinese Defense");
    assert_eq!(latest["author"]["username"], "saif");
    assert_eq!(b["latest_posts"][1]["prefix"]["label"], "🇨🇳");
    assert_eq!(
        b["latest_posts"][1]["thread_title"],
        "China-Russia Strategic Partners"
    );
    assert_eq!(b["statistics"]["threads"], 2);
    assert_eq!(b["statistics"]["posts"], 5);
    assert_eq!(b["statistics"]["members"], 3);
    assert_eq!(b["statistics"]["newest_member"]["username"], "lin");
    assert_eq!(b["online"]["guest_count"], 1, "{}", site.text);
    let online: Vec<&str> = b["online"]["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|u| u["username"].as_str().unwrap())
        .collect();
    assert!(
        online.contains(&"lin") && online.contains(&"saif"),
        "{online:?}"
    );
});

db_test!(a_member_gets_their_own_state_in_the_same_request, |app| {
    let sd = seed(&app).await;
    // saif has not read lin's replies; lin has read everything (posting marks read)
    let view = app
        .get(
            &format!("/api/v1/threads/{}/view", sd.thread),
            Some(&sd.lin.token),
        )
        .await;
    assert_eq!(view.status, 200, "{}", view.text);
    let v = &view.body;
    assert_eq!(v["thread"]["reading"]["unread"], false);
    assert_eq!(v["thread"]["reading"]["watching"], true);
    let first = &v["posts"]["items"][0];
    assert_eq!(
        first["annotation_count"], 2,
        "lin sees their private note too"
    );
    assert_eq!(first["reactions"][0]["reacted"], true);
    assert!(v["unread"].is_array());
    let saif = app
        .get(
            &format!("/api/v1/threads/{}/view?per_page=2&page=2", sd.other_thread),
            Some(&sd.saif.token),
        )
        .await;
    assert_eq!(saif.status, 200, "{}", saif.text);
    assert_eq!(
        ids(&saif.body["unread"]),
        vec![sd.thread],
        "saif has lin's replies to read"
    );
    assert_eq!(saif.body["thread"]["reading"]["unread"], false);
    assert_eq!(ids(&saif.body["more_by_author"]), vec![sd.thread]);
    assert_eq!(saif.body["posts"]["page"], 2);
    assert_eq!(saif.body["posts"]["items"], json!([]));
    // the third request: the read marker, up to the last position the page showed
    let shown = app
        .get(
            &format!("/api/v1/threads/{}/view", sd.thread),
            Some(&sd.saif.token),
        )
        .await;
    let position = shown.body["posts"]["items"][3]["position"].clone();
    assert_eq!(position, 4);
    let r = app
        .post(
            &format!("/api/v1/threads/{}/read", sd.thread),
            Some(&sd.saif.token),
            json!({ "position": position }),
        )
        .await;
    assert!(r.status < 300, "{}", r.text);
    let again = app
        .get(
            &format!("/api/v1/threads/{}/view", sd.other_thread),
            Some(&sd.saif.token),
        )
        .await;
    assert_eq!(again.body["unread"], json!([]));
});

db_test!(
    the_thread_view_counts_a_view_once_per_viewer_and_the_site_blocks_none,
    |app| {
        let sd = seed(&app).await;
        let path = format!("/api/v1/threads/{}/view", sd.thread);
        let first = app.get(&path, None).await;
        assert_eq!(first.body["thread"]["view_count"], 1);
        for token in [
            None,
            Some(sd.lin.token.as_str()),
            Some(sd.lin.token.as_str()),
        ] {
            app.get(&path, token).await;
        }
        for _ in 0..3 {
            app.get("/api/v1/site", None).await;
        }
        let t = app
            .get(&format!("/api/v1/threads/{}", sd.thread), None)
            .await;
        assert_eq!(t.body["view_count"], 2, "the guest and lin");
    }
);

db_test!(
    the_thread_view_costs_the_same_queries_whatever_the_page_size,
    |app| {
        let sd = seed(&app).await;
        for i in 0..12 {
            app.reply(&sd.lin, sd.thread, &format!("More {i}.")).await;
        }
        let mut costs = Vec::new();
        for per_page in [2, 15] {
            let before = app.state.db.query_count();
            let r = app
                .get(
                    &format!("/api/v1/threads/{}/view?per_page={per_page}", sd.thread),
                    Some(&sd.saif.token),
                )
                .await;
            assert_eq!(r.status, 200);
            assert_eq!(r.body["posts"]["items"].as_array().unwrap().len(), per_page);
            costs.push(app.state.db.query_count() - before);
        }
        assert_eq!(costs[0], costs[1], "{costs:?}");
        // a page built for a member (nothing kept yet): the guest page, then what is theirs
        assert!(costs[0] <= 40, "{costs:?} queries");
    }
);

db_test!(
    a_missing_or_deleted_thread_view_is_a_404_and_bad_pages_a_422,
    |app| {
        let sd = seed(&app).await;
        app.get("/api/v1/threads/999999/view", None)
            .await
            .assert_problem(404, "not_found");
        app.get(
            &format!("/api/v1/threads/{}/view?per_page=1000", sd.thread),
            None,
        )
        .await
        .assert_problem(422, "validation_failed");
        let r = app
            .delete(
                &format!("/api/v1/threads/{}", sd.other_thread),
                Some(&sd.s.admin.token),
            )
            .await;
        assert_eq!(r.status, 204, "{}", r.text);
        app.get(
            &format!("/api/v1/threads/{}/view", sd.other_thread),
            Some(&sd.lin.token),
        )
        .await
        .assert_problem(404, "not_found");
        // and it leaves the author's other threads
        let v = app
            .get(&format!("/api/v1/threads/{}/view", sd.thread), None)
            .await;
        assert_eq!(v.body["more_by_author"], json!([]));
    }
);

db_test!(
    the_site_blocks_are_built_once_and_served_from_memory,
    |app| {
        seed(&app).await;
        let first = app.get("/api/v1/site", None).await;
        let before = app.state.db.query_count();
        let second = app.get("/api/v1/site", None).await;
        assert_eq!(app.state.db.query_count() - before, 0);
        assert_eq!(second.status, 200, "{}", second.text);
        assert_eq!(second.body["generated_at"], first.body["generated_at"]);
    }
);

/// The page `who` gets through the cache equals the page built for them from scratch.
async fn assert_cached_equals_fresh(app: &TestApp, thread: i64, who: Option<&Member>, query: &str) {
    let served = app
        .get(
            &format!("/api/v1/threads/{thread}/view{query}"),
            who.map(|m| m.token.as_str()),
        )
        .await;
    assert_eq!(served.status, 200, "{}", served.text);
    let viewer = who.map(|m| gloss::auth::AuthUser {
        id: m.id,
        role: gloss::users::Role::Member,
        expires_at: u64::MAX,
    });
    let page = gloss::pagination::PageParams {
        page: query.contains("page=2").then_some(2),
        per_page: query.contains("per_page=2").then_some(2),
    }
    .validate()
    .unwrap();
    let st = app.state.clone();
    let fresh = app
        .state
        .db
        .run(move |conn| {
            gloss::pages::thread::assemble(conn, viewer.as_ref(), thread, page, 30, |t| {
                st.views.pending(t)
            })
        })
        .await
        .unwrap();
    let mut fresh = serde_json::to_value(fresh).unwrap();
    let mut served = served.body;
    // the served answer counted its own view, which the fresh one, built after it, shows
    fn no_views(v: &mut Value) {
        match v {
            Value::Object(m) => {
                if m.contains_key("view_count") {
                    m.insert("view_count".into(), json!(0));
                }
                m.values_mut().for_each(no_views);
            }
            Value::Array(a) => a.iter_mut().for_each(no_views),
            _ => {}
        }
    }
    no_views(&mut fresh);
    no_views(&mut served);
    assert_eq!(served, fresh, "the cached page differs from a fresh one");
}

db_test!(
    a_cached_page_is_the_page_built_fresh_for_every_viewer,
    |app| {
        let sd = seed(&app).await;
        for _ in 0..2 {
            for who in [None, Some(&sd.lin), Some(&sd.saif)] {
                for query in ["", "?per_page=2&page=2"] {
                    assert_cached_equals_fresh(&app, sd.thread, who, query).await;
                }
            }
        }
    }
);

db_test!(
    a_guest_never_sees_a_members_own_state_through_the_cache,
    |app| {
        let sd = seed(&app).await;
        let path = format!("/api/v1/threads/{}/view", sd.thread);
        // lin (private note, reaction) reads first, so the page is built and kept on lin's request
        let lin = app.get(&path, Some(&sd.lin.token)).await;
        assert_eq!(lin.body["posts"]["items"][0]["annotation_count"], 2);
        assert_eq!(
            lin.body["posts"]["items"][0]["reactions"][0]["reacted"],
            true
        );
        let guest = app.get(&path, None).await;
        let first = &guest.body["posts"]["items"][0];
        assert_eq!(first["annotation_count"], 1);
        assert_eq!(first["highlights"][0]["count"], 1);
        assert_eq!(first["reactions"][0]["reacted"], false);
        assert_eq!(guest.body["thread"]["reading"], Value::Null);
        assert_eq!(guest.body["unread"], Value::Null);
        let saif = app.get(&path, Some(&sd.saif.token)).await;
        assert_eq!(saif.body["posts"]["items"][0]["annotation_count"], 1);
        assert_eq!(
            saif.body["posts"]["items"][0]["reactions"][0]["reacted"],
            false
        );
    }
);

db_test!(a_guest_page_read_costs_no_query_until_a_write, |app| {
    let sd = seed(&app).await;
    let path = format!("/api/v1/threads/{}/view", sd.thread);
    async fn cost(app: &TestApp, path: &str) -> (u64, Value) {
        let before = app.state.db.query_count();
        let r = app.get(path, None).await;
        assert_eq!(r.status, 200, "{}", r.text);
        (app.state.db.query_count() - before, r.body)
    }
    cost(&app, &path).await;
    // On PostgreSQL the kept bytes are trusted once this process listens for other processes'
    // writes; until then a kept page costs three reads (the thread's page version and view
    // count, the site version, the authors' counters).
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    loop {
        let (n, _) = cost(&app, &path).await;
        if n == 0 {
            break;
        }
        assert_eq!(n, 3, "a kept page read");
        assert!(
            std::time::Instant::now() < deadline,
            "the guest bytes were never served"
        );
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
    // a write through this process: the next guest read builds again, and shows it
    let reply = app
        .reply(&sd.lin, sd.thread, "Seen by the next guest.")
        .await;
    let (n, body) = cost(&app, &path).await;
    assert!(n > 0, "a read after a write is served from the database");
    assert_eq!(body["posts"]["items"][4]["id"], reply);
    // (on PostgreSQL the write's own announcement may still arrive and cost one more build)
    let again = loop {
        let (n, again) = cost(&app, &path).await;
        assert_eq!(again["posts"]["items"][4]["id"], reply);
        if n == 0 {
            break again;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "the guest bytes were never served again"
        );
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    };
    // another guest address counts a view, and its answer (from the same bytes) shows it
    let views = again["thread"]["view_count"].as_i64().unwrap();
    let other = app
        .send(
            actix_web::test::TestRequest::get()
                .uri(&path)
                .peer_addr("198.51.100.7:5000".parse().unwrap()),
        )
        .await;
    assert_eq!(
        other.body["thread"]["view_count"].as_i64().unwrap(),
        views + 1,
        "{}",
        other.text
    );
    let (_, same) = cost(&app, &path).await;
    assert_eq!(same["thread"]["view_count"].as_i64().unwrap(), views + 1);
});

db_test!(every_write_a_page_shows_is_seen_at_once, |app| {
    let sd = seed(&app).await;
    let path = format!("/api/v1/threads/{}/view", sd.thread);
    let admin = &sd.s.admin;
    let seen = |r: crate::common::Resp| {
        assert!(r.status < 300, "{}", r.text);
        r
    };
    // warm the cache, then after each write the page must show it, to the writer and to a guest
    let page = |who: Option<&Member>| {
        let path = path.clone();
        let token = who.map(|m| m.token.clone());
        let app = &app;
        async move { app.get(&path, token.as_deref()).await.body }
    };
    page(None).await;

    let reply = app.reply(&sd.saif, sd.thread, "A new reply.").await;
    let v = page(Some(&sd.saif)).await;
    assert_eq!(v["posts"]["items"][4]["id"], reply, "a reply");
    assert_eq!(
        v["posts"]["items"][4]["author"]["message_count"], 3,
        "the writer's card"
    );

    seen(
        app.patch(
            &format!("/api/v1/posts/{reply}"),
            Some(&sd.saif.token),
            json!({"body": "Edited."}),
        )
        .await,
    );
    assert_eq!(
        page(None).await["posts"]["items"][4]["body"],
        "Edited.",
        "an edit"
    );

    seen(
        app.put(
            &format!("/api/v1/posts/{reply}/reactions/like"),
            Some(&sd.lin.token),
        )
        .await,
    );
    assert_eq!(
        page(Some(&sd.lin)).await["posts"]["items"][4]["reactions"][0]["reacted"],
        true,
        "a reaction"
    );
    assert_eq!(
        page(None).await["posts"]["items"][4]["reactions"][0]["count"],
        1
    );
    assert_eq!(
        page(None).await["posts"]["items"][4]["author"]["reaction_score"],
        2,
        "the author's score"
    );

    seen(
        app.post(
            &format!("/api/v1/posts/{reply}/annotations"),
            Some(&sd.lin.token),
            json!({"motivation": "highlighting", "selector": {"exact": "Edited"}}),
        )
        .await,
    );
    assert_eq!(
        page(None).await["posts"]["items"][4]["annotation_count"],
        1,
        "an annotation"
    );

    let citing = seen(app.post(&format!("/api/v1/threads/{}/posts", sd.other_thread), Some(&sd.lin.token),
        json!({"body": "Quoting.", "citations": [{"post_id": sd.first_post, "selector": {"exact": "mutual support"}}]})).await);
    assert!(citing.body["id"].is_i64());
    assert_eq!(
        page(None).await["posts"]["items"][0]["cited_by_count"],
        1,
        "a citation from another thread"
    );

    seen(
        app.patch(
            &format!("/api/v1/threads/{}", sd.thread),
            Some(&sd.saif.token),
            json!({"title": "Renamed"}),
        )
        .await,
    );
    assert_eq!(
        page(None).await["thread"]["title"],
        "Renamed",
        "a thread edit"
    );

    seen(
        app.patch(
            "/api/v1/me",
            Some(&sd.saif.token),
            json!({"display_name": "Saif A."}),
        )
        .await,
    );
    assert_eq!(
        page(None).await["posts"]["items"][0]["author"]["display_name"],
        "Saif A.",
        "a profile"
    );

    seen(
        app.patch(
            &format!("/api/v1/forums/{}", sd.s.forum_id),
            Some(&admin.token),
            json!({"title": "PLA Watch"}),
        )
        .await,
    );
    assert_eq!(
        page(None).await["breadcrumb"][1]["title"],
        "PLA Watch",
        "a forum rename"
    );

    let ladder = json!({"items": [{"min_messages": 0, "title": "Newcomer"}, {"min_messages": 2, "title": "Regular"}]});
    let r = app
        .call(
            actix_web::http::Method::PUT,
            "/api/v1/ranks",
            Some(&admin.token),
            Some(ladder),
        )
        .await;
    assert!(r.status < 300, "{}", r.text);
    assert_eq!(
        page(None).await["posts"]["items"][0]["author"]["rank_title"],
        "Regular",
        "a rank ladder"
    );

    // a post of the author's elsewhere changes their card here too
    app.reply(&sd.saif, sd.other_thread, "Elsewhere.").await;
    assert_eq!(
        page(None).await["posts"]["items"][0]["author"]["message_count"],
        4,
        "a post elsewhere"
    );

    seen(
        app.delete(&format!("/api/v1/posts/{reply}"), Some(&sd.saif.token))
            .await,
    );
    let v = page(None).await;
    assert_eq!(v["posts"]["items"][4]["deleted"], true, "a delete");
    assert_eq!(v["posts"]["items"][4]["body"], Value::Null);
});

db_test!(
    a_write_through_one_process_is_seen_at_once_through_another,
    |app| {
        let sd = seed(&app).await;
        let url = app.db.url.clone();
        let (thread, saif) = (sd.thread, sd.saif.token.clone());
        crate::stream::web_block(move || {
            use crate::stream::{http, Server};
            // two real server processes on one database, each with its own page cache
            let a = Server::start(&url);
            let b = Server::start(&url);
            let path = format!("/api/v1/threads/{thread}/view");
            let (status, before) = http(b.port, "GET", &path, None, None).unwrap();
            assert_eq!(status, 200);
            assert_eq!(before["posts"]["total"], 4);
            http(b.port, "GET", &path, Some(&saif), None).unwrap();
            let (status, post) = http(
                a.port,
                "POST",
                &format!("/api/v1/threads/{thread}/posts"),
                Some(&saif),
                Some(json!({"body": "Written through A."})),
            )
            .unwrap();
            assert_eq!(status, 201, "{post}");
            // the writer sees it at once on the other process
            let (status, after) = http(b.port, "GET", &path, Some(&saif), None).unwrap();
            assert_eq!(status, 200);
            assert_eq!(after["posts"]["total"], 5);
            assert_eq!(after["posts"]["items"][4]["id"], post["id"]);
            // a guest there as soon as B hears of the write (LISTEN/NOTIFY; at once on SQLite,
            // where B reads the versions from the database with every guest read it cannot trust)
            let heard = std::time::Instant::now();
            loop {
                let (status, after) = http(b.port, "GET", &path, None, None).unwrap();
                assert_eq!(status, 200);
                if after["posts"]["total"] == 5 {
                    assert_eq!(after["posts"]["items"][4]["id"], post["id"]);
                    break;
                }
                assert!(
                    heard.elapsed() < std::time::Duration::from_secs(2),
                    "a guest on B never saw the write made through A"
                );
                std::thread::sleep(std::time::Duration::from_millis(5));
            }
        })
        .await;
    }
);

db_test!(
    guest_lists_are_kept_while_nothing_is_written_and_members_get_their_own,
    |app| {
        let sd = seed(&app).await;
        let lists = [
            format!("/api/v1/forums/{}/threads", sd.s.forum_id),
            format!("/api/v1/forums/{}/threads?page=1&per_page=2", sd.s.forum_id),
            "/api/v1/posts/latest".to_string(),
            "/api/v1/threads/latest".to_string(),
        ];
        async fn cost(app: &TestApp, path: &str, token: Option<&str>) -> (u64, Value) {
            let before = app.state.db.query_count();
            let r = app.get(path, token).await;
            assert_eq!(r.status, 200, "{}", r.text);
            (app.state.db.query_count() - before, r.body)
        }
        // kept once the write clock can be trusted (on PostgreSQL: once the listener is up)
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
        for path in &lists {
            loop {
                cost(&app, path, None).await;
                let (n, _) = cost(&app, path, None).await;
                if n == 0 {
                    break;
                }
                assert!(
                    std::time::Instant::now() < deadline,
                    "{path} was never kept"
                );
                tokio::time::sleep(std::time::Duration::from_millis(20)).await;
            }
        }
        // a member's answer is built for them, with their reading state
        let (n, mine) = cost(&app, &lists[0], Some(&sd.lin.token)).await;
        assert!(n > 0);
        assert!(mine["items"][0]["reading"].is_object(), "{mine}");
        let (_, guest) = cost(&app, &lists[0], None).await;
        assert_eq!(guest["items"][0]["reading"], Value::Null);
        // a write: every guest list shows it on the next read
        let (thread, _) = app
            .thread(&sd.lin, sd.s.forum_id, "Written after the lists were kept")
            .await;
        for path in &lists[..2] {
            let (n, after) = cost(&app, path, None).await;
            assert!(n > 0, "{path} served from before the write");
            assert_eq!(after["items"][0]["id"], thread, "{path}");
        }
        let (_, threads) = cost(&app, &lists[3], None).await;
        assert_eq!(threads["items"][0]["id"], thread);
        let (_, posts) = cost(&app, &lists[2], None).await;
        assert_eq!(posts["items"][0]["thread_id"], thread);
    }
);

db_test!(a_members_page_read_costs_a_fixed_number_of_queries, |app| {
    let sd = seed(&app).await;
    let path = format!("/api/v1/threads/{}/view", sd.thread);
    app.get(&path, Some(&sd.lin.token)).await;
    let before = app.state.db.query_count();
    let r = app.get(&path, Some(&sd.lin.token)).await;
    assert_eq!(r.status, 200);
    // the three of a guest's kept page read from the database, then the member's own: reading
    // and watching state, their reactions, their private notes (and their marks), and the unread
    // side block with its threads' cards (docs/BENCHMARKS.md: why the member's page is slower)
    let n = app.state.db.query_count() - before;
    assert!(n <= 18, "{n} queries for a member's kept page");
});
