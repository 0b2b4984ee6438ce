//! The `gloss` command: serves the API (the default), migrates, prints the OpenAPI document and
//! administers accounts. Thin: it parses and calls the library.

use std::io::{BufRead, IsTerminal};
use std::process::ExitCode;

use actix_web::HttpServer;
use clap::{Parser, Subcommand};
use diesel::Connection;
use tracing_subscriber::EnvFilter;

use gloss::config::Config;
use gloss::db::{now, redact_url};
use gloss::error::Validator;
use gloss::users::db::{self as user_db, email_key, username_key, NewUser};
use gloss::users::validate::{validate_email, validate_password, validate_username};
use gloss::users::Role;
use gloss::{auth::passwords, build_app, openapi, openapi_document, AppState};

#[derive(Parser)]
#[command(
    name = "gloss",
    version,
    about = "A JSON REST API for forums whose posts can be analyzed"
)]
struct Cli {
    #[command(subcommand)]
    command: Option<Command>,
}

#[derive(Subcommand)]
enum Command {
    /// Serve the API (the default when no command is given).
    Serve,
    /// Apply pending database migrations and exit.
    Migrate,
    /// Fill an empty database with a small demo forum.
    Demo,
    /// Render every stored post and annotation again with the current Markdown rules, carrying
    /// annotations and citations over to the new text (safe while serving; safe to repeat).
    Rerender,
    /// Build the search index again from every thread, post and annotation (after a bulk load
    /// or a restore that bypassed the server; safe while serving; safe to repeat).
    Reindex,
    /// Print the OpenAPI document (or write it to a file).
    Openapi {
        /// Write to this file instead of standard output.
        #[arg(long)]
        output: Option<std::path::PathBuf>,
    },
    /// Administer accounts.
    Admin {
        #[command(subcommand)]
        command: AdminCommand,
    },
}

#[derive(Subcommand)]
enum AdminCommand {
    /// Create an admin account; the password comes from GLOSS_ADMIN_PASSWORD or standard input.
    Create {
        #[arg(long)]
        username: String,
        #[arg(long)]
        email: Option<String>,
    },
    /// Set a member's role: member, moderator or admin.
    SetRole { username: String, role: String },
    /// Ban a member: they can no longer sign in, and their logins are revoked.
    Disable { username: String },
    /// Lift a ban.
    Enable { username: String },
}

/// Large allocations (argon2's 19 MiB per password check, big post bodies) go straight to the
/// kernel and back. glibc otherwise raises its mmap threshold after the first such block is freed
/// and keeps later ones in per-thread arenas: 32 logins in flight left the server at 1.2 GB.
/// The arenas themselves are capped at two per core (glibc's default is eight per core): each
/// of the dozens of worker and blocking threads otherwise grows an arena of its own, and their
/// free space adds up (the million-post benchmark's reads left 122 MB resident before logins).
fn return_large_blocks_to_the_system() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    // SAFETY: mallopt only sets allocator parameters; called once, before any thread starts.
    unsafe {
        libc::mallopt(libc::M_MMAP_THRESHOLD, 1024 * 1024);
        let cores = std::thread::available_parallelism().map_or(2, |n| n.get());
        libc::mallopt(libc::M_ARENA_MAX, (2 * cores) as libc::c_int);
    }
}

fn main() -> ExitCode {
    return_large_blocks_to_the_system();
    let _ = dotenvy::dotenv();
    tracing_subscriber::fmt()
        .with_env_filter(
            EnvFilter::try_from_env("GLOSS_LOG").unwrap_or_else(|_| EnvFilter::new("info")),
        )
        .with_writer(std::io::stderr)
        .init();
    let cli = Cli::parse();
    let result = match cli.command.unwrap_or(Command::Serve) {
        Command::Openapi { output } => write_openapi(output),
        command => Config::from_env().and_then(|config| run(command, config)),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("gloss: {e}");
            ExitCode::FAILURE
        }
    }
}

fn write_openapi(output: Option<std::path::PathBuf>) -> Result<(), String> {
    let json = openapi::to_pretty_json(openapi_document());
    match output {
        Some(path) => {
            std::fs::write(&path, json).map_err(|e| format!("cannot write {}: {e}", path.display()))
        }
        None => {
            use std::io::Write;
            // a reader that stops early (`gloss openapi | head`) is not an error
            match std::io::stdout().lock().write_all(json.as_bytes()) {
                Err(e) if e.kind() != std::io::ErrorKind::BrokenPipe => {
                    Err(format!("cannot write the document: {e}"))
                }
                _ => Ok(()),
            }
        }
    }
}

