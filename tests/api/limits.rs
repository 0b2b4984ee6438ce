//! Rate limits: 429 problem+json with `Retry-After` and `RateLimit-*` headers, per address on the
//! account endpoints, per account and address on failed logins, per member on writes; and the
//! login limits hold across two server processes on one database.

use std::net::SocketAddr;

use actix_web::test::TestRequest;
use serde_json::{json, Value};

use crate::common::{db_test, test_config, Resp, TestApp, TestDb, PASSWORD};
use crate::stream::{http_with, Server};

async fn limited_app(db: TestDb, set: impl Fn(&mut gloss::config::Config) + 'static) -> TestApp {
    TestApp::start(db, move |url| {
        let mut c = test_config(url);
        set(&mut c);
        c
    })
    .await
}

async fn login_from(app: &TestApp, addr: &str, login: &str, password: &str) -> Resp {
    let peer: SocketAddr = format!("{addr}:40000").parse().unwrap();
    app.send(
        TestRequest::post()
            .uri("/api/v1/auth/login")
            .peer_addr(peer)
            .set_json(json!({"login": login, "password": password})),
    )
    .await
}

#[track_caller]
fn assert_rate_limited(r: &Resp, limit: &str) {
    r.assert_problem(429, "rate_limited");
    let retry: u64 = r.header("retry-after").unwrap().parse().unwrap();
    assert!(retry >= 1, "{retry}");
    assert_eq!(r.header("ratelimit-limit"), Some(limit));
    assert_eq!(r.header("ratelimit-remaining"), Some("0"));
    assert_eq!(r.header("ratelimit-reset"), r.header("retry-after"));
}

db_test!(
    failed_logins_lock_out_the_guesser_but_not_the_owner_elsewhere,
    |app| {
        let app = limited_app(app.db, |c| c.rate_failed_logins = 3).await;
        app.register("saif").await;
        for _ in 0..3 {
            let r = login_from(&app, "198.51.100.7", "saif", "not the password").await;
            r.assert_problem(401, "invalid_credentials");
        }
        // the guesser's address is now refused, even with the right password
        let r = login_from(&app, "198.51.100.7", "SAIF", PASSWORD).await;
        assert_rate_limited(&r, "3");
        // the owner, from another address, signs in
        let r = login_from(&app, "203.0.113.20", "saif", PASSWORD).await;
        assert_eq!(r.status, 200, "{}", r.text);
        // and a success clears that address's failures
        for _ in 0..2 {
            login_from(&app, "203.0.113.20", "saif", "wrong again").await;
        }
        let r = login_from(&app, "203.0.113.20", "saif", PASSWORD).await;
        assert_eq!(r.status, 200, "{}", r.text);
        let r = login_from(&app, "203.0.113.20", "saif", "wrong").await;
        r.assert_problem(401, "invalid_credentials");
    }
);

db_test!(account_endpoints_are_limited_per_address, |app| {
    let app = limited_app(app.db, |c| c.rate_auth_per_minute = 5).await;
    for i in 0..5 {
        let r = login_from(
            &app,
            "198.51.100.9",
            &format!("nobody{i}"),
            "whatever it is",
        )
        .await;
        r.assert_problem(401, "invalid_credentials");
    }
    let r = login_from(&app, "198.51.100.9", "nobody", "whatever it is").await;
    assert_rate_limited(&r, "5");
    let r = app
        .send(
            TestRequest::post()
                .uri("/api/v1/auth/register")
                .peer_addr("198.51.100.9:1234".parse().unwrap())
                .set_json(json!({"username": "latecomer", "password": PASSWORD})),
        )
        .await;
    assert_rate_limited(&r, "5");
    // another address is counted apart
    let r = login_from(&app, "198.51.100.10", "nobody", "whatever it is").await;
    r.assert_problem(401, "invalid_credentials");
});

