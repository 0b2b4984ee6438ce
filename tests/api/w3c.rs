//! W3C Web Annotation interop: collections and pages of a post's, a thread's and a member's
//! annotations; import of what the W3C model allows; every document Gloss sends checked against
//! the MUSTs that the web-platform-tests `annotation-model` definitions test (written out here as
//! our own checks: `conforms_*`).

use serde_json::{json, Value};

use crate::annotations::{annotate_w3c, scene, Scene};
use crate::common::{db_test, Member, TestApp};

const CONTEXT: &str = "http://www.w3.org/ns/anno.jsonld";
const MOTIVATIONS: [&str; 13] = [
    "assessing",
    "bookmarking",
    "classifying",
    "commenting",
    "describing",
    "editing",
    "highlighting",
    "identifying",
    "linking",
    "moderating",
    "questioning",
    "replying",
    "tagging",
];

/// An absolute IRI: a scheme, a colon, something after it, no white space.
fn is_iri(v: &Value) -> bool {
    v.as_str().is_some_and(|s| {
        s.split_once(':').is_some_and(|(scheme, rest)| {
            scheme
                .chars()
                .next()
                .is_some_and(|c| c.is_ascii_alphabetic())
                && scheme
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || "+-.".contains(c))
                && !rest.is_empty()
        }) && !s.chars().any(char::is_whitespace)
    })
}

/// A value, or the single value of a one-item list (how the definitions accept "exactly one").
fn single(v: &Value) -> Option<&Value> {
    match v {
        Value::Array(a) if a.len() == 1 => a.first(),
        Value::Array(_) => None,
        other => Some(other),
    }
}

fn has_value(v: &Value, wanted: &str) -> bool {
    match v {
        Value::String(s) => s == wanted,
        Value::Array(a) => a.iter().any(|x| x == wanted),
        _ => false,
    }
}

fn conforms_context(doc: &Value) {
    assert!(has_value(&doc["@context"], CONTEXT), "@context: {doc}");
}

fn conforms_date(v: &Value, what: &str) {
    let s = v.as_str().unwrap_or_else(|| panic!("{what}: {v}"));
    assert!(
        chrono::DateTime::parse_from_rfc3339(s).is_ok(),
        "{what} is not an xsd:dateTime with a time zone: {s}"
    );
}

fn conforms_selector(s: &Value) {
    match s["type"].as_str() {
        Some("TextQuoteSelector") => {
            assert!(s["exact"].is_string(), "{s}");
            for k in ["prefix", "suffix"] {
                assert!(s.get(k).is_none_or(Value::is_string), "{s}");
            }
        }
        Some("TextPositionSelector") => {
            let (start, end) = (s["start"].as_u64(), s["end"].as_u64());
            assert!(start.is_some() && end.is_some() && start <= end, "{s}");
        }
        Some("FragmentSelector") => assert!(s["value"].is_string(), "{s}"),
        Some("RangeSelector") => {
            conforms_selector(&s["startSelector"]);
            conforms_selector(&s["endSelector"]);
        }
        _ => panic!("a selector of no known type: {s}"),
    }
}

/// A body: an IRI, a TextualBody (exactly one `value`), or an external resource (`id`).
fn conforms_body(b: &Value) {
    if b.is_string() {
        assert!(is_iri(b), "{b}");
        return;
    }
    assert!(
        b["value"].is_string() || is_iri(&b["id"]),
        "a body with neither value nor id: {b}"
    );
    if let Some(f) = b.get("format") {
        let f = single(f).and_then(Value::as_str).unwrap_or_default();
        assert!(
            [
                "application/",
                "audio/",
                "example/",
                "image/",
                "multipart/",
                "text/",
                "video/"
            ]
            .iter()
            .any(|t| f.starts_with(t)),
            "format: {b}"
        );
    }
    if let Some(l) = b.get("language") {
        assert!(single(l).is_some_and(Value::is_string), "language: {b}");
    }
    if let Some(p) = b.get("purpose") {
        let p = single(p).and_then(Value::as_str).unwrap_or_default();
        assert!(MOTIVATIONS.contains(&p), "purpose: {b}");
    }
}

