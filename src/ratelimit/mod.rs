//! Rate limits: per client address on the account endpoints (login, register, token refresh), per
//! account and address on failed logins, and per member on writes. All answer 429 problem+json
//! with `Retry-After` and the `RateLimit-*` headers.
//!
//! The address and login limits are counted in the database, so several processes sharing one
//! PostgreSQL count together. The write limit is counted in memory (governor's GCRA, per process):
//! it must cost nothing on the hot path of every write.

pub mod db;

use std::num::NonZeroU32;
use std::time::Duration;

use actix_web::HttpRequest;
use governor::clock::{Clock, DefaultClock};
use governor::{DefaultKeyedRateLimiter, Quota, RateLimiter};

use crate::config::Config;
use crate::db::DbConn;
use crate::error::ApiError;

/// The limits of one process.
pub struct Limits {
    writes: Option<DefaultKeyedRateLimiter<i64>>,
    writes_per_minute: u32,
    auth_per_minute: u32,
    failed_logins: u32,
    failed_login_window: Duration,
    trust_proxy: bool,
}

impl Limits {
    /// The limits that `config` sets (a limit of 0 is off).
    pub fn new(config: &Config) -> Limits {
        Limits {
            writes: NonZeroU32::new(config.rate_writes_per_minute)
                .map(|n| RateLimiter::keyed(Quota::per_minute(n))),
            writes_per_minute: config.rate_writes_per_minute,
            auth_per_minute: config.rate_auth_per_minute,
            failed_logins: config.rate_failed_logins,
            failed_login_window: config.rate_failed_login_window,
            trust_proxy: config.trust_proxy,
        }
    }

    /// The address a request comes from: the peer, or with `GLOSS_TRUST_PROXY` the address the
    /// proxy in front appended to `X-Forwarded-For` (the last entry: the ones before it come from
    /// the client and can say anything; `Forwarded` is ignored for the same reason).
    pub fn client_address(&self, req: &HttpRequest) -> String {
        let forwarded = self
            .trust_proxy
            .then(|| req.headers().get("x-forwarded-for"))
            .flatten()
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.rsplit(',').map(str::trim).find(|a| !a.is_empty()))
            .map(str::to_string);
        let addr = forwarded.or_else(|| req.connection_info().peer_addr().map(str::to_string));
        addr.map(|a| {
            // the port changes per connection: the host is the client
            a.parse::<std::net::SocketAddr>()
                .map(|s| s.ip().to_string())
                .unwrap_or_else(|_| a.to_string())
        })
        .unwrap_or_else(|| "unknown".into())
    }

    /// Counts a write by `member`; 429 when the member writes faster than the limit.
    pub fn check_write(&self, member: i64) -> Result<(), ApiError> {
        let Some(limiter) = &self.writes else {
            return Ok(());
        };
        limiter.check_key(&member).map_err(|not_until| {
            let wait = not_until.wait_time_from(DefaultClock::default().now());
            // rounded up: a client that waits exactly this long must not be refused again
            let secs = wait.as_millis().div_ceil(1000).max(1) as u64;
            ApiError::rate_limited(
                self.writes_per_minute as u64,
                secs,
                format!(
                    "at most {} writes a minute; retry in {secs} s",
                    self.writes_per_minute
                ),
            )
        })
    }

    /// On PostgreSQL, where several processes may serve one forum, also counts the write in the
    /// database (one fixed window a minute per member), so the limit holds across processes. On
    /// SQLite there is one process and the in-memory count is the whole truth.
    pub fn check_write_shared(&self, conn: &mut DbConn, member: i64) -> Result<(), ApiError> {
        if self.writes_per_minute == 0 || !matches!(conn, DbConn::Pg(_)) {
            return Ok(());
        }
        let c = db::hit(conn, &format!("write:{member}"), 60)?;
        if c.count > self.writes_per_minute as i64 {
            let retry = retry_after(c.window_start, 60);
            return Err(ApiError::rate_limited(
                self.writes_per_minute as u64,
                retry,
                format!(
                    "at most {} writes a minute; retry in {retry} s",
                    self.writes_per_minute
                ),
            ));
        }
        Ok(())
    }

    /// Forgets members who have not written lately (bounded memory).
    pub fn prune(&self) {
        if let Some(limiter) = &self.writes {
            limiter.retain_recent();
            limiter.shrink_to_fit();
        }
    }

    /// Counts a request to an account endpoint from `address` (in the caller's connection); 429
    /// past the limit per minute.
    pub fn check_auth(&self, conn: &mut DbConn, address: &str) -> Result<(), ApiError> {
        if self.auth_per_minute == 0 {
            return Ok(());
        }
        let c = db::hit(conn, &format!("auth:{address}"), 60)?;
        if c.count > self.auth_per_minute as i64 {
            let retry = retry_after(c.window_start, 60);
            return Err(ApiError::rate_limited(
                self.auth_per_minute as u64,
                retry,
                format!(
                    "at most {} sign-in, registration and refresh requests a minute from one address; retry in {retry} s",
                    self.auth_per_minute
                ),
            ));
        }
        Ok(())
    }

    fn login_key(account: &str, address: &str) -> String {
        format!("login:{}:{address}", account.trim().to_lowercase())
    }

    /// Counts a login attempt on `account` from `address` and answers 429 when too many have
    /// failed lately. Counted before the password is checked (one atomic upsert), so parallel
    /// guesses cannot all slip under the limit; a success clears the count, so only failures stay
    /// counted. A locked-out guesser learns nothing; the owner elsewhere is not locked out.
    pub fn check_login(
        &self,
        conn: &mut DbConn,
        account: &str,
        address: &str,
    ) -> Result<(), ApiError> {
        if self.failed_logins == 0 {
            return Ok(());
        }
        let window = self.failed_login_window.as_secs() as i64;
        {
            let c = db::hit(conn, &Self::login_key(account, address), window)?;
            if c.count > self.failed_logins as i64 {
                let retry = retry_after(c.window_start, window);
                return Err(ApiError::rate_limited(
                    self.failed_logins as u64,
                    retry,
                    format!(
                        "too many failed sign-ins for this account from this address; retry in {retry} s"
                    ),
                ));
            }
        }
        Ok(())
    }

    /// Clears the failures of `account` from `address` after a successful login.
    pub fn login_succeeded(
        &self,
        conn: &mut DbConn,
        account: &str,
        address: &str,
    ) -> Result<(), ApiError> {
        if self.failed_logins > 0 {
            db::clear(conn, &Self::login_key(account, address))?;
        }
        Ok(())
    }
}

/// Whole seconds until a window that began at `start` ends (at least 1).
fn retry_after(start: chrono::NaiveDateTime, window_secs: i64) -> u64 {
    let end = start + chrono::Duration::seconds(window_secs);
    // rounded up: a client that waits exactly this long must not be refused again
    let ms = (end - crate::db::now()).num_milliseconds().max(1) as u64;
    ms.div_ceil(1000)
}
