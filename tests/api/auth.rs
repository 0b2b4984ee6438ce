//! Registration, login, token rotation and the attacks on them.

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use jsonwebtoken::{Algorithm, EncodingKey, Header};
use serde_json::json;

use crate::common::{db_test, PASSWORD, TEST_JWT_SECRET};
use gloss::auth::tokens::{key_id, TokenKeys};
use gloss::users::Role;

fn claims(sub: &str, exp_offset: i64, iss: &str, aud: &str) -> serde_json::Value {
    let now = jsonwebtoken::get_current_timestamp() as i64;
    json!({"sub": sub, "role": "admin", "iat": now - 10, "exp": now + exp_offset,
           "jti": "test-jti", "iss": iss, "aud": aud})
}

fn sign(claims: &serde_json::Value, secret: &str, kid: Option<String>) -> String {
    let mut header = Header::new(Algorithm::HS256);
    header.kid = kid;
    jsonwebtoken::encode(
        &header,
        claims,
        &EncodingKey::from_secret(secret.as_bytes()),
    )
    .unwrap()
}

fn test_kid() -> Option<String> {
    Some(key_id(TEST_JWT_SECRET.as_bytes()))
}

db_test!(
    register_returns_the_account_and_a_working_token_pair,
    |app| {
        let r = app
        .post(
            "/api/v1/auth/register",
            None,
            json!({"username": "Saif", "password": PASSWORD, "email": "saif@example.org", "display_name": "Saif"}),
        )
        .await;
        assert_eq!(r.status, 201, "{}", r.text);
        assert_eq!(r.header("location"), Some("/api/v1/users/Saif"));
        assert_eq!(r.body["token_type"], "Bearer");
        assert_eq!(r.body["expires_in"], 900);
        assert_eq!(r.body["user"]["username"], "Saif");
        assert_eq!(r.body["user"]["role"], "member");
        assert!(r.body["user"]["created_at"]
            .as_str()
            .unwrap()
            .ends_with('Z'));
        assert!(r.body["user"].get("password_hash").is_none());
        let token = r.body["access_token"].as_str().unwrap();
        let me = app.get("/api/v1/me", Some(token)).await;
        assert_eq!(me.status, 200);
        assert_eq!(me.body["email"], "saif@example.org");
    }
);

db_test!(register_refuses_role_smuggling, |app| {
    for (field, value) in [
        ("role", json!("admin")),
        ("id", json!(1)),
        ("message_count", json!(99999)),
    ] {
        let mut body = json!({"username": "mallory", "password": PASSWORD});
        body[field] = value;
        let r = app.post("/api/v1/auth/register", None, body).await;
        r.assert_problem(422, "validation_failed");
        assert_eq!(r.error_fields(), vec![field.to_string()]);
    }
    // nothing was created by the refused attempts
    let ok = app.register("mallory").await;
    assert_eq!(
        app.get("/api/v1/me", Some(&ok.token)).await.body["role"],
        "member"
    );
});

db_test!(register_refuses_a_username_taken_in_another_case, |app| {
    app.register("Saif").await;
    let r = app
        .post(
            "/api/v1/auth/register",
            None,
            json!({"username": "sAIF", "password": PASSWORD}),
        )
        .await;
    r.assert_problem(409, "conflict");
    assert_eq!(r.error_fields(), vec!["username"]);
});

db_test!(register_refuses_a_taken_email, |app| {
    app.register("saif").await;
    let r = app
        .post(
            "/api/v1/auth/register",
            None,
            json!({"username": "other", "password": PASSWORD, "email": "SAIF@example.org"}),
        )
        .await;
    r.assert_problem(409, "conflict");
    assert_eq!(r.error_fields(), vec!["email"]);
});

