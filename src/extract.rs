//! Request extractors that answer bad input with problem+json naming the field:
//! [`Json`] for bodies and [`Query`] for query strings.

use std::future::Future;
use std::pin::Pin;

use actix_web::dev::Payload;
use actix_web::http::header;
use actix_web::{web, FromRequest, HttpRequest};
use serde::de::DeserializeOwned;

use crate::error::{ApiError, ErrorKind, FieldError};

/// For `#[serde(deserialize_with = ...)]` on `Option<Option<T>>` update fields: an absent field
/// (with `#[serde(default)]`) stays `None` ("leave as is"), `null` becomes `Some(None)` ("clear").
pub fn double_option<'de, D, T>(d: D) -> Result<Option<Option<T>>, D::Error>
where
    D: serde::Deserializer<'de>,
    T: serde::Deserialize<'de>,
{
    use serde::Deserialize;
    Option::<T>::deserialize(d).map(Some)
}

/// A JSON request body, deserialized with errors that name the field at fault.
#[derive(Debug)]
pub struct Json<T>(pub T);

/// Turns a serde message and path into the field it is about: `missing field `x`` and
/// `unknown field `x`` name the field in the message, everything else in the path.
fn field_error(path: &str, message: &str) -> FieldError {
    let prefix = if path == "." { "" } else { path };
    for lead in ["missing field `", "unknown field `"] {
        if let Some(rest) = message.strip_prefix(lead) {
            if let Some(name) = rest.split('`').next() {
                let field = if prefix.is_empty() {
                    name.to_string()
                } else if prefix.ends_with(name) {
                    prefix.to_string()
                } else {
                    format!("{prefix}.{name}")
                };
                let message = if lead.starts_with("missing") {
                    "is required".to_string()
                } else {
                    "is not a field of this request (it cannot be set by a client)".to_string()
                };
                return FieldError { field, message };
            }
        }
    }
    // serde_json appends " at line L column C": keep the message about the value only.
    let mut message = message
        .split(" at line ")
        .next()
        .unwrap_or(message)
        .to_string();
    // serde's own words for a value that fits no alternative name its internals (an untagged
    // enum's Rust name): say what is accepted instead
    if message.contains("untagged enum") {
        message = "must be one value or a list of values, each of the documented shape".into();
    }
    FieldError {
        field: if prefix.is_empty() {
            "body".into()
        } else {
            prefix.to_string()
        },
        message,
    }
}

fn is_json_content_type(req: &HttpRequest) -> bool {
    let Some(value) = req
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
    else {
        return false;
    };
    let essence = value
        .split(';')
        .next()
        .unwrap_or("")
        .trim()
        .to_ascii_lowercase();
    essence == "application/json"
        || (essence.starts_with("application/") && essence.ends_with("+json"))
}

/// The message for text that contains U+0000, which PostgreSQL cannot store (and no forum text needs).
pub const NUL_MESSAGE: &str = "must not contain the NUL character (U+0000)";

/// The path (`citations[0].selector.exact`) of the first string or key in `value` that holds a
/// NUL character, so that it is refused as a 422 naming the field on both databases.
pub fn find_nul(value: &serde_json::Value) -> Option<String> {
    fn walk(value: &serde_json::Value, path: &mut String) -> bool {
        match value {
            serde_json::Value::String(s) => s.contains('\0'),
            serde_json::Value::Array(items) => items.iter().enumerate().any(|(i, v)| {
                let len = path.len();
                path.push_str(&format!("[{i}]"));
                let found = walk(v, path);
                if !found {
                    path.truncate(len);
                }
                found
            }),
            serde_json::Value::Object(map) => map.iter().any(|(k, v)| {
                let len = path.len();
                if !path.is_empty() {
                    path.push('.');
                }
                path.push_str(&k.replace('\0', "\\u0000"));
                let found = k.contains('\0') || walk(v, path);
                if !found {
                    path.truncate(len);
                }
                found
            }),
            _ => false,
        }
    }
    let mut path = String::new();
    walk(value, &mut path).then(|| if path.is_empty() { "body".into() } else { path })
}

/// A number with no fraction (`6084.0`, `-119.0`) is an integer to JSON Schema, so to the
/// document's `type: integer` too: it is read as one. Other floats stay floats, so an integer
/// field still refuses `2.5`.
fn whole_numbers_as_integers(value: &mut serde_json::Value) {
    use serde_json::Value;
    match value {
        Value::Number(n) if !n.is_i64() && !n.is_u64() => {
            if let Some(f) = n.as_f64() {
                // within ±2^53 a float holds every whole number exactly
                if f.fract() == 0.0 && f.abs() <= 9_007_199_254_740_992.0 {
                    *value = Value::from(f as i64);
                }
            }
        }
        Value::Array(items) => items.iter_mut().for_each(whole_numbers_as_integers),
        Value::Object(map) => map.values_mut().for_each(whole_numbers_as_integers),
        _ => {}
    }
}

