//! Image attachments through the API, on both databases: uploads checked by their bytes, bounded
//! decoding, metadata stripped and orientation applied in what is served, images shown in posts,
//! the quota, the removal of unused uploads, and the S3-compatible store.

use std::io::Cursor;

use actix_web::test::TestRequest;
use image::{DynamicImage, ImageFormat, RgbImage};
use serde_json::{json, Value};

use crate::common::{db_test, test_config, Member, Resp, TestApp};
use crate::counters::assert_counters_true;

pub const BOUNDARY: &str = "gloss-test-boundary-7MA4YWxkTrZu0gW";

/// A multipart/form-data body with one part per `(name, file name, content type, bytes)`.
pub fn multipart(parts: &[(&str, &str, &str, &[u8])]) -> Vec<u8> {
    let mut body = Vec::new();
    for (name, filename, content_type, bytes) in parts {
        body.extend_from_slice(
            format!(
                "--{BOUNDARY}\r\nContent-Disposition: form-data; name=\"{name}\"; filename=\"{filename}\"\r\nContent-Type: {content_type}\r\n\r\n"
            )
            .as_bytes(),
        );
        body.extend_from_slice(bytes);
        body.extend_from_slice(b"\r\n");
    }
    body.extend_from_slice(format!("--{BOUNDARY}--\r\n").as_bytes());
    body
}

/// Uploads `bytes` as the `file` part, named and typed as given.
pub async fn upload_as(
    app: &TestApp,
    token: Option<&str>,
    bytes: &[u8],
    filename: &str,
    content_type: &str,
) -> Resp {
    let mut req = TestRequest::post()
        .uri("/api/v1/attachments")
        .insert_header((
            "content-type",
            format!("multipart/form-data; boundary={BOUNDARY}"),
        ))
        .set_payload(multipart(&[("file", filename, content_type, bytes)]));
    if let Some(t) = token {
        req = req.insert_header(("authorization", format!("Bearer {t}")));
    }
    app.send(req).await
}

/// Uploads an image and returns its attachment (asserting 201).
pub async fn upload(app: &TestApp, member: &Member, bytes: &[u8]) -> Value {
    let r = upload_as(app, Some(&member.token), bytes, "photo.jpg", "image/jpeg").await;
    assert_eq!(r.status, 201, "{}", r.text);
    r.body
}

fn encode(picture: &DynamicImage, format: ImageFormat) -> Vec<u8> {
    let mut out = Cursor::new(Vec::new());
    picture.write_to(&mut out, format).unwrap();
    out.into_inner()
}

/// A PNG of `width` × `height` in one colour.
pub fn png(width: u32, height: u32, shade: u8) -> Vec<u8> {
    let picture = RgbImage::from_pixel(width, height, image::Rgb([shade, 90, 200]));
    encode(&DynamicImage::ImageRgb8(picture), ImageFormat::Png)
}

/// A PNG of noise, which does not compress: about `3 × width × height` bytes.
fn noise_png(width: u32, height: u32, seed: u32) -> Vec<u8> {
    let mut x = seed.wrapping_mul(2_654_435_761).max(1);
    let picture = RgbImage::from_fn(width, height, |_, _| {
        x ^= x << 13;
        x ^= x >> 17;
        x ^= x << 5;
        image::Rgb([x as u8, (x >> 8) as u8, (x >> 16) as u8])
    });
    encode(&DynamicImage::ImageRgb8(picture), ImageFormat::Png)
}

/// What the EXIF of `jpeg_with_exif` says, to look for in what is served.
const EXIF_MARKER: &[u8] = b"GLOSS-GPS-MARKER 51.5074N 0.1278W";

/// A 64 × 48 JPEG (wider than high) whose EXIF says "rotate 90° clockwise to show" and holds a GPS
/// position and a description: served, it must be 48 × 64 and hold none of it.
fn jpeg_with_exif() -> Vec<u8> {
    // the left half red, the right half blue: after the rotation, the top is red
    let picture = RgbImage::from_fn(64, 48, |x, _| {
        if x < 32 {
            image::Rgb([220, 20, 20])
        } else {
            image::Rgb([20, 20, 220])
        }
    });
    let jpeg = encode(&DynamicImage::ImageRgb8(picture), ImageFormat::Jpeg);
    // TIFF, big-endian: IFD0 (description, orientation, GPS pointer), the GPS IFD (latitude
    // reference and latitude), the latitude's rationals, the description's text
    let mut tiff: Vec<u8> = Vec::new();
    let be16 = |v: u16| v.to_be_bytes();
    let be32 = |v: u32| v.to_be_bytes();
    let mut desc = EXIF_MARKER.to_vec();
    desc.push(0);
    tiff.extend_from_slice(b"MM");
    tiff.extend_from_slice(&be16(42));
    tiff.extend_from_slice(&be32(8));
    // IFD0 at 8: 3 entries, ends at 8 + 2 + 36 + 4 = 50
    tiff.extend_from_slice(&be16(3));
    for (tag, kind, count, value) in [
        (0x010E_u16, 2_u16, desc.len() as u32, 104_u32), // ImageDescription -> 104
        (0x0112, 3, 1, 6 << 16),                         // Orientation = 6 (SHORT, left-justified)
        (0x8825, 4, 1, 50),                              // GPS IFD -> 50
    ] {
        tiff.extend_from_slice(&be16(tag));
        tiff.extend_from_slice(&be16(kind));
        tiff.extend_from_slice(&be32(count));
        tiff.extend_from_slice(&be32(value));
    }
    tiff.extend_from_slice(&be32(0));
    // GPS IFD at 50: 2 entries, ends at 50 + 2 + 24 + 4 = 80
    tiff.extend_from_slice(&be16(2));
    tiff.extend_from_slice(&be16(0x0001)); // GPSLatitudeRef = "N"
    tiff.extend_from_slice(&be16(2));
    tiff.extend_from_slice(&be32(2));
    tiff.extend_from_slice(b"N\0\0\0");
    tiff.extend_from_slice(&be16(0x0002)); // GPSLatitude -> 80
    tiff.extend_from_slice(&be16(5));
    tiff.extend_from_slice(&be32(3));
    tiff.extend_from_slice(&be32(80));
    tiff.extend_from_slice(&be32(0));
    for (n, d) in [(51, 1), (30, 1), (266, 10)] {
        tiff.extend_from_slice(&be32(n));
        tiff.extend_from_slice(&be32(d));
    }
    assert_eq!(tiff.len(), 104);
    tiff.extend_from_slice(&desc);
    let mut app1 = b"Exif\0\0".to_vec();
    app1.extend_from_slice(&tiff);
    let mut out = vec![0xFF, 0xD8, 0xFF, 0xE1];
    out.extend_from_slice(&((app1.len() + 2) as u16).to_be_bytes());
    out.extend_from_slice(&app1);
    out.extend_from_slice(&jpeg[2..]); // the encoder's JPEG without its SOI
    out
}

