//! Members online: last activity is noted in memory on every authenticated request and written to
//! the database in batches (with the view counts), never a write per request.

use std::collections::HashMap;
use std::sync::Mutex;

use actix_web::{get, web};
use chrono::{Duration as ChronoDuration, NaiveDateTime};
use diesel::prelude::*;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use crate::db::schema::users;
use crate::db::{now, Db, DbConn, MultiBackend};
use crate::error::{ApiError, Problem, Validator};
use crate::extract::Query;
use crate::users::cards::UserRef;
use crate::users::db::User;
use crate::AppState;

/// When each member was last active, since the last flush; and when each guest was last seen
/// reading a page (in this process only, by a keyed hash of their address, never written).
#[derive(Debug, Default)]
pub struct Presence {
    seen: Mutex<HashMap<i64, NaiveDateTime>>,
    guests: Mutex<HashMap<u64, NaiveDateTime>>,
    keys: std::collections::hash_map::RandomState,
}

/// The widest "online" window a client may ask for, in minutes.
pub const MAX_WINDOW: i64 = 1440;

/// The most guests remembered; past it the longest-gone are forgotten first.
const MAX_GUESTS: usize = 100_000;

impl Presence {
    /// Notes that a guest at `address` is reading now.
    pub fn record_guest(&self, address: &str) {
        use std::hash::BuildHasher;
        let key = self.keys.hash_one(address);
        let at = now();
        if let Ok(mut g) = self.guests.lock() {
            if g.len() >= MAX_GUESTS && !g.contains_key(&key) {
                let day_ago = at - ChronoDuration::minutes(MAX_WINDOW);
                g.retain(|_, seen| *seen >= day_ago);
                if g.len() >= MAX_GUESTS {
                    g.clear();
                }
            }
            g.insert(key, at);
        }
    }

    /// What this process knows of who is online within `window` minutes: member activity not yet
    /// written, and the guests it served.
    pub fn snapshot_within(&self, window: i64) -> OnlineSnapshot {
        let cutoff = now() - ChronoDuration::minutes(window);
        OnlineSnapshot {
            window,
            cutoff,
            buffered: self
                .snapshot()
                .into_iter()
                .filter(|(_, at)| *at >= cutoff)
                .collect(),
            guests: self.guests_since(cutoff),
        }
    }

    /// Guests seen since `cutoff`.
    pub fn guests_since(&self, cutoff: NaiveDateTime) -> i64 {
        self.guests
            .lock()
            .map(|g| g.values().filter(|at| **at >= cutoff).count() as i64)
            .unwrap_or(0)
    }

    /// Notes that a member is active now.
    pub fn record(&self, user_id: i64) {
        if let Ok(mut s) = self.seen.lock() {
            s.insert(user_id, now());
        }
    }

    /// Member activity not yet written.
    pub fn snapshot(&self) -> HashMap<i64, NaiveDateTime> {
        self.seen.lock().map(|s| s.clone()).unwrap_or_default()
    }

    /// Writes the buffered activity in one transaction; on failure it is kept for the next try.
    /// Guests gone longer than the widest window are forgotten.
    pub async fn flush(&self, db: &Db) -> Result<usize, ApiError> {
        if let Ok(mut g) = self.guests.lock() {
            let cutoff = now() - ChronoDuration::minutes(MAX_WINDOW);
            g.retain(|_, at| *at >= cutoff);
        }
        let taken = self
            .seen
            .lock()
            .map(|mut s| std::mem::take(&mut *s))
            .unwrap_or_default();
        if taken.is_empty() {
            return Ok(0);
        }
        let n = taken.len();
        let to_write = taken.clone();
        let result = db
            .run(move |conn| {
                crate::db::transaction(conn, |conn| {
                    for (id, at) in &to_write {
                        diesel::update(users::table.find(*id))
                            .set(users::last_seen_at.eq(Some(*at)))
                            .execute(conn)?;
                    }
                    Ok::<_, diesel::result::Error>(())
                })?;
                Ok(())
            })
            .await;
        if let Err(e) = result {
            if let Ok(mut s) = self.seen.lock() {
                for (id, at) in taken {
                    s.entry(id).or_insert(at);
                }
            }
            return Err(e);
        }
        Ok(n)
    }
}