/// Parses a JSON body: a syntax error is a 400; valid JSON of the wrong shape is a 422 naming the
/// field. The body must be an object (serde would otherwise accept an array for a struct).
pub fn parse_json<T: DeserializeOwned>(bytes: &[u8]) -> Result<T, ApiError> {
    let value: serde_json::Value = serde_json::from_slice(bytes).map_err(|e| {
        ApiError::new(
            ErrorKind::MalformedRequest,
            format!("the body is not valid JSON: {e}"),
        )
    })?;
    if !value.is_object() {
        return Err(ApiError::invalid_field("body", "must be a JSON object"));
    }
    if let Some(field) = find_nul(&value) {
        return Err(ApiError::invalid_field(field, NUL_MESSAGE));
    }
    let mut value = value;
    whole_numbers_as_integers(&mut value);
    serde_path_to_error::deserialize(value).map_err(|e| {
        let path = e.path().to_string();
        ApiError::validation(vec![field_error(&path, &e.into_inner().to_string())])
    })
}

impl<T: DeserializeOwned + 'static> FromRequest for Json<T> {
    type Error = ApiError;
    type Future = Pin<Box<dyn Future<Output = Result<Self, ApiError>>>>;

    fn from_request(req: &HttpRequest, payload: &mut Payload) -> Self::Future {
        let json = is_json_content_type(req);
        let bytes = web::Bytes::from_request(req, payload);
        Box::pin(async move {
            if !json {
                return Err(ApiError::new(
                    ErrorKind::UnsupportedMediaType,
                    "the body must be JSON, sent with 'Content-Type: application/json'",
                ));
            }
            let bytes = bytes.await.map_err(|e| {
                let status = e.as_response_error().status_code();
                if status.as_u16() == 413 {
                    ApiError::new(
                        ErrorKind::PayloadTooLarge,
                        "the body is larger than this server accepts",
                    )
                } else {
                    ApiError::new(
                        ErrorKind::MalformedRequest,
                        format!("the body could not be read: {e}"),
                    )
                }
            })?;
            if bytes.is_empty() {
                return Err(ApiError::new(
                    ErrorKind::MalformedRequest,
                    "the body is empty; a JSON object is expected",
                ));
            }
            parse_json(&bytes).map(Json)
        })
    }
}

/// Query-string parameters, with errors that name the parameter.
#[derive(Debug)]
pub struct Query<T>(pub T);

impl<T: DeserializeOwned> FromRequest for Query<T> {
    type Error = ApiError;
    type Future = std::future::Ready<Result<Self, ApiError>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        let parsed = form_urlencoded::parse(req.query_string().as_bytes());
        if let Some((key, _)) = parsed
            .clone()
            .find(|(k, v)| k.contains('\0') || v.contains('\0'))
        {
            let field = key.replace('\0', "\\u0000");
            return std::future::ready(Err(ApiError::invalid_field(field, NUL_MESSAGE)));
        }
        let de = serde_urlencoded::Deserializer::new(parsed);
        std::future::ready(
            serde_path_to_error::deserialize(de)
                .map(Query)
                .map_err(|e| {
                    let path = e.path().to_string();
                    let message = e.into_inner().to_string();
                    let mut fe = field_error(&path, &message);
                    if fe.field == "body" {
                        fe.field = "query".into();
                    }
                    ApiError::validation(vec![fe])
                }),
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Debug, serde::Deserialize)]
    #[serde(deny_unknown_fields)]
    #[allow(dead_code)]
    struct Req {
        name: String,
        age: u32,
    }

    fn err(body: &str) -> ApiError {
        parse_json::<Req>(body.as_bytes()).unwrap_err()
    }

    #[test]
    fn errors_name_the_field() {
        let e = err(r#"{"name": 5, "age": 1}"#);
        assert_eq!(e.kind, ErrorKind::ValidationFailed);
        assert_eq!(e.errors[0].field, "name");
        let e = err(r#"{"name": "x"}"#);
        assert_eq!(e.errors[0].field, "age");
        let e = err(r#"{"name": "x", "age": 1, "role": "admin"}"#);
        assert_eq!(e.errors[0].field, "role");
        let e = err(r#"{"name": "x", "age": -1}"#);
        assert_eq!(e.errors[0].field, "age");
    }

    #[test]
    fn nul_characters_are_refused_naming_the_field() {
        let e = err("{\"name\": \"a\\u0000b\", \"age\": 1}");
        assert_eq!(e.kind, ErrorKind::ValidationFailed);
        assert_eq!(e.errors[0].field, "name");
        let v = serde_json::json!({"a": [{"b": "x"}, {"b": "y\u{0}"}]});
        assert_eq!(find_nul(&v).as_deref(), Some("a[1].b"));
        let v = serde_json::json!({"a": {"k\u{0}": 1}});
        assert_eq!(find_nul(&v).as_deref(), Some("a.k\\u0000"));
        assert_eq!(find_nul(&serde_json::json!({"a": ["x"]})), None);
    }

    #[test]
    fn syntax_errors_are_malformed() {
        assert_eq!(err("{").kind, ErrorKind::MalformedRequest);
        assert_eq!(
            err(r#"{"name": "x", "age": 1} trailing"#).kind,
            ErrorKind::MalformedRequest
        );
        assert_eq!(err("[1, 2").kind, ErrorKind::MalformedRequest);
        assert_eq!(err(r#"["x", 1]"#).errors[0].field, "body");
    }
}