/// A small PNG whose header is rewritten to declare `width` × `height` (its CRC made right): what
/// a decompression bomb looks like before decoding.
fn png_declaring(width: u32, height: u32) -> Vec<u8> {
    let mut bytes = png(4, 4, 10);
    // signature (8), IHDR length (4), "IHDR" (4), then width and height
    bytes[16..20].copy_from_slice(&width.to_be_bytes());
    bytes[20..24].copy_from_slice(&height.to_be_bytes());
    let mut crc = flate2::Crc::new();
    crc.update(&bytes[12..29]); // "IHDR" and its 13 bytes of data
    bytes[29..33].copy_from_slice(&crc.sum().to_be_bytes());
    bytes
}

/// A real decompression bomb: 6,400 × 6,400 grey pixels (41 million, past the 40 million
/// allowed) that compress to a few tens of kilobytes.
fn png_bomb() -> Vec<u8> {
    let picture = image::GrayImage::new(6400, 6400);
    encode(&DynamicImage::ImageLuma8(picture), ImageFormat::Png)
}

/// An upload that must be refused: what it is, its bytes, file name and claimed type, and the
/// status and problem code it gets.
type Refusal = (
    &'static str,
    Vec<u8>,
    &'static str,
    &'static str,
    u16,
    &'static str,
);

async fn get_bytes(
    app: &TestApp,
    path: &str,
    etag: Option<&str>,
) -> (u16, actix_web::http::header::HeaderMap, Vec<u8>) {
    let mut req = TestRequest::get().uri(path);
    if let Some(e) = etag {
        req = req.insert_header(("if-none-match", e));
    }
    let (status, headers, bytes) = app.send_raw(req).await;
    (status, headers, bytes.to_vec())
}

fn decoded_size(webp: &[u8]) -> (u32, u32) {
    let picture = image::load_from_memory_with_format(webp, ImageFormat::WebP).unwrap();
    (picture.width(), picture.height())
}

fn contains(haystack: &[u8], needle: &[u8]) -> bool {
    haystack.windows(needle.len()).any(|w| w == needle)
}

/// The files in the media folder.
pub fn stored_files(app: &TestApp) -> usize {
    fn walk(dir: &std::path::Path) -> usize {
        std::fs::read_dir(dir)
            .map(|entries| {
                entries
                    .flatten()
                    .map(|e| {
                        let p = e.path();
                        if p.is_dir() {
                            walk(&p)
                        } else {
                            1
                        }
                    })
                    .sum()
            })
            .unwrap_or(0)
    }
    assert_eq!(
        app.state.config.media_dir,
        app.media.path().to_string_lossy()
    );
    walk(app.media.path())
}