/// A target: an IRI, or a SpecificResource with one `source` IRI and valid selectors.
fn conforms_target(t: &Value) {
    if t.is_string() {
        assert!(is_iri(t), "{t}");
        return;
    }
    assert!(
        single(&t["source"]).is_some_and(is_iri),
        "a target without a source IRI: {t}"
    );
    match t.get("selector") {
        None => {}
        Some(Value::Array(list)) => list.iter().for_each(conforms_selector),
        Some(one) => conforms_selector(one),
    }
}

/// The MUSTs of an annotation (model §3.1, §3.2, §3.3).
fn conforms_annotation(a: &Value) {
    conforms_context(a);
    assert!(single(&a["id"]).is_some_and(is_iri), "id: {a}");
    assert!(has_value(&a["type"], "Annotation"), "type: {a}");
    match &a["target"] {
        Value::Array(list) => {
            assert!(!list.is_empty(), "target: {a}");
            list.iter().for_each(conforms_target);
        }
        Value::Null => panic!("an annotation needs a target: {a}"),
        one => conforms_target(one),
    }
    if let Some(m) = a.get("motivation") {
        let all: Vec<&Value> = match m {
            Value::Array(list) => list.iter().collect(),
            one => vec![one],
        };
        assert!(!all.is_empty(), "{a}");
        for m in all {
            assert!(
                MOTIVATIONS.contains(&m.as_str().unwrap_or_default()),
                "motivation: {a}"
            );
        }
    }
    assert!(
        a.get("body").is_none() || a.get("bodyValue").is_none(),
        "both body and bodyValue: {a}"
    );
    match a.get("body") {
        None => {}
        Some(Value::Array(list)) => list.iter().for_each(conforms_body),
        Some(one) => conforms_body(one),
    }
    for k in ["created", "modified"] {
        if let Some(v) = a.get(k) {
            conforms_date(single(v).unwrap(), k);
        }
    }
    if let Some(c) = a.get("creator") {
        assert!(is_iri(c) || is_iri(&c["id"]), "creator: {a}");
    }
}

/// The MUSTs of an AnnotationCollection (model §5.1).
fn conforms_collection(c: &Value) {
    conforms_context(c);
    assert!(single(&c["id"]).is_some_and(is_iri), "id: {c}");
    assert!(has_value(&c["type"], "AnnotationCollection"), "type: {c}");
    if let Some(label) = c.get("label") {
        assert!(label.is_string(), "label: {c}");
    }
    if let Some(total) = c.get("total") {
        let total = single(total).and_then(Value::as_i64).unwrap();
        assert!(total >= 0, "{c}");
        if total > 0 {
            assert!(
                c.get("first").is_some(),
                "a non-empty collection needs first: {c}"
            );
        }
    }
    for k in ["first", "last"] {
        if let Some(v) = c.get(k) {
            assert!(single(v).is_some_and(is_iri), "{k}: {c}");
        }
    }
}

/// The MUSTs of an AnnotationPage (model §5.2), and of every annotation on it.
fn conforms_page(p: &Value) {
    conforms_context(p);
    assert!(single(&p["id"]).is_some_and(is_iri), "id: {p}");
    assert!(has_value(&p["type"], "AnnotationPage"), "type: {p}");
    for k in ["partOf", "next", "prev"] {
        if let Some(v) = p.get(k) {
            assert!(single(v).is_some_and(is_iri), "{k} must be one IRI: {p}");
        }
    }
    if let Some(i) = p.get("startIndex") {
        assert!(
            single(i).and_then(Value::as_i64).is_some_and(|i| i >= 0),
            "{p}"
        );
    }
    let items = p["items"].as_array().expect("items");
    for a in items {
        conforms_annotation(a);
    }
}

/// The server path of an absolute IRI the server gave out.
fn local(iri: &Value) -> String {
    let s = iri.as_str().unwrap();
    s[s.find("/api/v1/").unwrap()..].to_string()
}

