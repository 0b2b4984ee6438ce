//! Search: what it finds, in what order of kinds and places, what it never shows, the query
//! language and hostile input, non-Latin text, snippet offsets, and the same documents from
//! both databases.

use std::collections::BTreeSet;

use serde_json::{json, Value};

use crate::common::{db_test, Member, Resp, TestApp};

async fn search(app: &TestApp, query: &str, token: Option<&str>) -> Resp {
    let q: String = form_urlencoded::byte_serialize(query.as_bytes()).collect();
    let r = app
        .get(&format!("/api/v1/search?q={q}&per_page=50"), token)
        .await;
    assert_eq!(r.status, 200, "{query:?}: {}", r.text);
    r
}

/// Starts a thread whose first post says nothing searched for; (thread id, first post id).
async fn thread(app: &TestApp, author: &Member, forum_id: i64, title: &str) -> (i64, i64) {
    let r = app
        .post(
            &format!("/api/v1/forums/{forum_id}/threads"),
            Some(&author.token),
            json!({"title": title, "body": "Opening post."}),
        )
        .await;
    assert_eq!(r.status, 201, "{}", r.text);
    (
        r.body["thread"]["id"].as_i64().unwrap(),
        r.body["first_post"]["id"].as_i64().unwrap(),
    )
}

/// The (kind, id) of every hit.
fn found(r: &Resp) -> BTreeSet<(String, i64)> {
    r.body["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|h| {
            (
                h["kind"].as_str().unwrap().to_string(),
                h["id"].as_i64().unwrap(),
            )
        })
        .collect()
}

fn ids(r: &Resp, kind: &str) -> BTreeSet<i64> {
    found(r)
        .into_iter()
        .filter(|(k, _)| k == kind)
        .map(|(_, id)| id)
        .collect()
}

async fn annotate(app: &TestApp, who: &Member, post: i64, body: Value) -> i64 {
    let r = app
        .post(
            &format!("/api/v1/posts/{post}/annotations"),
            Some(&who.token),
            body,
        )
        .await;
    assert_eq!(r.status, 201, "{}", r.text);
    r.body["id"].as_i64().unwrap()
}

/// The substring of `text` from code point `start` to `end`.
fn cp_slice(text: &str, start: i64, end: i64) -> String {
    text.chars()
        .skip(start as usize)
        .take((end - start) as usize)
        .collect()
}

/// The substring of `text` from UTF-16 unit `start` to `end`.
fn utf16_slice(text: &str, start: i64, end: i64) -> String {
    let units: Vec<u16> = text.encode_utf16().collect();
    String::from_utf16(&units[start as usize..end as usize]).unwrap()
}

