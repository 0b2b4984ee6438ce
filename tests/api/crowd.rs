//! Many members at once: every write path with at least 16 requests in flight from several
//! members, on both databases. These tests assert correctness (no 5xx, every acknowledged write
//! present, every counter exact), not speed; they print the throughput they saw.

use std::time::Instant;

use actix_web::http::Method;
use futures_util::stream::{self, StreamExt};
use serde_json::{json, Value};

use crate::common::{db_test, test_config, Member, Resp, TestApp, TestDb};
use crate::counters::assert_counters_true;

/// Requests in flight at once.
const IN_FLIGHT: usize = 16;

/// The app with a pool as large as the crowd, so the database itself sees the contention.
async fn crowd_app(db: TestDb) -> TestApp {
    TestApp::start(db, |url| {
        let mut c = test_config(url);
        c.db_pool_size = IN_FLIGHT as u32;
        c
    })
    .await
}

/// One request of the crowd.
#[derive(Clone)]
struct Op {
    method: Method,
    path: String,
    token: Option<String>,
    body: Option<Value>,
}

impl Op {
    fn new(method: Method, path: String, token: &str, body: Option<Value>) -> Op {
        Op {
            method,
            path,
            token: Some(token.to_string()),
            body,
        }
    }
}

/// Sends every op with `IN_FLIGHT` in flight; asserts that none answered 5xx; returns the
/// answers in the order of `ops`.
async fn flood(app: &TestApp, what: &str, ops: Vec<Op>) -> Vec<Resp> {
    let n = ops.len();
    let started = Instant::now();
    let mut answers: Vec<(usize, Resp)> = stream::iter(ops.into_iter().enumerate())
        .map(|(i, op)| async move {
            let r = app
                .call(op.method, &op.path, op.token.as_deref(), op.body)
                .await;
            (i, r)
        })
        .buffer_unordered(IN_FLIGHT)
        .collect()
        .await;
    let secs = started.elapsed().as_secs_f64();
    eprintln!(
        "crowd: {what}: {n} requests, {IN_FLIGHT} in flight, {:.0} requests/s",
        n as f64 / secs
    );
    answers.sort_by_key(|(i, _)| *i);
    let answers: Vec<Resp> = answers.into_iter().map(|(_, r)| r).collect();
    for r in &answers {
        assert!(
            r.status < 500,
            "{what}: a server error under load: {}",
            r.text
        );
    }
    answers
}

async fn members(app: &TestApp, n: usize) -> Vec<Member> {
    let mut out = Vec::new();
    for i in 0..n {
        out.push(app.register(&format!("member{i}")).await);
    }
    out
}

/// A thread of four posts to annotate: its id and its posts' ids (the first says "first post",
/// the others "worth analyzing").
async fn thread_to_analyze(app: &TestApp, author: &Member, forum_id: i64) -> (i64, Vec<i64>) {
    let (t, first) = app.thread(author, forum_id, "Analyze this").await;
    let mut posts = vec![first];
    for i in 0..3 {
        posts.push(
            app.reply(author, t, &format!("Passage {i} worth analyzing."))
                .await,
        );
    }
    (t, posts)
}

fn count_201(answers: &[Resp]) -> usize {
    answers.iter().filter(|r| r.status == 201).count()
}