db_test!(
    an_uploaded_photo_is_served_upright_without_its_exif,
    |app| {
        let member = app.register("photographer").await;
        let jpeg = jpeg_with_exif();
        assert!(contains(&jpeg, EXIF_MARKER) && contains(&jpeg, b"Exif"));
        let r = upload_as(
            &app,
            Some(&member.token),
            &jpeg,
            "IMG_0001.JPG",
            "image/jpeg",
        )
        .await;
        assert_eq!(r.status, 201, "{}", r.text);
        let a = &r.body;
        let id = a["id"].as_i64().unwrap();
        assert_eq!(
            r.header("location"),
            Some(format!("/api/v1/attachments/{id}").as_str())
        );
        assert_eq!(a["content_type"], "image/jpeg");
        assert_eq!(a["size"], jpeg.len() as i64);
        // the EXIF orientation (6: turn 90° clockwise) is applied: 64 × 48 becomes 48 × 64
        assert_eq!(
            (a["width"].as_i64(), a["height"].as_i64()),
            (Some(48), Some(64))
        );
        assert_eq!(a["url"], format!("/api/v1/attachments/{id}/display"));
        assert_eq!(
            a["thumbnail_url"],
            format!("/api/v1/attachments/{id}/thumbnail")
        );
        assert_eq!(a["markdown"], format!("![](attachment:{id})"));
        // until a post shows it, the upload is its owner's alone (ids are sequential)
        let stranger = app.register("stranger").await;
        let meta = format!("/api/v1/attachments/{id}");
        assert_eq!(app.get(&meta, Some(&member.token)).await.body, *a);
        app.get(&meta, None).await.assert_problem(404, "not_found");
        app.get(&meta, Some(&stranger.token))
            .await
            .assert_problem(404, "not_found");
        for url in [
            a["url"].as_str().unwrap(),
            a["thumbnail_url"].as_str().unwrap(),
        ] {
            assert_eq!(get_bytes(&app, url, None).await.0, 404);
            let owned = app
                .send_raw(
                    TestRequest::get()
                        .uri(url)
                        .insert_header(("authorization", format!("Bearer {}", member.token))),
                )
                .await;
            assert_eq!(owned.0, 200);
            assert_eq!(
                owned.1.get("cache-control").unwrap(),
                "private, max-age=31536000, immutable"
            );
        }
        // shown in a post, it is everyone's to see
        let s = app.forum().await;
        let r = app
            .post(
                &format!("/api/v1/forums/{}/threads", s.forum_id),
                Some(&member.token),
                json!({"title": "A photo", "body": format!("![upright](attachment:{id})")}),
            )
            .await;
        assert_eq!(r.status, 201, "{}", r.text);
        assert_eq!(app.get(&meta, None).await.body, *a);

        for (url, w, h) in [
            (
                a["url"].as_str().unwrap(),
                "display_width",
                "display_height",
            ),
            (
                a["thumbnail_url"].as_str().unwrap(),
                "thumbnail_width",
                "thumbnail_height",
            ),
        ] {
            let (status, headers, bytes) = get_bytes(&app, url, None).await;
            assert_eq!(status, 200);
            assert_eq!(headers.get("content-type").unwrap(), "image/webp");
            assert_eq!(headers.get("x-content-type-options").unwrap(), "nosniff");
            assert_eq!(
                headers.get("cache-control").unwrap(),
                "public, max-age=31536000, immutable"
            );
            let etag = headers.get("etag").unwrap().to_str().unwrap().to_string();
            assert!(etag.starts_with('"') && etag.len() == 66, "{etag}");
            assert_eq!(&bytes[0..4], b"RIFF");
            assert_eq!(&bytes[8..12], b"WEBP");
            // nothing of the upload's metadata: no EXIF chunk, no GPS, no description
            assert!(!contains(&bytes, b"Exif") && !contains(&bytes, b"EXIF"));
            assert!(!contains(&bytes, EXIF_MARKER) && !contains(&bytes, b"GLOSS-GPS"));
            assert_eq!(
                decoded_size(&bytes),
                (a[w].as_i64().unwrap() as u32, a[h].as_i64().unwrap() as u32)
            );
            assert_eq!(decoded_size(&bytes), (48, 64));
            // upright: the red half of the photo is now at the top
            let picture = image::load_from_memory_with_format(&bytes, ImageFormat::WebP)
                .unwrap()
                .to_rgb8();
            let (top, bottom) = (picture.get_pixel(24, 8), picture.get_pixel(24, 56));
            assert!(top[0] > 150 && top[2] < 100, "top {top:?}");
            assert!(bottom[2] > 150 && bottom[0] < 100, "bottom {bottom:?}");
            // revalidation by ETag
            let (status, headers, body) = get_bytes(&app, url, Some(&etag)).await;
            assert_eq!(status, 304);
            assert!(body.is_empty());
            assert_eq!(headers.get("etag").unwrap().to_str().unwrap(), etag);
        }
        assert_eq!(
            get_bytes(&app, &format!("/api/v1/attachments/{id}/original"), None)
                .await
                .0,
            404
        );
        assert_eq!(
            get_bytes(&app, "/api/v1/attachments/999999/display", None)
                .await
                .0,
            404
        );
        assert_counters_true(&app, "an upload").await;
    }
);

