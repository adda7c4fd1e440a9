//! Form-engine figures (`cargo bench --bench engine`): loading the baseline
//! form with its 8,916 villages, filtering the village list per keystroke,
//! and re-evaluating a 500-question form after one answer. Prints
//! percentiles; asserts nothing.

mod common;
use common::percentiles;

use std::hint::black_box;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Instant;

use fieldkit::form::dates::parse_datetime;
use fieldkit::form::{self, Env, Pos, Session};

fn env() -> Env {
    Env {
        now: parse_datetime("2026-11-22T09:00:00+07:00", 0).expect("clock"),
        device_id: "bench".into(),
        username: "bench".into(),
        seed: 7,
    }
}

fn forms_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("forms")
}

fn bench_load() {
    let path = forms_dir().join("dtm_baseline.toml");
    let mut load = Vec::new();
    let mut load_and_index = Vec::new();
    for _ in 0..40 {
        let t = Instant::now();
        let f = form::load(&path).expect("baseline loads");
        load.push(t.elapsed());
        let villages = f.lists.get("lao_villages.csv").expect("village list");
        black_box(villages.search());
        load_and_index.push(t.elapsed());
    }
    percentiles("load dtm_baseline.toml + 8,916 villages", load);
    percentiles("  ... and build the village search index", load_and_index);
}

fn bench_filter() {
    let f = form::load(&forms_dir().join("dtm_baseline.toml")).expect("baseline loads");
    let villages = f.lists.get("lao_villages.csv").expect("village list");
    let all: Vec<usize> = (0..villages.choices.len()).collect();
    let index = villages.search();
    let words = [
        "phonsavang",
        "Nongping",
        "NAXAIY",
        "done",
        "houay",
        "ໂພນສະຫວ່າງ",
        "ໜອງ",
        "ນາໄຊ",
        "ບ້ານ",
        "xieng",
        "Séno",
    ];
    let mut samples = Vec::new();
    let mut matches = 0;
    for _ in 0..20 {
        for word in words {
            let mut typed = String::new();
            for ch in word.chars() {
                typed.push(ch);
                let t = Instant::now();
                let hits = index.filter(&all, &typed);
                samples.push(t.elapsed());
                matches += black_box(hits.len());
            }
        }
    }
    black_box(matches);
    percentiles(
        "filter 8,916 villages per keystroke (Latin and Lao)",
        samples,
    );
}

/// A 500-question form: sections of integers with constraints, relevance
/// on earlier answers, calculations chained across sections, selects, and
/// a repeat with a sum over it.
fn synthetic_form(questions: usize) -> String {
    let mut t = String::from(
        "[settings]\nform_id = \"synthetic\"\nversion = \"1\"\n\n[[survey]]\ntype = \"start\"\nname = \"start\"\n\n",
    );
    let mut n = 0;
    let mut section = 0;
    while n < questions {
        section += 1;
        t += &format!(
            "[[survey]]\ntype = \"begin_group\"\nname = \"s{section}\"\nlabel = \"Section {section}\"\n"
        );
        if section > 1 {
            t += &format!("relevant = \"${{q{}}} != 99\"\n", n - 1);
        }
        t += "\n";
        for _ in 0..10 {
            if n >= questions {
                break;
            }
            let kind = n % 5;
            let (ty, extra) = match kind {
                0 => (
                    "integer",
                    "constraint = \". >= 0 and . <= 1000\"\nrequired = \"yes\"\n".to_string(),
                ),
                1 => (
                    "integer",
                    format!(
                        "relevant = \"${{q{}}} > 5\"\nconstraint = \". <= ${{q{}}} * 2\"\n",
                        n - 1,
                        n - 1
                    ),
                ),
                2 => ("select_one yn", "required = \"${q0} > 1\"\n".to_string()),
                3 => (
                    "text",
                    format!(
                        "relevant = \"selected(${{q{}}}, 'yes')\"\nconstraint = \"string-length(.) < 50\"\n",
                        n - 1
                    ),
                ),
                _ if n >= 9 => (
                    "decimal",
                    format!("constraint = \". < ${{c{}}} + 100\"\n", n - 5),
                ),
                _ => ("decimal", "constraint = \". < 1000\"\n".to_string()),
            };
            t += &format!(
                "[[survey]]\ntype = \"{ty}\"\nname = \"q{n}\"\nlabel = \"Question {n}\"\n{extra}\n"
            );
            if kind == 4 {
                let prev = if n >= 5 {
                    format!("${{c{}}}", n - 5)
                } else {
                    "0".to_string()
                };
                t += &format!(
                    "[[survey]]\ntype = \"calculate\"\nname = \"c{n}\"\ncalculation = \"coalesce(${{q{}}}, 0) + {prev}\"\n\n",
                    n - 4
                );
            }
            n += 1;
        }
        t += "[[survey]]\ntype = \"end_group\"\n\n";
    }
    t += "[[survey]]\ntype = \"begin_repeat\"\nname = \"member\"\nlabel = \"Member\"\n\n";
    t += "[[survey]]\ntype = \"integer\"\nname = \"age\"\nlabel = \"Age\"\nconstraint = \". < 120\"\n\n";
    t += "[[survey]]\ntype = \"end_repeat\"\n\n";
    t += "[[survey]]\ntype = \"calculate\"\nname = \"age_sum\"\ncalculation = \"sum(${age})\"\n\n";
    t += "[[choices]]\nlist_name = \"yn\"\nname = \"yes\"\nlabel = \"Yes\"\n\n[[choices]]\nlist_name = \"yn\"\nname = \"no\"\nlabel = \"No\"\n";
    t
}

