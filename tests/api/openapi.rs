//! The contract is code: the committed document is what the server serves.

use crate::common::db_test;

const COMMITTED: &str = include_str!("../../openapi/openapi.json");

#[test]
fn the_committed_openapi_document_is_current() {
    let generated = gloss::openapi::to_pretty_json(&gloss::openapi_document());
    assert!(
        generated == COMMITTED,
        "openapi/openapi.json is out of date: run `cargo run -- openapi --output openapi/openapi.json` and commit it"
    );
}

db_test!(the_server_serves_the_committed_document, |app| {
    let r = app.get("/api-docs/openapi.json", None).await;
    assert_eq!(r.status, 200);
    let committed: serde_json::Value = serde_json::from_str(COMMITTED).unwrap();
    assert_eq!(r.body, committed);
    assert!(r.body["openapi"].as_str().unwrap().starts_with("3.1"));
});

#[test]
fn every_operation_documents_its_errors_and_security() {
    let doc = serde_json::to_value(gloss::openapi_document()).unwrap();
    let paths = doc["paths"].as_object().unwrap();
    assert!(paths.len() >= 10);
    for (path, item) in paths {
        for (method, op) in item.as_object().unwrap() {
            let responses = op["responses"].as_object().unwrap();
            assert!(op["summary"].is_string(), "{method} {path} has no summary");
            if path.starts_with("/api/") {
                let has_error = responses
                    .keys()
                    .any(|k| k.starts_with('4') || k.starts_with('5'));
                assert!(has_error, "{method} {path} documents no error response");
                for (status, resp) in responses {
                    if status.starts_with('4') || status.starts_with('5') {
                        assert!(
                            resp["content"].get("application/problem+json").is_some(),
                            "{method} {path} {status} is not documented as problem+json"
                        );
                    }
                }
            }
        }
    }
}

#[actix_web::test]
async fn the_docs_ui_is_served() {
    let app = crate::common::TestApp::sqlite().await;
    let r = app.get("/docs", None).await;
    assert_eq!(r.status, 308);
    assert_eq!(r.header("location"), Some("/docs/"));
    let r = app.get("/docs/", None).await;
    assert_eq!(r.status, 200);
    assert!(
        r.text.contains("swagger"),
        "{}",
        &r.text[..r.text.len().min(200)]
    );
}

#[test]
fn gloss_openapi_prints_the_committed_document() {
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_gloss"))
        .arg("openapi")
        .output()
        .unwrap();
    assert!(out.status.success());
    assert_eq!(String::from_utf8_lossy(&out.stdout), COMMITTED);
}
