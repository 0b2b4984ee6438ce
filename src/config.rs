//! Typed configuration from environment variables; every default lives here.

use std::time::Duration;

/// The server's configuration. `Config::from_env` reads it; tests build it directly.
#[derive(Debug, Clone)]
pub struct Config {
    /// `GLOSS_DATABASE_URL`: a SQLite path (default `gloss.db`) or a `postgres://` URL.
    pub database_url: String,
    /// `GLOSS_BIND`: the address to listen on.
    pub bind: String,
    /// `GLOSS_JWT_SECRET`: the HS256 signing secret; when unset, one is generated and kept in the database.
    pub jwt_secret: Option<String>,
    /// `GLOSS_JWT_PREVIOUS_SECRETS`: comma-separated older secrets still accepted for verification while keys rotate.
    pub jwt_previous_secrets: Vec<String>,
    /// `GLOSS_JWT_ISSUER`: the `iss` claim.
    pub jwt_issuer: String,
    /// `GLOSS_JWT_AUDIENCE`: the `aud` claim.
    pub jwt_audience: String,
    /// `GLOSS_ACCESS_TOKEN_TTL`: access token lifetime in seconds.
    pub access_token_ttl: Duration,
    /// `GLOSS_REFRESH_TOKEN_TTL`: refresh token lifetime in seconds.
    pub refresh_token_ttl: Duration,
    /// `GLOSS_DB_POOL_SIZE`: connections in the pool.
    pub db_pool_size: u32,
    /// `GLOSS_DB_POOL_TIMEOUT`: seconds to wait for a pooled connection before answering 503.
    pub db_pool_timeout: Duration,
    /// `GLOSS_DB_STATEMENT_TIMEOUT`: milliseconds one statement may run or wait for a lock
    /// (PostgreSQL) or for the writer (SQLite) before the request is answered 503.
    pub db_statement_timeout: Duration,
    /// `GLOSS_REQUEST_TIMEOUT`: seconds a request may take to produce its response before it is
    /// answered 503 (a live stream counts only until it starts).
    pub request_timeout: Duration,
    /// `GLOSS_RATE_AUTH_PER_MINUTE`: sign-in, registration and refresh requests per client address
    /// per minute (0: no limit).
    pub rate_auth_per_minute: u32,
    /// `GLOSS_RATE_FAILED_LOGINS`: failed sign-ins per account and address before 429 (0: no limit).
    pub rate_failed_logins: u32,
    /// `GLOSS_RATE_FAILED_LOGIN_WINDOW`: seconds the failed sign-ins are counted over.
    pub rate_failed_login_window: Duration,
    /// `GLOSS_RATE_WRITES_PER_MINUTE`: writes (POST, PUT, PATCH, DELETE) per member per minute
    /// (0: no limit).
    pub rate_writes_per_minute: u32,
    /// `GLOSS_TRUST_PROXY`: take the client address from `Forwarded` / `X-Forwarded-For` (only
    /// behind a proxy that sets them).
    pub trust_proxy: bool,
    /// `GLOSS_METRICS_TOKEN`: the bearer token `GET /metrics` needs; without one, no metrics.
    pub metrics_token: Option<String>,
    /// `GLOSS_BODY_LIMIT`: the largest request body in bytes.
    pub body_limit: usize,
    /// `GLOSS_CORS_ORIGINS`: comma-separated origins allowed to call the API from a browser.
    pub cors_origins: Vec<String>,
    /// `GLOSS_WORKERS`: HTTP worker threads (default: one per core).
    pub workers: Option<usize>,
    /// `GLOSS_ONLINE_WINDOW`: minutes of inactivity after which a member no longer counts as online.
    pub online_window_minutes: i64,
    /// `GLOSS_PUBLIC_URL`: the URL clients reach this server at (for links in JSON-LD); default `http://{bind}`.
    pub public_url: Option<String>,
    /// `GLOSS_VIEW_FLUSH_INTERVAL`: seconds between writes of buffered thread views.
    pub view_flush_interval: Duration,
    /// `GLOSS_PAGE_CACHE_MB`: memory for built thread pages (0 turns the cache off).
    pub page_cache_mb: usize,
    /// `GLOSS_UNREAD_DAYS`: how far back "unread" reaches; older activity counts as read.
    pub unread_days: i64,
    /// `GLOSS_SEARCH_LANGUAGE`: the PostgreSQL text search configuration that search uses
    /// (`simple`, the default, keeps every word as written; `english`, `russian`, … stem words and
    /// drop stop words). SQLite always matches words as written.
    pub search_language: String,
    /// `GLOSS_MEDIA_DIR`: the folder uploaded images are kept in when no S3 bucket is set
    /// (default `gloss-media`).
    pub media_dir: String,
    /// `GLOSS_S3_BUCKET` (with `GLOSS_S3_ENDPOINT`, `GLOSS_S3_REGION`, and the credentials in
    /// `AWS_ACCESS_KEY_ID` / `AWS_SECRET_ACCESS_KEY`): keep uploaded images in this S3-compatible
    /// bucket instead of the media folder.
    pub s3: Option<S3Config>,
    /// `GLOSS_UPLOAD_MAX_BYTES`: the largest image a member may upload (default 10 MB).
    pub upload_max_bytes: usize,
    /// `GLOSS_UPLOAD_QUOTA_MB`: the bytes of uploads a member may keep, in megabytes (default 200).
    pub upload_quota_mb: u64,
    /// `GLOSS_IMAGE_MAX_PIXELS`: the most pixels an uploaded image may declare (default 40 million);
    /// its sides are capped at 12,000 pixels.
    pub image_max_pixels: u64,
    /// `GLOSS_ATTACHMENT_TTL`: seconds an attachment no post uses is kept (default one day).
    pub attachment_ttl: Duration,
}

