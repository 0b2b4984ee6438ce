//! Liveness and readiness probes for load balancers and orchestrators.

use actix_web::{get, web};
use diesel::connection::SimpleConnection;
use serde::Serialize;
use utoipa::ToSchema;

use crate::db::{Backend, DbConn};
use crate::error::{ApiError, Problem};
use crate::AppState;

/// The state a probe reports (a failed probe is a 503 problem instead).
#[derive(Debug, Clone, Copy, Serialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum HealthStatus {
    /// Serving.
    Ok,
}

/// Health of the process (and, for readiness, of the database).
#[derive(Debug, Serialize, ToSchema)]
#[schema(example = json!({"status": "ok", "database": "sqlite"}))]
pub struct Health {
    /// Always `ok` when answered with 200.
    pub status: HealthStatus,
    /// The backend checked: `sqlite` or `postgres`; `null` for liveness, which checks no database.
    #[schema(required = true)]
    pub database: Option<String>,
}

/// Liveness: the process answers.
#[utoipa::path(
    operation_id = "health_live", tag = "health", responses((status = 200, description = "The process is alive", body = Health)))]
#[get("/health/live")]
pub async fn live() -> web::Json<Health> {
    web::Json(Health {
        status: HealthStatus::Ok,
        database: None,
    })
}

/// Readiness: the database answers a query.
#[utoipa::path(
    operation_id = "health_ready",
    tag = "health",
    responses(
        (status = 200, description = "Ready to serve", body = Health),
        (status = 503, description = "The database does not answer", body = Problem, content_type = "application/problem+json"),
    )
)]
#[get("/health/ready")]
pub async fn ready(state: web::Data<AppState>) -> Result<web::Json<Health>, ApiError> {
    let backend = state
        .db
        .run(|conn| {
            conn.batch_execute("SELECT 1")
                .map_err(|e| ApiError::unavailable(format!("readiness query failed: {e}")))?;
            Ok(match conn {
                DbConn::Pg(_) => Backend::Postgres,
                DbConn::Sqlite(_) => Backend::Sqlite,
            })
        })
        .await?;
    Ok(web::Json(Health {
        status: HealthStatus::Ok,
        database: Some(match backend {
            Backend::Postgres => "postgres".into(),
            Backend::Sqlite => "sqlite".into(),
        }),
    }))
}

/// The routes of this module.
pub fn routes(cfg: &mut utoipa_actix_web::service_config::ServiceConfig) {
    cfg.service(live)
        .service(ready)
        .service(crate::metrics::metrics);
}
