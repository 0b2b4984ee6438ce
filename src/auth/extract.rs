//! `AuthUser` (a valid bearer token is required) and `MaybeUser` (a guest is fine).

use std::future::Future;
use std::pin::Pin;

use actix_web::dev::Payload;
use actix_web::http::header;
use actix_web::{web, FromRequest, HttpRequest};

use crate::error::{ApiError, ErrorKind};
use crate::users::db as user_db;
use crate::users::Role;
use crate::AppState;

/// The member a valid access token names.
#[derive(Debug, Clone, Copy)]
pub struct AuthUser {
    /// User id.
    pub id: i64,
    /// The member's current role (read from the database on every request).
    pub role: Role,
    /// When the access token expires (seconds since the epoch); long-lived responses such as the
    /// event stream end then.
    pub expires_at: u64,
}

/// The caller, when a token is presented; a guest otherwise. A presented but invalid token is
/// still an error: a client should learn its token is bad rather than silently read as a guest.
#[derive(Debug, Clone, Copy)]
pub struct MaybeUser(pub Option<AuthUser>);

/// The token of an `Authorization: Bearer …` header: `None` without the header, an error for a
/// header of another shape. The one place that reads the header (the idempotency layer too).
pub(crate) fn bearer(req: &HttpRequest) -> Result<Option<&str>, ApiError> {
    let Some(value) = req.headers().get(header::AUTHORIZATION) else {
        return Ok(None);
    };
    let value = value.to_str().map_err(|_| {
        ApiError::new(
            ErrorKind::InvalidToken,
            "the Authorization header is not valid text",
        )
    })?;
    match value.split_once(' ') {
        Some((scheme, token))
            if scheme.eq_ignore_ascii_case("bearer") && !token.trim().is_empty() =>
        {
            Ok(Some(token.trim()))
        }
        _ => Err(ApiError::new(
            ErrorKind::InvalidToken,
            "the Authorization header must be 'Bearer <access token>'",
        )),
    }
}

/// Verifies the bearer token (if any), then reads the member's current role and status: a role
/// change or a ban takes effect on the next request, not when the token expires.
fn authenticate(
    req: &HttpRequest,
) -> Pin<Box<dyn Future<Output = Result<Option<AuthUser>, ApiError>>>> {
    let writes = !matches!(req.method().as_str(), "GET" | "HEAD" | "OPTIONS");
    let verified = (|| -> Result<Option<(web::Data<AppState>, i64, u64)>, ApiError> {
        let Some(token) = bearer(req)? else {
            return Ok(None);
        };
        let state = req
            .app_data::<web::Data<AppState>>()
            .ok_or_else(|| ApiError::internal("application state missing"))?
            .clone();
        let claims = state.tokens.verify(token)?;
        let id: i64 = claims
            .sub
            .parse()
            .map_err(|_| ApiError::new(ErrorKind::InvalidToken, "the access token is invalid"))?;
        Ok(Some((state, id, claims.exp)))
    })();
    Box::pin(async move {
        let Some((state, id, exp)) = verified? else {
            return Ok(None);
        };
        if writes {
            state.limits.check_write(id)?;
        }
        let st = state.clone();
        let user = state
            .db
            .run(move |conn| {
                if writes {
                    // shared with the other processes on PostgreSQL, in the same round of work
                    st.limits.check_write_shared(conn, id)?;
                }
                Ok(user_db::find(conn, id)?)
            })
            .await?;
        let user = user.ok_or_else(|| {
            ApiError::new(ErrorKind::InvalidToken, "the account no longer exists")
        })?;
        if user.disabled {
            return Err(ApiError::new(
                ErrorKind::AccountDisabled,
                "this account is disabled",
            ));
        }
        // "members online": noted in memory, written in batches
        state.presence.record(id);
        Ok(Some(AuthUser {
            id,
            role: user.role(),
            expires_at: exp,
        }))
    })
}

impl FromRequest for AuthUser {
    type Error = ApiError;
    type Future = Pin<Box<dyn Future<Output = Result<Self, Self::Error>>>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        let auth = authenticate(req);
        Box::pin(async move {
            auth.await?.ok_or_else(|| {
                ApiError::new(
                    ErrorKind::Unauthorized,
                    "this endpoint needs an access token: send 'Authorization: Bearer <token>'",
                )
            })
        })
    }
}

impl FromRequest for MaybeUser {
    type Error = ApiError;
    type Future = Pin<Box<dyn Future<Output = Result<Self, Self::Error>>>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        let auth = authenticate(req);
        Box::pin(async move { auth.await.map(MaybeUser) })
    }
}
