//! Avatars through the API, on both databases: upload with the attachments' checks, three square
//! sizes on author cards, replacement and removal with their files, and a crowd changing avatars.

use actix_web::test::TestRequest;
use serde_json::json;

use crate::attachments::{multipart, png, stored_files, BOUNDARY};
use crate::common::{db_test, test_config, Member, Resp, TestApp};
use crate::counters::assert_counters_true;

fn put_avatar(member: Option<&Member>, bytes: &[u8], content_type: &str) -> TestRequest {
    let mut req = TestRequest::put()
        .uri("/api/v1/me/avatar")
        .insert_header((
            "content-type",
            format!("multipart/form-data; boundary={BOUNDARY}"),
        ))
        .set_payload(multipart(&[("file", "me.png", content_type, bytes)]));
    if let Some(m) = member {
        req = req.insert_header(("authorization", format!("Bearer {}", m.token)));
    }
    req
}

async fn image_at(app: &TestApp, url: &str) -> (u16, Option<(u32, u32)>) {
    let (status, headers, bytes) = app.send_raw(TestRequest::get().uri(url)).await;
    if status != 200 {
        return (status, None);
    }
    assert_eq!(headers.get("content-type").unwrap(), "image/webp");
    assert_eq!(
        headers.get("cache-control").unwrap(),
        "public, max-age=31536000, immutable"
    );
    let picture = image::load_from_memory_with_format(&bytes, image::ImageFormat::WebP).unwrap();
    (status, Some((picture.width(), picture.height())))
}

db_test!(
    an_avatar_is_cropped_square_in_three_sizes_and_shown_on_author_cards,
    |app| {
        let s = app.forum().await;
        let member = app.register("portrait").await;
        let r = app
            .send(put_avatar(Some(&member), &png(600, 300, 5), "image/png"))
            .await;
        assert_eq!(r.status, 200, "{}", r.text);
        let avatars = r.body["avatars"].clone();
        assert_eq!(r.body["avatar_url"], avatars["medium"]);
        for (size, side) in [("small", 64), ("medium", 128), ("large", 256)] {
            let url = avatars[size].as_str().unwrap();
            assert!(url.starts_with("/api/v1/avatars/"), "{url}");
            assert_eq!(
                image_at(&app, url).await,
                (200, Some((side, side))),
                "{size}"
            );
        }
        assert_eq!(stored_files(&app), 3);
        // author cards carry it
        let (thread_id, _) = app.thread(&member, s.forum_id, "With a face").await;
        let r = app
            .get(&format!("/api/v1/threads/{thread_id}/posts"), None)
            .await;
        assert_eq!(r.body["items"][0]["author"]["avatars"], avatars);
        assert_eq!(
            r.body["items"][0]["author"]["avatar_url"],
            avatars["medium"]
        );
        assert_eq!(
            app.get("/api/v1/me", Some(&member.token)).await.body["avatars"],
            avatars
        );

        // a new avatar replaces the old one, whose files go
        let r = app
            .send(put_avatar(Some(&member), &png(200, 400, 99), "image/png"))
            .await;
        assert_eq!(r.status, 200, "{}", r.text);
        let newer = r.body["avatars"].clone();
        assert_ne!(newer, avatars);
        assert_eq!(
            image_at(&app, avatars["large"].as_str().unwrap()).await.0,
            404
        );
        assert_eq!(
            image_at(&app, newer["large"].as_str().unwrap()).await,
            (200, Some((256, 256)))
        );
        assert_eq!(stored_files(&app), 3);
        assert_counters_true(&app, "a replaced avatar").await;

        // removing it clears the card; removing again is not an error
        for _ in 0..2 {
            let r = app.delete("/api/v1/me/avatar", Some(&member.token)).await;
            assert_eq!(r.status, 204, "{}", r.text);
        }
        let me = app.get("/api/v1/me", Some(&member.token)).await;
        assert_eq!(
            (me.body["avatars"].clone(), me.body["avatar_url"].clone()),
            (json!(null), json!(null))
        );
        assert_eq!(
            image_at(&app, newer["small"].as_str().unwrap()).await.0,
            404
        );
        assert_eq!(stored_files(&app), 0);
        assert_eq!(image_at(&app, "/api/v1/avatars/not-a-hash").await.0, 404);
        assert_counters_true(&app, "a removed avatar").await;
    }
);

