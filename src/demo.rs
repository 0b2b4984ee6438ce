//! `gloss demo`: a small, living forum written by us, so a newcomer sees something in the first minute.

use std::collections::BTreeMap;

use chrono::NaiveDate;
use diesel::prelude::*;

use crate::annotations::citations::{self, CitationInput};
use crate::annotations::db::{self as annotation_db, NewAnnotation};
use crate::annotations::model::{selector_from_input, SelectorInput};
use crate::auth::{passwords, AuthUser};
use crate::db::schema::users;
use crate::db::{now, DbConn};
use crate::error::ApiError;
use crate::forums::db::{self as forum_db, NewField, NewForum};
use crate::forums::fields::StoredValue;
use crate::posts::db::{self as post_db, NewPostContent};
use crate::profiles::db as profile_db;
use crate::reactions::db as reaction_db;
use crate::text;
use crate::threads::db::{self as thread_db, NewThread};
use crate::users::db::{self as user_db, username_key, NewUser};
use crate::users::Role;

/// The password of every demo member.
pub const DEMO_PASSWORD: &str = "gloss-demo-password";

fn content(body: &str) -> (String, text::Rendered) {
    (body.to_string(), text::render(body))
}

/// What `fill` did: its message, and the image files to write to the store (path, bytes) once
/// its transaction has committed.
pub struct Filled {
    pub message: String,
    pub files: Vec<(String, Vec<u8>)>,
}

/// Writes the demo's image files to the store.
pub async fn store_files(
    store: &crate::media::store::Store,
    files: Vec<(String, Vec<u8>)>,
) -> Result<(), String> {
    for (path, bytes) in files {
        store
            .put(&path, bytes)
            .await
            .map_err(|e| format!("cannot store a demo image in {}: {e}", store.location))?;
    }
    Ok(())
}