db_test!(register_names_every_invalid_field, |app| {
    let r = app
        .post(
            "/api/v1/auth/register",
            None,
            json!({"username": "a b", "password": "short", "email": "nope"}),
        )
        .await;
    r.assert_problem(422, "validation_failed");
    let fields = r.error_fields();
    assert!(
        fields.contains(&"username".into())
            && fields.contains(&"password".into())
            && fields.contains(&"email".into()),
        "{fields:?}"
    );
    let r = app
        .post(
            "/api/v1/auth/register",
            None,
            json!({"username": "samesame10", "password": "SameSame10"}),
        )
        .await;
    r.assert_problem(422, "validation_failed");
    assert_eq!(r.error_fields(), vec!["password"]);
    let r = app
        .post(
            "/api/v1/auth/register",
            None,
            json!({"username": 5, "password": PASSWORD}),
        )
        .await;
    r.assert_problem(422, "validation_failed");
    assert_eq!(r.error_fields(), vec!["username"]);
    let r = app
        .post(
            "/api/v1/auth/register",
            None,
            json!({"username": "someone"}),
        )
        .await;
    r.assert_problem(422, "validation_failed");
    assert_eq!(r.error_fields(), vec!["password"]);
});

db_test!(login_works_with_username_or_email, |app| {
    app.register("saif").await;
    let by_name = app.login("SAIF").await;
    let by_email = app.login("saif@example.org").await;
    assert_eq!(by_name.id, by_email.id);
    let r = app.get("/api/v1/me", Some(&by_email.token)).await;
    assert_eq!(r.body["username"], "saif");
});

db_test!(wrong_password_and_unknown_user_get_the_same_401, |app| {
    app.register("saif").await;
    let wrong = app
        .post(
            "/api/v1/auth/login",
            None,
            json!({"login": "saif", "password": "not the password"}),
        )
        .await;
    let unknown = app
        .post(
            "/api/v1/auth/login",
            None,
            json!({"login": "nobody", "password": "not the password"}),
        )
        .await;
    wrong.assert_problem(401, "invalid_credentials");
    unknown.assert_problem(401, "invalid_credentials");
    assert_eq!(wrong.body, unknown.body);
});

db_test!(me_needs_a_token, |app| {
    let r = app.get("/api/v1/me", None).await;
    r.assert_problem(401, "unauthorized");
    assert_eq!(r.header("www-authenticate"), Some("Bearer"));
    let r = app
        .send(
            actix_web::test::TestRequest::get()
                .uri("/api/v1/me")
                .insert_header(("Authorization", "Basic abc")),
        )
        .await;
    r.assert_problem(401, "invalid_token");
    let r = app.get("/api/v1/me", Some("not-a-jwt")).await;
    r.assert_problem(401, "invalid_token");
});

db_test!(an_expired_token_is_refused_as_expired, |app| {
    let m = app.register("saif").await;
    let token = sign(
        &claims(&m.id.to_string(), -120, "gloss", "gloss-api"),
        TEST_JWT_SECRET,
        test_kid(),
    );
    app.get("/api/v1/me", Some(&token))
        .await
        .assert_problem(401, "token_expired");
});

db_test!(a_token_signed_with_another_key_is_refused, |app| {
    let m = app.register("saif").await;
    let other = "another-secret-that-is-long-enough-for-hs256";
    // with the other key's id, and with our key id but the wrong key
    let foreign = TokenKeys::new(
        other.as_bytes(),
        &[],
        "gloss",
        "gloss-api",
        std::time::Duration::from_secs(60),
    );
    let t1 = foreign.issue(m.id, Role::Admin).unwrap();
    app.get("/api/v1/me", Some(&t1))
        .await
        .assert_problem(401, "invalid_token");
    let t2 = sign(
        &claims(&m.id.to_string(), 600, "gloss", "gloss-api"),
        other,
        test_kid(),
    );
    app.get("/api/v1/me", Some(&t2))
        .await
        .assert_problem(401, "invalid_token");
});

db_test!(alg_none_is_refused, |app| {
    let m = app.register("saif").await;
    let header =
        URL_SAFE_NO_PAD.encode(json!({"alg": "none", "typ": "JWT", "kid": test_kid()}).to_string());
    let payload =
        URL_SAFE_NO_PAD.encode(claims(&m.id.to_string(), 600, "gloss", "gloss-api").to_string());
    for token in [
        format!("{header}.{payload}."),
        format!("{header}.{payload}"),
    ] {
        app.get("/api/v1/me", Some(&token))
            .await
            .assert_problem(401, "invalid_token");
    }
});