db_test!(
    replies_from_many_members_keep_positions_and_counters,
    |app| {
        let app = crowd_app(app.db).await;
        let s = app.forum().await;
        let crowd = members(&app, 8).await;
        let (busy, _) = app
            .thread(&crowd[0], s.forum_id, "Everyone replies here")
            .await;
        let mut others = Vec::new();
        for i in 0..3 {
            others.push(
                app.thread(&crowd[i + 1], s.forum_id, &format!("Side {i}"))
                    .await
                    .0,
            );
        }
        // 160 replies to one thread and 80 spread over three, from 8 members, interleaved
        let mut ops = Vec::new();
        for i in 0..240 {
            let m = &crowd[i % crowd.len()];
            let t = if i % 3 == 2 {
                others[i % others.len()]
            } else {
                busy
            };
            ops.push(Op::new(
                Method::POST,
                format!("/api/v1/threads/{t}/posts"),
                &m.token,
                Some(json!({"body": format!("Reply {i} from @{}.", m.username)})),
            ));
        }
        let answers = flood(&app, "replies", ops).await;
        assert_eq!(count_201(&answers), 240, "every reply is acknowledged");

        let thread = app.get(&format!("/api/v1/threads/{busy}"), None).await;
        assert_eq!(thread.body["reply_count"], 160, "{}", thread.text);
        // every acknowledged reply is in the thread, at a distinct position 2..=161
        let mut positions = Vec::new();
        for page in 1..=2 {
            let p = app
                .get(
                    &format!("/api/v1/threads/{busy}/posts?page={page}&per_page=100"),
                    None,
                )
                .await;
            for post in p.body["items"].as_array().unwrap() {
                positions.push(post["position"].as_i64().unwrap());
            }
        }
        positions.sort();
        assert_eq!(positions, (1..=161).collect::<Vec<_>>());
        let acknowledged: Vec<i64> = answers
            .iter()
            .map(|r| r.body["id"].as_i64().unwrap())
            .collect();
        for id in acknowledged {
            let p = app.get(&format!("/api/v1/posts/{id}"), None).await;
            assert_eq!(p.status, 200, "acknowledged post {id} is missing");
        }
        assert_counters_true(&app, "240 concurrent replies").await;
    }
);

db_test!(
    annotations_and_reactions_from_many_members_count_exactly,
    |app| {
        let app = crowd_app(app.db).await;
        let s = app.forum().await;
        let crowd = members(&app, 8).await;
        let author = &crowd[0];
        let (_, targets) = thread_to_analyze(&app, author, s.forum_id).await;
        let readers = &crowd[1..];
        let mut ops = Vec::new();
        // 112 annotations: every reader responds 4 times to each of the 4 posts (minus none)
        for (i, m) in readers.iter().enumerate() {
            for (j, post) in targets.iter().enumerate() {
                for k in 0..4 {
                    let exact = if j == 0 {
                        "first post"
                    } else {
                        "worth analyzing"
                    };
                    ops.push(Op::new(
                        Method::POST,
                        format!("/api/v1/posts/{post}/annotations"),
                        &m.token,
                        Some(
                            json!({"motivation": "commenting", "body": format!("Note {i}.{k}"),
                                "selector": {"exact": exact}}),
                        ),
                    ));
                }
                // and a like, sent twice (PUT is idempotent: one reaction)
                for _ in 0..2 {
                    ops.push(Op::new(
                        Method::PUT,
                        format!("/api/v1/posts/{post}/reactions/like"),
                        &m.token,
                        None,
                    ));
                }
            }
        }
        // interleave kinds so annotations and reactions race each other
        let mut mixed = Vec::new();
        let (a, r): (Vec<_>, Vec<_>) = ops.into_iter().partition(|o| o.method == Method::POST);
        let mut r = r.into_iter();
        for op in a {
            mixed.push(op);
            if let Some(x) = r.next() {
                mixed.push(x);
            }
        }
        mixed.extend(r);
        let answers = flood(&app, "annotations and reactions", mixed).await;
        for r in &answers {
            assert!(matches!(r.status, 200 | 201 | 204), "{}", r.text);
        }
        for post in &targets {
            let list = app
                .get(
                    &format!("/api/v1/posts/{post}/annotations?per_page=100"),
                    None,
                )
                .await;
            assert_eq!(
                list.body["total"], 28,
                "annotations on {post}: {}",
                list.text
            );
            let p = app.get(&format!("/api/v1/posts/{post}"), None).await;
            let likes = p.body["reactions"]
                .as_array()
                .unwrap()
                .iter()
                .find(|k| k["kind"] == "like")
                .unwrap()["count"]
                .clone();
            assert_eq!(likes, 7, "likes on {post}: {}", p.text);
        }
        let card = app
            .get(&format!("/api/v1/users/{}", author.username), None)
            .await;
        assert_eq!(card.body["reaction_score"], 28, "{}", card.text);
    }
);