db_test!(
    search_finds_titles_posts_and_annotations_and_says_where_they_are,
    |app| {
        let s = app.forum().await;
        let saif = app.register("saif").await;
        let lin = app.register("lin").await;
        let (t, first) = thread(&app, &saif, s.forum_id, "Strategic partnership in the east").await;
        let mut replies = Vec::new();
        for i in 0..25 {
            replies.push(
                app.reply(&lin, t, &format!("Filler reply number {i}."))
                    .await,
            );
        }
        let deep = app
            .reply(&lin, t, "The partnership deepens, says the ministry.")
            .await;
        let note = annotate(
            &app,
            &saif,
            deep,
            json!({"motivation": "commenting", "body": "A **partnership** of convenience.",
               "selector": {"exact": "ministry"}}),
        )
        .await;
        let r = search(&app, "partnership", None).await;
        assert_eq!(
            found(&r),
            BTreeSet::from([
                ("thread".to_string(), t),
                ("post".to_string(), deep),
                ("annotation".to_string(), note)
            ]),
            "{}",
            r.text
        );
        assert_eq!(r.body["total"], 3);
        assert_eq!(r.body["more"], false);
        let items = r.body["items"].as_array().unwrap();
        let hit = |kind: &str| items.iter().find(|h| h["kind"] == kind).unwrap().clone();
        // the thread's title, at its first post
        let h = hit("thread");
        assert_eq!(h["searched"], "title");
        assert_eq!(h["post_id"], first);
        assert_eq!(
            (h["position"].as_i64(), h["page"].as_i64()),
            (Some(1), Some(1))
        );
        assert_eq!(h["author"]["username"], "saif");
        // the post: its thread, position 27, on page 2 of 20
        let h = hit("post");
        assert_eq!(h["thread"]["id"], t);
        assert_eq!(h["thread"]["title"], "Strategic partnership in the east");
        assert_eq!(h["thread"]["forum_id"], s.forum_id);
        assert_eq!(
            (h["position"].as_i64(), h["page"].as_i64()),
            (Some(27), Some(2))
        );
        assert_eq!(h["per_page"], 20);
        assert_eq!(h["searched"], "body_text");
        assert_eq!(
            h["snippet"]["text"],
            "The partnership deepens, says the ministry."
        );
        assert_eq!(
            h["snippet"]["highlights"],
            json!([{"start": 4, "end": 15, "start_utf16": 4, "end_utf16": 15}])
        );
        assert_eq!(h["author"]["username"], "lin");
        assert_eq!(h["deleted"], false);
        // the annotation: its body as plain text, in its post
        let h = hit("annotation");
        assert_eq!(h["annotation_id"], note);
        assert_eq!(h["post_id"], deep);
        assert_eq!(h["searched"], "annotation_body");
        assert_eq!(h["snippet"]["text"], "A partnership of convenience.");
        // the page is counted at the thread page size asked for
        let r = app
            .get("/api/v1/search?q=deepens&thread_per_page=10", None)
            .await;
        assert_eq!(r.body["items"][0]["page"], 3, "{}", r.text);
        // the quote is searched too
        let r = search(&app, "ministry", None).await;
        let quoted = r.body["items"]
            .as_array()
            .unwrap()
            .iter()
            .find(|h| h["kind"] == "annotation")
            .cloned()
            .unwrap();
        assert_eq!(quoted["searched"], "quote");
        assert_eq!(quoted["snippet"]["text"], "ministry");
    }
);