/// Fills an empty database with demo content, pictures and avatars included; refuses a database
/// that already has members. The pictures' files are returned, for `store_files`.
pub fn fill(conn: &mut DbConn) -> Result<Filled, String> {
    let existing: i64 = users::table
        .count()
        .get_result(conn)
        .map_err(|e| e.to_string())?;
    if existing > 0 {
        return Err(
            "the database already has members: `gloss demo` only fills an empty one".into(),
        );
    }
    let hash = passwords::hash(DEMO_PASSWORD)?;
    // the news pictures and the avatars, made here and put through the same processing as uploads
    let bounds = crate::media::image::Bounds::default();
    let scenes = [scene_beijing(), scene_red_square(), scene_flags()];
    let pictures: Vec<crate::media::image::Processed> = scenes
        .iter()
        .map(|jpeg| crate::media::image::process(jpeg, bounds))
        .collect::<Result<_, _>>()
        .map_err(|e| format!("a demo picture did not process: {e:?}"))?;
    let avatars: Vec<Vec<crate::media::image::Encoded>> = ["saif", "lin_wei", "mikhail", "ada"]
        .iter()
        .map(|name| crate::media::image::avatar(&identicon(name), bounds))
        .collect::<Result<_, _>>()
        .map_err(|e| format!("a demo avatar did not process: {e:?}"))?;
    let mut files: Vec<(String, Vec<u8>)> = Vec::new();
    let message = crate::db::transaction(conn, |conn| -> Result<String, ApiError> {
        files.clear();
        let t = now();
        let mut ids = Vec::new();
        for (name, display, role, joined) in [
            ("saif", "Saif", "member", "2024-01-24"),
            ("lin_wei", "Lin Wei", "member", "2024-06-03"),
            ("mikhail", "Mikhail", "moderator", "2023-11-12"),
            ("ada", "Ada", "admin", "2023-01-09"),
        ] {
            let joined = NaiveDate::parse_from_str(joined, "%Y-%m-%d")
                .ok()
                .and_then(|d| d.and_hms_opt(9, 30, 0))
                .unwrap_or(t);
            let u = user_db::insert(
                conn,
                &NewUser {
                    username: name,
                    username_key: username_key(name),
                    email: None,
                    email_key: None,
                    display_name: Some(display),
                    password_hash: &hash,
                    role,
                    created_at: joined,
                    updated_at: t,
                },
            )?;
            ids.push(u.id);
        }
        let (saif, lin, mikhail, ada) = (ids[0], ids[1], ids[2], ids[3]);
        for (user_id, sizes) in ids.iter().zip(&avatars) {
            let held: Vec<(String, i64)> = sizes
                .iter()
                .map(|e| (crate::media::content_hash(&e.bytes), e.bytes.len() as i64))
                .collect();
            let changed = crate::avatars::db::set(conn, *user_id, Some(&held))?;
            for (path, e) in changed.write.into_iter().zip(sizes) {
                files.push((path, e.bytes.clone()));
            }
        }
        // the three news articles carry a picture each, uploaded by their authors
        let mut picture_ids = Vec::new();
        for ((picture, owner), scene) in pictures.iter().zip([saif, mikhail, saif]).zip(&scenes) {
            let (display_hash, thumb_hash) = (
                crate::media::content_hash(&picture.display.bytes),
                crate::media::content_hash(&picture.thumbnail.bytes),
            );
            let file = |e: &crate::media::image::Encoded, hash: &str| -> (i64, i32, i32, String) {
                (e.bytes.len() as i64, e.width as i32, e.height as i32, hash.to_string())
            };
            let (d, th) = (file(&picture.display, &display_hash), file(&picture.thumbnail, &thumb_hash));
            let row = crate::attachments::db::record(
                conn,
                &crate::attachments::db::NewAttachment {
                    user_id: owner,
                    content_type: picture.kind.content_type(),
                    size: scene.len() as i64,
                    width: picture.width as i32,
                    height: picture.height as i32,
                    display: crate::attachments::db::NewFile { hash: &d.3, size: d.0, width: d.1, height: d.2 },
                    thumbnail: crate::attachments::db::NewFile { hash: &th.3, size: th.0, width: th.1, height: th.2 },
                },
                i64::MAX,
            )
            .map_err(|e| match e {
                crate::attachments::db::RecordError::Db(e) => ApiError::from(e),
                crate::attachments::db::RecordError::OverQuota { .. } => ApiError::internal("no quota in the demo"),
            })?;
            files.push((row.display_path.clone(), picture.display.bytes.clone()));
            files.push((row.thumb_path.clone(), picture.thumbnail.bytes.clone()));
            picture_ids.push(row.id);
        }
        let forum = |conn: &mut DbConn, parent: Option<i64>, kind: &str, title: &str, slug: &str, desc: &str, pos: i32| {
            forum_db::insert(
                conn,
                &NewForum {
                    parent_id: parent,
                    kind: kind.into(),
                    title: title.into(),
                    slug: slug.into(),
                    description: Some(desc.into()),
                    position: pos,
                    created_at: t,
                    updated_at: t,
                },
            )
        };
        let category = forum(conn, None, "category", "Defense & Geopolitics", "defense-geopolitics", "Armed forces, alliances and the news that moves them.", 0)?;
        let chinese = forum(conn, Some(category.id), "forum", "Chinese Defense", "chinese-defense", "The PLA, its doctrine, equipment and partners.", 0)?;
        let russian = forum(conn, Some(category.id), "forum", "Russian Defense", "russian-defense", "Russia's armed forces and defence industry.", 1)?;
        let cn = forum_db::insert_prefix(conn, chinese.id, "🇨🇳", 0)?;
        forum_db::insert_prefix(conn, chinese.id, "🇷🇺", 1)?;
        let ru = forum_db::insert_prefix(conn, russian.id, "🇷🇺", 0)?;
        let mut date_fields = Vec::new();
        for f in [chinese.id, russian.id] {
            date_fields.push(forum_db::insert_field(
                conn,
                &NewField {
                    forum_id: f,
                    key: "date_of_event".into(),
                    label: "Date of Event".into(),
                    description: Some("When the reported event took place.".into()),
                    field_type: "date".into(),
                    options: None,
                    required: false,
                    position: 0,
                    created_at: t,
                },
            )?);
        }
        let threads = [
            (chinese.id, cn.id, date_fields[0].id, saif, "China-Russia Strategic Partners", "2025-07-16",
             "**China's Xi vows greater support for Russia in Lavrov meeting.**\n\nChinese President Xi Jinping told Russia's top diplomat that their countries should \"strengthen mutual support on multilateral forums\", state media said, as foreign ministers gathered in Beijing for Shanghai Cooperation Organisation talks.\n\nBeijing presents itself as neutral in the conflict in Ukraine, while many of Ukraine's allies believe it has supported Moscow.",
             vec![(lin, "The phrase \"mutual support on multilateral forums\" is doing a lot of work here: it commits to very little that is concrete."),
                  (mikhail, "Note the timing: the meeting came right after the visit to North Korea."),
                  (saif, "Agreed. The SCO framing is the real story: a counterweight to Western-led blocs.")]),
            (chinese.id, cn.id, date_fields[0].id, lin, "SCO foreign ministers meet in Beijing", "2025-07-15",
             "Top diplomats from the SCO are convening in Beijing this week for a meeting of the Council of Foreign Ministers.",
             vec![(saif, "Ten members now. Collaboration in politics, security, trade and science is the stated goal.")]),
            (russian.id, ru.id, date_fields[1].id, mikhail, "Lavrov's Asia tour: Pyongyang, then Beijing", "2025-07-13",
             "The Russian foreign minister arrived in China after a visit to North Korea, where he received assurances of support.",
             vec![(lin, "Worth reading alongside the Beijing readout."), (ada, "Moved the SCO discussion to its own thread."),
                  (saif, "Pyongyang first, Beijing second: the order was the message.")]),
            (chinese.id, cn.id, date_fields[0].id, saif, "Xi meets SCO foreign ministers", "2025-07-15",
             "**Xi meets SCO foreign ministers ahead of the Tianjin summit.**\nAFP Beijing\nPublished: 15 Jul 2025, 13:36\n\nChinese President Xi Jinping held a \"general meeting\" with the foreign ministers of the Shanghai Cooperation Organisation, state news agency Xinhua reported.\n\nBeijing has long sought to present the 10-member SCO as a counterweight to Western-led power blocs such as NATO.",
             vec![(mikhail, "The summit itself is set for Tianjin at the end of August.")]),
        ];
        let mut first_posts = Vec::new();
        let mut thread_ids = Vec::new();
        let captions = [
            (0, "The Great Hall of the People, Beijing. Illustration"),
            (2, "Red Square, Moscow, on Victory Day. Illustration"),
            (3, "The flags of the SCO's members. Illustration"),
        ];
        for (i, (forum_id, prefix, field, author, title, date, body, replies)) in
            threads.into_iter().enumerate()
        {
            // the picture goes after the article's first paragraph, as news posts carry them
            let body = match captions.iter().position(|(t, _)| *t == i) {
                Some(k) => {
                    let picture = format!("![{}](attachment:{})", captions[k].1, picture_ids[k]);
                    match body.split_once("\n\n") {
                        Some((first, rest)) => format!("{first}\n\n{picture}\n\n{rest}"),
                        None => format!("{body}\n\n{picture}"),
                    }
                }
                None => body.to_string(),
            };
            let (body, r) = content(&body);
            let (thread, first) = thread_db::create(
                conn,
                &NewThread {
                    forum_id,
                    user_id: author,
                    title,
                    prefix_id: Some(prefix),
                    fields: &[StoredValue {
                        field_id: field,
                        value_text: date.into(),
                        value_number: None,
                    }],
                    first_post: NewPostContent {
                        body: &body,
                        body_html: &r.html,
                        body_text: &r.text,
                    },
                },
            )?;
            first_posts.push((first.id, author, first.body_text.clone()));
            thread_ids.push(thread.id);
            for (who, text) in replies {
                let (body, r) = content(text);
                let thread = thread_db::find(conn, thread.id)?.ok_or(diesel::result::Error::NotFound)?;
                post_db::reply(
                    conn,
                    &thread,
                    who,
                    &NewPostContent {
                        body: &body,
                        body_html: &r.html,
                        body_text: &r.text,
                    },
                )?;
            }
        }
        community(conn, &[saif, lin, mikhail, ada], &first_posts, &thread_ids)?;
        Ok(format!(
            "demo forum created: members saif, lin_wei, mikhail (moderator) and ada (admin), each with the password {DEMO_PASSWORD:?}, with avatars and three news pictures"
        ))
    })
    .map_err(|e| e.to_string())?;
    Ok(Filled { message, files })
}