fn run(command: Command, config: Config) -> Result<(), String> {
    let state = AppState::init(config)?;
    match command {
        Command::Serve => serve(state),
        Command::Migrate => {
            println!(
                "migrations applied to {}",
                redact_url(&state.config.database_url)
            );
            Ok(())
        }
        Command::Admin { command } => admin(&state, command),
        Command::Demo => {
            let mut conn = state.db.pool().get().map_err(|e| e.to_string())?;
            let filled = gloss::demo::fill(&mut conn)?;
            actix_web::rt::System::new()
                .block_on(gloss::demo::store_files(&state.media, filled.files))?;
            println!("{}", filled.message);
            Ok(())
        }
        Command::Rerender => {
            let mut conn = state.db.pool().get().map_err(|e| e.to_string())?;
            println!("{}", gloss::rerender::all(&mut conn)?);
            Ok(())
        }
        Command::Reindex => {
            // a connection of its own, without the statement timeout of the pool's
            let mut conn = gloss::db::establish(&state.config.database_url)
                .map_err(|e| format!("cannot connect: {e}"))?;
            let started = std::time::Instant::now();
            let n = gloss::search::index::reindex(&mut conn)
                .map_err(|e| format!("cannot build the search index: {e}"))?;
            println!(
                "indexed {n} threads, posts and annotations for search in {:.1} s",
                started.elapsed().as_secs_f64()
            );
            Ok(())
        }
        Command::Openapi { .. } => unreachable!("handled before the database is opened"),
    }
}

fn serve(state: AppState) -> Result<(), String> {
    let bind = state.config.bind.clone();
    let workers = state.config.workers;
    tracing::info!(
        bind = %bind,
        database = %redact_url(&state.config.database_url),
        "Gloss serving; API docs at http://{bind}/docs/"
    );
    let flush_every = state.config.view_flush_interval;
    actix_web::rt::System::new().block_on(async move {
        // Uploads no post shows are removed once older than GLOSS_ATTACHMENT_TTL, checked every
        // ten minutes (or at a tenth of a shorter time).
        let cleaner_state = state.clone();
        actix_web::rt::spawn(async move {
            let every = (cleaner_state.config.attachment_ttl / 10)
                .min(std::time::Duration::from_secs(600))
                .max(std::time::Duration::from_secs(1));
            let mut tick = actix_web::rt::time::interval(every);
            loop {
                tick.tick().await;
                let before = gloss::attachments::cleanup::cutoff(&cleaner_state);
                match gloss::attachments::cleanup::remove_unused(&cleaner_state, before).await {
                    Ok(0) => {}
                    Ok(n) => tracing::info!(removed = n, "removed uploads no post shows"),
                    Err(e) => tracing::warn!(error = %e, "could not remove unused uploads"),
                }
            }
        });
        // Thread views are buffered in memory and written in batches, and once more at shutdown.
        let flusher_state = state.clone();
        actix_web::rt::spawn(async move {
            let mut tick = actix_web::rt::time::interval(flush_every);
            loop {
                tick.tick().await;
                if let Err(e) = flusher_state.views.flush(&flusher_state.db).await {
                    tracing::warn!(error = %e, "could not write thread views; keeping them for the next try");
                }
                if let Err(e) = flusher_state.presence.flush(&flusher_state.db).await {
                    tracing::warn!(error = %e, "could not write member activity; keeping it for the next try");
                }
                // stream events older than a week are of no use to a reconnecting client
                let pruned = flusher_state
                    .db
                    .run(|conn| Ok(gloss::stream::db::prune(conn, 7)?))
                    .await;
                if let Err(e) = pruned {
                    tracing::warn!(error = %e, "could not prune old stream events");
                }
                // rate-limit state: members who stopped writing, windows that ended a day ago
                flusher_state.limits.prune();
                let pruned = flusher_state
                    .db
                    .run(|conn| Ok(gloss::ratelimit::db::prune(conn)?))
                    .await;
                if let Err(e) = pruned {
                    tracing::warn!(error = %e, "could not prune old rate-limit counters");
                }
                // idempotency keys are kept a day
                let before = gloss::db::now()
                    - chrono::Duration::from_std(gloss::idempotency::KEPT_FOR).unwrap_or_default();
                let pruned = flusher_state
                    .db
                    .run(move |conn| Ok(gloss::idempotency::db::prune(conn, before)?))
                    .await;
                if let Err(e) = pruned {
                    tracing::warn!(error = %e, "could not prune old idempotency keys");
                }
            }
        });
        let shutdown_state = state.clone();
        let mut server = HttpServer::new(move || build_app(state.clone()))
            .shutdown_timeout(30)
            .bind(&bind)
            .map_err(|e| format!("cannot listen on {bind}: {e}"))?;
        if let Some(n) = workers {
            server = server.workers(n.max(1));
        }
        // actix-web stops gracefully on SIGTERM and SIGINT: in-flight requests finish first.
        server
            .run()
            .await
            .map_err(|e| format!("server error: {e}"))?;
        if let Err(e) = shutdown_state.presence.flush(&shutdown_state.db).await {
            tracing::error!(error = %e, "could not write member activity at shutdown");
        }
        match shutdown_state.views.flush(&shutdown_state.db).await {
            Ok(n) => tracing::info!(threads = n, "wrote buffered thread views"),
            Err(e) => tracing::error!(error = %e, "could not write buffered thread views at shutdown"),
        }
        tracing::info!("Gloss stopped");
        Ok(())
    })
}

