//! What clients on flaky networks rely on: `ETag` and `304`, `HEAD`, who a response may be
//! cached for.

use std::io::{Read, Write};
use std::net::TcpStream;
use std::time::Duration;

use actix_web::test::TestRequest;

use crate::common::db_test;

db_test!(
    a_repeated_read_with_its_etag_is_a_304_until_something_changes,
    |app| {
        let s = app.forum().await;
        let saif = app.register("saif").await;
        let (thread, _) = app.thread(&saif, s.forum_id, "Conditional reads").await;
        for path in [
            format!("/api/v1/forums/{}/threads", s.forum_id),
            format!("/api/v1/threads/{thread}/posts"),
            "/api/v1/forums".to_string(),
        ] {
            let first = app.get(&path, None).await;
            assert_eq!(first.status, 200, "{}", first.text);
            let tag = first.header("etag").expect("an ETag").to_string();
            assert!(tag.starts_with("W/\"") && tag.ends_with('"'), "{tag}");
            let again = app
                .send(
                    TestRequest::get()
                        .uri(&path)
                        .insert_header(("If-None-Match", tag.as_str())),
                )
                .await;
            assert_eq!(again.status, 304, "{path}");
            assert!(again.text.is_empty(), "a 304 has no body");
            assert_eq!(again.header("etag"), Some(tag.as_str()));
            // a list of tags, one of them weak, matches as well
            let listed = app
                .send(TestRequest::get().uri(&path).insert_header((
                    "If-None-Match",
                    format!("\"other\", {}", tag.trim_start_matches("W/")),
                )))
                .await;
            assert_eq!(listed.status, 304, "{path}");
        }
        // a change: the old tag no longer matches, and the new answer has a new tag
        let path = format!("/api/v1/forums/{}/threads", s.forum_id);
        let before = app.get(&path, None).await;
        let tag = before.header("etag").unwrap().to_string();
        app.thread(&saif, s.forum_id, "Something new").await;
        let after = app
            .send(
                TestRequest::get()
                    .uri(&path)
                    .insert_header(("If-None-Match", tag.as_str())),
            )
            .await;
        assert_eq!(after.status, 200);
        assert_ne!(after.header("etag"), Some(tag.as_str()));
        assert_eq!(after.body["items"][0]["title"], "Something new");
    }
);

db_test!(
    a_members_answer_is_private_and_varies_by_authorization,
    |app| {
        let s = app.forum().await;
        let saif = app.register("saif").await;
        let path = format!("/api/v1/forums/{}/threads", s.forum_id);
        let mine = app.get(&path, Some(&saif.token)).await;
        assert_eq!(mine.header("cache-control"), Some("private, no-cache"));
        let vary: Vec<String> = mine
            .headers
            .get_all("vary")
            .map(|v| v.to_str().unwrap().to_ascii_lowercase())
            .collect();
        assert!(vary.iter().any(|v| v.contains("authorization")), "{vary:?}");
        // the docs assets may be kept an hour; the document is revalidated
        let asset = app.get("/docs/swagger-ui.css", None).await;
        assert_eq!(asset.status, 200);
        assert_eq!(asset.header("cache-control"), Some("public, max-age=3600"));
        let doc = app.get("/api-docs/openapi.json", None).await;
        assert_eq!(doc.header("cache-control"), Some("public, no-cache"));
        assert!(doc.header("etag").is_some());
        // errors carry no ETag
        let missing = app.get("/api/v1/forums/999999/threads", None).await;
        assert_eq!(missing.status, 404);
        assert_eq!(missing.header("etag"), None);
    }
);

/// A raw exchange with a real server: status line and headers, and the bytes after them.
fn raw(port: u16, request: &str) -> (String, Vec<u8>) {
    let mut s = TcpStream::connect(("127.0.0.1", port)).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    s.write_all(request.as_bytes()).unwrap();
    let mut all = Vec::new();
    s.read_to_end(&mut all).unwrap();
    let end = all
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .expect("a header block")
        + 4;
    (
        String::from_utf8_lossy(&all[..end]).to_ascii_lowercase(),
        all[end..].to_vec(),
    )
}

fn header<'a>(head: &'a str, name: &str) -> Option<&'a str> {
    head.lines()
        .find_map(|l| l.strip_prefix(&format!("{name}: ")))
        .map(str::trim)
}

db_test!(head_answers_like_get_without_a_body, |app| {
    let s = app.forum().await;
    let saif = app.register("saif").await;
    let (thread, _) = app.thread(&saif, s.forum_id, "Heads only").await;
    let url = app.db.url.clone();
    crate::stream::web_block(move || {
        let server = crate::stream::Server::start(&url);
        for path in [
            format!("/api/v1/threads/{thread}"),
            "/api/v1/forums".to_string(),
            "/health/live".to_string(),
        ] {
            let request = |method: &str| {
                format!("{method} {path} HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n")
            };
            let (get_head, get_body) = raw(server.port, &request("GET"));
            let (head_head, head_body) = raw(server.port, &request("HEAD"));
            assert!(get_head.starts_with("http/1.1 200"), "{get_head}");
            assert!(
                head_head.starts_with("http/1.1 200"),
                "HEAD {path}: {head_head}"
            );
            assert!(head_body.is_empty(), "HEAD {path} sent a body");
            assert_eq!(
                header(&head_head, "content-type"),
                header(&get_head, "content-type")
            );
            assert_eq!(header(&head_head, "etag"), header(&get_head, "etag"));
            assert_eq!(
                header(&head_head, "content-length").and_then(|l| l.parse::<usize>().ok()),
                Some(get_body.len()),
                "HEAD {path} gives the length of the GET's body"
            );
        }
    })
    .await;
});

db_test!(compressed_answers_decode_to_the_same_json, |app| {
    use std::io::Read as _;
    let s = app.forum().await;
    let saif = app.register("saif").await;
    let (thread, _) = app.thread(&saif, s.forum_id, "Squeezed").await;
    for path in [
        format!("/api/v1/forums/{}/threads", s.forum_id),
        "/api-docs/openapi.json".to_string(),
    ] {
        let plain = app.get(&path, None).await;
        assert_eq!(plain.status, 200);
        assert_eq!(plain.header("content-encoding"), None);
        for encoding in ["gzip", "br"] {
            let (status, headers, bytes) = app
                .send_raw(
                    TestRequest::get()
                        .uri(&path)
                        .insert_header(("Accept-Encoding", encoding)),
                )
                .await;
            assert_eq!(status, 200);
            assert_eq!(headers.get("content-encoding").unwrap(), encoding, "{path}");
            let mut decoded = Vec::new();
            match encoding {
                "gzip" => flate2::read::GzDecoder::new(&bytes[..])
                    .read_to_end(&mut decoded)
                    .unwrap(),
                _ => brotli_decompressor::Decompressor::new(&bytes[..], 4096)
                    .read_to_end(&mut decoded)
                    .unwrap(),
            };
            assert!(bytes.len() < decoded.len(), "{path} {encoding} is smaller");
            let json: serde_json::Value = serde_json::from_slice(&decoded).unwrap();
            assert_eq!(json, plain.body, "{path} {encoding}");
            // the tag names the answer, whatever its encoding
            assert_eq!(
                headers.get("etag").unwrap().to_str().unwrap(),
                plain.header("etag").unwrap()
            );
        }
    }
    assert!(thread > 0);
});