fn bench_reevaluate() {
    let dir = std::env::temp_dir().join(format!("fieldkit-bench-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("temp dir");
    let path = dir.join("synthetic.toml");
    std::fs::write(&path, synthetic_form(500)).expect("write form");
    let f = Arc::new(form::load(&path).unwrap_or_else(|e| panic!("synthetic form: {e:?}")));
    let _ = std::fs::remove_dir_all(&dir);
    let exprs = f
        .nodes
        .iter()
        .map(|n| {
            usize::from(n.relevant.is_some())
                + usize::from(n.constraint.is_some())
                + usize::from(n.calculation.is_some())
                + usize::from(matches!(n.required, form::model::Required::When(_)))
        })
        .sum::<usize>();
    let mut s = Session::new(Arc::clone(&f), env());
    let member = f.find("member").expect("repeat");
    for i in 0..5 {
        s.add_instance(&[], member).expect("add member");
        let age = Pos {
            path: vec![(member, i)],
            node: f.find("age").expect("age"),
        };
        s.answer(&age, &(20 + i).to_string()).expect("age");
    }
    let ints: Vec<Pos> = f
        .nodes
        .iter()
        .enumerate()
        .filter(|(_, n)| n.kind == form::Kind::Integer && n.repeats.is_empty())
        .map(|(id, _)| Pos {
            path: vec![],
            node: id,
        })
        .collect();
    for (i, p) in ints.iter().enumerate() {
        let _ = s.answer(p, &(i % 50 + 6).to_string());
    }
    let mut answer = Vec::new();
    let mut check_all = Vec::new();
    for round in 0..400 {
        let p = &ints[round % ints.len()];
        let t = Instant::now();
        s.answer(p, &(round % 40 + 6).to_string()).expect("answer");
        answer.push(t.elapsed());
        let t = Instant::now();
        black_box(s.violations());
        check_all.push(t.elapsed());
    }
    println!(
        "synthetic form: {} questions, {} nodes, {} expressions",
        f.question_count(),
        f.nodes.len(),
        exprs
    );
    percentiles("answer + recompute every relevance and calculation", answer);
    percentiles(
        "check every constraint and required (violations())",
        check_all,
    );
}

fn main() {
    // `cargo test --benches` passes --bench too; run the figures only for `cargo bench`.
    if std::env::args().any(|a| a == "--test") {
        return;
    }
    bench_load();
    bench_filter();
    bench_reevaluate();
}
