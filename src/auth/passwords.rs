//! Password hashing with argon2id (the crate's defaults: m=19456 KiB, t=2, p=1).

use std::sync::{Condvar, Mutex, OnceLock};

use argon2::password_hash::phc::PasswordHash;
use argon2::password_hash::{PasswordHasher, PasswordVerifier};
use argon2::Argon2;

/// At most one argon2 computation per core at a time. Each holds 19 MiB while it runs: 32 logins
/// at once took the server past 1 GB, and more in parallel than cores only queue on the CPU
/// anyway. Callers are on the blocking pool, so waiting here holds no HTTP worker.
struct Gate {
    running: Mutex<usize>,
    freed: Condvar,
    limit: usize,
}

fn gate() -> &'static Gate {
    static GATE: OnceLock<Gate> = OnceLock::new();
    GATE.get_or_init(|| Gate {
        running: Mutex::new(0),
        freed: Condvar::new(),
        limit: std::thread::available_parallelism().map_or(1, |n| n.get()),
    })
}

/// Runs `f` once a slot of the gate is free.
fn gated<T>(f: impl FnOnce() -> T) -> T {
    let g = gate();
    {
        let mut running = g.running.lock().unwrap_or_else(|e| e.into_inner());
        while *running >= g.limit {
            running = g.freed.wait(running).unwrap_or_else(|e| e.into_inner());
        }
        *running += 1;
    }
    // the slot is given back however `f` ends, a panic included
    struct Slot<'a>(&'a Gate);
    impl Drop for Slot<'_> {
        fn drop(&mut self) {
            let mut running = self.0.running.lock().unwrap_or_else(|e| e.into_inner());
            *running -= 1;
            self.0.freed.notify_one();
        }
    }
    let _slot = Slot(g);
    f()
}

/// Hashes a password into a PHC string (`$argon2id$v=19$...`) with a fresh random salt.
pub fn hash(password: &str) -> Result<String, String> {
    gated(|| hash_now(password))
}

fn hash_now(password: &str) -> Result<String, String> {
    Argon2::default()
        .hash_password(password.as_bytes())
        .map(|h| h.to_string())
        .map_err(|e| format!("password hashing failed: {e}"))
}

/// Whether `password` matches the stored PHC string. A malformed stored hash never matches.
pub fn verify(password: &str, stored: &str) -> bool {
    match PasswordHash::new(stored) {
        Ok(parsed) => gated(|| {
            Argon2::default()
                .verify_password(password.as_bytes(), &parsed)
                .is_ok()
        }),
        Err(_) => false,
    }
}

/// Spends the same time as a real verification, for logins naming no account: a wrong username
/// and a wrong password must not be told apart by timing.
pub fn verify_dummy(password: &str) {
    static DUMMY: OnceLock<String> = OnceLock::new();
    let stored = DUMMY.get_or_init(|| hash_now("gloss-dummy-password").unwrap_or_default());
    let _ = verify(password, stored);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn no_more_argon2_runs_at_once_than_cores() {
        use std::sync::atomic::{AtomicUsize, Ordering};
        static NOW: AtomicUsize = AtomicUsize::new(0);
        static MOST: AtomicUsize = AtomicUsize::new(0);
        let threads: Vec<_> = (0..4 * gate().limit + 2)
            .map(|_| {
                std::thread::spawn(|| {
                    gated(|| {
                        let n = NOW.fetch_add(1, Ordering::SeqCst) + 1;
                        MOST.fetch_max(n, Ordering::SeqCst);
                        std::thread::sleep(std::time::Duration::from_millis(20));
                        NOW.fetch_sub(1, Ordering::SeqCst);
                    })
                })
            })
            .collect();
        for t in threads {
            t.join().unwrap();
        }
        // other tests may hash meanwhile, taking slots: the bound is what matters
        let most = MOST.load(Ordering::SeqCst);
        assert!((1..=gate().limit).contains(&most), "{most} at once");
    }

    #[test]
    fn a_hash_verifies_its_password_only() {
        let h = hash("correct horse battery").unwrap();
        assert!(h.starts_with("$argon2id$"));
        assert!(verify("correct horse battery", &h));
        assert!(!verify("wrong horse battery", &h));
        assert!(!verify("anything", "not a phc string"));
    }
}
