//! The documented routes as a table, so that an unmatched request can be told apart: a path the
//! API has but with another method (405 with `Allow`) or no such path at all (404).

use actix_web::http::header;
use actix_web::{HttpRequest, HttpResponse, ResponseError};

use crate::error::{ApiError, ErrorKind};

/// Path templates (split into segments; `None` for a `{param}`) and their methods.
#[derive(Debug, Clone, Default)]
pub struct RouteTable {
    routes: Vec<(Vec<Option<String>>, Vec<String>)>,
}

impl RouteTable {
    /// Builds the table from the OpenAPI document, the one list of every route.
    pub fn from_openapi(api: &utoipa::openapi::OpenApi) -> Self {
        let doc = serde_json::to_value(api).unwrap_or_default();
        let mut routes = Vec::new();
        if let Some(paths) = doc["paths"].as_object() {
            for (path, item) in paths {
                let segments = path
                    .trim_matches('/')
                    .split('/')
                    .map(|s| (!s.starts_with('{')).then(|| s.to_string()))
                    .collect();
                let methods = item
                    .as_object()
                    .map(|ops| ops.keys().map(|m| m.to_ascii_uppercase()).collect())
                    .unwrap_or_default();
                routes.push((segments, methods));
            }
        }
        RouteTable { routes }
    }

    /// The methods allowed on `path`, empty when no route has that path. A literal path wins
    /// over a template it also fits (`/users/online` is not `/users/{username}`).
    pub fn allowed(&self, path: &str) -> Vec<String> {
        let parts: Vec<&str> = path.trim_matches('/').split('/').collect();
        let matching: Vec<&(Vec<Option<String>>, Vec<String>)> = self
            .routes
            .iter()
            .filter(|(segments, _)| {
                segments.len() == parts.len()
                    && segments
                        .iter()
                        .zip(&parts)
                        .all(|(s, p)| s.as_deref().is_none_or(|s| s == *p) && !p.is_empty())
            })
            .collect();
        let literals =
            |segments: &Vec<Option<String>>| segments.iter().filter(|s| s.is_some()).count();
        let most_specific = matching.iter().map(|(s, _)| literals(s)).max().unwrap_or(0);
        let mut allowed: Vec<String> = matching
            .into_iter()
            .filter(|(s, _)| literals(s) == most_specific)
            .flat_map(|(_, methods)| methods.iter().cloned())
            .collect();
        allowed.sort();
        allowed.dedup();
        allowed
    }

    /// The answer to a request whose path fitted a template but whose path parameter did not
    /// parse (`PATCH /posts/latest` reaches `PATCH /posts/{post_id}`): 405 when a literal route
    /// owns that path, else 404.
    pub fn bad_path_parameter(&self, req: &HttpRequest, detail: String) -> HttpResponse {
        let allowed = self.allowed(req.path());
        if !allowed.is_empty() && !allowed.iter().any(|m| m == req.method().as_str()) {
            return self.unmatched(req);
        }
        ApiError::new(ErrorKind::NotFound, detail).error_response()
    }

    /// The answer to a request no route matched.
    pub fn unmatched(&self, req: &HttpRequest) -> HttpResponse {
        let allowed = self.allowed(req.path());
        if allowed.is_empty() {
            return ApiError::not_found(format!("no resource at {}", req.path())).error_response();
        }
        let mut res = ApiError::new(
            ErrorKind::MethodNotAllowed,
            format!(
                "{} is not allowed on {}; allowed: {}",
                req.method(),
                req.path(),
                allowed.join(", ")
            ),
        )
        .error_response();
        if let Ok(v) = header::HeaderValue::from_str(&allowed.join(", ")) {
            res.headers_mut().insert(header::ALLOW, v);
        }
        res
    }
}