db_test!(
    uploads_that_are_not_safe_images_are_refused_and_leave_nothing,
    |app| {
        let member = app.register("mallory").await;
        let t = Some(member.token.as_str());
        let svg = br#"<svg xmlns="http://www.w3.org/2000/svg" onload="alert(1)"><script>alert(2)</script></svg>"#;
        let html =
            b"<!doctype html><html><body><script>alert(document.cookie)</script></body></html>";
        let cases: Vec<Refusal> = vec![
            (
                "a text file named .png",
                b"just some notes, honestly a PNG".to_vec(),
                "notes.png",
                "image/png",
                415,
                "unsupported_media_type",
            ),
            (
                "an SVG",
                svg.to_vec(),
                "logo.svg",
                "image/svg+xml",
                415,
                "unsupported_media_type",
            ),
            (
                "an SVG named .jpg",
                svg.to_vec(),
                "logo.jpg",
                "image/jpeg",
                415,
                "unsupported_media_type",
            ),
            (
                "HTML named .gif",
                html.to_vec(),
                "cat.gif",
                "image/gif",
                415,
                "unsupported_media_type",
            ),
            (
                "a header declaring 100,000 × 100,000 pixels",
                png_declaring(100_000, 100_000),
                "bomb.png",
                "image/png",
                422,
                "image_too_large",
            ),
            (
                "a header declaring 12,001 × 10 pixels",
                png_declaring(12_001, 10),
                "wide.png",
                "image/png",
                422,
                "image_too_large",
            ),
            (
                "a decompression bomb of 41 million pixels",
                png_bomb(),
                "bomb2.png",
                "image/png",
                422,
                "image_too_large",
            ),
            (
                "a truncated PNG",
                png(50, 50, 3)[..60].to_vec(),
                "cut.png",
                "image/png",
                422,
                "validation_failed",
            ),
            (
                "an empty file",
                Vec::new(),
                "empty.png",
                "image/png",
                422,
                "validation_failed",
            ),
            (
                "one byte over 10 MB",
                vec![0xFF; 10 * 1024 * 1024 + 1],
                "big.jpg",
                "image/jpeg",
                413,
                "payload_too_large",
            ),
        ];
        for (what, bytes, name, ctype, status, code) in cases {
            let r = upload_as(&app, t, &bytes, name, ctype).await;
            assert_eq!(r.status, status, "{what}: {}", r.text);
            r.assert_problem(status, code);
            assert!(
                !r.body["detail"].as_str().unwrap_or("").is_empty(),
                "{what}"
            );
            if code == "validation_failed" {
                assert_eq!(r.error_fields(), vec!["file".to_string()], "{what}");
            }
        }
        // not multipart at all; no `file` part; no account
        let r = app
            .post("/api/v1/attachments", t, json!({"file": "aGVsbG8="}))
            .await;
        r.assert_problem(415, "unsupported_media_type");
        let r = app
            .send(
                TestRequest::post()
                    .uri("/api/v1/attachments")
                    .insert_header(("authorization", format!("Bearer {}", member.token)))
                    .insert_header((
                        "content-type",
                        format!("multipart/form-data; boundary={BOUNDARY}"),
                    ))
                    .set_payload(multipart(&[(
                        "picture",
                        "a.png",
                        "image/png",
                        &png(4, 4, 1),
                    )])),
            )
            .await;
        r.assert_problem(422, "validation_failed");
        assert_eq!(r.error_fields(), vec!["picture".to_string()]);
        let r = upload_as(&app, None, &png(4, 4, 1), "a.png", "image/png").await;
        assert_eq!(r.status, 401);
        // a garbled multipart body
        let r = app
            .send(
                TestRequest::post()
                    .uri("/api/v1/attachments")
                    .insert_header(("authorization", format!("Bearer {}", member.token)))
                    .insert_header((
                        "content-type",
                        format!("multipart/form-data; boundary={BOUNDARY}"),
                    ))
                    .set_payload(format!(
                        "--{BOUNDARY}\r\nContent-Disposition: form-data; name=\"file\"\r\n\r\nabc"
                    )),
            )
            .await;
        assert!((400..500).contains(&r.status), "{}", r.text);
        // nothing was kept of any of it
        let me = app.get("/api/v1/me", t).await;
        assert_eq!(me.status, 200);
        assert_eq!(stored_files(&app), 0);
        assert_counters_true(&app, "refused uploads").await;
        let kept: i64 = app
            .state
            .db
            .run(|conn| {
                use diesel::prelude::*;
                Ok(gloss::db::schema::attachments::table
                    .count()
                    .get_result(conn)?)
            })
            .await
            .unwrap();
        assert_eq!(kept, 0);
    }
);

/// The posts of a thread as the API lists them.
async fn posts_of(app: &TestApp, thread_id: i64) -> Vec<Value> {
    let r = app
        .get(&format!("/api/v1/threads/{thread_id}/posts"), None)
        .await;
    assert_eq!(r.status, 200, "{}", r.text);
    r.body["items"].as_array().unwrap().clone()
}

