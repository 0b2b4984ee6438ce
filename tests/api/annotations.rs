//! Analyze Post: highlight, respond, reply, cite; visibility everywhere; re-anchoring on edit; W3C.

use actix_web::test::TestRequest;
use serde_json::{json, Value};

use crate::common::{db_test, Member, TestApp};

pub(crate) const TEXT: &str =
    "[🇨🇳] Xi said the two countries should strengthen mutual support on multilateral forums. \
Beijing and Moscow should strengthen mutual support, Xi said.";

pub(crate) struct Scene {
    pub author: Member,
    pub reader: Member,
    pub other: Member,
    pub thread_id: i64,
    pub post_id: i64,
    pub admin: Member,
}

pub(crate) async fn scene(app: &TestApp) -> Scene {
    let s = app.forum().await;
    let author = app.register("saif").await;
    let reader = app.register("lin").await;
    let other = app.register("mikhail").await;
    let r = app
        .post(
            &format!("/api/v1/forums/{}/threads", s.forum_id),
            Some(&author.token),
            json!({"title": "Partners", "body": TEXT}),
        )
        .await;
    assert_eq!(r.status, 201, "{}", r.text);
    Scene {
        author,
        reader,
        other,
        thread_id: r.body["thread"]["id"].as_i64().unwrap(),
        post_id: r.body["first_post"]["id"].as_i64().unwrap(),
        admin: s.admin,
    }
}

/// Sends a W3C Web Annotation document to the post's W3C collection.
pub(crate) async fn annotate_w3c(
    app: &TestApp,
    who: &Member,
    post: i64,
    doc: &Value,
) -> crate::common::Resp {
    app.send(
        TestRequest::post()
            .uri(&format!("/api/v1/w3c/posts/{post}/annotations"))
            .insert_header(("authorization", format!("Bearer {}", who.token)))
            .insert_header((
                "content-type",
                "application/ld+json; profile=\"http://www.w3.org/ns/anno.jsonld\"",
            ))
            .set_payload(doc.to_string()),
    )
    .await
}

async fn annotate(app: &TestApp, who: &Member, post: i64, body: Value) -> crate::common::Resp {
    app.post(
        &format!("/api/v1/posts/{post}/annotations"),
        Some(&who.token),
        body,
    )
    .await
}

fn cp(s: &str) -> usize {
    s.chars().count()
}

fn u16len(s: &str) -> usize {
    s.encode_utf16().count()
}

db_test!(a_member_highlights_and_responds_to_a_passage, |app| {
    let sc = scene(&app).await;
    // quote with prefix: the first of two occurrences
    let r = annotate(&app, &sc.reader, sc.post_id, json!({"motivation": "commenting", "body": "Vague **on purpose**.",
        "tags": ["diplomacy"], "selector": {"exact": "strengthen mutual support", "prefix": "countries should "}})).await;
    assert_eq!(r.status, 201, "{}", r.text);
    let before = TEXT.split("strengthen mutual support").next().unwrap();
    let sel = &r.body["target"]["selector"];
    assert_eq!(sel["start"].as_u64().unwrap() as usize, cp(before));
    assert_eq!(sel["end"].as_u64().unwrap() as usize, cp(before) + 25);
    // the flag is 2 code points but 4 UTF-16 units: offsets differ by 2
    assert_eq!(
        sel["start_utf16"].as_u64().unwrap() as usize,
        u16len(before)
    );
    assert_eq!(sel["exact"], "strengthen mutual support");
    assert_eq!(r.body["target"]["anchor_state"], "anchored");
    assert_eq!(r.body["target"]["created_revision"], 1);
    assert_eq!(
        r.body["body_html"],
        "<p>Vague <strong>on purpose</strong>.</p>\n"
    );
    assert_eq!(r.body["tags"], json!(["diplomacy"]));
    assert!(r
        .header("location")
        .unwrap()
        .starts_with("/api/v1/annotations/"));
    // a highlight needs no body; a position alone is enough
    let start = cp(before) + 25 + 4;
    let r = annotate(
        &app,
        &sc.other,
        sc.post_id,
        json!({"motivation": "highlighting", "selector": {"start": start, "end": start + 12}}),
    )
    .await;
    assert_eq!(r.status, 201, "{}", r.text);
    assert_eq!(r.body["target"]["selector"]["exact"], "multilateral");
    assert_eq!(r.body["body"], Value::Null);
    // UTF-16 offsets are accepted as well, and the emoji round-trips
    let r = annotate(
        &app,
        &sc.other,
        sc.post_id,
        json!({"motivation": "highlighting", "selector": {"start_utf16": 1, "end_utf16": 5}}),
    )
    .await;
    assert_eq!(r.status, 201, "{}", r.text);
    assert_eq!(r.body["target"]["selector"]["exact"], "🇨🇳");
    assert_eq!(r.body["target"]["selector"]["start"], 1);
    assert_eq!(r.body["target"]["selector"]["end"], 3);
});

