//! Access tokens (JWT, HS256 with a key id so keys can rotate) and opaque refresh tokens.

use std::collections::HashMap;
use std::time::Duration;

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use jsonwebtoken::errors::ErrorKind as JwtErrorKind;
use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey, Header, Validation};
use rand::RngCore;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::error::{ApiError, ErrorKind};
use crate::users::Role;

/// The claims of an access token.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Claims {
    /// The user id, as a string (RFC 7519).
    pub sub: String,
    /// The user's role when the token was issued.
    pub role: Role,
    /// Issued at (seconds since the epoch).
    pub iat: u64,
    /// Expires at (seconds since the epoch).
    pub exp: u64,
    /// A unique token id.
    pub jti: String,
    /// Issuer.
    pub iss: String,
    /// Audience.
    pub aud: String,
}

/// The signing key and every key still accepted for verification, by key id.
pub struct TokenKeys {
    current_kid: String,
    encoding: EncodingKey,
    decoding: HashMap<String, DecodingKey>,
    issuer: String,
    audience: String,
    access_ttl: Duration,
}

/// A key id derived from the secret: the same secret gives the same id on every process.
pub fn key_id(secret: &[u8]) -> String {
    let digest = Sha256::digest(secret);
    URL_SAFE_NO_PAD.encode(&digest[..9])
}

fn now_secs() -> u64 {
    jsonwebtoken::get_current_timestamp()
}

impl TokenKeys {
    /// Keys from the current secret and older secrets still accepted.
    pub fn new(
        secret: &[u8],
        previous: &[Vec<u8>],
        issuer: &str,
        audience: &str,
        access_ttl: Duration,
    ) -> Self {
        let current_kid = key_id(secret);
        let mut decoding = HashMap::new();
        decoding.insert(current_kid.clone(), DecodingKey::from_secret(secret));
        for old in previous {
            decoding.insert(key_id(old), DecodingKey::from_secret(old));
        }
        TokenKeys {
            current_kid,
            encoding: EncodingKey::from_secret(secret),
            decoding,
            issuer: issuer.into(),
            audience: audience.into(),
            access_ttl,
        }
    }

    /// Access token lifetime.
    pub fn access_ttl(&self) -> Duration {
        self.access_ttl
    }

    /// Issues an access token for a user.
    pub fn issue(&self, user_id: i64, role: Role) -> Result<String, ApiError> {
        let iat = now_secs();
        let claims = Claims {
            sub: user_id.to_string(),
            role,
            iat,
            exp: iat + self.access_ttl.as_secs(),
            jti: uuid::Uuid::new_v4().to_string(),
            iss: self.issuer.clone(),
            aud: self.audience.clone(),
        };
        let mut header = Header::new(Algorithm::HS256);
        header.kid = Some(self.current_kid.clone());
        jsonwebtoken::encode(&header, &claims, &self.encoding)
            .map_err(|e| ApiError::internal(format!("cannot sign token: {e}")))
    }

    /// Verifies an access token: the algorithm is pinned to HS256, the key is chosen by `kid`, and
    /// signature, `exp`, `iat`, `iss`, `aud`, `sub` and `jti` must all be present and valid.
    pub fn verify(&self, token: &str) -> Result<Claims, ApiError> {
        let invalid = |why: &str| ApiError::new(ErrorKind::InvalidToken, why.to_string());
        let header = jsonwebtoken::decode_header(token)
            .map_err(|_| invalid("the access token is not a well-formed JWT"))?;
        if header.alg != Algorithm::HS256 {
            return Err(invalid(
                "the access token is signed with an algorithm this server does not accept",
            ));
        }
        let key = header
            .kid
            .as_deref()
            .and_then(|kid| self.decoding.get(kid))
            .ok_or_else(|| invalid("the access token was signed with an unknown key"))?;
        let mut validation = Validation::new(Algorithm::HS256);
        validation.leeway = 5;
        validation.set_issuer(&[&self.issuer]);
        validation.set_audience(&[&self.audience]);
        validation.set_required_spec_claims(&["exp", "sub", "iss", "aud"]);
        let data = jsonwebtoken::decode::<Claims>(token, key, &validation).map_err(|e| match e
            .kind()
        {
            JwtErrorKind::ExpiredSignature => ApiError::new(
                ErrorKind::TokenExpired,
                "the access token has expired; use the refresh token to get a new one",
            ),
            JwtErrorKind::InvalidSignature => invalid("the access token signature is invalid"),
            JwtErrorKind::InvalidIssuer | JwtErrorKind::InvalidAudience => {
                invalid("the access token was not issued for this API")
            }
            _ => invalid("the access token is invalid"),
        })?;
        if data.claims.iat > now_secs() + 5 || data.claims.jti.is_empty() {
            return Err(invalid("the access token is invalid"));
        }
        Ok(data.claims)
    }
}

/// A fresh opaque refresh token (256 random bits) and the hash under which it is stored.
pub fn new_refresh_token() -> (String, String) {
    let mut bytes = [0u8; 32];
    rand::rng().fill_bytes(&mut bytes);
    let token = format!("grt_{}", URL_SAFE_NO_PAD.encode(bytes));
    let hash = hash_refresh_token(&token);
    (token, hash)
}

/// The stored form of a refresh token: only its SHA-256 is kept, so a database leak reveals none.
pub fn hash_refresh_token(token: &str) -> String {
    let digest = Sha256::digest(token.as_bytes());
    URL_SAFE_NO_PAD.encode(digest)
}

/// A fresh random secret for signing, for a server started without `GLOSS_JWT_SECRET`.
pub fn generate_secret() -> String {
    let mut bytes = [0u8; 48];
    rand::rng().fill_bytes(&mut bytes);
    URL_SAFE_NO_PAD.encode(bytes)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn keys(secret: &str) -> TokenKeys {
        TokenKeys::new(
            secret.as_bytes(),
            &[],
            "gloss",
            "gloss-api",
            Duration::from_secs(60),
        )
    }

    #[test]
    fn a_token_verifies_with_its_key_and_not_another() {
        let a = keys("a-secret-of-at-least-thirty-two-bytes!!");
        let b = keys("another-secret-of-at-least-32-bytes!!!");
        let t = a.issue(7, Role::Admin).unwrap();
        let claims = a.verify(&t).unwrap();
        assert_eq!(claims.sub, "7");
        assert_eq!(claims.role, Role::Admin);
        assert_eq!(b.verify(&t).unwrap_err().kind, ErrorKind::InvalidToken);
    }

    #[test]
    fn a_rotated_key_still_verifies_old_tokens() {
        let old = "the-old-secret-of-at-least-32-bytes!!!";
        let new = "the-new-secret-of-at-least-32-bytes!!!";
        let t = keys(old).issue(1, Role::Member).unwrap();
        let rotated = TokenKeys::new(
            new.as_bytes(),
            &[old.as_bytes().to_vec()],
            "gloss",
            "gloss-api",
            Duration::from_secs(60),
        );
        assert!(rotated.verify(&t).is_ok());
    }

    #[test]
    fn refresh_tokens_are_random_and_stored_hashed() {
        let (t1, h1) = new_refresh_token();
        let (t2, _) = new_refresh_token();
        assert_ne!(t1, t2);
        assert_ne!(t1, h1);
        assert_eq!(hash_refresh_token(&t1), h1);
    }
}