db_test!(a_tampered_payload_is_refused, |app| {
    let m = app.register("saif").await;
    let parts: Vec<&str> = m.token.split('.').collect();
    let mut payload: serde_json::Value =
        serde_json::from_slice(&URL_SAFE_NO_PAD.decode(parts[1]).unwrap()).unwrap();
    payload["role"] = json!("admin");
    let forged = format!(
        "{}.{}.{}",
        parts[0],
        URL_SAFE_NO_PAD.encode(payload.to_string()),
        parts[2]
    );
    app.get("/api/v1/users", Some(&forged))
        .await
        .assert_problem(401, "invalid_token");
});

db_test!(a_token_for_another_issuer_or_audience_is_refused, |app| {
    let m = app.register("saif").await;
    let t = sign(
        &claims(&m.id.to_string(), 600, "someone-else", "gloss-api"),
        TEST_JWT_SECRET,
        test_kid(),
    );
    app.get("/api/v1/me", Some(&t))
        .await
        .assert_problem(401, "invalid_token");
    let t = sign(
        &claims(&m.id.to_string(), 600, "gloss", "another-api"),
        TEST_JWT_SECRET,
        test_kid(),
    );
    app.get("/api/v1/me", Some(&t))
        .await
        .assert_problem(401, "invalid_token");
    // and a correctly made one is accepted, so the two above failed for the claim alone
    let t = sign(
        &claims(&m.id.to_string(), 600, "gloss", "gloss-api"),
        TEST_JWT_SECRET,
        test_kid(),
    );
    assert_eq!(app.get("/api/v1/me", Some(&t)).await.status, 200);
});

db_test!(refresh_rotates_the_token_pair, |app| {
    let m = app.register("saif").await;
    let r = app
        .post(
            "/api/v1/auth/refresh",
            None,
            json!({"refresh_token": m.refresh_token}),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.text);
    let new_refresh = r.body["refresh_token"].as_str().unwrap();
    assert_ne!(new_refresh, m.refresh_token);
    assert_eq!(
        app.get("/api/v1/me", Some(r.body["access_token"].as_str().unwrap()))
            .await
            .status,
        200
    );
    let again = app
        .post(
            "/api/v1/auth/refresh",
            None,
            json!({"refresh_token": new_refresh}),
        )
        .await;
    assert_eq!(again.status, 200);
});

db_test!(a_refresh_token_used_twice_revokes_the_whole_login, |app| {
    let m = app.register("saif").await;
    let first = app
        .post(
            "/api/v1/auth/refresh",
            None,
            json!({"refresh_token": m.refresh_token}),
        )
        .await;
    assert_eq!(first.status, 200);
    let successor = first.body["refresh_token"].as_str().unwrap().to_string();
    // a thief replays the old token
    let replay = app
        .post(
            "/api/v1/auth/refresh",
            None,
            json!({"refresh_token": m.refresh_token}),
        )
        .await;
    replay.assert_problem(401, "refresh_token_reused");
    // and the legitimate successor is revoked with it
    let after = app
        .post(
            "/api/v1/auth/refresh",
            None,
            json!({"refresh_token": successor}),
        )
        .await;
    after.assert_problem(401, "invalid_refresh_token");
});

db_test!(reuse_revokes_only_that_login, |app| {
    let m = app.register("saif").await;
    let other_login = app.login("saif").await;
    app.post(
        "/api/v1/auth/refresh",
        None,
        json!({"refresh_token": m.refresh_token}),
    )
    .await;
    app.post(
        "/api/v1/auth/refresh",
        None,
        json!({"refresh_token": m.refresh_token}),
    )
    .await
    .assert_problem(401, "refresh_token_reused");
    let r = app
        .post(
            "/api/v1/auth/refresh",
            None,
            json!({"refresh_token": other_login.refresh_token}),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.text);
});