/// A picture as a camera would send it: JPEG.
fn jpeg(picture: image::RgbImage) -> Vec<u8> {
    let mut out = std::io::Cursor::new(Vec::new());
    // an in-memory encoder of a valid buffer does not fail
    let _ = image::DynamicImage::ImageRgb8(picture).write_to(&mut out, image::ImageFormat::Jpeg);
    out.into_inner()
}

/// A sky fading from `top` to `bottom` above a ground of `ground`, 1200 × 675.
fn landscape(top: [u8; 3], bottom: [u8; 3], ground: [u8; 3], horizon: u32) -> image::RgbImage {
    let (w, h) = (1200, 675);
    image::RgbImage::from_fn(w, h, |_, y| {
        if y >= horizon {
            image::Rgb(ground)
        } else {
            let t = y as f32 / horizon as f32;
            let mix = |a: u8, b: u8| (a as f32 * (1.0 - t) + b as f32 * t) as u8;
            image::Rgb([
                mix(top[0], bottom[0]),
                mix(top[1], bottom[1]),
                mix(top[2], bottom[2]),
            ])
        }
    })
}

fn fill_rect(p: &mut image::RgbImage, x: u32, y: u32, w: u32, h: u32, c: [u8; 3]) {
    for yy in y..(y + h).min(p.height()) {
        for xx in x..(x + w).min(p.width()) {
            p.put_pixel(xx, yy, image::Rgb(c));
        }
    }
}