/// An S3-compatible bucket for uploaded images.
#[derive(Debug, Clone)]
pub struct S3Config {
    pub bucket: String,
    /// `GLOSS_S3_ENDPOINT`: the server's URL, for S3-compatible servers other than AWS.
    pub endpoint: Option<String>,
    /// `GLOSS_S3_REGION` (default `us-east-1`).
    pub region: String,
    /// Credentials; when absent, object_store reads `AWS_*` variables itself.
    pub access_key_id: Option<String>,
    pub secret_access_key: Option<String>,
}

impl Default for Config {
    fn default() -> Self {
        Config {
            database_url: "gloss.db".into(),
            bind: "127.0.0.1:8080".into(),
            jwt_secret: None,
            jwt_previous_secrets: Vec::new(),
            jwt_issuer: "gloss".into(),
            jwt_audience: "gloss-api".into(),
            access_token_ttl: Duration::from_secs(15 * 60),
            refresh_token_ttl: Duration::from_secs(30 * 24 * 3600),
            db_pool_size: 10,
            db_pool_timeout: Duration::from_secs(5),
            db_statement_timeout: Duration::from_millis(5000),
            request_timeout: Duration::from_secs(30),
            rate_auth_per_minute: 30,
            rate_failed_logins: 5,
            rate_failed_login_window: Duration::from_secs(15 * 60),
            rate_writes_per_minute: 120,
            trust_proxy: false,
            metrics_token: None,
            body_limit: 256 * 1024,
            cors_origins: Vec::new(),
            workers: None,
            view_flush_interval: Duration::from_secs(10),
            public_url: None,
            online_window_minutes: 15,
            page_cache_mb: 64,
            unread_days: 30,
            search_language: "simple".into(),
            media_dir: "gloss-media".into(),
            s3: None,
            upload_max_bytes: 10 * 1024 * 1024,
            upload_quota_mb: 200,
            image_max_pixels: 40_000_000,
            attachment_ttl: Duration::from_secs(24 * 3600),
        }
    }
}

/// The smallest secret we accept: 32 bytes, the HS256 key size.
pub const MIN_JWT_SECRET_LEN: usize = 32;

impl Config {
    /// The bytes of uploads a member may keep.
    pub fn upload_quota_bytes(&self) -> i64 {
        i64::try_from(self.upload_quota_mb.saturating_mul(1024 * 1024)).unwrap_or(i64::MAX)
    }

    /// How far decoding an uploaded image may go.
    pub fn image_bounds(&self) -> crate::media::image::Bounds {
        crate::media::image::Bounds {
            max_pixels: self.image_max_pixels,
            ..Default::default()
        }
    }

    /// The base URL of this server as clients see it, without a trailing slash.
    pub fn base_url(&self) -> String {
        self.public_url
            .clone()
            .unwrap_or_else(|| format!("http://{}", self.bind))
    }

    /// Reads `GLOSS_*` variables; an unparsable value is an error that names the variable.
    pub fn from_env() -> Result<Config, String> {
        Self::from_lookup(|name| std::env::var(name).ok())
    }