db_test!(logout_then_refresh_is_refused, |app| {
    let m = app.register("saif").await;
    let r = app
        .post(
            "/api/v1/auth/logout",
            None,
            json!({"refresh_token": m.refresh_token}),
        )
        .await;
    assert_eq!(r.status, 204);
    app.post(
        "/api/v1/auth/refresh",
        None,
        json!({"refresh_token": m.refresh_token}),
    )
    .await
    .assert_problem(401, "invalid_refresh_token");
    // logging out with an unknown token reveals nothing
    let r = app
        .post(
            "/api/v1/auth/logout",
            None,
            json!({"refresh_token": "grt_unknown"}),
        )
        .await;
    assert_eq!(r.status, 204);
});

db_test!(an_unknown_refresh_token_is_refused, |app| {
    app.post(
        "/api/v1/auth/refresh",
        None,
        json!({"refresh_token": "grt_made_up"}),
    )
    .await
    .assert_problem(401, "invalid_refresh_token");
});

db_test!(a_disabled_account_cannot_log_in_or_refresh, |app| {
    let admin = app.admin("boss").await;
    let m = app.register("troll").await;
    let r = app
        .patch(
            "/api/v1/users/troll",
            Some(&admin.token),
            json!({"disabled": true}),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(r.body["disabled"], true);
    app.post(
        "/api/v1/auth/login",
        None,
        json!({"login": "troll", "password": PASSWORD}),
    )
    .await
    .assert_problem(403, "account_disabled");
    let r = app
        .post(
            "/api/v1/auth/refresh",
            None,
            json!({"refresh_token": m.refresh_token}),
        )
        .await;
    assert_eq!(r.status, 401, "{}", r.text);
    // lifting the ban lets them back in
    app.patch(
        "/api/v1/users/troll",
        Some(&admin.token),
        json!({"disabled": false}),
    )
    .await;
    app.login("troll").await;
});

db_test!(
    changing_the_password_needs_the_current_one_and_revokes_refresh_tokens,
    |app| {
        let m = app.register("saif").await;
        let r = app
        .post("/api/v1/me/password", Some(&m.token), json!({"current_password": "wrong password", "new_password": "a brand new passphrase"}))
        .await;
        r.assert_problem(403, "forbidden");
        let r = app
            .post(
                "/api/v1/me/password",
                Some(&m.token),
                json!({"current_password": PASSWORD, "new_password": "short"}),
            )
            .await;
        r.assert_problem(422, "validation_failed");
        assert_eq!(r.error_fields(), vec!["new_password"]);
        let r = app
            .post(
                "/api/v1/me/password",
                Some(&m.token),
                json!({"current_password": PASSWORD, "new_password": "a brand new passphrase"}),
            )
            .await;
        assert_eq!(r.status, 204, "{}", r.text);
        app.post(
            "/api/v1/auth/refresh",
            None,
            json!({"refresh_token": m.refresh_token}),
        )
        .await
        .assert_problem(401, "invalid_refresh_token");
        app.post(
            "/api/v1/auth/login",
            None,
            json!({"login": "saif", "password": PASSWORD}),
        )
        .await
        .assert_problem(401, "invalid_credentials");
        let r = app
            .post(
                "/api/v1/auth/login",
                None,
                json!({"login": "saif", "password": "a brand new passphrase"}),
            )
            .await;
        assert_eq!(r.status, 200);
    }
);

db_test!(a_generated_secret_survives_a_restart, |app| {
    // two servers on one database, both without GLOSS_JWT_SECRET: tokens of one work on the other
    let no_secret = |url: &str| gloss::config::Config {
        jwt_secret: None,
        ..crate::common::test_config(url)
    };
    let first = gloss::AppState::init(no_secret(&app.db.url)).unwrap();
    let second = gloss::AppState::init(no_secret(&app.db.url)).unwrap();
    let token = first.tokens.issue(1, Role::Member).unwrap();
    assert!(second.tokens.verify(&token).is_ok());
    // and it is not the configured test secret
    assert!(app.state.tokens.verify(&token).is_err());
});
