//! `AuthUser` (a valid bearer token is required) and `MaybeUser` (a guest is fine).

use std::future::{ready, Ready};

use actix_web::dev::Payload;
use actix_web::http::header;
use actix_web::{web, FromRequest, HttpRequest};

use crate::error::{ApiError, ErrorKind};
use crate::users::Role;
use crate::AppState;

/// The member a valid access token names.
#[derive(Debug, Clone, Copy)]
pub struct AuthUser {
    /// User id.
    pub id: i64,
    /// Role when the token was issued.
    pub role: Role,
}

/// The caller, when a token is presented; a guest otherwise. A presented but invalid token is
/// still an error: a client should learn its token is bad rather than silently read as a guest.
#[derive(Debug, Clone, Copy)]
pub struct MaybeUser(pub Option<AuthUser>);

fn bearer(req: &HttpRequest) -> Result<Option<&str>, ApiError> {
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

fn authenticate(req: &HttpRequest) -> Result<Option<AuthUser>, ApiError> {
    let Some(token) = bearer(req)? else {
        return Ok(None);
    };
    let state = req
        .app_data::<web::Data<AppState>>()
        .ok_or_else(|| ApiError::internal("application state missing"))?;
    let claims = state.tokens.verify(token)?;
    let id = claims
        .sub
        .parse()
        .map_err(|_| ApiError::new(ErrorKind::InvalidToken, "the access token is invalid"))?;
    // "members online": noted in memory, written in batches
    state.presence.record(id);
    Ok(Some(AuthUser {
        id,
        role: claims.role,
    }))
}

impl FromRequest for AuthUser {
    type Error = ApiError;
    type Future = Ready<Result<Self, Self::Error>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        ready(authenticate(req).and_then(|user| {
            user.ok_or_else(|| {
                ApiError::new(
                    ErrorKind::Unauthorized,
                    "this endpoint needs an access token: send 'Authorization: Bearer <token>'",
                )
            })
        }))
    }
}

impl FromRequest for MaybeUser {
    type Error = ApiError;
    type Future = Ready<Result<Self, Self::Error>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        ready(authenticate(req).map(MaybeUser))
    }
}