db_test!(bad_selectors_are_refused_naming_the_field, |app| {
    let sc = scene(&app).await;
    let n = cp(TEXT);
    let cases = [
        (
            json!({"exact": "strengthen mutual support"}),
            "selector.prefix",
        ),
        (json!({"exact": "not in the post"}), "selector.exact"),
        (
            json!({"exact": "Xi", "start": 6, "end": 9}),
            "selector.exact",
        ),
        (json!({"start": 10, "end": 5}), "selector.start"),
        (json!({"start": 5, "end": 5}), "selector.end"),
        (json!({"start": 0, "end": n + 1}), "selector.end"),
        (json!({"exact": ""}), "selector.exact"),
        (json!({}), "selector.exact"),
        (
            json!({"start_utf16": 2, "end_utf16": 5}),
            "selector.start_utf16",
        ),
        (json!({"start": 3}), "selector.end"),
    ];
    for (selector, field) in cases {
        let r = annotate(
            &app,
            &sc.reader,
            sc.post_id,
            json!({"motivation": "highlighting", "selector": selector}),
        )
        .await;
        r.assert_problem(422, "validation_failed");
        assert_eq!(
            r.error_fields(),
            vec![field.to_string()],
            "{selector}: {}",
            r.text
        );
    }
    let r = annotate(
        &app,
        &sc.reader,
        sc.post_id,
        json!({"motivation": "commenting", "selector": {"exact": "Beijing"}}),
    )
    .await;
    assert_eq!(r.error_fields(), vec!["body"]);
    let r = annotate(
        &app,
        &sc.reader,
        sc.post_id,
        json!({"motivation": "musing", "selector": {"exact": "Beijing"}}),
    )
    .await;
    assert_eq!(r.error_fields(), vec!["motivation"]);
    // nothing was stored
    let list = app
        .get(
            &format!("/api/v1/posts/{}/annotations", sc.post_id),
            Some(&sc.reader.token),
        )
        .await;
    assert_eq!(list.body["total"], 0);
});

