//! Pathological Markdown of 50 KB, shared by the tests (each shape is refused by
//! `check_structure` or renders) and `cargo bench --bench markdown` (how long each takes).

/// Pathological shapes of 50 KB: each is either refused by `check_structure` or renders in
/// time linear in its size. The times (release build) are in docs/PERFORMANCE.md, from
/// `cargo bench --bench markdown`.
pub fn pathological_shapes() -> Vec<(&'static str, String, bool)> {
    let n = 50_000;
    let rep = |s: &str| s.repeat(n / s.len());
    vec![
        // (name, body, accepted)
        ("bullets with text `- a `", rep("- a "), true),
        ("nested bullets `- `", rep("- "), false),
        ("nested ordered `1. `", rep("1. "), false),
        ("nested quotes `> `", rep("> "), false),
        ("bullets in quotes `- > `", rep("- > "), false),
        ("nested divs", rep("<div>"), false),
        ("nested spans", rep("<span>"), false),
        ("stars", rep("*"), true),
        ("emphasis runs `*a`", rep("*a"), true),
        ("strong emphasis `***a`", rep("***a"), true),
        ("underscores `_a `", rep("_a "), true),
        ("open brackets", rep("["), true),
        ("open links `[a](`", rep("[a]("), true),
        ("open images", rep("!["), true),
        (
            "code spans of growing length",
            (1..300).map(|i| "`".repeat(i) + "a").collect(),
            true,
        ),
        ("less-than signs", rep("<"), true),
        (
            "a table 25,000 columns wide",
            format!("{}\n{}\n", rep("|a"), rep("|-")),
            true,
        ),
        (
            "indented lists",
            (0..200)
                .map(|i| format!("{}- a\n", "  ".repeat(i)))
                .collect(),
            true,
        ),
        ("entities", rep("&amp;"), true),
        ("short lines", rep("a\n"), true),
        ("a flat list `- a`", rep("- a\n"), true),
        ("quote blocks `> a`", rep("> a\n\n"), true),
        (
            "4 levels of lists, many times",
            rep(&format!("{}x\n\n", "- ".repeat(4))),
            true,
        ),
        (
            "8 levels of lists, many times",
            rep(&format!("{}x\n\n", "- ".repeat(8))),
            true,
        ),
        (
            "16 levels of lists, many times",
            rep(&format!("{}x\n\n", "- ".repeat(16))),
            false,
        ),
    ]
}
