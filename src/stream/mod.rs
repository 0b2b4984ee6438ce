//! Live updates over Server-Sent Events. Events are rows (so a reconnecting client catches up from
//! `Last-Event-ID`); a hub wakes the open streams of the member an event is for. On PostgreSQL every
//! insert is announced by a trigger with NOTIFY at commit and each process LISTENs, so an event made
//! through one process reaches a stream held open on another; on SQLite the one process wakes its
//! streams itself after a write.

pub mod db;
pub mod events;
pub mod http;

use std::sync::{Arc, OnceLock, Weak};
use std::time::Duration;

use diesel::prelude::*;
use tokio::sync::broadcast;

use crate::db::Backend;
use crate::write_clock::{WriteClock, PAGES_CHANNEL};

/// Wakes the streams of a member (`user id`), or of everyone (`0`).
pub struct Hub {
    tx: broadcast::Sender<i64>,
    backend: Backend,
    url: String,
    listener: OnceLock<()>,
    /// Ticked for every change a page shows announced by PostgreSQL.
    clock: Arc<WriteClock>,
}

/// The NOTIFY channel the trigger announces on.
pub const CHANNEL: &str = "gloss_stream";

impl Hub {
    /// A hub for the database at `url`; on PostgreSQL its listener ticks `clock`.
    pub fn new(url: &str, clock: Arc<WriteClock>) -> Arc<Hub> {
        let (tx, _) = broadcast::channel(1024);
        Arc::new(Hub {
            tx,
            backend: Backend::of_url(url),
            url: url.to_string(),
            listener: OnceLock::new(),
            clock,
        })
    }

    /// A receiver of wake-ups; on PostgreSQL the first one starts this process's listener.
    pub fn subscribe(self: &Arc<Self>) -> broadcast::Receiver<i64> {
        self.listen();
        self.tx.subscribe()
    }

    /// On PostgreSQL, starts this process's listener if it is not running, so that the write
    /// clock learns of other processes' writes (it counts as incomplete until connected).
    pub fn listen(self: &Arc<Self>) {
        if self.backend == Backend::Postgres {
            self.listener
                .get_or_init(|| start_listener(Arc::downgrade(self), self.url.clone()));
        }
    }

    /// How many live streams this process holds open.
    pub fn clients(&self) -> usize {
        self.tx.receiver_count()
    }

    /// Called after a write that may have made events. On SQLite it wakes every stream of this
    /// process (each then reads only its own new events); on PostgreSQL the listener does it.
    pub fn after_write(&self) {
        if self.backend == Backend::Sqlite {
            let _ = self.tx.send(0);
        }
    }
}

/// Listens for announced events on a dedicated connection (not from the pool) and wakes the
/// matching streams. Ends when the hub is gone; after each (re)connection it wakes every stream so
/// none misses what was announced before LISTEN took effect.
fn start_listener(hub: Weak<Hub>, url: String) {
    let spawned = std::thread::Builder::new().name("gloss-listen".into()).spawn(move || {
        while hub.strong_count() > 0 {
            let mut conn = match PgConnection::establish(&url) {
                Ok(c) => c,
                Err(e) => {
                    tracing::warn!(error = %e, "stream listener cannot connect; retrying");
                    std::thread::sleep(Duration::from_secs(1));
                    continue;
                }
            };
            let listened = diesel::sql_query(format!("LISTEN {CHANNEL}"))
                .execute(&mut conn)
                .and_then(|_| diesel::sql_query(format!("LISTEN {PAGES_CHANNEL}")).execute(&mut conn));
            if let Err(e) = listened {
                tracing::warn!(error = %e, "stream listener cannot LISTEN; retrying");
                std::thread::sleep(Duration::from_secs(1));
                continue;
            }
            // Wake every stream once LISTEN is in place, the first time too: a stream that
            // subscribed before then may have missed an event committed while this connection
            // was being made (CI saw a first stream wait for its 15 s keepalive this way).
            if let Some(h) = hub.upgrade() {
                let _ = h.tx.send(0);
                h.clock.set_complete(true);
            }
            'poll: loop {
                let Some(h) = hub.upgrade() else { return };
                let mut got = false;
                for n in conn.notifications_iter() {
                    match n {
                        Ok(n) if n.channel == PAGES_CHANNEL => {
                            got = true;
                            h.clock.tick();
                        }
                        Ok(n) => {
                            got = true;
                            let _ = h.tx.send(n.payload.parse().unwrap_or(0));
                        }
                        Err(e) => {
                            h.clock.set_complete(false);
                            tracing::warn!(error = %e, "stream listener lost its connection; reconnecting");
                            break 'poll;
                        }
                    }
                }
                drop(h);
                if !got {
                    // libpq gives no blocking wait through diesel: poll the socket's buffer often
                    std::thread::sleep(Duration::from_millis(25));
                }
            }
        }
    });
    if let Err(e) = spawned {
        tracing::error!(error = %e, "cannot start the stream listener");
    }
}
