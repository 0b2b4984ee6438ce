//! Re-anchoring benchmark: `cargo bench --bench reanchor`.
//!
//! 1. The text alone: 1,000 selectors on a 20 KB and a 50 KB post after a small edit near the start.
//! 2. The whole edit through the database: `posts::db::edit` of a post carrying 1,000 annotations
//!    (diff, re-anchoring and the writes, in one transaction) on SQLite, and on PostgreSQL when
//!    `GLOSS_BENCH_POSTGRES_URL` names a database it may write to (it adds a member, a forum and a thread).

use std::time::{Duration, Instant};

use diesel::Connection;
use gloss::annotations::db::{self as annotation_db, NewAnnotation};
use gloss::config::Config;
use gloss::db::{now, DbConn};
use gloss::forums::db::{self as forum_db, NewForum};
use gloss::posts::db::{self as post_db, NewPostContent};
use gloss::text::anchor::{self, TextPosition};
use gloss::threads::db::{self as thread_db, NewThread};
use gloss::users::db::{self as user_db, username_key, NewUser};

const ANNOTATIONS: usize = 1_000;

fn post_text(bytes: usize) -> String {
    let sentences = [
        "Chinese President Xi Jinping told Russia's top diplomat that their countries should strengthen mutual support. ",
        "Beijing and Moscow should work to unite countries of the global South, Xi said, according to Xinhua. ",
        "Lavrov met Sunday with his Chinese counterpart Wang Yi to discuss Ukraine and relations with the United States. ",
        "The SCO has successfully explored a path of regional cooperation [🇨🇳] that aligns with the trends of the times. ",
    ];
    let mut text = String::new();
    let mut i = 0;
    while text.len() < bytes {
        text.push_str(&format!("({i}) {}", sentences[i % sentences.len()]));
        i += 1;
    }
    text
}

fn selectors(text: &str, n: usize) -> Vec<anchor::Selector> {
    let len = text.chars().count();
    (0..n)
        .map(|i| {
            let start = (i * 7919) % (len - 40);
            anchor::resolve(
                text,
                None,
                Some(TextPosition {
                    start,
                    end: start + 12 + i % 25,
                }),
            )
            .expect("valid selector")
        })
        .collect()
}

fn median(mut v: Vec<Duration>) -> Duration {
    v.sort();
    v[v.len() / 2]
}

fn bench_text(bytes: usize) {
    let old = post_text(bytes);
    let new = old.replacen(
        "told Russia's top diplomat",
        "told Russia's foreign minister, Sergei Lavrov,",
        1,
    );
    let sels = selectors(&old, ANNOTATIONS);
    let mut times = Vec::new();
    let mut moved = 0;
    for _ in 0..7 {
        let t = Instant::now();
        let out = anchor::reanchor_all(&old, &new, &sels);
        times.push(t.elapsed());
        moved = out
            .iter()
            .filter(|o| o.state == anchor::AnchorState::Moved)
            .count();
    }
    println!(
        "text only: {ANNOTATIONS} selectors on a {} KB post, edit near the start: median {:?} ({moved} moved)",
        bytes / 1000,
        median(times)
    );
}

fn bench_db(label: &str, url: &str) -> Result<(), String> {
    let state = gloss::AppState::init(Config {
        database_url: url.into(),
        jwt_secret: Some("benchmark-secret-that-is-long-enough-for-hs256".into()),
        ..Config::default()
    })?;
    let mut conn = state.db.pool().get().map_err(|e| e.to_string())?;
    let conn: &mut DbConn = &mut conn;
    let old = post_text(20_000);
    let rendered_old = gloss::text::render(&old);
    let t = now();
    let (post, thread) = conn
        .transaction(|conn| -> diesel::QueryResult<_> {
            let name = format!("bench{}", std::process::id());
            let user = user_db::insert(
                conn,
                &NewUser {
                    username: &name,
                    username_key: username_key(&name),
                    email: None,
                    email_key: None,
                    display_name: None,
                    password_hash: "x",
                    role: "member",
                    created_at: t,
                    updated_at: t,
                },
            )?;
            let forum = forum_db::insert(
                conn,
                &NewForum {
                    parent_id: None,
                    kind: "forum".into(),
                    title: "Bench".into(),
                    slug: format!("bench-{}", std::process::id()),
                    description: None,
                    position: 0,
                    created_at: t,
                    updated_at: t,
                },
            )?;
            let (thread, post) = thread_db::create(
                conn,
                &NewThread {
                    forum_id: forum.id,
                    user_id: user.id,
                    title: "Bench",
                    prefix_id: None,
                    fields: &[],
                    first_post: NewPostContent {
                        body: &old,
                        body_html: &rendered_old.html,
                        body_text: &rendered_old.text,
                    },
                },
            )?;
            for s in selectors(&post.body_text, ANNOTATIONS) {
                annotation_db::insert(
                    conn,
                    &NewAnnotation {
                        post_id: post.id,
                        user_id: user.id,
                        parent_id: None,
                        motivation: "highlighting".into(),
                        body: None,
                        body_html: None,
                        tags: "[]".into(),
                        visibility: "public".into(),
                        quote_exact: Some(s.quote.exact),
                        quote_prefix: Some(s.quote.prefix),
                        quote_suffix: Some(s.quote.suffix),
                        start_pos: Some(s.position.start as i64),
                        end_pos: Some(s.position.end as i64),
                        created_revision: 1,
                        anchored_revision: 1,
                        created_at: t,
                        updated_at: t,
                    },
                )?;
            }
            Ok((post, thread))
        })
        .map_err(|e| e.to_string())?;
    let _ = thread;
    let mut post = post;
    let mut times = Vec::new();
    for i in 0..5 {
        let new = post.body.replacen("(0) ", &format!("(0) Edit {i}: "), 1);
        let r = gloss::text::render(&new);
        let t = Instant::now();
        post = post_db::edit(
            conn,
            &post,
            post.user_id,
            &NewPostContent {
                body: &new,
                body_html: &r.html,
                body_text: &r.text,
            },
        )
        .map_err(|e| e.to_string())?;
        times.push(t.elapsed());
    }
    println!(
        "{label}: edit of a 20 KB post carrying {ANNOTATIONS} annotations (re-anchoring and writes, one transaction): median {:?}",
        median(times)
    );
    Ok(())
}

fn main() {
    bench_text(20_000);
    bench_text(50_000);
    let dir = std::env::temp_dir().join(format!("gloss-bench-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("temp dir");
    if let Err(e) = bench_db("SQLite", &dir.join("bench.db").to_string_lossy()) {
        eprintln!("SQLite benchmark failed: {e}");
    }
    let _ = std::fs::remove_dir_all(&dir);
    match std::env::var("GLOSS_BENCH_POSTGRES_URL") {
        Ok(url) => {
            if let Err(e) = bench_db("PostgreSQL", &url) {
                eprintln!("PostgreSQL benchmark failed: {e}");
            }
        }
        Err(_) => println!(
            "PostgreSQL: skipped (set GLOSS_BENCH_POSTGRES_URL to a database it may write to)"
        ),
    }
}