/// Reads a collection and walks its pages with `next`, checking each document; returns the ids
/// of the annotations in order and the pages read.
async fn walk(
    app: &TestApp,
    collection: &str,
    token: Option<&str>,
) -> (Value, Vec<i64>, Vec<Value>) {
    let c = app.get(collection, token).await;
    assert_eq!(c.status, 200, "{}", c.text);
    assert!(c
        .header("content-type")
        .unwrap()
        .starts_with("application/ld+json"));
    conforms_collection(&c.body);
    let mut ids = Vec::new();
    let mut pages = Vec::new();
    let mut at = c.body.get("first").map(local);
    while let Some(url) = at {
        let p = app.get(&url, token).await;
        assert_eq!(p.status, 200, "{url}: {}", p.text);
        conforms_page(&p.body);
        assert_eq!(p.body["partOf"], c.body["id"], "{url}");
        assert_eq!(local(&p.body["id"]), url);
        for a in p.body["items"].as_array().unwrap() {
            ids.push(local(&a["id"]).rsplit('/').next().unwrap().parse().unwrap());
        }
        at = p.body.get("next").map(local);
        pages.push(p.body);
        assert!(pages.len() < 50, "pages do not end");
    }
    (c.body, ids, pages)
}

fn ids_of(list: &Value) -> Vec<i64> {
    list["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a["id"].as_i64().unwrap())
        .collect()
}

async fn highlight(app: &TestApp, who: &Member, post: i64, exact: &str, private: bool) -> i64 {
    let r = app
        .post(
            &format!("/api/v1/posts/{post}/annotations"),
            Some(&who.token),
            json!({"motivation": "highlighting", "selector": {"exact": exact},
                "visibility": if private { "private" } else { "public" }}),
        )
        .await;
    assert_eq!(r.status, 201, "{}", r.text);
    r.body["id"].as_i64().unwrap()
}

/// A second post in the scene's thread, with annotations of its own.
async fn reply_post(app: &TestApp, sc: &Scene) -> i64 {
    let r = app
        .post(
            &format!("/api/v1/threads/{}/posts", sc.thread_id),
            Some(&sc.other.token),
            json!({"body": "Mutual support is a phrase with a history."}),
        )
        .await;
    assert_eq!(r.status, 201, "{}", r.text);
    r.body["id"].as_i64().unwrap()
}

db_test!(lists_are_w3c_collections_with_linked_pages, |app| {
    let sc = scene(&app).await;
    let post = sc.post_id;
    // an empty collection: no pages to point at
    let (empty, ids, _) = walk(&app, &format!("/api/v1/w3c/posts/{post}/annotations"), None).await;
    assert_eq!(empty["total"], 0);
    assert!(empty.get("first").is_none() && empty.get("last").is_none());
    assert!(ids.is_empty());
    // page 1 of an empty collection exists and is empty; page 2 does not
    let one = app
        .get(
            &format!("/api/v1/w3c/posts/{post}/annotations/pages/1"),
            None,
        )
        .await;
    assert_eq!(one.status, 200);
    conforms_page(&one.body);
    assert_eq!(one.body["items"], json!([]));
    app.get(
        &format!("/api/v1/w3c/posts/{post}/annotations/pages/2"),
        None,
    )
    .await
    .assert_problem(404, "not_found");
    for exact in [
        "the two",
        "Beijing",
        "Moscow",
        "multilateral forums",
        "two countries",
    ] {
        highlight(&app, &sc.reader, post, exact, false).await;
    }
    let secret = highlight(&app, &sc.other, post, "mutual support on", true).await;
    let second_post = reply_post(&app, &sc).await;
    highlight(&app, &sc.reader, second_post, "a phrase", false).await;

    // a post's collection, as a guest: the public five, two to a page, in the REST list's order
    let rest = app
        .get(
            &format!("/api/v1/posts/{post}/annotations?per_page=100"),
            None,
        )
        .await;
    let (c, ids, pages) = walk(
        &app,
        &format!("/api/v1/w3c/posts/{post}/annotations?per_page=2"),
        None,
    )
    .await;
    assert_eq!(c["total"], 5);
    assert_eq!(c["label"], format!("Annotations on post {post}"));
    assert!(local(&c["id"]).ends_with(&format!("/w3c/posts/{post}/annotations")));
    assert!(local(&c["first"]).ends_with("/annotations/pages/1?per_page=2"));
    assert!(local(&c["last"]).ends_with("/annotations/pages/3?per_page=2"));
    assert_eq!(ids, ids_of(&rest.body));
    assert!(!ids.contains(&secret));
    assert_eq!(pages.len(), 3);
    assert_eq!(
        pages
            .iter()
            .map(|p| p["startIndex"].as_i64().unwrap())
            .collect::<Vec<_>>(),
        vec![0, 2, 4]
    );
    assert!(pages[0].get("prev").is_none());
    assert_eq!(pages[1]["prev"], pages[0]["id"]);
    assert_eq!(pages[2]["prev"], pages[1]["id"]);
    assert_eq!(pages[2]["id"], c["last"]);
    // no page past the last
    app.get(
        &format!("/api/v1/w3c/posts/{post}/annotations/pages/4?per_page=2"),
        None,
    )
    .await
    .assert_problem(404, "not_found");
    // the owner of the private one counts it in the collection
    let (mine, ids, _) = walk(
        &app,
        &format!("/api/v1/w3c/posts/{post}/annotations"),
        Some(&sc.other.token),
    )
    .await;
    assert_eq!(mine["total"], 6);
    assert!(ids.contains(&secret));
    // a filtered list is a collection of its own, and its pages say so
    let (orphans, ids, _) = walk(
        &app,
        &format!("/api/v1/w3c/posts/{post}/annotations?anchor_state=orphaned"),
        None,
    )
    .await;
    assert!(local(&orphans["id"]).ends_with("/annotations?anchor_state=orphaned"));
    assert_eq!(orphans["total"], 0);
    assert!(ids.is_empty());

    // a thread's collection spans its posts, in the REST list's order
    let thread = sc.thread_id;
    let rest = app
        .get(
            &format!("/api/v1/threads/{thread}/annotations?per_page=100"),
            None,
        )
        .await;
    let (c, ids, pages) = walk(
        &app,
        &format!("/api/v1/w3c/threads/{thread}/annotations?per_page=4"),
        None,
    )
    .await;
    assert_eq!(c["total"], 6);
    assert_eq!(ids, ids_of(&rest.body));
    assert_eq!(pages.len(), 2);
    assert_eq!(pages[1]["startIndex"], 4);

    // a member's collection is their feed, newest first, continued by cursor
    let mut rest = Vec::new();
    let mut cursor = String::new();
    loop {
        let r = app
            .get(
                &format!("/api/v1/users/lin/annotations?limit=2{cursor}"),
                None,
            )
            .await;
        rest.extend(ids_of(&r.body));
        match r.body["next_cursor"].as_str() {
            Some(c) => cursor = format!("&cursor={c}"),
            None => break,
        }
    }
    let (c, ids, pages) = walk(&app, "/api/v1/w3c/users/LIN/annotations?limit=2", None).await;
    assert!(local(&c["id"]).ends_with("/w3c/users/lin/annotations"));
    assert!(c.get("total").is_none() && c.get("last").is_none());
    assert_eq!(ids, rest);
    assert_eq!(ids.len(), 6);
    assert_eq!(pages.len(), 3);

    // what cannot be read is said
    app.get("/api/v1/w3c/posts/999999/annotations", None)
        .await
        .assert_problem(404, "not_found");
    app.get("/api/v1/w3c/threads/999999/annotations/pages/1", None)
        .await
        .assert_problem(404, "not_found");
    app.get("/api/v1/w3c/users/nobody/annotations", None)
        .await
        .assert_problem(404, "not_found");
    let r = app
        .get(
            &format!("/api/v1/w3c/posts/{post}/annotations/pages/0"),
            None,
        )
        .await;
    assert_eq!(r.error_fields(), vec!["page"]);
    let r = app
        .get(
            &format!("/api/v1/w3c/threads/{thread}/annotations?per_page=101"),
            None,
        )
        .await;
    assert_eq!(r.error_fields(), vec!["per_page"]);
    let r = app
        .get(
            "/api/v1/w3c/users/lin/annotations/pages?cursor=nonsense",
            None,
        )
        .await;
    assert_eq!(r.error_fields(), vec!["cursor"]);
});

db_test!(
    a_w3c_document_is_read_as_the_model_allows_and_kept_as_given,
    |app| {
        let sc = scene(&app).await;
        let post = sc.post_id;
        let post_iri = format!("https://forum.example/api/v1/posts/{post}");
        let doc = json!({
            "@context": [CONTEXT, "http://www.w3.org/ns/ldp.jsonld"],
            "type": ["Annotation"],
            "motivation": ["describing", "commenting"],
            "body": [
                {"type": "TextualBody", "value": "A phrase with a history.", "format": "text/plain",
                 "language": "en-GB", "purpose": "commenting"},
                "https://example.org/analysis/7",
                {"id": "https://example.org/map.png", "type": "Image", "format": "image/png"},
                {"type": "TextualBody", "value": "diplomacy", "purpose": "tagging"},
                {"type": "TextualBody", "value": "Une formule ancienne.", "language": "fr"}
            ],
            "target": [
                post_iri,
                {"source": post_iri, "selector": [
                    {"type": "TextQuoteSelector", "exact": "Beijing and Moscow"},
                    {"type": "FragmentSelector", "value": "char=97,115",
                     "conformsTo": "http://tools.ietf.org/rfc/rfc5147"},
                    {"type": "RangeSelector",
                     "startSelector": {"type": "TextPositionSelector", "start": 97, "end": 97},
                     "endSelector": {"type": "TextPositionSelector", "start": 115, "end": 115}}
                ]}
            ]
        });
        let created = annotate_w3c(&app, &sc.reader, post, &doc).await;
        assert_eq!(created.status, 201, "{}", created.text);
        conforms_annotation(&created.body);
        let location = created.header("location").unwrap().to_string();
        let read = app.get(&location, None).await;
        assert_eq!(read.status, 200);
        conforms_annotation(&read.body);
        for a in [&created.body, &read.body] {
            // the first motivation is the annotation's
            assert_eq!(a["motivation"], "describing");
            let body = a["body"].as_array().unwrap();
            assert_eq!(
                body[0],
                json!({"type": "TextualBody", "value": "A phrase with a history.",
                "format": "text/plain", "language": "en-GB", "purpose": "commenting"})
            );
            assert_eq!(
                body[1],
                json!({"type": "TextualBody", "value": "diplomacy", "purpose": "tagging"})
            );
            assert_eq!(body[2], json!({"id": "https://example.org/analysis/7"}));
            assert_eq!(
                body[3],
                json!({"id": "https://example.org/map.png", "type": "Image", "format": "image/png"})
            );
            assert_eq!(
                body[4],
                json!({"type": "TextualBody", "value": "Une formule ancienne.", "language": "fr"})
            );
            // the passage first, with the selectors Gloss does not anchor by beside its own; then
            // the further target as given
            let targets = a["target"].as_array().unwrap();
            assert_eq!(targets.len(), 2);
            let selectors = targets[0]["selector"].as_array().unwrap();
            let kinds: Vec<&str> = selectors
                .iter()
                .map(|s| s["type"].as_str().unwrap())
                .collect();
            assert_eq!(
                kinds,
                vec![
                    "TextQuoteSelector",
                    "TextPositionSelector",
                    "FragmentSelector",
                    "RangeSelector"
                ]
            );
            assert_eq!(selectors[2], doc["target"][1]["selector"][1]);
            assert_eq!(selectors[3], doc["target"][1]["selector"][2]);
            assert_eq!(targets[1], json!({"source": post_iri}));
        }
        // Gloss's own form of it: the text, the tag, the passage
        let id = location.rsplit('/').next().unwrap();
        let plain = app.get(&format!("/api/v1/annotations/{id}"), None).await;
        assert_eq!(plain.body["body"], "A phrase with a history.");
        assert_eq!(plain.body["tags"], json!(["diplomacy"]));
        assert_eq!(plain.body["motivation"], "describing");
        assert_eq!(
            plain.body["target"]["selector"]["exact"],
            "Beijing and Moscow"
        );
        // and on the page of the post's collection
        let page = app
            .get(
                &format!("/api/v1/w3c/posts/{post}/annotations/pages/1"),
                None,
            )
            .await;
        conforms_page(&page.body);
        assert_eq!(page.body["items"][0], read.body);

        // an annotation made without a W3C document reads as one too
        let r = app
        .post(
            &format!("/api/v1/posts/{post}/annotations"),
            Some(&sc.other.token),
            json!({"motivation": "questioning", "body": "Which forums?", "selector": {"exact": "multilateral forums"}}),
        )
        .await;
        let plain_id = r.body["id"].as_i64().unwrap();
        let reply = app
            .post(
                &format!("/api/v1/annotations/{plain_id}/replies"),
                Some(&sc.reader.token),
                json!({"body": "The usual ones."}),
            )
            .await;
        for id in [plain_id, reply.body["id"].as_i64().unwrap()] {
            let ld = app
                .get(&format!("/api/v1/w3c/annotations/{id}"), None)
                .await;
            conforms_annotation(&ld.body);
        }
    }
);

db_test!(
    a_w3c_document_the_model_does_not_allow_is_refused_by_field,
    |app| {
        let sc = scene(&app).await;
        let post = sc.post_id;
        let post_iri = format!("https://forum.example/api/v1/posts/{post}");
        let quote = json!({"type": "TextQuoteSelector", "exact": "Beijing"});
        let base = json!({"@context": CONTEXT, "type": "Annotation", "motivation": "commenting",
        "body": {"type": "TextualBody", "value": "A note."},
        "target": {"source": post_iri, "selector": quote}});
        let with = |pointer: &str, value: Value| {
            let mut d = base.clone();
            *d.pointer_mut(pointer).unwrap() = value;
            d
        };
        let mut with_body_value = base.clone();
        with_body_value["bodyValue"] = json!("And a second text.");
        let mut blank_body_value = base.clone();
        blank_body_value.as_object_mut().unwrap().remove("body");
        blank_body_value["bodyValue"] = json!("   ");
        let cases: Vec<(Value, &str, &str)> = vec![
            (with_body_value, "bodyValue", "together with body"),
            (
                with("/@context", json!(["http://example.org/other.jsonld"])),
                "@context",
                CONTEXT,
            ),
            (with("/type", json!("Note")), "type", "Annotation"),
            (
                with("/motivation", json!(["commenting", "liking"])),
                "motivation",
                "thirteen",
            ),
            (
                with("/body", json!({"value": "x", "format": "markdown"})),
                "body.format",
                "media type",
            ),
            (
                with("/body", json!({"value": "x", "language": "en_GB"})),
                "body.language",
                "BCP 47",
            ),
            (
                with("/body", json!({"value": "x", "purpose": "liking"})),
                "body.purpose",
                "motivations",
            ),
            (with("/body", json!("not an iri")), "body.id", "IRI"),
            (
                with("/body", json!([{"type": "TextualBody"}])),
                "body[0].value",
                "needs a value",
            ),
            // (serde reads a list that fits no list as one object made of its items: the
            // field is then named without an index)
            (with("/body", json!([null])), "body", "needs a value"),
            (
                with("/target", json!([null, null])),
                "target",
                "the post's IRI",
            ),
            (with("/target", json!({})), "target", "the post's IRI"),
            (
                with(
                    "/target",
                    json!([{"source": post_iri, "selector": quote}, "https://forum.example/api/v1/posts/999999"]),
                ),
                "target[1].source",
                "this post",
            ),
            (
                with(
                    "/target/selector",
                    json!({"type": "FragmentSelector", "value": "char=0,7"}),
                ),
                "target",
                "TextQuoteSelector",
            ),
            (
                with(
                    "/target/selector",
                    json!([quote, {"type": "CssSelector", "value": "p"}]),
                ),
                "target.selector[1]",
                "FragmentSelector",
            ),
            (
                with("/target/selector", json!(7)),
                "target.selector",
                "selector object",
            ),
            // Gloss's own checks of the text, tags and passage name the document's paths
            (blank_body_value, "bodyValue", "blank"),
            (
                with("/body", json!({"type": "TextualBody", "value": "  "})),
                "body.value",
                "blank",
            ),
            (
                with(
                    "/body",
                    json!([{"value": "x".repeat(51), "purpose": "tagging"}, {"value": "A note."}]),
                ),
                "body",
                "50 characters",
            ),
            (
                with(
                    "/target/selector",
                    json!([{"type": "TextQuoteSelector", "exact": "not in this post"}]),
                ),
                "target.selector[0].exact",
                "",
            ),
            (
                with(
                    "/body",
                    json!({"type": "TextualBody", "id": "https://example.org/n/1"}),
                ),
                "body.value",
                "needs a value",
            ),
            (
                with(
                    "/target",
                    json!([{"source": format!("a b/posts/{post}"), "selector": {"type": "FragmentSelector", "value": "p"}}, {"selector": quote}]),
                ),
                "target[0].source",
                "this post",
            ),
            (
                with(
                    "/target/selector",
                    json!([quote, {"type": "FragmentSelector", "value": "x".repeat(2001)}]),
                ),
                "target.selector[1].value",
                "2000",
            ),
            (
                with(
                    "/target/selector",
                    json!([quote, {"type": "RangeSelector", "startSelector": {"type": "XPathSelector", "value": "/p[1]"}, "endSelector": "p"}]),
                ),
                "target.selector[1].endSelector",
                "type",
            ),
            (
                with("/target/selector", json!({"type": "TextQuoteSelector"})),
                "target.selector",
                "exact",
            ),
        ];
        let list = format!("/api/v1/posts/{post}/annotations");
        for (doc, field, says) in cases {
            let r = annotate_w3c(&app, &sc.reader, post, &doc).await;
            r.assert_problem(422, "validation_failed");
            let mut fields = r.error_fields();
            fields.dedup();
            assert_eq!(fields, vec![field], "{doc}: {}", r.text);
            assert!(r.text.contains(says), "{field}: {}", r.text);
            for internal in ["untagged", "OneOrMany", "W3cSelector", "W3cBody"] {
                assert!(!r.text.contains(internal), "{}", r.text);
            }
        }
        // nothing was written
        assert_eq!(app.get(&list, None).await.body["total"], 0);
        // and the base document itself is fine
        let r = annotate_w3c(&app, &sc.reader, post, &base).await;
        assert_eq!(r.status, 201, "{}", r.text);
        conforms_annotation(&r.body);
        // purposes are kept in the model's own spelling; `oa:tagging` makes a tag
        let doc = with(
            "/body",
            json!([{"value": "Note.", "purpose": "oa:commenting"}, {"value": "sco", "purpose": "oa:tagging"}]),
        );
        let r = annotate_w3c(&app, &sc.reader, post, &doc).await;
        assert_eq!(r.status, 201, "{}", r.text);
        conforms_annotation(&r.body);
        assert_eq!(r.body["body"][0]["purpose"], "commenting");
        assert_eq!(
            r.body["body"][1],
            json!({"type": "TextualBody", "value": "sco", "purpose": "tagging"})
        );
        // a bodyValue is plain text, and says so
        let mut doc = base.clone();
        doc.as_object_mut().unwrap().remove("body");
        doc["bodyValue"] = json!("a*b*c");
        let r = annotate_w3c(&app, &sc.reader, post, &doc).await;
        assert_eq!(r.status, 201, "{}", r.text);
        assert_eq!(r.body["body"][0]["value"], "a*b*c");
        assert_eq!(r.body["body"][0]["format"], "text/plain");
    }
);

db_test!(a_target_that_is_the_post_annotates_the_whole_post, |app| {
    let sc = scene(&app).await;
    let post = sc.post_id;
    let post_iri = format!("https://forum.example/api/v1/posts/{post}");
    let doc = json!({"@context": CONTEXT, "type": "Annotation", "motivation": "bookmarking",
        "target": post_iri});
    let r = annotate_w3c(&app, &sc.reader, post, &doc).await;
    assert_eq!(r.status, 201, "{}", r.text);
    conforms_annotation(&r.body);
    assert!(r.body["target"]["source"]
        .as_str()
        .unwrap()
        .ends_with(&format!("/api/v1/posts/{post}")));
    assert!(r.body["target"].get("selector").is_none());
    assert!(r.body.get("body").is_none());
    let id = local(&r.body["id"])
        .rsplit('/')
        .next()
        .unwrap()
        .parse::<i64>()
        .unwrap();
    // in Gloss's form it has no passage, and marks no stretch of the text
    let plain = app.get(&format!("/api/v1/annotations/{id}"), None).await;
    assert_eq!(plain.status, 200);
    assert_eq!(plain.body["target"], Value::Null);
    assert_eq!(plain.body["motivation"], "bookmarking");
    let page = app
        .get(&format!("/api/v1/threads/{}/posts", sc.thread_id), None)
        .await;
    assert_eq!(page.body["items"][0]["annotation_count"], 1);
    // it has no anchor state: no filter by one lists it
    for state in ["anchored", "moved", "orphaned"] {
        let r = app
            .get(
                &format!("/api/v1/posts/{post}/annotations?anchor_state={state}"),
                None,
            )
            .await;
        assert_eq!(r.body["total"], 0, "{state}");
    }
    assert_eq!(page.body["items"][0]["highlights"], json!([]));
    // an edit of the post leaves it as it was: there is no passage to move or lose
    let edit = app
        .patch(
            &format!("/api/v1/posts/{post}"),
            Some(&sc.author.token),
            json!({"body": "All rewritten: nothing of the old text is left here."}),
        )
        .await;
    assert_eq!(edit.status, 200, "{}", edit.text);
    let after = app.get(&format!("/api/v1/annotations/{id}"), None).await;
    assert_eq!(after.body, plain.body);
    let orphans = app
        .get(
            &format!("/api/v1/posts/{post}/annotations?anchor_state=orphaned"),
            None,
        )
        .await;
    assert_eq!(orphans.body["total"], 0);
    // a whole-post annotation cannot stand for a quoted passage
    let r = app
        .post(
            &format!("/api/v1/threads/{}/posts", sc.thread_id),
            Some(&sc.other.token),
            json!({"body": "x", "citations": [{"annotation_id": id}]}),
        )
        .await;
    assert_eq!(r.error_fields(), vec!["citations[0].annotation_id"]);
    assert!(r.text.contains("whole post"), "{}", r.text);
    // with a FragmentSelector alone beside it, the post's IRI still names the whole post, and the
    // fragment target is kept
    let doc = json!({"@context": CONTEXT, "motivation": "linking", "bodyValue": "See also.",
        "target": [{"source": post_iri, "selector": {"type": "FragmentSelector", "value": "par=1"}}, post_iri]});
    let r = annotate_w3c(&app, &sc.reader, post, &doc).await;
    assert_eq!(r.status, 201, "{}", r.text);
    conforms_annotation(&r.body);
    let targets = r.body["target"].as_array().unwrap();
    assert!(targets[0].get("selector").is_none());
    // kept as given, a single selector as the list of one it stands for
    assert_eq!(targets[1]["source"], doc["target"][0]["source"]);
    assert_eq!(
        targets[1]["selector"],
        json!([doc["target"][0]["selector"]])
    );
});
