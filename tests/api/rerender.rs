//! `gloss rerender`: stored posts rendered by earlier rules are rendered again, and their
//! annotations follow the new text.

use diesel::prelude::*;
use serde_json::json;

use crate::common::db_test;
use gloss::db::schema::posts;

const BODY: &str =
    "AFP Beijing\nPublished: 15 Jul 2025, 13:36\n\nChinese President Xi Jinping spoke.";
/// What the rules before single newlines became line breaks made of BODY.
const OLD_TEXT: &str =
    "AFP Beijing Published: 15 Jul 2025, 13:36\n\nChinese President Xi Jinping spoke.";
const OLD_HTML: &str = "<p>AFP Beijing\nPublished: 15 Jul 2025, 13:36</p>\n<p>Chinese President Xi Jinping spoke.</p>\n";

db_test!(
    rerender_gives_old_posts_line_breaks_and_carries_their_annotations,
    |app| {
        let s = app.forum().await;
        let a = app.register("saif").await;
        let reader = app.register("lin").await;
        let (t, _) = app.thread(&a, s.forum_id, "News").await;
        let p = app.reply(&a, t, BODY).await;
        // the post as an earlier version of Gloss stored it
        {
            let mut conn = app.state.db.pool().get().unwrap();
            diesel::update(posts::table.find(p))
                .set((posts::body_text.eq(OLD_TEXT), posts::body_html.eq(OLD_HTML)))
                .execute(&mut conn)
                .unwrap();
        }
        let mut ids = Vec::new();
        for exact in ["Xi Jinping", "Beijing Published"] {
            let r = app
                .post(
                    &format!("/api/v1/posts/{p}/annotations"),
                    Some(&reader.token),
                    json!({"motivation": "highlighting", "selector": {"exact": exact}}),
                )
                .await;
            assert_eq!(r.status, 201, "{}", r.text);
            ids.push(r.body["id"].as_i64().unwrap());
        }

        let summary = {
            let mut conn = app.state.db.pool().get().unwrap();
            gloss::rerender::all(&mut conn).unwrap()
        };
        assert_eq!(summary.posts_changed, 1, "{summary}");
        assert!(summary.posts_seen >= 2, "{summary}");
        assert_eq!(summary.orphaned, 0, "{summary}");

        let post = app.get(&format!("/api/v1/posts/{p}"), None).await;
        assert_eq!(post.body["body_text"], BODY);
        let html = post.body["body_html"].as_str().unwrap();
        assert!(html.starts_with("<p>AFP Beijing<br>\nPublished:"), "{html}");
        assert_eq!(post.body["revision"], 1, "a re-render is not an edit");

        let xi = app
            .get(&format!("/api/v1/annotations/{}", ids[0]), None)
            .await;
        let start = BODY.find("Xi Jinping").unwrap() as u64;
        assert_eq!(xi.body["target"]["selector"]["start"], start);
        assert_eq!(xi.body["target"]["selector"]["exact"], "Xi Jinping");
        assert_ne!(xi.body["target"]["anchor_state"], "orphaned");
        let across = app
            .get(&format!("/api/v1/annotations/{}", ids[1]), None)
            .await;
        assert_ne!(
            across.body["target"]["anchor_state"], "orphaned",
            "{}",
            across.text
        );
        assert_eq!(across.body["target"]["selector"]["start"], 4);

        // a second run finds nothing to do
        let again = {
            let mut conn = app.state.db.pool().get().unwrap();
            gloss::rerender::all(&mut conn).unwrap()
        };
        assert_eq!(
            (again.posts_changed, again.annotations_changed),
            (0, 0),
            "{again}"
        );
    }
);
