//! CPU-heavy work that handlers need, run off the HTTP workers so that a worker is never held by it
//! (a slow render would stall every other request on that worker).

use std::sync::mpsc;
use std::sync::{Mutex, OnceLock};

use actix_web::web;
use tokio::sync::oneshot;

use crate::error::ApiError;
use crate::text::{self, Rendered};
use crate::AppState;

/// Bodies up to this size render at once on the blocking pool: they take microseconds, and a reply
/// should not queue behind someone's article.
const SMALL_BODY: usize = 4 * 1024;

/// The nice value of the render threads: when the machine is busy, readers (at the default 0) get
/// about ten times the CPU share of a heavy render, so a member posting the heaviest accepted
/// Markdown in a loop slows their own posts, not other people's reads. When the machine is idle
/// the renders take all the CPU they need.
const RENDER_NICENESS: i32 = 10;

type Job = Box<dyn FnOnce() + Send>;

/// Large bodies render on a few threads of their own (half the cores, at least one) at a lowered
/// priority, in arrival order.
fn render_queue() -> &'static Mutex<mpsc::Sender<Job>> {
    static QUEUE: OnceLock<Mutex<mpsc::Sender<Job>>> = OnceLock::new();
    QUEUE.get_or_init(|| {
        let (tx, rx) = mpsc::channel::<Job>();
        let rx = std::sync::Arc::new(Mutex::new(rx));
        let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
        for i in 0..(cores / 2).max(1) {
            let rx = rx.clone();
            let spawned = std::thread::Builder::new()
                .name(format!("gloss-render-{i}"))
                .spawn(move || {
                    lower_priority();
                    loop {
                        // the lock is held only to take the next job, never while rendering
                        let job = match rx.lock() {
                            Ok(rx) => rx.recv(),
                            Err(_) => return,
                        };
                        match job {
                            Ok(job) => {
                                // a job that panics (a decoder meeting a crafted file) must not
                                // take the thread with it; its caller sees its channel dropped
                                let _ = std::panic::catch_unwind(std::panic::AssertUnwindSafe(job));
                            }
                            Err(_) => return,
                        }
                    }
                });
            if let Err(e) = spawned {
                tracing::error!("cannot start a render thread: {e}");
            }
        }
        Mutex::new(tx)
    })
}

/// Lowers the calling thread's scheduling priority (on Linux the nice value is per thread).
fn lower_priority() {
    #[cfg(target_os = "linux")]
    {
        // SAFETY: setpriority with PRIO_PROCESS and who = 0 changes only the calling thread's
        // nice value; it reads no memory of ours.
        let rc = unsafe { libc::setpriority(libc::PRIO_PROCESS, 0, RENDER_NICENESS) };
        if rc != 0 {
            tracing::warn!(
                "render threads keep the default priority: {}",
                std::io::Error::last_os_error()
            );
        }
    }
}

/// Runs heavy work (decoding and encoding an image) on the render threads, at their lowered
/// priority and in arrival order with the large renders, so that uploads cannot take the CPU
/// from readers.
pub async fn heavy<T, F>(f: F) -> Result<T, ApiError>
where
    F: FnOnce() -> T + Send + 'static,
    T: Send + 'static,
{
    let (tx, rx) = oneshot::channel();
    let job: Job = Box::new(move || {
        // the caller may have gone (client disconnected): nothing to do then
        let _ = tx.send(f());
    });
    render_queue()
        .lock()
        .map_err(|_| ApiError::internal("render queue poisoned"))?
        .send(job)
        .map_err(|_| ApiError::internal("render threads stopped"))?;
    rx.await
        .map_err(|_| ApiError::internal("a render thread dropped its job"))
}

/// Renders Markdown on the calling thread, and says how long it took (for the metrics).
fn timed_render(markdown: &str) -> (Rendered, f64) {
    let started = std::time::Instant::now();
    let r = text::render(markdown);
    (r, started.elapsed().as_secs_f64())
}

/// Renders Markdown off the async workers (its time goes to the metrics).
pub async fn render(state: &AppState, markdown: String) -> Result<Rendered, ApiError> {
    let small = markdown.len() <= SMALL_BODY;
    let timed = move || timed_render(&markdown);
    let (rendered, seconds) = if small {
        web::block(timed)
            .await
            .map_err(|e| ApiError::internal(format!("rendering failed: {e}")))?
    } else {
        heavy(timed).await?
    };
    state.metrics.rendered(seconds);
    Ok(rendered)
}

/// For a handler that goes to the blocking pool anyway: renders a large body now, on the render
/// threads, and leaves a small one (`None`) to [`render_inline`] inside its database work, which
/// saves the thread hop a reply would otherwise make twice.
pub async fn render_if_large(
    state: &AppState,
    markdown: &str,
) -> Result<Option<Rendered>, ApiError> {
    if markdown.len() <= SMALL_BODY {
        return Ok(None);
    }
    render(state, markdown.to_string()).await.map(Some)
}

/// Renders a body [`render_if_large`] left, on the calling (blocking) thread.
pub fn render_inline(state: &AppState, pre: Option<Rendered>, markdown: &str) -> Rendered {
    match pre {
        Some(r) => r,
        None => {
            let (r, seconds) = timed_render(markdown);
            state.metrics.rendered(seconds);
            r
        }
    }
}

/// Renders Markdown that may be absent, off the async workers.
pub async fn render_opt(
    state: &AppState,
    markdown: Option<String>,
) -> Result<Option<Rendered>, ApiError> {
    match markdown {
        Some(m) => render(state, m).await.map(Some),
        None => Ok(None),
    }
}