db_test!(the_query_language_reads_phrases_exclusions_and_or, |app| {
    let s = app.forum().await;
    let m = app.register("saif").await;
    let (t, _) = thread(&app, &m, s.forum_id, "Animals").await;
    let quick = app.reply(&m, t, "The quick brown fox.").await;
    let red = app.reply(&m, t, "A quick red fox.").await;
    let dog = app.reply(&m, t, "A slow brown dog.").await;
    let posts = |r: &Resp| ids(r, "post");
    assert_eq!(
        posts(&search(&app, "fox", None).await),
        BTreeSet::from([quick, red])
    );
    assert_eq!(
        posts(&search(&app, "FOX Quick", None).await),
        BTreeSet::from([quick, red])
    );
    assert_eq!(
        posts(&search(&app, "\"brown fox\"", None).await),
        BTreeSet::from([quick])
    );
    assert_eq!(
        posts(&search(&app, "\"fox brown\"", None).await),
        BTreeSet::new()
    );
    assert_eq!(
        posts(&search(&app, "fox -red", None).await),
        BTreeSet::from([quick])
    );
    assert_eq!(
        posts(&search(&app, "fox -\"red fox\"", None).await),
        BTreeSet::from([quick])
    );
    assert_eq!(
        posts(&search(&app, "dog OR red", None).await),
        BTreeSet::from([red, dog])
    );
    assert_eq!(
        posts(&search(&app, "brown dog OR red", None).await),
        BTreeSet::from([dog])
    );
    // `or` in lower case is a word like any other
    assert_eq!(
        posts(&search(&app, "dog or red", None).await),
        BTreeSet::new()
    );
    // a query with nothing to find finds nothing, without an error
    let r = search(&app, "-fox", None).await;
    assert_eq!(
        (
            r.body["total"].as_i64(),
            r.body["items"].as_array().map(Vec::len)
        ),
        (Some(0), Some(0))
    );
    // sorting by time
    let r = app.get("/api/v1/search?q=fox&sort=newest", None).await;
    let order: Vec<i64> = r.body["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|h| h["id"].as_i64().unwrap())
        .collect();
    assert_eq!(order, [red, quick]);
});

db_test!(hostile_queries_are_read_as_words_and_never_fail, |app| {
    let s = app.forum().await;
    let m = app.register("saif").await;
    let (t, _) = thread(&app, &m, s.forum_id, "Syntax").await;
    let fox = app.reply(&m, t, "The fox jumps near the title.").await;
    let long_words = "fox ".repeat(2600); // 10,400 bytes
    let long_quotes = "\"".repeat(10_240);
    let long_mixed = "(fox* OR \"NEAR\" -) ".repeat(520);
    for q in [
        "fox*",
        "fox\"",
        "\"fox",
        "NEAR(fox jumps)",
        "title_terms:fox",
        "body_terms : fox",
        "fox AND jumps",
        "fox NOT cat",
        "^fox",
        "{fox jumps}",
        "fox & jumps | !cat <-> x:*",
        "' OR 1=1 --",
        "'); DROP TABLE posts; --",
        "\\",
        "fox\\'",
        "-",
        "--fox",
        "OR",
        "OR fox OR",
        "\u{202e}fox",
        long_words.as_str(),
        long_quotes.as_str(),
        long_mixed.as_str(),
    ] {
        let r = search(&app, q, None).await;
        let found = ids(&r, "post");
        assert!(
            found.is_empty() || found == BTreeSet::from([fox]),
            "{q:?}: {}",
            r.text
        );
    }
    // what is only syntax elsewhere is a word here
    assert_eq!(
        ids(&search(&app, "fox*", None).await, "post"),
        BTreeSet::from([fox])
    );
    assert_eq!(
        ids(&search(&app, "(fox jumps)", None).await, "post"),
        BTreeSet::from([fox])
    );
    assert_eq!(
        ids(&search(&app, &long_words, None).await, "post"),
        BTreeSet::from([fox])
    );
    // the posts are all still there
    assert_eq!(
        app.get(&format!("/api/v1/posts/{fox}"), None).await.status,
        200
    );
    // past the longest query read: a 422 naming q
    let too_long = "x".repeat(20_001);
    let r = app.get(&format!("/api/v1/search?q={too_long}"), None).await;
    r.assert_problem(422, "validation_failed");
    assert_eq!(r.error_fields(), ["q"]);
    // the other parameters are checked too
    for (query, field) in [
        ("q=fox&per_page=51", "per_page"),
        ("q=fox&page=51", "page"),
        ("q=fox&page=0", "page"),
        ("q=fox&thread_per_page=0", "thread_per_page"),
        ("q=fox&field=x", "field"),
        ("q=fox&forum_id=999999", "forum_id"),
    ] {
        let r = app.get(&format!("/api/v1/search?{query}"), None).await;
        assert!(r.status == 422 || r.status == 400, "{query}: {}", r.text);
        if r.status == 422 {
            assert_eq!(r.error_fields(), [field], "{query}: {}", r.text);
        }
    }
    for query in [
        "",
        "q=fox&type=user",
        "q=fox&since=yesterday",
        "q=fox&sort=best",
        "q=fox&nope=1",
    ] {
        let r = app.get(&format!("/api/v1/search?{query}"), None).await;
        assert!((400..500).contains(&r.status), "{query}: {}", r.text);
    }
});

db_test!(search_never_shows_what_the_caller_may_not_read, |app| {
    let s = app.forum().await;
    let saif = app.register("saif").await;
    let lin = app.register("lin").await;
    let moderator = app.register("warden").await;
    let moderator = app.promote(&moderator, gloss::users::Role::Moderator).await;
    let (t, _) = thread(&app, &saif, s.forum_id, "Open thread").await;
    let kept = app.reply(&lin, t, "walrus kept").await;
    let gone = app.reply(&lin, t, "walrus deleted").await;
    assert_eq!(
        app.delete(&format!("/api/v1/posts/{gone}"), Some(&moderator.token))
            .await
            .status,
        204
    );
    let (hidden, _) = thread(&app, &saif, s.forum_id, "Walrus thread deleted").await;
    let in_hidden = app.reply(&lin, hidden, "walrus in a deleted thread").await;
    assert_eq!(
        app.delete(&format!("/api/v1/threads/{hidden}"), Some(&moderator.token))
            .await
            .status,
        204
    );
    let private = annotate(
        &app,
        &lin,
        kept,
        json!({"motivation": "commenting", "body": "walrus private note",
        "visibility": "private", "selector": {"exact": "kept"}}),
    )
    .await;
    let public = annotate(
        &app,
        &lin,
        kept,
        json!({"motivation": "commenting", "body": "walrus public note",
        "selector": {"exact": "kept"}}),
    )
    .await;
    let on_gone = annotate(&app, &lin, kept, json!({"motivation": "commenting", "body": "walrus soon gone", "selector": {"exact": "kept"}})).await;
    assert_eq!(
        app.delete(&format!("/api/v1/annotations/{on_gone}"), Some(&lin.token))
            .await
            .status,
        204
    );

    let everyone = BTreeSet::from([
        ("post".to_string(), kept),
        ("annotation".to_string(), public),
    ]);
    // a guest and another member see what is public and live
    assert_eq!(found(&search(&app, "walrus", None).await), everyone);
    assert_eq!(
        found(&search(&app, "walrus", Some(&saif.token)).await),
        everyone
    );
    // the author also sees their private note; nobody else does, moderators included
    let mut mine = everyone.clone();
    mine.insert(("annotation".to_string(), private));
    assert_eq!(found(&search(&app, "walrus", Some(&lin.token)).await), mine);
    assert_eq!(
        found(&search(&app, "walrus", Some(&moderator.token)).await),
        everyone
    );
    // a member cannot ask for deleted content; a moderator can, and it comes marked
    let r = app
        .get(
            "/api/v1/search?q=walrus&include_deleted=true",
            Some(&saif.token),
        )
        .await;
    assert_eq!(found(&r), everyone);
    let r = app
        .get(
            "/api/v1/search?q=walrus&include_deleted=true&per_page=50",
            Some(&moderator.token),
        )
        .await;
    let mut all = everyone.clone();
    all.extend([
        ("post".to_string(), gone),
        ("thread".to_string(), hidden),
        ("post".to_string(), in_hidden),
    ]);
    assert_eq!(found(&r), all, "{}", r.text);
    for h in r.body["items"].as_array().unwrap() {
        let hit = (h["kind"].as_str().unwrap(), h["id"].as_i64().unwrap());
        let deleted = [("post", gone), ("thread", hidden), ("post", in_hidden)].contains(&hit);
        assert_eq!(h["deleted"], deleted, "{h}");
    }
    // restoring brings it back for everyone
    assert_eq!(
        app.post(
            &format!("/api/v1/posts/{gone}/restore"),
            Some(&moderator.token),
            json!({})
        )
        .await
        .status,
        200
    );
    assert!(ids(&search(&app, "walrus", None).await, "post").contains(&gone));
});

db_test!(chinese_and_russian_words_are_found, |app| {
    let s = app.forum().await;
    let m = app.register("saif").await;
    let (t, _) = thread(&app, &m, s.forum_id, "中俄战略伙伴关系").await;
    let zh = app.reply(&m, t, "我爱中国人民。习近平表示支持。").await;
    let ru = app.reply(&m, t, "Журнал «Мир» пишет о партнёрстве.").await;
    let ja = app.reply(&m, t, "東京タワーは赤いです。").await;
    let posts = |r: &Resp| ids(r, "post");
    assert_eq!(
        posts(&search(&app, "中国", None).await),
        BTreeSet::from([zh])
    );
    assert_eq!(
        posts(&search(&app, "中国人民", None).await),
        BTreeSet::from([zh])
    );
    assert_eq!(
        posts(&search(&app, "人民 支持", None).await),
        BTreeSet::from([zh])
    );
    assert_eq!(posts(&search(&app, "中", None).await), BTreeSet::from([zh]));
    assert_eq!(posts(&search(&app, "民", None).await), BTreeSet::from([zh]));
    assert_eq!(posts(&search(&app, "美国", None).await), BTreeSet::new());
    assert_eq!(
        posts(&search(&app, "журнал", None).await),
        BTreeSet::from([ru])
    );
    assert_eq!(
        posts(&search(&app, "МИР", None).await),
        BTreeSet::from([ru])
    );
    assert_eq!(
        posts(&search(&app, "партнёрстве", None).await),
        BTreeSet::from([ru])
    );
    assert_eq!(
        posts(&search(&app, "東京", None).await),
        BTreeSet::from([ja])
    );
    // the title is found by a word inside it
    assert_eq!(
        ids(&search(&app, "伙伴", None).await, "thread"),
        BTreeSet::from([t])
    );
    // and marked where it stands
    let r = search(&app, "中国", None).await;
    let h = &r.body["items"][0];
    assert_eq!(
        h["matches"],
        json!([{"start": 2, "end": 4, "start_utf16": 2, "end_utf16": 4}])
    );
});

db_test!(snippet_offsets_count_code_points_and_utf16_units, |app| {
    let s = app.forum().await;
    let m = app.register("saif").await;
    let (t, _) = thread(&app, &m, s.forum_id, "Emoji").await;
    let long_tail = " and then some more words".repeat(20);
    let body = format!("🇨🇳🦊 The fox 😀 meets another fox 👍🏽 here.{long_tail}");
    let p = app.reply(&m, t, &body).await;
    let text = app.get(&format!("/api/v1/posts/{p}"), None).await.body["body_text"]
        .as_str()
        .unwrap()
        .to_string();
    let r = search(&app, "fox", None).await;
    let h = r.body["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|h| h["id"] == p)
        .cloned()
        .unwrap();
    let matches = h["matches"].as_array().unwrap();
    assert_eq!(matches.len(), 2);
    for m in matches {
        let (s, e) = (m["start"].as_i64().unwrap(), m["end"].as_i64().unwrap());
        let (s16, e16) = (
            m["start_utf16"].as_i64().unwrap(),
            m["end_utf16"].as_i64().unwrap(),
        );
        assert_eq!(cp_slice(&text, s, e), "fox");
        assert_eq!(utf16_slice(&text, s16, e16), "fox");
    }
    // the first: after 🇨🇳 (2 code points, 4 units), 🦊 (1, 2) and " The "
    assert_eq!(
        matches[0],
        json!({"start": 8, "end": 11, "start_utf16": 11, "end_utf16": 14})
    );
    // the snippet: where it starts in body_text, and its highlights inside it, in both units
    let sn = &h["snippet"];
    let snippet = sn["text"].as_str().unwrap();
    assert_eq!(sn["start"], 0);
    assert_eq!(sn["cut_before"], false);
    assert_eq!(sn["cut_after"], true);
    assert!(snippet.chars().count() <= 200);
    assert!(text.starts_with(snippet));
    for m in sn["highlights"].as_array().unwrap() {
        assert_eq!(
            cp_slice(
                snippet,
                m["start"].as_i64().unwrap(),
                m["end"].as_i64().unwrap()
            ),
            "fox"
        );
        assert_eq!(
            utf16_slice(
                snippet,
                m["start_utf16"].as_i64().unwrap(),
                m["end_utf16"].as_i64().unwrap()
            ),
            "fox"
        );
    }
    // a match far into a long text: the snippet starts before it, and says where
    let far = format!(
        "{}{} the walrus 🦭 arrives.",
        "🦊 padding words ".repeat(60),
        "x"
    );
    let p2 = app.reply(&m, t, &far).await;
    let text2 = app.get(&format!("/api/v1/posts/{p2}"), None).await.body["body_text"]
        .as_str()
        .unwrap()
        .to_string();
    let r = search(&app, "walrus", None).await;
    let sn = &r.body["items"][0]["snippet"];
    assert_eq!(sn["cut_before"], true);
    let (start, start16) = (
        sn["start"].as_i64().unwrap(),
        sn["start_utf16"].as_i64().unwrap(),
    );
    let snippet = sn["text"].as_str().unwrap();
    assert_eq!(
        cp_slice(&text2, start, start + snippet.chars().count() as i64),
        snippet
    );
    assert_eq!(
        utf16_slice(
            &text2,
            start16,
            start16 + snippet.encode_utf16().count() as i64
        ),
        snippet
    );
    let hl = &sn["highlights"][0];
    let m0 = &r.body["items"][0]["matches"][0];
    assert_eq!(
        hl["start"].as_i64().unwrap() + start,
        m0["start"].as_i64().unwrap()
    );
    assert_eq!(
        hl["start_utf16"].as_i64().unwrap() + start16,
        m0["start_utf16"].as_i64().unwrap()
    );
});

db_test!(
    filters_narrow_by_kind_forum_author_prefix_field_and_time,
    |app| {
        let s = app.forum().await;
        let other = app.other_forum(&s, "Other").await;
        let prefix = app
            .post(
                &format!("/api/v1/forums/{}/prefixes", s.forum_id),
                Some(&s.admin.token),
                json!({"label": "News"}),
            )
            .await
            .body["id"]
            .as_i64()
            .unwrap();
        let f = app
            .post(
                &format!("/api/v1/forums/{}/fields", s.forum_id),
                Some(&s.admin.token),
                json!({"key": "casualties", "label": "Casualties", "field_type": "number"}),
            )
            .await;
        assert_eq!(f.status, 201, "{}", f.text);
        let saif = app.register("saif").await;
        let lin = app.register("lin").await;
        let r = app
            .post(
                &format!("/api/v1/forums/{}/threads", s.forum_id),
                Some(&saif.token),
                json!({"title": "Otter report", "body": "An otter was seen.", "prefix_id": prefix,
                   "fields": {"casualties": 3}}),
            )
            .await;
        assert_eq!(r.status, 201, "{}", r.text);
        let (news, news_first) = (
            r.body["thread"]["id"].as_i64().unwrap(),
            r.body["first_post"]["id"].as_i64().unwrap(),
        );
        let (plain, _) = thread(&app, &lin, s.forum_id, "Otter chat").await;
        let elsewhere = app.reply(&lin, plain, "otter elsewhere? no, here").await;
        let (far, far_first) = thread(&app, &lin, other, "Otter abroad").await;
        let _ = (far_first, elsewhere);
        let base = "/api/v1/search?q=otter&per_page=50";
        let get = |extra: String| {
            let app = &app;
            async move { found(&app.get(&format!("{base}{extra}"), None).await) }
        };
        let all = get(String::new()).await;
        assert_eq!(all.len(), 5, "{all:?}"); // 3 titles, a first post and a reply
        assert_eq!(
            get("&type=thread".into()).await,
            BTreeSet::from([
                ("thread".into(), news),
                ("thread".into(), plain),
                ("thread".into(), far)
            ])
        );
        // a category holds its forums
        assert_eq!(get(format!("&forum_id={}", s.category_id)).await, all);
        assert!(get(format!("&forum_id={other}"))
            .await
            .iter()
            .all(|(_, id)| *id == far || *id == far_first));
        assert!(get("&author=saif".into())
            .await
            .iter()
            .all(|(_, id)| *id == news || *id == news_first));
        assert_eq!(get("&author=nobody".into()).await, BTreeSet::new());
        assert_eq!(
            get(format!("&prefix_id={prefix}")).await,
            BTreeSet::from([("thread".into(), news), ("post".into(), news_first)])
        );
        let by_field = get(format!(
            "&forum_id={}&field=casualties&min=2&max=5",
            s.forum_id
        ))
        .await;
        assert_eq!(
            by_field,
            BTreeSet::from([("thread".into(), news), ("post".into(), news_first)])
        );
        assert_eq!(
            get(format!("&forum_id={}&field=casualties&min=4", s.forum_id)).await,
            BTreeSet::new()
        );
        // time: nothing before the first post, everything since a day ago
        assert_eq!(
            get("&until=2000-01-01T00:00:00Z".into()).await,
            BTreeSet::new()
        );
        let since = (chrono::Utc::now() - chrono::Duration::days(1))
            .to_rfc3339_opts(chrono::SecondsFormat::Secs, true);
        assert_eq!(get(format!("&since={since}")).await, all);
        // a thread moved is found in its new forum, and no longer in its old one
        let r = app
            .post(
                &format!("/api/v1/threads/{far}/move"),
                Some(&s.admin.token),
                json!({"forum_id": s.forum_id}),
            )
            .await;
        assert_eq!(r.status, 200, "{}", r.text);
        assert_eq!(get(format!("&forum_id={other}")).await, BTreeSet::new());
        assert!(get(format!("&forum_id={}", s.forum_id))
            .await
            .contains(&("thread".into(), far)));
        crate::counters::assert_counters_true(&app, "a thread moved").await;
        // paging: total, pages, and a last page that is short
        let r = app
            .get("/api/v1/search?q=otter&per_page=3&page=2", None)
            .await;
        assert_eq!(
            (r.body["total"].as_i64(), r.body["total_pages"].as_i64()),
            (Some(5), Some(2))
        );
        assert_eq!(r.body["items"].as_array().unwrap().len(), 2);
    }
);

db_test!(edits_renames_and_deletions_reach_the_index, |app| {
    let s = app.forum().await;
    let m = app.register("saif").await;
    let (t, _) = thread(&app, &m, s.forum_id, "Old heron title").await;
    let p = app.reply(&m, t, "A heron stands still.").await;
    let a = annotate(
        &app,
        &m,
        p,
        json!({"motivation": "commenting", "body": "heron note", "selector": {"exact": "stands"}}),
    )
    .await;
    assert_eq!(found(&search(&app, "heron", None).await).len(), 3);
    // the post says something else now
    let r = app
        .patch(
            &format!("/api/v1/posts/{p}"),
            Some(&m.token),
            json!({"body": "A crane flies off."}),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert!(!ids(&search(&app, "heron", None).await, "post").contains(&p));
    assert_eq!(
        ids(&search(&app, "crane", None).await, "post"),
        BTreeSet::from([p])
    );
    // so do the title and the note
    let r = app
        .patch(
            &format!("/api/v1/threads/{t}"),
            Some(&m.token),
            json!({"title": "New stork title"}),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(
        ids(&search(&app, "stork", None).await, "thread"),
        BTreeSet::from([t])
    );
    let r = app
        .patch(
            &format!("/api/v1/annotations/{a}"),
            Some(&m.token),
            json!({"body": "ibis note"}),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(found(&search(&app, "heron", None).await), BTreeSet::new());
    assert_eq!(
        ids(&search(&app, "ibis", None).await, "annotation"),
        BTreeSet::from([a])
    );
    // a deleted note is gone from the index
    assert_eq!(
        app.delete(&format!("/api/v1/annotations/{a}"), Some(&m.token))
            .await
            .status,
        204
    );
    assert_eq!(found(&search(&app, "ibis", None).await), BTreeSet::new());
    crate::counters::assert_counters_true(&app, "edits, a rename and a deletion").await;
});

db_test!(the_index_is_built_for_what_was_written_before_it, |app| {
    let s = app.forum().await;
    let m = app.register("saif").await;
    let (t, _) = thread(&app, &m, s.forum_id, "Before the index").await;
    let p = app.reply(&m, t, "An ancient pelican.").await;
    // as a database from before the index was: no documents, no version
    app.state
        .db
        .run(|conn| {
            use diesel::RunQueryDsl;
            diesel::sql_query("DELETE FROM search_docs").execute(conn)?;
            diesel::sql_query("DELETE FROM server_settings WHERE key = 'search_index_version'")
                .execute(conn)?;
            Ok::<_, gloss::error::ApiError>(())
        })
        .await
        .unwrap();
    assert_eq!(found(&search(&app, "pelican", None).await), BTreeSet::new());
    let built = app
        .state
        .db
        .run(|conn| Ok::<_, gloss::error::ApiError>(gloss::search::index::prepare(conn, "simple")?))
        .await
        .unwrap();
    assert!(built >= 3, "{built}");
    assert_eq!(
        ids(&search(&app, "pelican", None).await, "post"),
        BTreeSet::from([p])
    );
    // and not again
    let again = app
        .state
        .db
        .run(|conn| Ok::<_, gloss::error::ApiError>(gloss::search::index::prepare(conn, "simple")?))
        .await
        .unwrap();
    assert_eq!(again, 0);
    crate::counters::assert_counters_true(&app, "a rebuilt index").await;
});

/// The same corpus, written the same way: mixed scripts, punctuation, emoji, edits, deletions.
async fn corpus(app: &TestApp) {
    let s = app.forum().await;
    let a = app.register("saif").await;
    let b = app.register("lin").await;
    let (t1, _) = thread(app, &a, s.forum_id, "China-Russia Strategic Partners").await;
    let (t2, _) = thread(app, &b, s.forum_id, "中俄关系 and the world's e-mail").await;
    let texts = [
        "China's Xi vows greater support; Putin's answer: \"partnership\".",
        "我爱中国人民。习近平表示支持俄罗斯。",
        "Журнал «Мир»: партнёрство Китая и России 🇨🇳🇷🇺.",
        "e-mail addresses like x@y.org and URLs like https://example.org/a_b?c=d",
        "Numbers 3.14, 2,000 and 1st; don't won't can't.",
        "🦊 The fox 😀 jumps over the lazy dog 👍🏽.",
        "CAFÉ café Cafe naïve NAÏVE",
        "東京タワーは赤いです。ソウル 서울 특별시",
        "snake_case and kebab-case and CamelCase",
        "Strategic partners are strategic.",
    ];
    let mut posts = Vec::new();
    for (i, text) in texts.iter().enumerate() {
        let (who, t) = if i % 2 == 0 { (&a, t1) } else { (&b, t2) };
        posts.push(app.reply(who, t, text).await);
    }
    let r = app
        .patch(
            &format!("/api/v1/posts/{}", posts[9]),
            Some(&b.token),
            json!({"body": "Strategic partners, edited."}),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.text);
    let r = app
        .post(
            &format!("/api/v1/posts/{}/annotations", posts[0]),
            Some(&b.token),
            json!({"motivation": "commenting", "body": "Support for whom? 支持谁？", "selector": {"exact": "greater support"}}),
        )
        .await;
    assert_eq!(r.status, 201, "{}", r.text);
}

#[actix_web::test]
async fn both_databases_find_the_same_documents() {
    let Some(pg) = TestApp::postgres().await else {
        return;
    };
    let sqlite = TestApp::sqlite().await;
    corpus(&sqlite).await;
    corpus(&pg).await;
    let queries = [
        "china",
        "China's",
        "xi",
        "support",
        "\"greater support\"",
        "partnership",
        "partners",
        "strategic",
        "strategic -edited",
        "partners OR партнёрство",
        "中国",
        "人民",
        "支持",
        "俄",
        "中俄关系",
        "журнал",
        "мир",
        "партнёрство",
        "e-mail",
        "mail",
        "example.org",
        "org",
        "3.14",
        "14",
        "2,000",
        "1st",
        "don't",
        "don",
        "fox",
        "\"lazy dog\"",
        "café",
        "cafe",
        "naïve",
        "東京",
        "タワー",
        "서울",
        "snake_case",
        "snake",
        "kebab-case",
        "camelcase",
        "world's",
        "🦊",
        "\"the fox\" -cat",
        "whom",
        "谁",
    ];
    for q in queries {
        let a = found(&search(&sqlite, q, None).await);
        let b = found(&search(&pg, q, None).await);
        assert_eq!(
            a, b,
            "{q:?}: SQLite and PostgreSQL found different documents"
        );
    }
    // and the corpus is not empty of answers
    assert!(!found(&search(&sqlite, "中国", None).await).is_empty());
}