db_test!(private_annotations_never_leak, |app| {
    let sc = scene(&app).await;
    let private = annotate(
        &app,
        &sc.reader,
        sc.post_id,
        json!({"motivation": "commenting", "body": "my secret note", "visibility": "private",
        "selector": {"exact": "Beijing"}}),
    )
    .await;
    assert_eq!(private.status, 201, "{}", private.text);
    let pid = private.body["id"].as_i64().unwrap();
    annotate(
        &app,
        &sc.other,
        sc.post_id,
        json!({"motivation": "highlighting", "selector": {"exact": "Moscow"}}),
    )
    .await;
    let posts = format!("/api/v1/threads/{}/posts", sc.thread_id);
    let lists = [
        format!("/api/v1/posts/{}/annotations", sc.post_id),
        format!("/api/v1/threads/{}/annotations", sc.thread_id),
    ];
    for viewer in [
        None,
        Some(sc.other.token.as_str()),
        Some(sc.admin.token.as_str()),
    ] {
        for l in &lists {
            let r = app.get(l, viewer).await;
            assert_eq!(r.body["total"], 1, "{l}: {}", r.text);
            assert!(!r.text.contains("my secret note"));
        }
        let page = app.get(&posts, viewer).await;
        assert_eq!(page.body["items"][0]["annotation_count"], 1);
        assert_eq!(
            page.body["items"][0]["highlights"]
                .as_array()
                .unwrap()
                .len(),
            1
        );
        app.get(&format!("/api/v1/annotations/{pid}"), viewer)
            .await
            .assert_problem(404, "not_found");
        let r = app.get("/api/v1/users/lin/annotations", viewer).await;
        assert_eq!(r.body["items"], json!([]));
        let ld = app
            .get(
                &format!(
                    "{}/pages/1",
                    lists[0].replace("/api/v1/posts/", "/api/v1/w3c/posts/")
                ),
                viewer,
            )
            .await;
        assert_eq!(ld.status, 200, "{}", ld.text);
        assert!(!ld.text.contains("my secret note"));
    }
    // others cannot reply to it or cite it
    app.post(
        &format!("/api/v1/annotations/{pid}/replies"),
        Some(&sc.other.token),
        json!({"body": "peek"}),
    )
    .await
    .assert_problem(404, "not_found");
    let r = app
        .post(
            &format!("/api/v1/threads/{}/posts", sc.thread_id),
            Some(&sc.other.token),
            json!({"body": "x", "citations": [{"annotation_id": pid}]}),
        )
        .await;
    assert_eq!(r.error_fields(), vec!["citations[0].annotation_id"]);
    // its author sees it everywhere
    let r = app.get(&lists[0], Some(&sc.reader.token)).await;
    assert_eq!(r.body["total"], 2);
    let page = app.get(&posts, Some(&sc.reader.token)).await;
    assert_eq!(page.body["items"][0]["annotation_count"], 2);
    assert_eq!(
        app.get(
            &format!("/api/v1/annotations/{pid}"),
            Some(&sc.reader.token)
        )
        .await
        .status,
        200
    );
    assert_eq!(
        app.get("/api/v1/users/lin/annotations", Some(&sc.reader.token))
            .await
            .body["items"]
            .as_array()
            .unwrap()
            .len(),
        1
    );
});

