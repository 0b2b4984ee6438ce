//! `gloss demo` makes the seed page.

use crate::common::db_test;

db_test!(the_demo_makes_the_seed_page, |app| {
    let filled = {
        let mut conn = app.state.db.pool().get().unwrap();
        let filled = gloss::demo::fill(&mut conn).unwrap();
        // a second run refuses a database that has members
        assert!(gloss::demo::fill(&mut conn).is_err());
        filled
    };
    gloss::demo::store_files(&app.state.media, filled.files)
        .await
        .unwrap();
    let v = app.get("/api/v1/threads/1/view", None).await;
    assert_eq!(v.status, 200, "{}", v.text);
    let b = &v.body;
    assert_eq!(b["thread"]["prefix"]["label"], "🇨🇳");
    assert_eq!(b["fields"][0]["label"], "Date of Event");
    assert_eq!(b["breadcrumb"][0]["title"], "Defense & Geopolitics");
    assert!(b["thread"]["view_count"].as_i64().unwrap() >= 146);
    let article = &b["posts"]["items"][0];
    let card = &article["author"];
    assert_eq!(card["username"], "saif");
    assert_eq!(card["rank_title"], "Senior Member");
    assert_eq!(card["joined_at"], "2024-01-24T09:30:00Z");
    assert_eq!(card["groups"][0]["name"], "Axis Group");
    let profile: Vec<(&str, &str)> = card["profile"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| (f["label"].as_str().unwrap(), f["value"].as_str().unwrap()))
        .collect();
    assert_eq!(profile, vec![("Nation", "CN"), ("Residence", "Beijing")]);
    assert_eq!(article["reactions"][0]["count"], 3);
    assert!(article["annotation_count"].as_i64().unwrap() >= 3);
    assert_eq!(article["cited_by_count"], 1);
    let motivations = app.get("/api/v1/posts/1/annotations", None).await;
    let kinds: Vec<&str> = motivations.body["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a["motivation"].as_str().unwrap())
        .collect();
    for kind in ["highlighting", "commenting", "tagging"] {
        assert!(kinds.contains(&kind), "{kinds:?}");
    }
    // the news articles carry pictures with captions, and the members avatars
    let pictures = article["attachments"].as_array().unwrap();
    assert_eq!(pictures.len(), 1);
    assert_eq!(
        pictures[0]["caption"],
        "The Great Hall of the People, Beijing. Illustration"
    );
    assert!(article["body_text"]
        .as_str()
        .unwrap()
        .contains("\n\nThe Great Hall of the People, Beijing. Illustration\n\n"));
    for url in [
        &pictures[0]["url"],
        &pictures[0]["thumbnail_url"],
        &card["avatars"]["large"],
    ] {
        let (status, headers, _) = app
            .send_raw(actix_web::test::TestRequest::get().uri(url.as_str().unwrap()))
            .await;
        assert_eq!(status, 200, "{url}");
        assert_eq!(headers.get("content-type").unwrap(), "image/webp");
    }
    assert_eq!(pictures[0]["display_width"], 1200);
    assert_eq!(pictures[0]["thumbnail_width"], 320);
    for thread in [3, 4] {
        let v = app
            .get(&format!("/api/v1/threads/{thread}/view"), None)
            .await;
        assert_eq!(
            v.body["posts"]["items"][0]["attachments"]
                .as_array()
                .unwrap()
                .len(),
            1
        );
    }
    crate::counters::assert_counters_true(&app, "the demo").await;
    // a news post keeps its lines
    let news = app.get("/api/v1/threads/4/view", None).await;
    let text = news.body["posts"]["items"][0]["body_text"]
        .as_str()
        .unwrap();
    assert!(
        text.contains("AFP Beijing\nPublished: 15 Jul 2025, 13:36"),
        "{text}"
    );
    // a category carries its forums' sums
    let tree = app.get("/api/v1/forums", None).await;
    assert!(tree.body["items"][0]["thread_count"].as_i64().unwrap() >= 4);
});
