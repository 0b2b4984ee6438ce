//! Gloss: a JSON REST API for discussion forums whose posts can be analyzed (highlight, cite,
//! respond). `build_app` is the one application, used by the binary and by the tests alike.

pub mod annotations;
pub mod attachments;
pub mod auth;
pub mod avatars;
pub mod blocking;
pub mod config;
pub mod db;
pub mod demo;
pub mod error;
pub mod extract;
pub mod forums;
pub mod guest_cache;
pub mod health;
pub mod idempotency;
pub mod media;
pub mod metrics;
pub mod middleware;
pub mod notifications;
pub mod openapi;
pub mod pages;
pub mod pagination;
pub mod policy;
pub mod posts;
pub mod presence;
pub mod profiles;
pub mod ratelimit;
pub mod reactions;
pub mod rerender;
pub mod routes_table;
pub mod search;
pub mod stream;
pub mod text;
pub mod threads;
pub mod users;
pub mod watching;
pub mod write_clock;

use std::sync::Arc;

use actix_web::body::MessageBody;
use actix_web::dev::{ServiceFactory, ServiceRequest, ServiceResponse};
use actix_web::middleware::{from_fn, ErrorHandlers};
use actix_web::{web, App, HttpResponse};
use utoipa_actix_web::{scope, AppExt};
use utoipa_swagger_ui::SwaggerUi;

use crate::auth::tokens::{generate_secret, TokenKeys};
use crate::config::Config;
use crate::db::{build_pool, redact_url, run_migrations, settings, Db};

/// Shared, read-only state of a running server.
#[derive(Clone)]
pub struct AppState {
    /// The configuration it started with.
    pub config: Arc<Config>,
    /// The database.
    pub db: Db,
    /// Keys for access tokens.
    pub tokens: Arc<TokenKeys>,
    /// Thread views not yet written to the database.
    pub views: Arc<threads::view_counter::ViewCounter>,
    /// Member activity not yet written to the database.
    pub presence: Arc<presence::Presence>,
    /// Wakes the live streams when events arrive.
    pub hub: Arc<stream::Hub>,
    /// Rate limits.
    pub limits: Arc<ratelimit::Limits>,
    /// Prometheus metrics of this process.
    pub metrics: Arc<metrics::Metrics>,
    /// The site-wide blocks last built by this process.
    pub site: Arc<pages::site::SiteCache>,
    /// Thread pages built by this process, kept while current.
    pub pages: Arc<pages::cache::PageCache>,
    /// Guests' pages of public lists, kept as bytes while nothing is written.
    pub guest_lists: Arc<guest_cache::GuestLists>,
    /// The writes this process knows of, for the guest pages kept as bytes.
    pub writes: Arc<write_clock::WriteClock>,
    /// Where uploaded images are kept.
    pub media: media::store::Store,
}

/// The settings key under which a generated JWT secret is kept.
const GENERATED_JWT_SECRET: &str = "jwt_secret";

impl AppState {
    /// Connects, migrates and loads keys: everything a server needs before it takes requests.
    /// Any failure is one line naming the database (without its password).
    pub fn init(config: Config) -> Result<AppState, String> {
        let url = redact_url(&config.database_url);
        let database = build_pool(
            &config.database_url,
            config.db_pool_size,
            config.db_pool_timeout,
            config.db_statement_timeout,
        )?
        .with_deadline(config.request_timeout);
        // Migrations get a connection of their own, without the statement timeout of the pool's.
        let mut conn = crate::db::establish(&config.database_url)
            .map_err(|e| format!("cannot connect to {url}: {e}"))?;
        let applied =
            run_migrations(&mut conn).map_err(|e| format!("cannot migrate {url}: {e}"))?;
        if applied > 0 {
            tracing::info!(applied, database = %url, "applied migrations");
        }
        let indexed = search::index::prepare(&mut conn, &config.search_language)
            .map_err(|e| format!("cannot prepare the search index of {url}: {e}"))?;
        if indexed > 0 {
            tracing::info!(indexed, database = %url, "built the search index");
        }
        let secret = match &config.jwt_secret {
            Some(secret) => secret.clone(),
            None => {
                let secret =
                    settings::get_or_insert_with(&mut conn, GENERATED_JWT_SECRET, generate_secret)
                        .map_err(|e| format!("cannot read the JWT secret from {url}: {e}"))?;
                tracing::warn!(
                    "GLOSS_JWT_SECRET is not set: using a secret generated and kept in the database. \
                     This is meant for development; set GLOSS_JWT_SECRET in production."
                );
                secret
            }
        };
        drop(conn);
        let previous: Vec<Vec<u8>> = config
            .jwt_previous_secrets
            .iter()
            .map(|s| s.as_bytes().to_vec())
            .collect();
        let tokens = TokenKeys::new(
            secret.as_bytes(),
            &previous,
            &config.jwt_issuer,
            &config.jwt_audience,
            config.access_token_ttl,
        );
        let writes = Arc::new(write_clock::WriteClock::new(&config.database_url));
        let hub = stream::Hub::new(&config.database_url, writes.clone());
        let media = media::store::Store::open(&config)?;
        Ok(AppState {
            media,
            limits: Arc::new(ratelimit::Limits::new(&config)),
            metrics: Arc::new(metrics::Metrics::new()),
            site: Arc::new(pages::site::SiteCache::default()),
            pages: Arc::new(pages::cache::PageCache::new(config.page_cache_mb)),
            // a quarter as much again for the lists (each kept two seconds at most)
            guest_lists: Arc::new(guest_cache::GuestLists::new(
                config.page_cache_mb * 1024 * 1024 / 4,
            )),
            config: Arc::new(config),
            db: database,
            tokens: Arc::new(tokens),
            views: Arc::new(threads::view_counter::ViewCounter::default()),
            presence: Arc::new(presence::Presence::default()),
            hub,
            writes,
        })
    }
}