fn read_password() -> Result<String, String> {
    if let Ok(p) = std::env::var("GLOSS_ADMIN_PASSWORD") {
        return Ok(p);
    }
    if std::io::stdin().is_terminal() {
        eprint!("password: ");
    }
    let mut line = String::new();
    std::io::stdin()
        .lock()
        .read_line(&mut line)
        .map_err(|e| format!("cannot read the password: {e}"))?;
    Ok(line.trim_end_matches(['\r', '\n']).to_string())
}

fn admin(state: &AppState, command: AdminCommand) -> Result<(), String> {
    let mut conn = state.db.pool().get().map_err(|e| e.to_string())?;
    let find = |conn: &mut gloss::db::DbConn, name: &str| {
        user_db::find_by_username(conn, name)
            .map_err(|e| e.to_string())?
            .ok_or_else(|| format!("no member is named {name:?}"))
    };
    match command {
        AdminCommand::Create { username, email } => {
            let password = read_password()?;
            let mut v = Validator::new();
            validate_username(&mut v, "username", &username);
            validate_password(&mut v, "password", &password, &username);
            if let Some(e) = &email {
                validate_email(&mut v, "email", e);
            }
            v.finish().map_err(|e| e.detail)?;
            let hash = passwords::hash(&password)?;
            let user = conn
                .transaction(|conn| {
                    if user_db::username_taken(conn, &username)? {
                        return Ok(None);
                    }
                    let t = now();
                    user_db::insert(
                        conn,
                        &NewUser {
                            username: &username,
                            username_key: username_key(&username),
                            email: email.as_deref(),
                            email_key: email.as_deref().map(email_key),
                            display_name: None,
                            password_hash: &hash,
                            role: Role::Admin.as_str(),
                            created_at: t,
                            updated_at: t,
                        },
                    )
                    .map(Some)
                })
                .map_err(|e: diesel::result::Error| e.to_string())?
                .ok_or_else(|| format!("the username {username:?} is already taken"))?;
            println!("created admin {} (id {})", user.username, user.id);
        }
        AdminCommand::SetRole { username, role } => {
            let role = Role::parse(&role).ok_or("the role must be member, moderator or admin")?;
            let user = find(&mut conn, &username)?;
            user_db::set_role_and_status(&mut conn, user.id, Some(role), None)
                .map_err(|e| e.to_string())?;
            println!("{} is now {}", user.username, role.as_str());
        }
        AdminCommand::Disable { username } => set_disabled(&mut conn, &find, &username, true)?,
        AdminCommand::Enable { username } => set_disabled(&mut conn, &find, &username, false)?,
    }
    Ok(())
}

fn set_disabled(
    conn: &mut gloss::db::DbConn,
    find: &dyn Fn(&mut gloss::db::DbConn, &str) -> Result<user_db::User, String>,
    username: &str,
    disabled: bool,
) -> Result<(), String> {
    let user = find(conn, username)?;
    user_db::set_role_and_status(conn, user.id, None, Some(disabled)).map_err(|e| e.to_string())?;
    println!(
        "{} is now {}",
        user.username,
        if disabled { "disabled" } else { "enabled" }
    );
    Ok(())
}