db_test!(writes_are_limited_per_member, |app| {
    let app = limited_app(app.db, |c| c.rate_writes_per_minute = 10).await;
    let s = app.forum().await;
    let lin = app.register("lin").await;
    let saif = app.register("saif").await;
    let (t, _) = app.thread(&saif, s.forum_id, "Busy").await; // saif's first write
    let mut statuses = Vec::new();
    for i in 0..12 {
        let r = app
            .post(
                &format!("/api/v1/threads/{t}/posts"),
                Some(&lin.token),
                json!({"body": format!("{i}")}),
            )
            .await;
        statuses.push(r.status);
        if r.status == 429 {
            assert_rate_limited(&r, "10");
        }
    }
    assert_eq!(
        statuses.iter().filter(|s| **s == 201).count(),
        10,
        "{statuses:?}"
    );
    assert_eq!(
        statuses.iter().filter(|s| **s == 429).count(),
        2,
        "{statuses:?}"
    );
    // another member is not slowed by lin; reading is never limited
    app.reply(&saif, t, "Still here.").await;
    assert_eq!(
        app.get(&format!("/api/v1/threads/{t}"), Some(&lin.token))
            .await
            .status,
        200
    );
});

db_test!(failed_logins_are_counted_across_two_processes, |app| {
    app.register("saif").await;
    let env = [
        ("GLOSS_TRUST_PROXY", "true"),
        ("GLOSS_RATE_FAILED_LOGINS", "4"),
    ];
    let a = Server::start_with(&app.db.url, &env);
    let b = Server::start_with(&app.db.url, &env);
    let login = |port: u16, addr: &str, password: &str| -> u16 {
        let body: Value = json!({"login": "saif", "password": password});
        http_with(
            port,
            "POST",
            "/api/v1/auth/login",
            // the client's own entries (and a Forwarded header) differ per process: only the last
            // X-Forwarded-For entry, the one the proxy appends, names the client
            &format!(
                "X-Forwarded-For: 192.0.2.{}, {addr}\r\nForwarded: for=192.0.2.{}\r\n",
                port % 250,
                port % 249
            ),
            Some(body),
        )
        .unwrap()
        .0
    };
    // two failures on each process: four for the account from this address
    for port in [a.port, b.port, a.port, b.port] {
        assert_eq!(login(port, "198.51.100.77", "wrong password"), 401);
    }
    assert_eq!(login(a.port, "198.51.100.77", PASSWORD), 429);
    assert_eq!(login(b.port, "198.51.100.77", PASSWORD), 429);
    assert_eq!(login(b.port, "203.0.113.5", PASSWORD), 200);
});

db_test!(
    write_limits_hold_across_two_processes_on_postgresql,
    |app| {
        let s = app.forum().await;
        let saif = app.register("saif").await;
        let (t, _) = app.thread(&saif, s.forum_id, "Two doors").await;
        let env = [("GLOSS_RATE_WRITES_PER_MINUTE", "6")];
        let a = Server::start_with(&app.db.url, &env);
        let b = Server::start_with(&app.db.url, &env);
        let auth = format!("Authorization: Bearer {}\r\n", saif.token);
        let mut statuses = Vec::new();
        for i in 0..8 {
            let port = if i % 2 == 0 { a.port } else { b.port };
            let body: Value = json!({"body": format!("reply {i}")});
            statuses.push(
                http_with(
                    port,
                    "POST",
                    &format!("/api/v1/threads/{t}/posts"),
                    &auth,
                    Some(body),
                )
                .unwrap()
                .0,
            );
        }
        if app.db.url.starts_with("postgres") {
            // counted together: 6 in all, whichever process took them
            assert_eq!(statuses, vec![201, 201, 201, 201, 201, 201, 429, 429]);
        } else {
            // SQLite is one process's database: each process counts its own (4 each, under 6)
            assert!(statuses.iter().all(|s| *s == 201), "{statuses:?}");
        }
    }
);