db_test!(concurrent_edits_of_one_post_serialize, |app| {
    let app = crowd_app(app.db).await;
    let s = app.forum().await;
    let crowd = members(&app, 8).await;
    let author = &crowd[0];
    let (t, first) = app.thread(author, s.forum_id, "Edited in a hurry").await;
    // annotations on the post follow every edit
    let reader = &crowd[1];
    let a = app
        .post(
            &format!("/api/v1/posts/{first}/annotations"),
            Some(&reader.token),
            json!({"motivation": "highlighting", "selector": {"exact": "first post"}}),
        )
        .await;
    assert_eq!(a.status, 201, "{}", a.text);
    let mut ops = Vec::new();
    for i in 0..32 {
        // the author edits the post while others retitle the thread's side and reply
        ops.push(Op::new(
            Method::PATCH,
            format!("/api/v1/posts/{first}"),
            &author.token,
            Some(json!({"body": format!("Edit {i}: the first post of the thread.")})),
        ));
        ops.push(Op::new(
            Method::PATCH,
            format!("/api/v1/threads/{t}"),
            &author.token,
            Some(json!({"title": format!("Edited in a hurry ({i})")})),
        ));
        let m = &crowd[1 + i % 7];
        ops.push(Op::new(
            Method::POST,
            format!("/api/v1/threads/{t}/posts"),
            &m.token,
            Some(json!({"body": format!("Meanwhile, reply {i}.")})),
        ));
    }
    let answers = flood(&app, "edits, thread PATCHes and replies", ops).await;
    for r in &answers {
        assert!(matches!(r.status, 200 | 201), "{}", r.text);
    }
    let revisions = app
        .get(&format!("/api/v1/posts/{first}/revisions"), None)
        .await;
    let numbers: Vec<i64> = revisions.body["items"]
        .as_array()
        .or(revisions.body.as_array())
        .unwrap_or_else(|| panic!("{}", revisions.text))
        .iter()
        .map(|r| r["revision"].as_i64().unwrap())
        .collect();
    assert_eq!(
        numbers,
        (1..=33).collect::<Vec<_>>(),
        "one revision per edit"
    );
    let post = app.get(&format!("/api/v1/posts/{first}"), None).await;
    assert_eq!(post.body["edit_count"], 32, "{}", post.text);
    let ann = app
        .get(&format!("/api/v1/annotations/{}", a.body["id"]), None)
        .await;
    // the highlight followed the last edit, whichever it was, to where its words now are
    let target = &ann.body["target"];
    assert_ne!(target["anchor_state"], "orphaned", "{}", ann.text);
    assert_eq!(target["anchored_revision"], 33, "{}", ann.text);
    assert_eq!(target["selector"]["exact"], "first post", "{}", ann.text);
    let text: Vec<char> = post.body["body_text"].as_str().unwrap().chars().collect();
    let (start, end) = (
        target["selector"]["start"].as_u64().unwrap() as usize,
        target["selector"]["end"].as_u64().unwrap() as usize,
    );
    assert_eq!(text[start..end].iter().collect::<String>(), "first post");
    assert_counters_true(&app, "concurrent edits and replies").await;
});