/// Which window "online" means.
#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct OnlineParams {
    /// Minutes of inactivity after which a member is no longer online (default from
    /// `GLOSS_ONLINE_WINDOW`, 15; at most 1440).
    #[param(minimum = 1, maximum = 1440, example = 15)]
    pub window_minutes: Option<i64>,
}

/// Members online.
#[derive(Debug, Serialize, ToSchema)]
#[schema(example = json!({"window_minutes": 15, "count": 2, "hidden_count": 1, "guest_count": 14,
    "items": [{"id": 1, "username": "saif", "display_name": "Saif"}, {"id": 2, "username": "lin", "display_name": null}]}))]
pub struct OnlineMembers {
    pub window_minutes: i64,
    /// Members online who show their presence.
    pub count: i64,
    /// Members online who chose to hide it (counted, never named).
    pub hidden_count: i64,
    /// Guests who read a thread or the site blocks within the window (as seen by this server
    /// process: behind a load balancer each process counts the guests it served).
    pub guest_count: i64,
    /// The visible ones, most recently active first (at most 200).
    pub items: Vec<UserRef>,
}

/// Members active within the window (default 15 minutes), respecting a member's choice to hide.
#[utoipa::path(
    operation_id = "list_online_members",
    tag = "users",
    params(OnlineParams),
    responses(
        (status = 200, description = "Members online", body = OnlineMembers),
        (status = 422, description = "Invalid window", body = Problem, content_type = "application/problem+json"),
    )
)]
#[get("/users/online")]
pub async fn online(
    state: web::Data<AppState>,
    query: Query<OnlineParams>,
) -> Result<web::Json<OnlineMembers>, ApiError> {
    let window = query
        .0
        .window_minutes
        .unwrap_or(state.config.online_window_minutes);
    Validator::new()
        .check(
            (1..=MAX_WINDOW).contains(&window),
            "window_minutes",
            format!("must be between 1 and {MAX_WINDOW}"),
        )
        .finish()?;
    // activity not yet written counts too
    let snapshot = state.presence.snapshot_within(window);
    let result = state
        .db
        .run(move |conn| Ok(online_members(conn, &snapshot, 200)?))
        .await?;
    Ok(web::Json(result))
}

/// Who is online within a window, as one process sees it (see [`Presence::snapshot_within`]).
pub struct OnlineSnapshot {
    /// The window, in minutes.
    pub window: i64,
    /// Its start.
    pub cutoff: NaiveDateTime,
    /// Member activity within it not yet written.
    pub buffered: HashMap<i64, NaiveDateTime>,
    /// Guests seen within it.
    pub guests: i64,
}

/// The members active within the snapshot's window, most recent first, at most `limit` of them
/// named; the guests are the snapshot's.
pub fn online_members(
    conn: &mut DbConn,
    snapshot: &OnlineSnapshot,
    limit: usize,
) -> QueryResult<OnlineMembers> {
    let (window, cutoff, buffered) = (snapshot.window, snapshot.cutoff, &snapshot.buffered);
    let select = <User as Selectable<MultiBackend>>::construct_selection();
    let mut found: Vec<User> = users::table
        .filter(users::last_seen_at.ge(cutoff))
        .filter(users::disabled.eq(false))
        .select(select)
        .load(conn)?;
    let missing: Vec<i64> = buffered
        .keys()
        .filter(|id| !found.iter().any(|u| u.id == **id))
        .copied()
        .collect();
    if !missing.is_empty() {
        found.extend(
            users::table
                .filter(users::id.eq_any(missing))
                .filter(users::disabled.eq(false))
                .select(<User as Selectable<MultiBackend>>::construct_selection())
                .load::<User>(conn)?,
        );
    }
    let seen = |u: &User| buffered.get(&u.id).copied().max(u.last_seen_at);
    found.sort_by(|a, b| seen(b).cmp(&seen(a)).then(a.id.cmp(&b.id)));
    let hidden_count = found.iter().filter(|u| u.hide_presence).count() as i64;
    let visible: Vec<UserRef> = found
        .iter()
        .filter(|u| !u.hide_presence)
        .map(UserRef::from)
        .collect();
    Ok(OnlineMembers {
        window_minutes: window,
        count: visible.len() as i64,
        hidden_count,
        guest_count: snapshot.guests,
        items: visible.into_iter().take(limit).collect(),
    })
}

/// The routes of this module (before `/users/{username}`).
pub fn routes(cfg: &mut utoipa_actix_web::service_config::ServiceConfig) {
    cfg.service(online);
}
