//! Lao search figures (`cargo bench --bench lao_search`), issue 15: on the
//! real village list (8,916 villages), how often the romanized key of a
//! village's Lao name meets its official Latin name (the 531 villages that
//! have one), how often a fixed-seed sample of Lao-only villages is found
//! by typing the romanization of its name, the index build time and size,
//! and the time of one filter over all villages. Asserts nothing.

mod common;
use common::percentiles;

use std::time::Instant;

use fieldkit::form::lao;
use fieldkit::form::model::ChoiceList;
use fieldkit::form::search::SearchIndex;

fn villages() -> (tempfile::TempDir, std::sync::Arc<fieldkit::form::Form>) {
    let dir = tempfile::tempdir().expect("temp dir");
    let path = common::villages_form(dir.path());
    let form = fieldkit::form::load(&path).expect("the village form");
    (dir, std::sync::Arc::new(form))
}

fn latin_name(list: &ChoiceList, i: usize) -> Option<&str> {
    list.choices[i]
        .label
        .texts()
        .find(|t| !t.is_empty() && !lao::has_lao(t) && t.chars().any(|c| c.is_ascii_alphabetic()))
}

fn lao_name(list: &ChoiceList, i: usize) -> &str {
    list.choices[i]
        .label
        .texts()
        .find(|t| lao::has_lao(t))
        .unwrap_or("")
}

/// Letters only, loosely spelled, without a leading "ban".
fn squeeze(text: &str) -> String {
    let letters: String = text
        .to_lowercase()
        .chars()
        .filter(|c| c.is_ascii_alphanumeric() || *c == ' ')
        .collect();
    let words: Vec<&str> = letters.split_whitespace().collect();
    let words = match words.split_first() {
        Some((&"ban", rest)) if !rest.is_empty() => rest,
        _ => &words[..],
    };
    lao::loose(&words.concat())
}

fn main() {
    let (_dir, form) = villages();
    let list = form
        .lists
        .values()
        .find(|l| l.choices.len() > 8000)
        .expect("village list");
    let n = list.choices.len();
    let all: Vec<usize> = (0..n).collect();

    // Index build: time and size of the haystacks.
    let mut builds = Vec::new();
    let mut index = None;
    for _ in 0..10 {
        let start = Instant::now();
        index = Some(SearchIndex::new(&list.choices));
        builds.push(start.elapsed());
    }
    let index = index.expect("built");
    percentiles(&format!("search index build, {n} villages"), builds);
    println!(
        "search index size: {} kB of keys ({} bytes a village)",
        index.key_bytes() / 1024,
        index.key_bytes() / n
    );

    // Official Latin names against the romanized key.
    let official: Vec<usize> = all
        .iter()
        .copied()
        .filter(|&i| latin_name(list, i).is_some())
        .collect();
    let mut same = 0;
    let mut found = 0;
    let mut misses = Vec::new();
    for &i in &official {
        let name = latin_name(list, i).unwrap_or("");
        let lao_only = SearchIndex::new(&[fieldkit::form::model::Choice {
            name: String::new(),
            label: fieldkit::form::model::Text(vec![("Lao (lo)".into(), lao_name(list, i).into())]),
            columns: vec![],
        }]);
        let keys = lao::latin_keys(lao_name(list, i).trim_start_matches("ບ້ານ"));
        let squeezed = squeeze(name);
        if keys.iter().any(|k| {
            k.chars()
                .filter(|c| c.is_ascii_alphanumeric())
                .collect::<String>()
                == squeezed
        }) {
            same += 1;
        }
        if lao_only.filter(&[0], name) == vec![0] {
            found += 1;
        } else if misses.len() < 25 {
            misses.push(format!(
                "{name} | {} | {}",
                lao_name(list, i),
                lao::romanize(lao_name(list, i))
            ));
        }
    }
    let pct = |k: usize, of: usize| 100.0 * k as f64 / of.max(1) as f64;
    println!(
        "official Latin name equals the romanized key (loosely, spaces and a leading ban ignored): {same} of {} ({:.1} %)",
        official.len(),
        pct(same, official.len())
    );
    println!(
        "official Latin name, typed, finds the village by its Lao name's key alone: {found} of {} ({:.1} %)",
        official.len(),
        pct(found, official.len())
    );
    println!("  first misses (official | Lao | key):");
    for m in &misses {
        println!("    {m}");
    }

    // A fixed-seed sample of Lao-only villages, found by their romanization.
    let lao_only: Vec<usize> = all
        .iter()
        .copied()
        .filter(|&i| latin_name(list, i).is_none())
        .collect();
    let mut seed: u64 = 0x15_1a0;
    let (mut hits, mut tries, mut ranks) = (0, 0, Vec::new());
    let mut times = Vec::new();
    for _ in 0..1000 {
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        let i = lao_only[(seed % lao_only.len() as u64) as usize];
        let query = lao::romanize(lao_name(list, i));
        let start = Instant::now();
        let hit = index.filter(&all, &query);
        times.push(start.elapsed());
        tries += 1;
        if let Some(at) = hit.iter().position(|&h| h == i) {
            hits += 1;
            ranks.push(hit.len());
            let _ = at;
        }
    }
    ranks.sort();
    println!(
        "Lao-only villages found by typing their romanization: {hits} of {tries} ({:.1} %); villages shown with it: median {}, p90 {}",
        pct(hits, tries),
        ranks.get(ranks.len() / 2).copied().unwrap_or(0),
        ranks.get(ranks.len() * 9 / 10).copied().unwrap_or(0)
    );
    percentiles("one filter over all villages (romanized query)", times);
    for q in ["nong", "nong kham", "ban na", "ໜອງ", "ຫນອງ", "ຄໍາ", "ຄຳ"] {
        let start = Instant::now();
        let hit = index.filter(&all, q);
        println!(
            "  {q:<10} {:>5} villages  {:.3} ms",
            hit.len(),
            start.elapsed().as_secs_f64() * 1000.0
        );
    }
}
