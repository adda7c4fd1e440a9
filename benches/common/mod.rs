//! What every benchmark prints with: percentiles of timings, and the
//! process's memory. Each bench uses what it needs.
#![allow(dead_code)]

use std::time::Duration;

/// Prints p50, p99 and max of timings, in milliseconds.
pub fn percentiles(label: &str, mut samples: Vec<Duration>) {
    samples.sort();
    let at = |q: f64| samples[((samples.len() - 1) as f64 * q).round() as usize];
    let ms = |d: Duration| d.as_secs_f64() * 1000.0;
    println!(
        "{label:<58} n={:<6} p50 {:>8.3} ms  p99 {:>8.3} ms  max {:>8.3} ms",
        samples.len(),
        ms(at(0.5)),
        ms(at(0.99)),
        ms(at(1.0))
    );
}

/// kB from /proc/self/status (Linux); None elsewhere.
pub fn proc_kb(field: &str) -> Option<u64> {
    let text = std::fs::read_to_string("/proc/self/status").ok()?;
    text.lines()
        .find(|l| l.starts_with(field))?
        .split_whitespace()
        .nth(1)?
        .parse()
        .ok()
}

/// A folder under `scratch` with a form that has all 8,916 villages in one
/// list (no district filter), and the form's path.
pub fn villages_form(scratch: &std::path::Path) -> std::path::PathBuf {
    let dir = scratch.join("villages");
    std::fs::create_dir_all(&dir).expect("dir");
    std::fs::copy(
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("forms/lao_villages.csv"),
        dir.join("lao_villages.csv"),
    )
    .expect("csv");
    let path = dir.join("villages.toml");
    std::fs::write(
        &path,
        r#"[settings]
form_id = "villages"
version = "1"
form_title = "Villages"
[[survey]]
type = "select_one_from_file lao_villages.csv"
name = "village"
label = "Village"
appearance = "search"
"#,
    )
    .expect("form");
    path
}