/// A long hall with columns under a morning sky.
fn scene_beijing() -> Vec<u8> {
    let mut p = landscape([120, 170, 230], [235, 225, 200], [150, 140, 130], 470);
    fill_rect(&mut p, 150, 300, 900, 170, [200, 190, 170]);
    fill_rect(&mut p, 130, 270, 940, 30, [120, 60, 50]);
    for i in 0..12 {
        fill_rect(&mut p, 180 + i * 72, 320, 22, 150, [235, 230, 215]);
    }
    jpeg(p)
}

/// Red walls and onion domes at dusk.
fn scene_red_square() -> Vec<u8> {
    let mut p = landscape([40, 50, 110], [230, 140, 90], [110, 100, 100], 500);
    fill_rect(&mut p, 0, 380, 1200, 120, [150, 40, 35]);
    for (x, c) in [
        (300, [40, 120, 60]),
        (520, [200, 160, 40]),
        (740, [40, 80, 160]),
    ] {
        fill_rect(&mut p, x, 250, 90, 130, [170, 50, 40]);
        for r in 0..60u32 {
            let half = ((60 * 60 - (60 - r) * (60 - r)) as f32).sqrt() as u32;
            fill_rect(
                &mut p,
                x + 45 - half.min(55),
                190 + r,
                2 * half.min(55),
                1,
                c,
            );
        }
    }
    jpeg(p)
}

/// A row of flags on poles.
fn scene_flags() -> Vec<u8> {
    let mut p = landscape([150, 190, 240], [220, 230, 245], [90, 110, 90], 560);
    let colours = [
        [200, 30, 40],
        [240, 240, 240],
        [20, 90, 170],
        [250, 200, 30],
        [20, 130, 70],
        [230, 110, 20],
        [120, 30, 90],
        [30, 150, 200],
        [180, 20, 20],
        [60, 60, 60],
    ];
    for (i, c) in colours.iter().enumerate() {
        let x = 60 + i as u32 * 112;
        fill_rect(&mut p, x, 150, 8, 410, [80, 80, 80]);
        fill_rect(&mut p, x + 8, 160, 80, 52, *c);
    }
    jpeg(p)
}

/// A member's default face: a symmetric five-by-five pattern in a colour, both from the name.
fn identicon(name: &str) -> Vec<u8> {
    let h = xxhash_rust::xxh3::xxh3_64(name.as_bytes());
    let colour = [
        (h >> 40) as u8 | 0x40,
        (h >> 48) as u8 | 0x40,
        (h >> 56) as u8 | 0x40,
    ];
    let cell = 50;
    let p = image::RgbImage::from_fn(5 * cell, 5 * cell, |x, y| {
        let (cx, cy) = ((x / cell).min(4), (y / cell).min(4));
        let col = cx.min(4 - cx);
        if h >> (cy * 3 + col) & 1 == 1 {
            image::Rgb(colour)
        } else {
            image::Rgb([240, 240, 240])
        }
    });
    jpeg(p)
}