db_test!(replies_form_a_discussion_under_an_annotation, |app| {
    let sc = scene(&app).await;
    let a = annotate(&app, &sc.reader, sc.post_id, json!({"motivation": "questioning", "body": "Which forums?", "selector": {"exact": "multilateral forums"}})).await;
    let id = a.body["id"].as_i64().unwrap();
    let r = app
        .post(
            &format!("/api/v1/annotations/{id}/replies"),
            Some(&sc.author.token),
            json!({"body": "The SCO, mainly."}),
        )
        .await;
    assert_eq!(r.status, 201, "{}", r.text);
    assert_eq!(r.body["parent_id"], id);
    assert_eq!(r.body["target"], Value::Null);
    assert_eq!(r.body["motivation"], "replying");
    // a reply to the reply joins the same discussion
    let rid = r.body["id"].as_i64().unwrap();
    let r = app
        .post(
            &format!("/api/v1/annotations/{rid}/replies"),
            Some(&sc.other.token),
            json!({"body": "And BRICS."}),
        )
        .await;
    assert_eq!(r.body["parent_id"], id);
    let list = app
        .get(&format!("/api/v1/annotations/{id}/replies"), None)
        .await;
    let bodies: Vec<&str> = list.body["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["body"].as_str().unwrap())
        .collect();
    assert_eq!(bodies, vec!["The SCO, mainly.", "And BRICS."]);
    assert_eq!(
        app.get(&format!("/api/v1/annotations/{id}"), None)
            .await
            .body["reply_count"],
        2
    );
    // replies do not count as annotations of the post
    assert_eq!(
        app.get(&format!("/api/v1/posts/{}/annotations", sc.post_id), None)
            .await
            .body["total"],
        1
    );
});

db_test!(
    only_the_author_edits_and_the_author_or_a_moderator_deletes,
    |app| {
        let sc = scene(&app).await;
        let a = annotate(
            &app,
            &sc.reader,
            sc.post_id,
            json!({"motivation": "commenting", "body": "first", "selector": {"exact": "Beijing"}}),
        )
        .await;
        let path = format!("/api/v1/annotations/{}", a.body["id"]);
        app.patch(&path, Some(&sc.other.token), json!({"body": "vandal"}))
            .await
            .assert_problem(403, "forbidden");
        app.delete(&path, Some(&sc.other.token))
            .await
            .assert_problem(403, "forbidden");
        let r = app
            .patch(
                &path,
                Some(&sc.reader.token),
                json!({"body": "second thoughts", "tags": ["x"]}),
            )
            .await;
        assert_eq!(r.status, 200, "{}", r.text);
        assert_eq!(r.body["body"], "second thoughts");
        app.patch(
            &path,
            Some(&sc.reader.token),
            json!({"selector": {"exact": "Moscow"}}),
        )
        .await
        .assert_problem(422, "validation_failed");
        assert_eq!(app.delete(&path, Some(&sc.admin.token)).await.status, 204);
        app.get(&path, None).await.assert_problem(404, "not_found");
        // a guest cannot annotate
        app.post(
            &format!("/api/v1/posts/{}/annotations", sc.post_id),
            None,
            json!({"motivation": "highlighting", "selector": {"exact": "Beijing"}}),
        )
        .await
        .assert_problem(401, "unauthorized");
    }
);

db_test!(
    a_thread_page_carries_counts_and_a_heat_map_without_extra_queries,
    |app| {
        let sc = scene(&app).await;
        for _ in 0..3 {
            app.reply(&sc.reader, sc.thread_id, "more").await;
        }
        let page = format!("/api/v1/threads/{}/posts", sc.thread_id);
        let before = app.state.db.query_count();
        app.get(&page, None).await;
        let bare = app.state.db.query_count() - before;
        let start = cp("[🇨🇳] Xi said the two countries should ");
        for (who, s, e) in [
            (&sc.reader, start, start + 25),
            (&sc.other, start + 11, start + 25),
            (&sc.author, start + 11, start + 18),
        ] {
            let r = annotate(
                &app,
                who,
                sc.post_id,
                json!({"motivation": "highlighting", "selector": {"start": s, "end": e}}),
            )
            .await;
            assert_eq!(r.status, 201, "{}", r.text);
        }
        let before = app.state.db.query_count();
        let r = app.get(&page, None).await;
        assert_eq!(
            app.state.db.query_count() - before,
            bare,
            "annotations must not add queries per post"
        );
        let first = &r.body["items"][0];
        assert_eq!(first["annotation_count"], 3);
        let heat: Vec<(u64, u64, u64)> = first["highlights"]
            .as_array()
            .unwrap()
            .iter()
            .map(|h| {
                (
                    h["start"].as_u64().unwrap(),
                    h["end"].as_u64().unwrap(),
                    h["count"].as_u64().unwrap(),
                )
            })
            .collect();
        let s = start as u64;
        assert_eq!(
            heat,
            vec![(s, s + 11, 1), (s + 11, s + 18, 3), (s + 18, s + 25, 2)]
        );
        // UTF-16 offsets account for the flag (2 extra units before the passage)
        assert_eq!(
            first["highlights"][0]["start_utf16"].as_u64().unwrap(),
            s + 2
        );
        assert_eq!(r.body["items"][1]["annotation_count"], 0);
    }
);

db_test!(a_reply_cites_a_passage_and_the_source_shows_it, |app| {
    let sc = scene(&app).await;
    let r = app
        .post(
            &format!("/api/v1/threads/{}/posts", sc.thread_id),
            Some(&sc.reader.token),
            json!({"body": "This is the **key** line.", "citations": [{"post_id": sc.post_id, "selector": {"exact": "multilateral forums"}}]}),
        )
        .await;
    assert_eq!(r.status, 201, "{}", r.text);
    let html = r.body["body_html"].as_str().unwrap();
    assert!(
        html.contains("<blockquote class=\"gloss-citation\""),
        "{html}"
    );
    assert!(html.contains("multilateral forums"), "{html}");
    assert!(
        html.contains(&format!("href=\"/api/v1/posts/{}\"", sc.post_id)),
        "{html}"
    );
    assert!(html.contains(">saif<"), "the cited author is named: {html}");
    assert_eq!(r.body["body_text"], "This is the key line.");
    let page = app
        .get(&format!("/api/v1/threads/{}/posts", sc.thread_id), None)
        .await;
    assert_eq!(page.body["items"][0]["cited_by_count"], 1);
    let c = app
        .get(&format!("/api/v1/posts/{}/citations", sc.post_id), None)
        .await;
    assert_eq!(c.body["total"], 1);
    assert_eq!(c.body["items"][0]["citing_author"]["username"], "lin");
    assert_eq!(c.body["items"][0]["quoted_text"], "multilateral forums");
    assert_eq!(c.body["items"][0]["source_changed"], false);
    // a quote that is not in the source is refused, naming the citation
    let r = app
        .post(
            &format!("/api/v1/threads/{}/posts", sc.thread_id),
            Some(&sc.reader.token),
            json!({"body": "fake", "citations": [{"post_id": sc.post_id, "selector": {"exact": "Xi said nothing"}}]}),
        )
        .await;
    r.assert_problem(422, "validation_failed");
    assert_eq!(r.error_fields(), vec!["citations[0].selector.exact"]);
    let r = app
        .post(
            &format!("/api/v1/threads/{}/posts", sc.thread_id),
            Some(&sc.reader.token),
            json!({"body": "x", "citations": [{"post_id": 99999, "selector": {"exact": "x"}}]}),
        )
        .await;
    assert_eq!(r.error_fields(), vec!["citations[0].post_id"]);
});

db_test!(a_citation_keeps_its_text_when_the_source_changes, |app| {
    let sc = scene(&app).await;
    let a = annotate(
        &app,
        &sc.other,
        sc.post_id,
        json!({"motivation": "highlighting", "selector": {"exact": "Beijing and Moscow"}}),
    )
    .await;
    let r = app
        .post(
            &format!("/api/v1/threads/{}/posts", sc.thread_id),
            Some(&sc.reader.token),
            json!({"body": "via an annotation", "citations": [{"annotation_id": a.body["id"]}]}),
        )
        .await;
    assert_eq!(r.status, 201, "{}", r.text);
    let citing = r.body["id"].as_i64().unwrap();
    // the source is rewritten: the passage is gone
    let r = app
        .patch(
            &format!("/api/v1/posts/{}", sc.post_id),
            Some(&sc.author.token),
            json!({"body": "Completely different words now."}),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.text);
    let c = app
        .get(&format!("/api/v1/posts/{}/citations", sc.post_id), None)
        .await;
    let item = &c.body["items"][0];
    assert_eq!(item["quoted_text"], "Beijing and Moscow");
    assert_eq!(item["source_changed"], true);
    assert_eq!(item["anchor_state"], "orphaned");
    assert_eq!(item["selector"]["start"], Value::Null);
    assert_eq!(item["annotation_id"], a.body["id"]);
    // the citing post still shows its quote, also after its own edit
    let r = app
        .patch(
            &format!("/api/v1/posts/{citing}"),
            Some(&sc.reader.token),
            json!({"body": "edited, still quoting"}),
        )
        .await;
    assert!(
        r.body["body_html"]
            .as_str()
            .unwrap()
            .contains("Beijing and Moscow"),
        "{}",
        r.text
    );
});

db_test!(
    an_edit_re_anchors_every_annotation_in_the_same_transaction,
    |app| {
        let sc = scene(&app).await;
        let mk = |exact: &str| json!({"motivation": "highlighting", "selector": {"exact": exact}});
        let stays = annotate(&app, &sc.reader, sc.post_id, mk("[🇨🇳] Xi said"))
            .await
            .body["id"]
            .as_i64()
            .unwrap();
        let moves = annotate(&app, &sc.reader, sc.post_id, mk("Beijing and Moscow"))
            .await
            .body["id"]
            .as_i64()
            .unwrap();
        let dies = annotate(&app, &sc.reader, sc.post_id, mk("on multilateral forums"))
            .await
            .body["id"]
            .as_i64()
            .unwrap();
        let edited = TEXT
            .replace(" on multilateral forums", "")
            .replace("Beijing and Moscow", "Today, Beijing and Moscow");
        let r = app
            .patch(
                &format!("/api/v1/posts/{}", sc.post_id),
                Some(&sc.author.token),
                json!({"body": edited}),
            )
            .await;
        assert_eq!(r.status, 200, "{}", r.text);
        let s = app
            .get(&format!("/api/v1/annotations/{stays}"), None)
            .await
            .body;
        assert_eq!(s["target"]["anchor_state"], "anchored");
        assert_eq!(s["target"]["anchored_revision"], 2);
        assert_eq!(s["target"]["created_revision"], 1);
        let m = app
            .get(&format!("/api/v1/annotations/{moves}"), None)
            .await
            .body;
        assert_eq!(m["target"]["anchor_state"], "moved");
        let start = m["target"]["selector"]["start"].as_u64().unwrap() as usize;
        let text: Vec<char> = edited.chars().collect();
        assert_eq!(
            text[start..start + 18].iter().collect::<String>(),
            "Beijing and Moscow"
        );
        let d = app
            .get(&format!("/api/v1/annotations/{dies}"), None)
            .await
            .body;
        assert_eq!(d["target"]["anchor_state"], "orphaned");
        assert_eq!(d["target"]["selector"]["start"], Value::Null);
        assert_eq!(d["target"]["selector"]["exact"], "on multilateral forums");
        let orphans = app
            .get(
                &format!(
                    "/api/v1/posts/{}/annotations?anchor_state=orphaned",
                    sc.post_id
                ),
                None,
            )
            .await;
        assert_eq!(orphans.body["total"], 1);
        // an orphan is shown apart: not in the heat map
        let page = app
            .get(&format!("/api/v1/threads/{}/posts", sc.thread_id), None)
            .await;
        assert_eq!(page.body["items"][0]["annotation_count"], 3);
        assert_eq!(
            page.body["items"][0]["highlights"]
                .as_array()
                .unwrap()
                .len(),
            2
        );
    }
);

db_test!(annotations_speak_w3c_json_ld, |app| {
    let sc = scene(&app).await;
    let doc = json!({
        "@context": "http://www.w3.org/ns/anno.jsonld",
        "type": "Annotation",
        "motivation": "commenting",
        "body": [{"type": "TextualBody", "value": "Interesting phrasing."}, {"type": "TextualBody", "value": "sco", "purpose": "tagging"}],
        "target": {"source": format!("https://forum.example/api/v1/posts/{}", sc.post_id), "selector": [
            {"type": "TextQuoteSelector", "exact": "strengthen mutual support", "prefix": "Moscow should "},
            {"type": "FragmentSelector", "value": "par=2"}
        ]}
    });
    let created = annotate_w3c(&app, &sc.reader, sc.post_id, &doc).await;
    assert_eq!(created.status, 201, "{}", created.text);
    assert!(created
        .header("content-type")
        .unwrap()
        .starts_with("application/ld+json"));
    let location = created.header("location").unwrap().to_string();
    let id: i64 = location.rsplit('/').next().unwrap().parse().unwrap();
    assert_eq!(location, format!("/api/v1/w3c/annotations/{id}"));
    assert!(created.body["id"].as_str().unwrap().ends_with(&location));
    // the plain form of the same annotation
    let r = app.get(&format!("/api/v1/annotations/{id}"), None).await;
    assert_eq!(r.body["body"], "Interesting phrasing.");
    assert_eq!(r.body["tags"], json!(["sco"]));
    let second = TEXT.rfind("strengthen mutual support").unwrap();
    assert_eq!(
        r.body["target"]["selector"]["start"].as_u64().unwrap() as usize,
        cp(&TEXT[..second])
    );
    let ld = app.get(&location, None).await;
    assert_eq!(ld.status, 200);
    assert!(ld
        .header("content-type")
        .unwrap()
        .starts_with("application/ld+json"));
    assert_eq!(ld.body["@context"], "http://www.w3.org/ns/anno.jsonld");
    assert_eq!(ld.body["type"], "Annotation");
    assert!(ld.body["id"]
        .as_str()
        .unwrap()
        .ends_with(&format!("/api/v1/w3c/annotations/{id}")));
    assert!(ld.body["target"]["source"]
        .as_str()
        .unwrap()
        .ends_with(&format!("/api/v1/posts/{}", sc.post_id)));
    let selectors = ld.body["target"]["selector"].as_array().unwrap();
    assert_eq!(selectors[0]["type"], "TextQuoteSelector");
    assert_eq!(selectors[0]["exact"], "strengthen mutual support");
    assert_eq!(selectors[1]["type"], "TextPositionSelector");
    assert_eq!(selectors[2]["type"], "FragmentSelector");
    let page = app
        .get(
            &format!("/api/v1/w3c/posts/{}/annotations/pages/1", sc.post_id),
            None,
        )
        .await;
    assert_eq!(page.body["type"], "AnnotationPage");
    assert_eq!(page.body["items"][0]["id"], ld.body["id"]);
    assert!(page.body["partOf"]
        .as_str()
        .unwrap()
        .ends_with(&format!("/api/v1/w3c/posts/{}/annotations", sc.post_id)));
    assert_eq!(page.body["startIndex"], 0);
    assert!(page.body.get("next").is_none() && page.body.get("prev").is_none());
    // pages link to each other
    for doc in [doc.clone(), doc.clone()] {
        let mut d = doc;
        d["target"]["selector"] = json!([{"type": "TextQuoteSelector", "exact": "Beijing"}]);
        assert_eq!(
            annotate_w3c(&app, &sc.reader, sc.post_id, &d).await.status,
            201
        );
    }
    let second = app
        .get(
            &format!(
                "/api/v1/w3c/posts/{}/annotations/pages/2?per_page=1",
                sc.post_id
            ),
            None,
        )
        .await;
    assert_eq!(second.body["startIndex"], 1);
    assert!(second.body["next"]
        .as_str()
        .unwrap()
        .ends_with("/annotations/pages/3?per_page=1"));
    assert!(second.body["prev"]
        .as_str()
        .unwrap()
        .ends_with("/annotations/pages/1?per_page=1"));
    // the plain operations answer plain JSON only, whatever the Accept header asks
    let plain = app
        .send(
            TestRequest::get()
                .uri(&format!("/api/v1/annotations/{id}"))
                .insert_header(("accept", "application/ld+json")),
        )
        .await;
    assert_eq!(plain.header("content-type"), Some("application/json"));
    assert_eq!(plain.body["id"], id);
    // and take Gloss's form only: a W3C document there names its first unknown field
    let r = annotate(&app, &sc.reader, sc.post_id, doc.clone()).await;
    r.assert_problem(422, "validation_failed");
    // a W3C target naming another post is refused
    let mut wrong = doc.clone();
    wrong["target"]["source"] = json!("https://forum.example/api/v1/posts/999999");
    let r = annotate_w3c(&app, &sc.reader, sc.post_id, &wrong).await;
    assert_eq!(r.error_fields(), vec!["target.source"]);
});

db_test!(a_w3c_document_keeps_to_the_documented_lengths, |app| {
    let sc = scene(&app).await;
    let list = format!("/api/v1/posts/{}/annotations", sc.post_id);
    let before = app.get(&list, None).await.body["items"].clone();
    let long = "x".repeat(65);
    let doc = json!({
        "@context": "y".repeat(201),
        "type": "Annotation",
        "motivation": ["commenting", long],
        "body": [{"type": long, "value": "Fine.", "format": long, "purpose": "commenting"}],
        "target": {"source": format!("https://forum.example/{}/posts/{}", "z".repeat(2000), sc.post_id),
            "selector": [{"type": "TextQuoteSelector", "exact": "Beijing"}]}
    });
    let r = annotate_w3c(&app, &sc.reader, sc.post_id, &doc).await;
    assert_eq!(r.status, 422, "{}", r.text);
    let mut fields = r.error_fields();
    fields.sort();
    assert_eq!(
        fields,
        vec![
            "@context",
            "body[0].format",
            "body[0].type",
            "motivation",
            "target.source"
        ]
    );
    assert_eq!(app.get(&list, None).await.body["items"], before);
});

db_test!(a_locked_thread_takes_no_annotations_from_members, |app| {
    let sc = scene(&app).await;
    app.put(
        &format!("/api/v1/threads/{}/lock", sc.thread_id),
        Some(&sc.admin.token),
    )
    .await;
    annotate(
        &app,
        &sc.reader,
        sc.post_id,
        json!({"motivation": "highlighting", "selector": {"exact": "Beijing"}}),
    )
    .await
    .assert_problem(403, "thread_locked");
});

db_test!(a_new_thread_can_cite_a_post_of_another_thread, |app| {
    let sc = scene(&app).await;
    let forum_id = app
        .get(&format!("/api/v1/threads/{}", sc.thread_id), None)
        .await
        .body["forum_id"]
        .as_i64()
        .unwrap();
    let r = app
        .post(
            &format!("/api/v1/forums/{forum_id}/threads"),
            Some(&sc.other.token),
            json!({"title": "Follow-up", "body": "Picking this up.", "citations": [{"post_id": sc.post_id, "selector": {"exact": "Beijing and Moscow"}}]}),
        )
        .await;
    assert_eq!(r.status, 201, "{}", r.text);
    assert!(r.body["first_post"]["body_html"]
        .as_str()
        .unwrap()
        .contains("Beijing and Moscow"));
    assert_eq!(r.body["first_post"]["body_text"], "Picking this up.");
    let c = app
        .get(&format!("/api/v1/posts/{}/citations", sc.post_id), None)
        .await;
    assert_eq!(
        c.body["items"][0]["citing_post_id"],
        r.body["first_post"]["id"]
    );
    // a deleted citing thread no longer counts
    let t = r.body["thread"]["id"].as_i64().unwrap();
    assert_eq!(
        app.delete(&format!("/api/v1/threads/{t}"), Some(&sc.admin.token))
            .await
            .status,
        204
    );
    assert_eq!(
        app.get(&format!("/api/v1/posts/{}/citations", sc.post_id), None)
            .await
            .body["total"],
        0
    );
});

db_test!(a_w3c_document_speaks_the_w3c_vocabulary, |app| {
    let sc = scene(&app).await;
    // all thirteen motivations, `oa:`-prefixed or not
    for motivation in ["editing", "oa:identifying", "moderating"] {
        let doc = json!({"@context": "http://www.w3.org/ns/anno.jsonld", "type": "Annotation",
            "motivation": motivation, "bodyValue": "A note.",
            "target": {"selector": {"type": "TextQuoteSelector", "exact": "Beijing"}}});
        let r = annotate_w3c(&app, &sc.reader, sc.post_id, &doc).await;
        assert_eq!(r.status, 201, "{motivation}: {}", r.text);
        assert_eq!(r.body["motivation"], motivation.trim_start_matches("oa:"));
    }
    // a value of the wrong shape is named without serde's internals
    let doc = json!({"type": "Annotation", "motivation": "commenting", "bodyValue": "x",
        "target": {"selector": 7}});
    let r = annotate_w3c(&app, &sc.reader, sc.post_id, &doc).await;
    r.assert_problem(422, "validation_failed");
    assert!(
        !r.text.contains("untagged") && !r.text.contains("OneOrMany"),
        "{}",
        r.text
    );
});
