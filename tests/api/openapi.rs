//! The contract is code: the committed document is what the server serves.

use crate::common::db_test;

const COMMITTED: &str = include_str!("../../openapi/openapi.json");

#[test]
fn the_committed_openapi_document_is_current() {
    let generated = gloss::openapi::to_pretty_json(gloss::openapi_document());
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
                        // a shared response is named by reference
                        let resp = match resp["$ref"].as_str() {
                            Some(r) => {
                                &doc["components"]["responses"]
                                    [r.trim_start_matches("#/components/responses/")]
                            }
                            None => resp,
                        };
                        assert!(
                            resp["content"].get("application/problem+json").is_some(),
                            "{method} {path} {status} is not documented as problem+json"
                        );
                    }
                }
            }
            if path != "/health/live" {
                assert!(responses.contains_key("503"), "{method} {path} has no 503");
            }
            if op.get("requestBody").is_some() {
                for status in ["400", "413", "415"] {
                    assert!(
                        responses.contains_key(status),
                        "{method} {path} takes a body but documents no {status}"
                    );
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
    // the page asks no host but this one: the validator badge is off
    let init = app.get("/docs/swagger-initializer.js", None).await;
    assert_eq!(init.status, 200);
    assert!(
        init.text
            .replace(' ', "")
            .contains(r#""validatorUrl":"none""#),
        "{}",
        init.text
    );
}

#[test]
fn every_operation_says_how_it_may_be_called() {
    let doc: serde_json::Value = serde_json::from_str(COMMITTED).unwrap();
    assert_eq!(doc["servers"][0]["url"], "/");
    let declared: Vec<&str> = doc["tags"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["name"].as_str().unwrap())
        .collect();
    for (path, item) in doc["paths"].as_object().unwrap() {
        for (method, op) in item.as_object().unwrap() {
            let security = op["security"].as_array();
            assert!(security.is_some(), "{method} {path} has no security");
            for tag in op["tags"].as_array().into_iter().flatten() {
                assert!(
                    declared.contains(&tag.as_str().unwrap()),
                    "{method} {path}: tag {tag} is not declared"
                );
            }
        }
    }
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

/// `gloss openapi | head`: a reader that closes the pipe early is not a crash.
#[test]
fn gloss_openapi_stops_quietly_when_the_reader_goes() {
    use std::io::Read;
    let mut child = std::process::Command::new(env!("CARGO_BIN_EXE_gloss"))
        .arg("openapi")
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let mut first = [0u8; 16];
    child
        .stdout
        .as_mut()
        .unwrap()
        .read_exact(&mut first)
        .unwrap();
    drop(child.stdout.take());
    let out = child.wait_with_output().unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!stderr.contains("panicked"), "{stderr}");
    assert!(out.status.success(), "{:?}: {stderr}", out.status);
}

/// Every text a client can send in a JSON body has a documented maximum, so generated clients and
/// fuzzers know the limit the server enforces, the W3C import included.
#[test]
fn every_request_text_field_has_a_documented_maximum_and_refuses_nul() {
    let doc = serde_json::to_value(gloss::openapi_document()).unwrap();
    let schemas = doc["components"]["schemas"].as_object().unwrap();
    let mut roots = Vec::new();
    for item in doc["paths"].as_object().unwrap().values() {
        for op in item.as_object().unwrap().values() {
            for media in op["requestBody"]["content"]
                .as_object()
                .into_iter()
                .flatten()
            {
                if let Some(r) = media.1["schema"]["$ref"].as_str() {
                    roots.push(r.rsplit('/').next().unwrap().to_string());
                }
            }
        }
    }
    /// Checks every text in `schema` (its properties, list items and alternatives, at any depth),
    /// and collects the components it refers to.
    fn walk(
        at: &str,
        schema: &serde_json::Value,
        refs: &mut Vec<String>,
        missing: &mut Vec<String>,
        nul_allowed: &mut Vec<String>,
    ) {
        if !schema.is_object() {
            return;
        }
        if let Some(r) = schema["$ref"].as_str() {
            refs.push(r.rsplit('/').next().unwrap().to_string());
        }
        let types: Vec<&str> = match &schema["type"] {
            serde_json::Value::String(t) => vec![t.as_str()],
            serde_json::Value::Array(a) => a.iter().filter_map(|t| t.as_str()).collect(),
            _ => vec![],
        };
        if types.contains(&"string")
            && schema.get("enum").is_none()
            && schema.get("format").is_none()
        {
            if schema.get("maxLength").is_none() {
                missing.push(at.to_string());
            }
            // the server refuses U+0000 in any text; the schema says so
            if !schema["pattern"].as_str().is_some_and(|pattern| {
                // excluded by name, or by an anchored class of allowed characters
                pattern.contains("\\u0000")
                    || (pattern.starts_with("^[")
                        && !pattern.starts_with("^[^")
                        && pattern.ends_with('$'))
            }) {
                nul_allowed.push(at.to_string());
            }
        }
        for (field, p) in schema["properties"].as_object().into_iter().flatten() {
            walk(&format!("{at}.{field}"), p, refs, missing, nul_allowed);
        }
        walk(
            &format!("{at}[]"),
            &schema["items"],
            refs,
            missing,
            nul_allowed,
        );
        for key in ["oneOf", "anyOf", "allOf"] {
            for (i, alt) in schema[key].as_array().into_iter().flatten().enumerate() {
                walk(&format!("{at}|{i}"), alt, refs, missing, nul_allowed);
            }
        }
    }
    let mut seen: Vec<String> = Vec::new();
    let mut missing = Vec::new();
    let mut nul_allowed = Vec::new();
    while let Some(name) = roots.pop() {
        if seen.contains(&name) {
            continue;
        }
        seen.push(name.clone());
        walk(
            &name,
            &schemas[&name],
            &mut roots,
            &mut missing,
            &mut nul_allowed,
        );
    }
    assert!(
        missing.is_empty(),
        "text fields without maxLength: {missing:?}"
    );
    assert!(
        nul_allowed.is_empty(),
        "text fields whose pattern admits U+0000: {nul_allowed:?}"
    );
    assert!(seen.len() > 20, "walked only {seen:?}");
}

/// Generated clients name a method after each operationId: two operations with one id break them.
#[test]
fn operation_ids_are_unique() {
    let doc = serde_json::to_value(gloss::openapi_document()).unwrap();
    let mut ids: Vec<String> = doc["paths"]
        .as_object()
        .unwrap()
        .values()
        .flat_map(|item| item.as_object().unwrap().values())
        .map(|op| op["operationId"].as_str().unwrap().to_string())
        .collect();
    let n = ids.len();
    ids.sort();
    ids.dedup();
    assert_eq!(ids.len(), n, "duplicate operationIds");
}

/// What generated clients type: closed sets as enums, an object used in several places (a post in
/// a page, in a feed, alone) as one named component, and fields the server always sends as
/// required (nullable where null occurs).
#[test]
fn closed_sets_are_enums_and_shared_objects_are_named() {
    let doc = serde_json::to_value(gloss::openapi_document()).unwrap();
    let schemas = &doc["components"]["schemas"];
    let enum_of = |name: &str| -> Vec<String> {
        schemas[name]["enum"]
            .as_array()
            .unwrap_or_else(|| panic!("{name} is not an enum"))
            .iter()
            .map(|v| v.as_str().unwrap().to_string())
            .collect()
    };
    let codes = enum_of("ProblemCode");
    for kind in gloss::error::ErrorKind::ALL {
        assert!(codes.contains(&kind.code().to_string()), "{}", kind.code());
    }
    assert_eq!(
        schemas["Problem"]["properties"]["code"]["$ref"],
        "#/components/schemas/ProblemCode"
    );
    assert!(enum_of("NotificationKind").contains(&"annotation_reply".to_string()));
    assert_eq!(enum_of("TokenType"), vec!["Bearer"]);
    assert_eq!(enum_of("HealthStatus"), vec!["ok"]);
    assert_eq!(
        schemas["W3cAnnotation"]["properties"]["motivation"]["$ref"],
        "#/components/schemas/Motivation"
    );
    for page in ["Page_Post", "CursorPage_Post"] {
        assert_eq!(
            schemas[page]["properties"]["items"]["items"]["$ref"], "#/components/schemas/Post",
            "{page}"
        );
    }
    let required = |name: &str| -> Vec<String> {
        schemas[name]["required"]
            .as_array()
            .unwrap()
            .iter()
            .map(|v| v.as_str().unwrap().to_string())
            .collect()
    };
    // sent as null when empty: required, and nullable
    assert!(required("Account").contains(&"avatar_url".to_string()));
    assert!(required("Notification").contains(&"actor".to_string()));
    assert_eq!(
        schemas["Account"]["properties"]["avatar_url"]["type"],
        serde_json::json!(["string", "null"])
    );
    // the stream's events: each one's data is the REST resource it announces
    let stream = &doc["paths"]["/api/v1/stream"]["get"]["responses"]["200"]["content"];
    assert_eq!(
        stream["text/event-stream"]["schema"]["$ref"],
        "#/components/schemas/StreamEvent"
    );
    let data: Vec<&str> = schemas["StreamEvent"]["oneOf"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["properties"]["data"]["$ref"].as_str().unwrap())
        .collect();
    assert_eq!(
        data,
        vec![
            "#/components/schemas/Notification",
            "#/components/schemas/PostInThread"
        ]
    );
    // left out when empty: optional, never null
    assert!(!required("W3cAgent").contains(&"name".to_string()));
    assert_eq!(schemas["W3cAgent"]["properties"]["name"]["type"], "string");
}