/// What the seed page shows around the posts: the rank ladder (Saif a Senior Member), the Axis
/// Group badge, Nation and Residence, reactions, annotations of each kind, a citation and views.
fn community(
    conn: &mut DbConn,
    members: &[i64; 4],
    first_posts: &[(i64, i64, String)],
    threads: &[i64],
) -> Result<(), ApiError> {
    let [saif, lin, mikhail, ada] = *members;
    profile_db::replace_ranks(
        conn,
        &[
            (0, "New Member".into()),
            (3, "Member".into()),
            (5, "Senior Member".into()),
            (1000, "Veteran".into()),
        ],
    )?;
    let axis = profile_db::insert_group(conn, "Axis Group", "🛡️ Axis", 0)?;
    for m in [saif, mikhail] {
        profile_db::add_member(conn, axis.id, m)?;
    }
    let nation = profile_db::insert_field(conn, "nation", "Nation", "country", None, 0)?;
    let residence = profile_db::insert_field(conn, "residence", "Residence", "text", None, 1)?;
    for (m, n, r) in [
        (saif, "CN", "Beijing"),
        (lin, "SG", "Singapore"),
        (mikhail, "RU", "Kazan"),
    ] {
        profile_db::set_value(conn, m, nation.id, Some(n))?;
        profile_db::set_value(conn, m, residence.id, Some(r))?;
    }
    // reactions on the first posts, from everyone but their authors
    let like = reaction_db::kinds(conn)?
        .into_iter()
        .find(|k| k.key == "like")
        .ok_or_else(|| ApiError::internal("the like reaction kind is missing"))?;
    for (post, author, _) in first_posts {
        for m in members.iter().filter(|m| *m != author) {
            reaction_db::add(conn, *post, *author, like.id, *m)?;
        }
    }
    // Analyze Post: one annotation of each common kind on the first thread's article
    let (article, _, text) = &first_posts[0];
    let t = now();
    for (who, motivation, exact, body, tags, visibility) in [
        (
            lin,
            "highlighting",
            "strengthen mutual support on multilateral forums",
            None,
            "[]",
            "public",
        ),
        (
            mikhail,
            "commenting",
            "neutral in the conflict",
            Some("Neutral in words; the trade figures say otherwise."),
            "[]",
            "public",
        ),
        (
            lin,
            "questioning",
            "a counterweight to Western-led blocs",
            Some("Counterweight, or an alternative forum?"),
            "[]",
            "public",
        ),
        (
            ada,
            "tagging",
            "Shanghai Cooperation Organisation",
            None,
            "[\"sco\",\"diplomacy\"]",
            "public",
        ),
        (
            saif,
            "bookmarking",
            "Xi Jinping told Russia's top diplomat",
            None,
            "[]",
            "private",
        ),
    ] {
        if !text.contains(exact) {
            continue;
        }
        let selector = selector_from_input(
            text,
            &SelectorInput {
                exact: Some(exact.into()),
                ..Default::default()
            },
        )?;
        annotation_db::insert(
            conn,
            &NewAnnotation {
                post_id: *article,
                user_id: who,
                parent_id: None,
                motivation: motivation.into(),
                body: body.map(String::from),
                body_html: body.map(|b| text::render(b).html),
                tags: tags.into(),
                visibility: visibility.into(),
                quote_exact: Some(selector.quote.exact.clone()),
                quote_prefix: Some(selector.quote.prefix.clone()),
                quote_suffix: Some(selector.quote.suffix.clone()),
                start_pos: Some(selector.position.start as i64),
                end_pos: Some(selector.position.end as i64),
                created_revision: 1,
                anchored_revision: 1,
                created_at: t,
                updated_at: t,
            },
        )?;
    }
    // Cite: Lin quotes the article in the SCO thread
    let lin_user = AuthUser {
        id: lin,
        role: Role::Member,
        expires_at: u64::MAX,
    };
    let cites = citations::prepare(
        conn,
        &lin_user,
        &[CitationInput {
            post_id: Some(*article),
            selector: Some(SelectorInput {
                exact: Some("strengthen mutual support on multilateral forums".into()),
                ..Default::default()
            }),
            annotation_id: None,
        }],
    )?;
    let (body, r) = content("This is the line the whole SCO meeting hangs on.");
    let html = format!(
        "{}{}",
        text::sanitize(&citations::quotes_html(&cites)),
        r.html
    );
    let sco = thread_db::find(conn, threads[1])?.ok_or(diesel::result::Error::NotFound)?;
    let reply = post_db::reply(
        conn,
        &sco,
        lin,
        &NewPostContent {
            body: &body,
            body_html: &html,
            body_text: &r.text,
        },
    )?;
    citations::insert(conn, reply.id, &cites)?;
    // views, as if the forum had been read for a while
    let views: BTreeMap<i64, i64> = threads
        .iter()
        .zip([146, 57, 31, 88])
        .map(|(t, n)| (*t, n))
        .collect();
    thread_db::add_views(conn, &views)?;
    Ok(())
}
