//! Metrics in the Prometheus text format at `GET /metrics`: requests by route template and status,
//! latency histograms, database pool connections in use, idle and waiting, live streams, rate-limit
//! refusals and Markdown render time. Not open to the world: it answers only with
//! `GLOSS_METRICS_TOKEN` as a bearer token, and is 404 when no token is configured.

use actix_web::http::header;
use actix_web::{get, web, HttpRequest, HttpResponse};
use prometheus::{
    Encoder, Histogram, HistogramOpts, HistogramVec, IntCounterVec, IntGauge, IntGaugeVec, Opts,
    Registry, TextEncoder,
};

use crate::error::{ApiError, Problem};
use crate::AppState;

/// The process's metrics.
pub struct Metrics {
    registry: Registry,
    requests: IntCounterVec,
    latency: HistogramVec,
    pool: IntGaugeVec,
    streams: IntGauge,
    rate_limited: IntCounterVec,
    render: Histogram,
}

impl Default for Metrics {
    fn default() -> Self {
        Self::new()
    }
}

impl Metrics {
    /// Fresh metrics in a registry of their own.
    pub fn new() -> Metrics {
        let registry = Registry::new();
        let requests = IntCounterVec::new(
            Opts::new(
                "gloss_http_requests_total",
                "HTTP requests by route template and status",
            ),
            &["method", "route", "status"],
        )
        .expect("valid metric");
        let latency = HistogramVec::new(
            HistogramOpts::new(
                "gloss_http_request_duration_seconds",
                "Time to produce a response, by route template",
            )
            .buckets(vec![
                0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0,
                10.0,
            ]),
            &["method", "route"],
        )
        .expect("valid metric");
        let pool = IntGaugeVec::new(
            Opts::new(
                "gloss_db_pool_connections",
                "Database pool connections: in_use, idle, and requests waiting for one",
            ),
            &["state"],
        )
        .expect("valid metric");
        let streams = IntGauge::new(
            "gloss_sse_clients",
            "Live event streams open on this process",
        )
        .expect("valid metric");
        let rate_limited = IntCounterVec::new(
            Opts::new(
                "gloss_rate_limited_total",
                "Requests refused with 429, by route template",
            ),
            &["route"],
        )
        .expect("valid metric");
        let render = Histogram::with_opts(
            HistogramOpts::new(
                "gloss_markdown_render_seconds",
                "Time to render a Markdown body",
            )
            .buckets(vec![
                0.0001, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1,
            ]),
        )
        .expect("valid metric");
        for m in [
            Box::new(requests.clone()) as Box<dyn prometheus::core::Collector>,
            Box::new(latency.clone()),
            Box::new(pool.clone()),
            Box::new(streams.clone()),
            Box::new(rate_limited.clone()),
            Box::new(render.clone()),
        ] {
            registry.register(m).expect("metric names are unique");
        }
        Metrics {
            registry,
            requests,
            latency,
            pool,
            streams,
            rate_limited,
            render,
        }
    }

    /// Counts a finished request.
    pub fn request(&self, method: &str, route: &str, status: u16, seconds: f64) {
        self.requests
            .with_label_values(&[method, route, &status.to_string()])
            .inc();
        self.latency
            .with_label_values(&[method, route])
            .observe(seconds);
    }

    /// Counts a request refused with 429.
    pub fn rate_limited(&self, route: &str) {
        self.rate_limited.with_label_values(&[route]).inc();
    }

    /// Records how long a Markdown render took.
    pub fn rendered(&self, seconds: f64) {
        self.render.observe(seconds);
    }

    /// The text exposition, with the gauges read now.
    pub fn render_text(&self, state: &AppState) -> String {
        let pool = state.db.pool().state();
        let idle = pool.idle_connections as i64;
        self.pool
            .with_label_values(&["in_use"])
            .set(pool.connections as i64 - idle);
        self.pool.with_label_values(&["idle"]).set(idle);
        self.pool
            .with_label_values(&["waiting"])
            .set(state.db.waiting());
        self.streams.set(state.hub.clients() as i64);
        let mut out = Vec::new();
        let _ = TextEncoder::new().encode(&self.registry.gather(), &mut out);
        String::from_utf8(out).unwrap_or_default()
    }
}

/// Equal in time whatever the inputs share (the token is a secret).
fn same_secret(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

/// Prometheus metrics of this process.
///
/// Needs `Authorization: Bearer <GLOSS_METRICS_TOKEN>`; without a configured token the endpoint
/// does not exist (404).
#[utoipa::path(
    operation_id = "get_metrics",
    tag = "health",
    security(("bearer_auth" = [])),
    responses(
        (status = 200, description = "Prometheus text format (version 0.0.4)", content_type = "text/plain",
         body = String, example = "gloss_http_requests_total{method=\"GET\",route=\"/api/v1/forums\",status=\"200\"} 12"),
        (status = 401, description = "Missing or wrong metrics token", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "Metrics are not enabled (no GLOSS_METRICS_TOKEN)", body = Problem, content_type = "application/problem+json"),
    )
)]
#[get("/metrics")]
pub async fn metrics(
    state: web::Data<AppState>,
    req: HttpRequest,
) -> Result<HttpResponse, ApiError> {
    let Some(token) = state.config.metrics_token.as_deref() else {
        return Err(ApiError::not_found("no resource at /metrics"));
    };
    let presented = req
        .headers()
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .unwrap_or("");
    if !same_secret(presented.as_bytes(), token.as_bytes()) {
        return Err(ApiError::new(
            crate::error::ErrorKind::Unauthorized,
            "the metrics need 'Authorization: Bearer <GLOSS_METRICS_TOKEN>'",
        ));
    }
    Ok(HttpResponse::Ok()
        .content_type("text/plain; version=0.0.4; charset=utf-8")
        .insert_header((header::CACHE_CONTROL, "no-store"))
        .body(state.metrics.render_text(&state)))
}