/// Registers every API route; the OpenAPI paths are collected from the same calls.
fn api(cfg: &mut utoipa_actix_web::service_config::ServiceConfig) {
    cfg.configure(auth::http::routes)
        .configure(presence::routes)
        .configure(users::http::routes)
        .configure(forums::http::routes)
        .configure(watching::http::early_routes)
        .configure(pages::http::routes)
        .configure(threads::http::routes)
        .configure(posts::http::routes)
        .configure(annotations::http::routes)
        .configure(reactions::http::routes)
        .configure(profiles::http::routes)
        .configure(notifications::http::routes)
        .configure(watching::http::routes)
        .configure(search::http::routes)
        .configure(attachments::http::routes)
        .configure(avatars::http::routes)
        .configure(stream::http::routes);
}

fn routes<T>(app: utoipa_actix_web::UtoipaApp<T>) -> utoipa_actix_web::UtoipaApp<T>
where
    T: ServiceFactory<ServiceRequest, Config = (), Error = actix_web::Error, InitError = ()>,
{
    app.openapi(openapi::base())
        .configure(health::routes)
        .service(scope::scope("/api/v1").configure(api))
}

/// The OpenAPI document of the API, as served at `/api-docs/openapi.json`. Built once per
/// process: every worker's app serves the same document and routes by it.
pub fn openapi_document() -> &'static utoipa::openapi::OpenApi {
    static DOCUMENT: std::sync::OnceLock<utoipa::openapi::OpenApi> = std::sync::OnceLock::new();
    DOCUMENT.get_or_init(|| {
        let (_, api) = routes(App::new().into_utoipa_app()).split_for_parts();
        openapi::finish(api)
    })
}

/// The whole application: routes, docs, middleware and error rendering.
pub fn build_app(
    state: AppState,
) -> App<
    impl ServiceFactory<
        ServiceRequest,
        Config = (),
        Response = ServiceResponse<impl MessageBody>,
        Error = actix_web::Error,
        InitError = (),
    >,
> {
    let body_limit = state.config.body_limit;
    let cors = middleware::cors(&state.config.cors_origins);
    let table = Arc::new(routes_table::RouteTable::from_openapi(openapi_document()));
    let path_table = table.clone();
    let (app, _) = routes(
        App::new()
            .app_data(web::Data::new(state))
            .app_data(web::PayloadConfig::new(body_limit))
            .app_data(web::PathConfig::default().error_handler(move |err, req| {
                let detail = format!("no resource at {} ({err})", req.path());
                actix_web::error::InternalError::from_response(
                    err,
                    path_table.bad_path_parameter(req, detail),
                )
                .into()
            }))
            .into_utoipa_app(),
    )
    .split_for_parts();
    // no validator badge: Swagger UI would send the document's address to an outside service
    let docs = utoipa_swagger_ui::Config::new(["/api-docs/openapi.json"]).validator_url("none");
    app.service(
        SwaggerUi::new("/docs/{_:.*}")
            .url("/api-docs/openapi.json", openapi_document().clone())
            .config(docs),
    )
    .route(
        "/docs",
        web::get().to(|| async {
            HttpResponse::PermanentRedirect()
                .insert_header(("Location", "/docs/"))
                .finish()
        }),
    )
    .default_service(web::to(move |req: actix_web::HttpRequest| {
        let res = table.unmatched(&req);
        async move { res }
    }))
    // a retried create with the same Idempotency-Key gets the first answer again
    .wrap(from_fn(idempotency::idempotent_posts))
    .wrap(from_fn(middleware::conditional_get))
    // gzip, br or zstd as the client accepts; tags and conditional requests are decided on the
    // uncompressed bytes first (weak ETags: one per answer, whatever its encoding)
    .wrap(actix_web::middleware::Compress::default())
    .wrap(cors)
    // outside CORS, so that its refusals are problem+json too
    .wrap(ErrorHandlers::new().default_handler(error::render_framework_error))
    .wrap(from_fn(middleware::request_context))
}