db_test!(
    concurrent_registrations_are_distinct_and_a_lost_race_names_the_field,
    |app| {
        let app = crowd_app(app.db).await;
        let mut ops = Vec::new();
        for i in 0..24 {
            ops.push(Op {
                method: Method::POST,
                path: "/api/v1/auth/register".into(),
                token: None,
                body: Some(
                    json!({"username": format!("crowd{i}"), "password": crate::common::PASSWORD,
                              "email": format!("crowd{i}@example.org")}),
                ),
            });
        }
        // eight members race for one email, eight for one username
        for i in 0..8 {
            ops.push(Op {
                method: Method::POST,
                path: "/api/v1/auth/register".into(),
                token: None,
                body: Some(
                    json!({"username": format!("twin{i}"), "password": crate::common::PASSWORD,
                              "email": "same@example.org"}),
                ),
            });
            ops.push(Op {
                method: Method::POST,
                path: "/api/v1/auth/register".into(),
                token: None,
                body: Some(
                    json!({"username": "samename", "password": crate::common::PASSWORD,
                              "email": format!("other{i}@example.org")}),
                ),
            });
        }
        let answers = flood(&app, "registrations", ops).await;
        assert_eq!(count_201(&answers[..24]), 24);
        let twins: Vec<&Resp> = answers[24..].iter().step_by(2).collect();
        let names: Vec<&Resp> = answers[25..].iter().step_by(2).collect();
        for (group, field) in [(twins, "email"), (names, "username")] {
            assert_eq!(group.iter().filter(|r| r.status == 201).count(), 1);
            for r in group.iter().filter(|r| r.status != 201) {
                r.assert_problem(409, "conflict");
                assert_eq!(r.error_fields(), vec![field.to_string()], "{}", r.text);
                let detail = r.body["detail"].as_str().unwrap();
                for leak in ["duplicate key", "UNIQUE", "constraint", "_key"] {
                    assert!(!detail.contains(leak), "database text leaked: {detail}");
                }
            }
        }
    }
);

db_test!(
    w3c_annotations_from_many_members_keep_what_each_sent,
    |app| {
        let app = crowd_app(app.db).await;
        let s = app.forum().await;
        let crowd = members(&app, 8).await;
        let author = &crowd[0];
        let (t, targets) = thread_to_analyze(&app, author, s.forum_id).await;
        let first = targets[0];
        // 84 W3C documents: every reader sends 3 to each of the 4 posts, a passage with a kept
        // FragmentSelector and body IRI, or the whole post by its IRI
        let mut ops = Vec::new();
        let mut sent = Vec::new();
        for (i, m) in crowd[1..].iter().enumerate() {
            for post in &targets {
                for k in 0..3 {
                    let iri = format!("https://example.org/notes/{i}/{post}/{k}");
                    let source = format!("https://forum.example/api/v1/posts/{post}");
                    let exact = if *post == first {
                        "first post"
                    } else {
                        "worth analyzing"
                    };
                    let target = if k == 0 {
                        json!(source)
                    } else {
                        json!({"source": source, "selector": [
                            {"type": "TextQuoteSelector", "exact": exact},
                            {"type": "FragmentSelector", "value": format!("note={i}.{k}")}]})
                    };
                    ops.push(Op::new(
                        Method::POST,
                        format!("/api/v1/w3c/posts/{post}/annotations"),
                        &m.token,
                        Some(json!({"@context": "http://www.w3.org/ns/anno.jsonld",
                            "type": "Annotation", "motivation": "commenting",
                            "body": [{"type": "TextualBody", "value": format!("Note {i}.{k}"),
                                "language": "en"}, iri],
                            "target": target})),
                    ));
                    sent.push(iri);
                }
            }
        }
        let answers = flood(&app, "W3C annotations", ops).await;
        assert_eq!(
            count_201(&answers),
            84,
            "{:?}",
            answers.iter().find(|r| r.status != 201).map(|r| &r.text)
        );
        // every acknowledged document reads back with what it sent kept, and only that
        for (r, iri) in answers.iter().zip(&sent) {
            let id = r.body["id"].as_str().unwrap();
            let path = &id[id.find("/api/v1/").unwrap()..];
            let read = app.get(path, None).await;
            assert_eq!(read.body, r.body);
            let body = read.body["body"].as_array().unwrap();
            assert_eq!(body[0]["language"], "en");
            assert_eq!(body[1], json!({"id": iri}));
        }
        for post in &targets {
            let c = app
                .get(&format!("/api/v1/w3c/posts/{post}/annotations"), None)
                .await;
            assert_eq!(c.body["total"], 21, "{}", c.text);
        }
        let page = app.get(&format!("/api/v1/threads/{t}/posts"), None).await;
        for p in page.body["items"].as_array().unwrap() {
            assert_eq!(p["annotation_count"], 21, "{p}");
        }
        assert_counters_true(&app, "84 concurrent W3C annotations").await;
    }
);