db_test!(an_avatar_gets_the_checks_of_an_upload, |app| {
    let member = app.register("faceless").await;
    let svg = br#"<svg xmlns="http://www.w3.org/2000/svg"><script>alert(1)</script></svg>"#;
    let r = app.send(put_avatar(Some(&member), svg, "image/png")).await;
    r.assert_problem(415, "unsupported_media_type");
    let r = app
        .send(put_avatar(Some(&member), b"plain text", "image/jpeg"))
        .await;
    r.assert_problem(415, "unsupported_media_type");
    let mut huge = png(4, 4, 1);
    huge[16..20].copy_from_slice(&60_000u32.to_be_bytes());
    let mut crc = flate2::Crc::new();
    crc.update(&huge[12..29]);
    huge[29..33].copy_from_slice(&crc.sum().to_be_bytes());
    let r = app
        .send(put_avatar(Some(&member), &huge, "image/png"))
        .await;
    r.assert_problem(422, "image_too_large");
    let r = app
        .send(put_avatar(
            Some(&member),
            &vec![0xFF; 10 * 1024 * 1024 + 1],
            "image/jpeg",
        ))
        .await;
    r.assert_problem(413, "payload_too_large");
    let r = app
        .send(put_avatar(None, &png(64, 64, 1), "image/png"))
        .await;
    assert_eq!(r.status, 401);
    let r: Resp = app.delete("/api/v1/me/avatar", None).await;
    assert_eq!(r.status, 401);
    assert_eq!(
        app.get("/api/v1/me", Some(&member.token)).await.body["avatars"],
        json!(null)
    );
    assert_eq!(stored_files(&app), 0);
    assert_counters_true(&app, "refused avatars").await;
});

db_test!(
    a_crowd_changing_avatars_at_once_keeps_every_file_counted,
    |app| {
        let app = TestApp::start(app.db, |url| {
            let mut c = test_config(url);
            c.db_pool_size = 16;
            c
        })
        .await;
        let mut members = Vec::new();
        for i in 0..4 {
            members.push(app.register(&format!("vain{i}")).await);
        }
        // 24 changes, 16 in flight: each member sets several avatars (some the same picture as
        // another member's) and removes theirs in between
        let mut ops = Vec::new();
        for (m, member) in members.iter().enumerate() {
            for k in 0..6u8 {
                ops.push((
                    member.clone(),
                    if k == 3 {
                        None
                    } else {
                        Some(png(80 + k as u32, 80, (m as u8 % 2) * 50 + k))
                    },
                ));
            }
        }
        use futures_util::stream::{self, StreamExt};
        let answers: Vec<Resp> = stream::iter(ops)
            .map(|(member, picture)| {
                let app = &app;
                async move {
                    match picture {
                        Some(bytes) => {
                            app.send(put_avatar(Some(&member), &bytes, "image/png"))
                                .await
                        }
                        None => app.delete("/api/v1/me/avatar", Some(&member.token)).await,
                    }
                }
            })
            .buffer_unordered(16)
            .collect()
            .await;
        for r in &answers {
            assert!(r.status == 200 || r.status == 204, "{}", r.text);
        }
        assert_counters_true(&app, "avatars changed by a crowd").await;
        // every file still counted is in the store, and only those
        for member in &members {
            let me = app.get("/api/v1/me", Some(&member.token)).await;
            if let Some(a) = me.body["avatars"].as_object() {
                for url in a.values() {
                    assert_eq!(image_at(&app, url.as_str().unwrap()).await.0, 200);
                }
            }
        }
        let blobs: i64 = app
            .state
            .db
            .run(|conn| {
                use diesel::prelude::*;
                Ok(gloss::db::schema::media_blobs::table
                    .count()
                    .get_result(conn)?)
            })
            .await
            .unwrap();
        assert_eq!(stored_files(&app) as i64, blobs);
    }
);