    /// Reads the configuration through `lookup` (the environment, or a map in tests).
    pub fn from_lookup(lookup: impl Fn(&str) -> Option<String>) -> Result<Config, String> {
        let d = Config::default();
        let get = |name: &str| lookup(name).filter(|v| !v.trim().is_empty());
        let list = |name: &str| -> Vec<String> {
            get(name)
                .map(|v| {
                    v.split(',')
                        .map(|s| s.trim().to_string())
                        .filter(|s| !s.is_empty())
                        .collect()
                })
                .unwrap_or_default()
        };
        fn num<T: std::str::FromStr>(
            name: &str,
            value: Option<String>,
            default: T,
        ) -> Result<T, String> {
            match value {
                None => Ok(default),
                Some(v) => v
                    .trim()
                    .parse()
                    .map_err(|_| format!("{name} must be a whole number, got {v:?}")),
            }
        }
        let secs = |name: &str, default: Duration| -> Result<Duration, String> {
            num(name, get(name), default.as_secs()).map(Duration::from_secs)
        };
        let config = Config {
            database_url: get("GLOSS_DATABASE_URL").unwrap_or(d.database_url),
            bind: get("GLOSS_BIND").unwrap_or(d.bind),
            jwt_secret: get("GLOSS_JWT_SECRET"),
            jwt_previous_secrets: list("GLOSS_JWT_PREVIOUS_SECRETS"),
            jwt_issuer: get("GLOSS_JWT_ISSUER").unwrap_or(d.jwt_issuer),
            jwt_audience: get("GLOSS_JWT_AUDIENCE").unwrap_or(d.jwt_audience),
            access_token_ttl: secs("GLOSS_ACCESS_TOKEN_TTL", d.access_token_ttl)?,
            refresh_token_ttl: secs("GLOSS_REFRESH_TOKEN_TTL", d.refresh_token_ttl)?,
            db_pool_size: num(
                "GLOSS_DB_POOL_SIZE",
                get("GLOSS_DB_POOL_SIZE"),
                d.db_pool_size,
            )?,
            db_pool_timeout: secs("GLOSS_DB_POOL_TIMEOUT", d.db_pool_timeout)?,
            db_statement_timeout: Duration::from_millis(num(
                "GLOSS_DB_STATEMENT_TIMEOUT",
                get("GLOSS_DB_STATEMENT_TIMEOUT"),
                d.db_statement_timeout.as_millis() as u64,
            )?),
            request_timeout: secs("GLOSS_REQUEST_TIMEOUT", d.request_timeout)?,
            rate_auth_per_minute: num(
                "GLOSS_RATE_AUTH_PER_MINUTE",
                get("GLOSS_RATE_AUTH_PER_MINUTE"),
                d.rate_auth_per_minute,
            )?,
            rate_failed_logins: num(
                "GLOSS_RATE_FAILED_LOGINS",
                get("GLOSS_RATE_FAILED_LOGINS"),
                d.rate_failed_logins,
            )?,
            rate_failed_login_window: secs(
                "GLOSS_RATE_FAILED_LOGIN_WINDOW",
                d.rate_failed_login_window,
            )?,
            rate_writes_per_minute: num(
                "GLOSS_RATE_WRITES_PER_MINUTE",
                get("GLOSS_RATE_WRITES_PER_MINUTE"),
                d.rate_writes_per_minute,
            )?,
            metrics_token: get("GLOSS_METRICS_TOKEN"),
            trust_proxy: match get("GLOSS_TRUST_PROXY").as_deref().map(str::trim) {
                None | Some("0" | "false" | "no") => false,
                Some("1" | "true" | "yes") => true,
                Some(v) => {
                    return Err(format!(
                        "GLOSS_TRUST_PROXY must be true or false, got {v:?}"
                    ))
                }
            },
            body_limit: num("GLOSS_BODY_LIMIT", get("GLOSS_BODY_LIMIT"), d.body_limit)?,
            cors_origins: list("GLOSS_CORS_ORIGINS"),
            online_window_minutes: num(
                "GLOSS_ONLINE_WINDOW",
                get("GLOSS_ONLINE_WINDOW"),
                d.online_window_minutes,
            )?,
            public_url: get("GLOSS_PUBLIC_URL").map(|u| u.trim_end_matches('/').to_string()),
            view_flush_interval: secs("GLOSS_VIEW_FLUSH_INTERVAL", d.view_flush_interval)?,
            unread_days: num("GLOSS_UNREAD_DAYS", get("GLOSS_UNREAD_DAYS"), d.unread_days)?,
            search_language: get("GLOSS_SEARCH_LANGUAGE")
                .map(|v| v.trim().to_string())
                .unwrap_or(d.search_language),
            page_cache_mb: num(
                "GLOSS_PAGE_CACHE_MB",
                get("GLOSS_PAGE_CACHE_MB"),
                d.page_cache_mb,
            )?,
            media_dir: get("GLOSS_MEDIA_DIR").unwrap_or(d.media_dir),
            s3: get("GLOSS_S3_BUCKET").map(|bucket| S3Config {
                bucket: bucket.trim().to_string(),
                endpoint: get("GLOSS_S3_ENDPOINT").map(|e| e.trim().to_string()),
                region: get("GLOSS_S3_REGION").unwrap_or_else(|| "us-east-1".into()),
                access_key_id: get("AWS_ACCESS_KEY_ID"),
                secret_access_key: get("AWS_SECRET_ACCESS_KEY"),
            }),
            upload_max_bytes: num(
                "GLOSS_UPLOAD_MAX_BYTES",
                get("GLOSS_UPLOAD_MAX_BYTES"),
                d.upload_max_bytes,
            )?,
            upload_quota_mb: num(
                "GLOSS_UPLOAD_QUOTA_MB",
                get("GLOSS_UPLOAD_QUOTA_MB"),
                d.upload_quota_mb,
            )?,
            image_max_pixels: num(
                "GLOSS_IMAGE_MAX_PIXELS",
                get("GLOSS_IMAGE_MAX_PIXELS"),
                d.image_max_pixels,
            )?,
            attachment_ttl: secs("GLOSS_ATTACHMENT_TTL", d.attachment_ttl)?,
            workers: match get("GLOSS_WORKERS") {
                None => None,
                v => Some(num("GLOSS_WORKERS", v, 0)?),
            },
        };
        config.validate()?;
        Ok(config)
    }

