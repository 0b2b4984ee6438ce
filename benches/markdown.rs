//! Markdown rendering of pathological 50 KB posts: `cargo bench --bench markdown`.
//!
//! Every shape in `gloss::text::markdown_shapes` is either refused by `check_structure` before
//! rendering (a 422 for the member) or rendered; this prints how long each takes, the median of
//! several runs, and fails when an accepted shape takes 50 ms or more.

use std::time::{Duration, Instant};

use gloss::text::{check_structure, markdown_shapes::pathological_shapes, render};

const RUNS: usize = 7;
const LIMIT: Duration = Duration::from_millis(50);

fn median(mut v: Vec<Duration>) -> Duration {
    v.sort();
    v[v.len() / 2]
}

fn main() {
    let mut worst = Duration::ZERO;
    println!("{:<40} {:>10} {:>12}", "shape (50 KB)", "outcome", "time");
    for (name, body, _) in pathological_shapes() {
        let check = median(
            (0..RUNS)
                .map(|_| {
                    let t = Instant::now();
                    let _ = check_structure(&body);
                    t.elapsed()
                })
                .collect(),
        );
        if check_structure(&body).is_err() {
            println!("{name:<40} {:>10} {:>9.2} ms", "refused", ms(check));
            continue;
        }
        let time = median(
            (0..RUNS)
                .map(|_| {
                    let t = Instant::now();
                    std::hint::black_box(render(&body));
                    t.elapsed()
                })
                .collect(),
        ) + check;
        worst = worst.max(time);
        println!("{name:<40} {:>10} {:>9.2} ms", "rendered", ms(time));
    }
    println!("worst accepted shape: {:.2} ms", ms(worst));
    assert!(worst < LIMIT, "an accepted shape took {worst:?}");
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}
