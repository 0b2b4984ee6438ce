//! `gloss demo`: a small, living forum written by us, so a newcomer sees something in the first minute.

use diesel::prelude::*;

use crate::auth::passwords;
use crate::db::schema::users;
use crate::db::{now, DbConn};
use crate::forums::db::{self as forum_db, NewField, NewForum};
use crate::forums::fields::StoredValue;
use crate::posts::db::{self as post_db, NewPostContent};
use crate::text;
use crate::threads::db::{self as thread_db, NewThread};
use crate::users::db::{self as user_db, username_key, NewUser};

/// The password of every demo member.
pub const DEMO_PASSWORD: &str = "gloss-demo-password";

fn content(body: &str) -> (String, text::Rendered) {
    (body.to_string(), text::render(body))
}

/// Fills an empty database with demo content; refuses a database that already has members.
pub fn fill(conn: &mut DbConn) -> Result<String, String> {
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
    crate::db::transaction(conn, |conn| -> QueryResult<String> {
        let t = now();
        let mut ids = Vec::new();
        for (name, display, role) in [
            ("saif", "Saif", "member"),
            ("lin_wei", "Lin Wei", "member"),
            ("mikhail", "Mikhail", "moderator"),
            ("ada", "Ada", "admin"),
        ] {
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
                    created_at: t,
                    updated_at: t,
                },
            )?;
            ids.push(u.id);
        }
        let (saif, lin, mikhail, ada) = (ids[0], ids[1], ids[2], ids[3]);
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
             vec![(lin, "Worth reading alongside the Beijing readout."), (ada, "Moved the SCO discussion to its own thread.")]),
        ];
        for (forum_id, prefix, field, author, title, date, body, replies) in threads {
            let (body, r) = content(body);
            let (thread, _) = thread_db::create(
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
        Ok(format!(
            "demo forum created: members saif, lin_wei, mikhail (moderator) and ada (admin), each with the password {DEMO_PASSWORD:?}"
        ))
    })
    .map_err(|e| e.to_string())
}