    /// Rejects values that cannot work, with a message naming the variable.
    pub fn validate(&self) -> Result<(), String> {
        // a name, as PostgreSQL writes them: it is checked against the database at start-up
        let lang = &self.search_language;
        if lang.is_empty()
            || lang.len() > 63
            || !lang
                .chars()
                .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_')
        {
            return Err(format!(
                "GLOSS_SEARCH_LANGUAGE must name a text search configuration (such as simple or english), got {lang:?}"
            ));
        }
        if !(1..=3650).contains(&self.unread_days) {
            return Err(format!(
                "GLOSS_UNREAD_DAYS must be 1 to 3650, got {}",
                self.unread_days
            ));
        }
        for secret in self.jwt_secret.iter().chain(&self.jwt_previous_secrets) {
            if secret.len() < MIN_JWT_SECRET_LEN {
                return Err(format!(
                    "GLOSS_JWT_SECRET and GLOSS_JWT_PREVIOUS_SECRETS must be at least {MIN_JWT_SECRET_LEN} bytes"
                ));
            }
        }
        if self.db_pool_size == 0 {
            return Err("GLOSS_DB_POOL_SIZE must be at least 1".into());
        }
        if self.access_token_ttl.as_secs() == 0 || self.refresh_token_ttl.as_secs() == 0 {
            return Err(
                "GLOSS_ACCESS_TOKEN_TTL and GLOSS_REFRESH_TOKEN_TTL must be positive".into(),
            );
        }
        if !(1..=1440).contains(&self.online_window_minutes) {
            return Err("GLOSS_ONLINE_WINDOW must be between 1 and 1440 minutes".into());
        }
        if self.view_flush_interval.is_zero() {
            return Err("GLOSS_VIEW_FLUSH_INTERVAL must be positive".into());
        }
        if self.db_statement_timeout.as_millis() < 100 {
            return Err("GLOSS_DB_STATEMENT_TIMEOUT must be at least 100 (milliseconds)".into());
        }
        if self.rate_failed_login_window.is_zero() {
            return Err("GLOSS_RATE_FAILED_LOGIN_WINDOW must be positive".into());
        }
        if self.request_timeout.is_zero() {
            return Err("GLOSS_REQUEST_TIMEOUT must be positive".into());
        }
        if self.upload_max_bytes < 1024 {
            return Err("GLOSS_UPLOAD_MAX_BYTES must be at least 1024 bytes".into());
        }
        if self.image_max_pixels < 1024 {
            return Err("GLOSS_IMAGE_MAX_PIXELS must be at least 1024".into());
        }
        if self.attachment_ttl.is_zero() || self.attachment_ttl.as_secs() > 10 * 365 * 24 * 3600 {
            return Err("GLOSS_ATTACHMENT_TTL must be 1 second to 10 years".into());
        }
        if self.body_limit < 1024 {
            return Err("GLOSS_BODY_LIMIT must be at least 1024 bytes".into());
        }
        Ok(())
    }
}