db_test!(a_post_shows_its_images_with_their_captions, |app| {
    let s = app.forum().await;
    let author = app.register("reporter").await;
    let harbour = upload(&app, &author, &png(2000, 1000, 40)).await;
    let market = upload(&app, &author, &png(300, 200, 80)).await;
    let (h, m) = (
        harbour["id"].as_i64().unwrap(),
        market["id"].as_i64().unwrap(),
    );
    assert_eq!(
        (
            harbour["display_width"].as_i64(),
            harbour["display_height"].as_i64()
        ),
        (Some(1600), Some(800))
    );
    assert_eq!(
        (
            harbour["thumbnail_width"].as_i64(),
            harbour["thumbnail_height"].as_i64()
        ),
        (Some(320), Some(160))
    );
    let body = format!("Dawn over the port.\n\n![The harbour at dawn](attachment:{h})\n\nAnd later ![the *fish* market](attachment:{m}).");
    let r = app
        .post(
            &format!("/api/v1/forums/{}/threads", s.forum_id),
            Some(&author.token),
            json!({"title": "Photos from the coast", "body": body}),
        )
        .await;
    assert_eq!(r.status, 201, "{}", r.text);
    let thread_id = r.body["thread"]["id"].as_i64().unwrap();
    let first = &r.body["first_post"];
    let shown: Vec<(i64, String)> = first["attachments"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| {
            (
                a["id"].as_i64().unwrap(),
                a["caption"].as_str().unwrap().to_string(),
            )
        })
        .collect();
    assert_eq!(
        shown,
        vec![
            (h, "The harbour at dawn".to_string()),
            (m, "the fish market".to_string())
        ]
    );
    assert_eq!(
        first["attachments"][0]["url"],
        format!("/api/v1/attachments/{h}/display")
    );
    assert_eq!(
        first["attachments"][0]["thumbnail_url"],
        format!("/api/v1/attachments/{h}/thumbnail")
    );
    assert_eq!(first["attachments"][0]["width"], 2000);
    assert_eq!(first["attachments"][0]["content_type"], "image/png");
    assert!(first["attachments"][0]["size"].as_i64().unwrap() > 0);
    // the HTML shows the display size; the text reads each image as its caption
    let html = first["body_html"].as_str().unwrap();
    assert!(
        html.contains(&format!("src=\"/api/v1/attachments/{h}/display\"")),
        "{html}"
    );
    assert!(html.contains("alt=\"The harbour at dawn\""), "{html}");
    assert!(!html.contains("attachment:"), "{html}");
    assert_eq!(
        first["body_text"],
        "Dawn over the port.\n\nThe harbour at dawn\n\nAnd later the fish market."
    );
    // a thread page lists them too
    let posts = posts_of(&app, thread_id).await;
    assert_eq!(posts[0]["attachments"], first["attachments"]);

    // a reply shows an image; an edit that drops it shows none
    let boat = upload(&app, &author, &png(64, 64, 120)).await;
    let b = boat["id"].as_i64().unwrap();
    let r = app
        .post(
            &format!("/api/v1/threads/{thread_id}/posts"),
            Some(&author.token),
            json!({"body": format!("![A boat](attachment:{b})")}),
        )
        .await;
    assert_eq!(r.status, 201, "{}", r.text);
    let reply_id = r.body["id"].as_i64().unwrap();
    assert_eq!(r.body["attachments"][0]["id"], b);
    assert_eq!(r.body["body_text"], "A boat");
    let r = app
        .patch(
            &format!("/api/v1/posts/{reply_id}"),
            Some(&author.token),
            json!({"body": "No boat after all."}),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(r.body["attachments"], json!([]));
    // shown once, it is kept (the post's history holds it), and cannot be removed by its owner
    let r = app
        .delete(&format!("/api/v1/attachments/{b}"), Some(&author.token))
        .await;
    r.assert_problem(409, "conflict");

    // another member cannot show the reporter's uploads, nor an id that does not exist
    let other = app.register("borrower").await;
    for body in [
        format!("![mine now](attachment:{h})"),
        "![ghost](attachment:987654)".to_string(),
    ] {
        let r = app
            .post(
                &format!("/api/v1/threads/{thread_id}/posts"),
                Some(&other.token),
                json!({"body": body}),
            )
            .await;
        r.assert_problem(422, "validation_failed");
        assert_eq!(r.error_fields(), vec!["body".to_string()]);
    }
    // a moderator editing the reporter's post keeps the reporter's images
    let moderator = app
        .promote(
            &app.register("harbourmod").await,
            gloss::users::Role::Moderator,
        )
        .await;
    let first_id = first["id"].as_i64().unwrap();
    let r = app
        .patch(
            &format!("/api/v1/posts/{first_id}"),
            Some(&moderator.token),
            json!({"body": format!("Edited by a moderator.\n\n![The harbour](attachment:{h})")}),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(r.body["attachments"][0]["caption"], "The harbour");
    // a member sees no images of a deleted post
    let r = app
        .delete(&format!("/api/v1/posts/{reply_id}"), Some(&author.token))
        .await;
    assert_eq!(r.status, 204);
    // the harbour is shown in a live post: anyone sees it; the boat was shown only in the reply,
    // now edited and deleted: its owner and moderators see it, other members and guests do not
    assert_eq!(
        get_bytes(&app, &format!("/api/v1/attachments/{h}/thumbnail"), None)
            .await
            .0,
        200
    );
    let boat_url = format!("/api/v1/attachments/{b}");
    app.get(&boat_url, None)
        .await
        .assert_problem(404, "not_found");
    app.get(&boat_url, Some(&other.token))
        .await
        .assert_problem(404, "not_found");
    assert_eq!(app.get(&boat_url, Some(&author.token)).await.status, 200);
    assert_eq!(app.get(&boat_url, Some(&moderator.token)).await.status, 200);
    // a deleted post's image: hidden with the post
    let r = app
        .post(
            &format!("/api/v1/threads/{thread_id}/posts"),
            Some(&author.token),
            json!({"body": format!("![boat again](attachment:{b})")}),
        )
        .await;
    assert_eq!(r.status, 201, "{}", r.text);
    assert_eq!(app.get(&boat_url, None).await.status, 200);
    let again = r.body["id"].as_i64().unwrap();
    assert_eq!(
        app.delete(&format!("/api/v1/posts/{again}"), Some(&moderator.token))
            .await
            .status,
        204
    );
    app.get(&boat_url, None)
        .await
        .assert_problem(404, "not_found");
    assert_counters_true(&app, "posts with images").await;
});

db_test!(uploads_count_against_the_members_quota, |app| {
    let app = TestApp::start(app.db, |url| {
        let mut c = test_config(url);
        c.upload_quota_mb = 1;
        c
    })
    .await;
    let member = app.register("hoarder").await;
    let other = app.register("neighbour").await;
    // about 470 KB each: two fit in 1 MB, the third does not
    let images: Vec<Vec<u8>> = (0..3).map(|i| noise_png(400, 390, i + 1)).collect();
    assert!(
        images
            .iter()
            .all(|b| b.len() > 400_000 && b.len() < 524_288),
        "{:?}",
        images.iter().map(Vec::len).collect::<Vec<_>>()
    );
    let first = upload(&app, &member, &images[0]).await;
    upload(&app, &member, &images[1]).await;
    let r = upload_as(&app, Some(&member.token), &images[2], "c.png", "image/png").await;
    r.assert_problem(413, "upload_quota_exceeded");
    // the quota is each member's own
    upload(&app, &other, &images[2]).await;
    // removing an upload gives its bytes back
    let r = app
        .delete(
            &format!("/api/v1/attachments/{}", first["id"]),
            Some(&other.token),
        )
        .await;
    r.assert_problem(403, "forbidden");
    let r = app
        .delete(
            &format!("/api/v1/attachments/{}", first["id"]),
            Some(&member.token),
        )
        .await;
    assert_eq!(r.status, 204);
    assert_eq!(
        app.get(&format!("/api/v1/attachments/{}", first["id"]), None)
            .await
            .status,
        404
    );
    upload(&app, &member, &images[2]).await;
    assert_counters_true(&app, "uploads against the quota").await;
});

db_test!(
    uploads_no_post_shows_are_removed_after_a_day_with_their_files,
    |app| {
        let s = app.forum().await;
        let member = app.register("forgetful").await;
        let shown = upload(&app, &member, &png(100, 80, 1)).await;
        let forgotten = upload(&app, &member, &png(90, 80, 2)).await;
        // the same picture twice: content addressing keeps one copy of each file (and a picture
        // smaller than a thumbnail has one file for both sizes)
        let twin = upload(&app, &member, &png(100, 80, 1)).await;
        assert_eq!(
            twin["url"],
            format!("/api/v1/attachments/{}/display", twin["id"])
        );
        assert_eq!(stored_files(&app), 2);
        let r = app
            .post(
                &format!("/api/v1/forums/{}/threads", s.forum_id),
                Some(&member.token),
                json!({"title": "Kept", "body": format!("![kept](attachment:{})", shown["id"])}),
            )
            .await;
        assert_eq!(r.status, 201, "{}", r.text);

        // within the day nothing goes
        let now = gloss::db::now();
        let removed = gloss::attachments::cleanup::remove_unused(
            &app.state,
            now - chrono::Duration::hours(24),
        )
        .await
        .unwrap();
        assert_eq!(removed, 0);
        // a day later the two unused uploads go; the twin's files stay, as the shown upload uses them
        let removed = gloss::attachments::cleanup::remove_unused(
            &app.state,
            now + chrono::Duration::seconds(1),
        )
        .await
        .unwrap();
        assert_eq!(removed, 2);
        for gone in [&forgotten, &twin] {
            assert_eq!(
                app.get(&format!("/api/v1/attachments/{}", gone["id"]), None)
                    .await
                    .status,
                404
            );
        }
        assert_eq!(stored_files(&app), 1);
        let (status, _, bytes) = get_bytes(&app, shown["url"].as_str().unwrap(), None).await;
        assert_eq!(status, 200);
        assert_eq!(decoded_size(&bytes), (100, 80));
        let me = app.get("/api/v1/me", Some(&member.token)).await;
        assert_eq!(me.status, 200);
        assert_counters_true(&app, "the removal of unused uploads").await;
    }
);

/// An S3-compatible server for one test: moto's server mode (`pip install "moto[server]"`), on a
/// free port of loopback, stopped when dropped.
struct S3Server {
    child: std::process::Child,
    endpoint: String,
}

impl Drop for S3Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl S3Server {
    fn start() -> S3Server {
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let child = std::process::Command::new("moto_server")
            .args(["-H", "127.0.0.1", "-p", &port.to_string()])
            .stdin(std::process::Stdio::null())
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .spawn()
            .expect("moto_server must be installed for the S3 tests: pip install \"moto[server]\"");
        let server = S3Server {
            child,
            endpoint: format!("http://127.0.0.1:{port}"),
        };
        for _ in 0..300 {
            if server.request("GET", "/").is_some() {
                return server;
            }
            std::thread::sleep(std::time::Duration::from_millis(50));
        }
        panic!("moto_server did not start on port {port}");
    }

    /// A plain HTTP request (moto does not check signatures); the status and body.
    fn request(&self, method: &str, path: &str) -> Option<(u16, String)> {
        use std::io::{Read, Write};
        let addr = self.endpoint.trim_start_matches("http://");
        let mut stream = std::net::TcpStream::connect(addr).ok()?;
        write!(
            stream,
            "{method} {path} HTTP/1.1\r\nHost: {addr}\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"
        )
        .ok()?;
        let mut answer = String::new();
        stream.read_to_string(&mut answer).ok()?;
        let status = answer.split(' ').nth(1)?.parse().ok()?;
        Some((status, answer))
    }

    /// The keys in a bucket.
    fn keys(&self, bucket: &str) -> Vec<String> {
        let (status, body) = self
            .request("GET", &format!("/{bucket}?list-type=2"))
            .unwrap();
        assert_eq!(status, 200, "{body}");
        body.split("<Key>")
            .skip(1)
            .filter_map(|s| s.split("</Key>").next())
            .map(str::to_string)
            .collect()
    }
}

db_test!(
    images_are_kept_in_an_s3_compatible_bucket_when_one_is_set,
    |app| {
        let s3 = S3Server::start();
        let bucket = "gloss-media-test";
        let (status, body) = s3.request("PUT", &format!("/{bucket}")).unwrap();
        assert_eq!(status, 200, "{body}");
        let endpoint = s3.endpoint.clone();
        let app = TestApp::start(app.db, move |url| {
            let mut c = test_config(url);
            c.s3 = Some(gloss::config::S3Config {
                bucket: bucket.to_string(),
                endpoint: Some(endpoint.clone()),
                region: "us-east-1".into(),
                access_key_id: Some("testing".into()),
                secret_access_key: Some("testing".into()),
            });
            c
        })
        .await;
        assert_eq!(app.state.media.location, format!("s3://{bucket}"));
        let s = app.forum().await;
        let member = app.register("cloudy").await;
        let photo = upload(&app, &member, &jpeg_with_exif()).await;
        let unused = upload(&app, &member, &png(500, 400, 7)).await;
        // two files each (display and thumbnail differ for the larger picture; the photo is small)
        let keys = s3.keys(bucket);
        assert_eq!(keys.len(), 3, "{keys:?}");
        assert!(
            keys.iter()
                .all(|k| k.starts_with("media/") && k.ends_with(".webp")),
            "{keys:?}"
        );
        assert_eq!(stored_files(&app), 0, "nothing on local disk");
        let r = app
        .post(&format!("/api/v1/forums/{}/threads", s.forum_id), Some(&member.token),
              json!({"title": "From the cloud", "body": format!("![Up in the air](attachment:{})", photo["id"])}))
        .await;
        assert_eq!(r.status, 201, "{}", r.text);
        assert_eq!(
            r.body["first_post"]["attachments"][0]["caption"],
            "Up in the air"
        );
        let (status, headers, bytes) = get_bytes(&app, photo["url"].as_str().unwrap(), None).await;
        assert_eq!(status, 200);
        assert_eq!(headers.get("content-type").unwrap(), "image/webp");
        assert_eq!(decoded_size(&bytes), (48, 64));
        assert!(!contains(&bytes, EXIF_MARKER));
        let (status, _, bytes) = app
            .send_raw(
                TestRequest::get()
                    .uri(unused["thumbnail_url"].as_str().unwrap())
                    .insert_header(("authorization", format!("Bearer {}", member.token))),
            )
            .await;
        let bytes = bytes.to_vec();
        assert_eq!(status, 200);
        assert_eq!(decoded_size(&bytes), (320, 256));
        // the unused upload's files leave the bucket with it
        let removed = gloss::attachments::cleanup::remove_unused(
            &app.state,
            gloss::db::now() + chrono::Duration::seconds(1),
        )
        .await
        .unwrap();
        assert_eq!(removed, 1);
        assert_eq!(s3.keys(bucket).len(), 1);
        assert_counters_true(&app, "uploads to S3").await;
    }
);

/// Sends uploads with 16 in flight; asserts that none answered 5xx; the answers in order.
async fn upload_crowd(app: &TestApp, uploads: Vec<(String, Vec<u8>)>) -> Vec<Resp> {
    use futures_util::stream::{self, StreamExt};
    let mut answers: Vec<(usize, Resp)> = stream::iter(uploads.into_iter().enumerate())
        .map(|(i, (token, bytes))| async move {
            (
                i,
                upload_as(app, Some(&token), &bytes, "crowd.png", "image/png").await,
            )
        })
        .buffer_unordered(16)
        .collect()
        .await;
    answers.sort_by_key(|(i, _)| *i);
    let answers: Vec<Resp> = answers.into_iter().map(|(_, r)| r).collect();
    for r in &answers {
        assert!(r.status < 500, "a server error under load: {}", r.text);
    }
    answers
}

/// How many attachments use the file of `hash`, by the file's own count.
async fn refs_of(app: &TestApp, hash: String) -> i64 {
    app.state
        .db
        .run(move |conn| {
            use diesel::prelude::*;
            use gloss::db::schema::media_blobs;
            Ok(media_blobs::table
                .find(hash)
                .select(media_blobs::refs)
                .first(conn)?)
        })
        .await
        .unwrap()
}

db_test!(a_crowd_uploading_at_once_keeps_every_count_exact, |app| {
    let app = TestApp::start(app.db, |url| {
        let mut c = test_config(url);
        c.db_pool_size = 16;
        c.upload_quota_mb = 1;
        c
    })
    .await;
    let mut members = Vec::new();
    for i in 0..4 {
        members.push(app.register(&format!("crowd{i}")).await);
    }
    // 24 uploads from 4 members: half of them the same picture (one stored file, counted by
    // every upload of it), half pictures of their own
    let shared = png(200, 150, 9);
    let mut uploads = Vec::new();
    for (m, member) in members.iter().enumerate() {
        for j in 0..6 {
            let bytes = if j % 2 == 0 {
                shared.clone()
            } else {
                png(100 + m as u32, 60 + j, 30)
            };
            uploads.push((member.token.clone(), bytes));
        }
    }
    let answers = upload_crowd(&app, uploads).await;
    assert!(
        answers.iter().all(|r| r.status == 201),
        "{:?}",
        answers.iter().map(|r| &r.text).collect::<Vec<_>>()
    );
    let shared_ids: Vec<i64> = answers
        .iter()
        .step_by(2)
        .map(|r| r.body["id"].as_i64().unwrap())
        .collect();
    assert_eq!(shared_ids.len(), 12);
    let row = app
        .state
        .db
        .run({
            let id = shared_ids[0];
            move |conn| Ok(gloss::attachments::db::find(conn, id)?.unwrap())
        })
        .await
        .unwrap();
    // a picture smaller than a thumbnail is one file for both sizes: two counts per upload
    assert_eq!(row.display_hash, row.thumb_hash);
    assert_eq!(refs_of(&app, row.display_hash.clone()).await, 24);
    assert_counters_true(&app, "24 uploads at once").await;

    // one member sends six pictures of about 470 KB at once against a 1 MB quota: exactly as many
    // as fit are kept, whatever the order they arrive in
    let hoarder = app.register("crowdhoarder").await;
    let big: Vec<(String, Vec<u8>)> = (0..6)
        .map(|i| (hoarder.token.clone(), noise_png(400, 390, 50 + i)))
        .collect();
    let sizes: Vec<i64> = big.iter().map(|(_, b)| b.len() as i64).collect();
    let answers = upload_crowd(&app, big).await;
    let kept: Vec<usize> = (0..6).filter(|i| answers[*i].status == 201).collect();
    for r in answers.iter().filter(|r| r.status != 201) {
        r.assert_problem(413, "upload_quota_exceeded");
    }
    let used: i64 = kept.iter().map(|i| sizes[*i]).sum();
    assert_eq!(kept.len(), 2, "sizes {sizes:?}");
    assert!(used <= 1024 * 1024);
    assert_counters_true(&app, "a quota raced by six uploads").await;

    // 16 at once: members remove their own unused uploads while replies show others
    let s = app.forum().await;
    let (thread_id, _) = app.thread(&members[0], s.forum_id, "Crowd pictures").await;
    let mut ops = Vec::new();
    for (m, member) in members.iter().enumerate() {
        let mine: Vec<i64> = answers_ids(&app, member.id).await;
        for (k, id) in mine.iter().enumerate().take(4) {
            ops.push(if k % 2 == 0 {
                (
                    member.token.clone(),
                    actix_web::http::Method::DELETE,
                    format!("/api/v1/attachments/{id}"),
                    None,
                )
            } else {
                (
                    member.token.clone(),
                    actix_web::http::Method::POST,
                    format!("/api/v1/threads/{thread_id}/posts"),
                    Some(json!({"body": format!("Picture {m}.{k}: ![shot {k}](attachment:{id})")})),
                )
            });
        }
    }
    assert_eq!(ops.len(), 16);
    use futures_util::stream::{self, StreamExt};
    let results: Vec<Resp> = stream::iter(ops)
        .map(|(token, method, path, body)| {
            let app = &app;
            async move { app.call(method, &path, Some(&token), body).await }
        })
        .buffer_unordered(16)
        .collect()
        .await;
    for r in &results {
        assert!(r.status == 201 || r.status == 204, "{}", r.text);
    }
    let posts = posts_of(&app, thread_id).await;
    let shown: usize = posts
        .iter()
        .map(|p| p["attachments"].as_array().unwrap().len())
        .sum();
    assert_eq!(shown, 8);
    assert_counters_true(&app, "removals and replies with pictures at once").await;
    // the shared picture's file is counted by the uploads that remain
    let hash = row.display_hash.clone();
    let remaining = app
        .state
        .db
        .run(move |conn| {
            use diesel::prelude::*;
            use gloss::db::schema::attachments;
            Ok(attachments::table
                .filter(attachments::display_hash.eq(hash))
                .count()
                .get_result::<i64>(conn)?)
        })
        .await
        .unwrap();
    assert_eq!(refs_of(&app, row.display_hash.clone()).await, 2 * remaining);
});

/// A member's uploads, oldest first.
async fn answers_ids(app: &TestApp, user_id: i64) -> Vec<i64> {
    app.state
        .db
        .run(move |conn| {
            use diesel::prelude::*;
            use gloss::db::schema::attachments;
            Ok(attachments::table
                .filter(attachments::user_id.eq(user_id))
                .order(attachments::id)
                .select(attachments::id)
                .load(conn)?)
        })
        .await
        .unwrap()
}

db_test!(
    an_upload_retried_with_its_idempotency_key_is_stored_once,
    |app| {
        let member = app.register("retrier").await;
        // larger than the JSON body limit, as photos are
        let photo = noise_png(300, 300, 77);
        assert!(photo.len() > app.state.config.body_limit);
        let send = || {
            TestRequest::post()
                .uri("/api/v1/attachments")
                .insert_header(("authorization", format!("Bearer {}", member.token)))
                .insert_header(("idempotency-key", "3f1d1c9e-upload-1"))
                .insert_header((
                    "content-type",
                    format!("multipart/form-data; boundary={BOUNDARY}"),
                ))
                .set_payload(multipart(&[("file", "p.png", "image/png", &photo)]))
        };
        let first = app.send(send()).await;
        assert_eq!(first.status, 201, "{}", first.text);
        let again = app.send(send()).await;
        assert_eq!(again.status, 201, "{}", again.text);
        assert_eq!(again.header("idempotent-replayed"), Some("true"));
        assert_eq!(again.body["id"], first.body["id"]);
        assert_eq!(answers_ids(&app, member.id).await.len(), 1);
        assert_counters_true(&app, "a retried upload").await;
    }
);
