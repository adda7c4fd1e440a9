//! Lookup figures (`cargo bench --bench lookup`): `pulldata()` and
//! `instance()` over an entity list of 10,000 sites (issue 20: p99 under
//! 0.1 ms per expression). Each expression is the loaded form's own
//! (resolved as the loader resolves it), evaluated in a scope that
//! answers `${site}` with a different site each time; then the same
//! through a session, one answer and its recalculation (a filter that is
//! not `column = value` is tried on all 10,000 items: shown apart).
//! Prints percentiles; asserts nothing.

mod common;
use common::percentiles;

use std::hint::black_box;
use std::sync::Arc;
use std::time::Instant;

use fieldkit::form::dates::{DateTime, parse_datetime};
use fieldkit::form::eval::{Scope, XVal, eval};
use fieldkit::form::model::ChoiceList;
use fieldkit::form::{self, Env, Form, NodeId, Pos, Session};

const SITES: usize = 10_000;

const FORM: &str = r#"
[settings]
form_id = "site_visit"

[[survey]]
type = "select_one_from_file sites.csv"
name = "site"
label = "Site"

[[survey]]
type = "calculate"
name = "by_pulldata"
calculation = "pulldata('sites', 'last_ind_total', 'name', ${site})"

[[survey]]
type = "calculate"
name = "by_path"
calculation = "instance('sites')/root/item[name = ${site}]/last_ind_total"

[[survey]]
type = "calculate"
name = "district"
calculation = "instance('sites')/root/item[name = ${site}]/adm2"

[[survey]]
type = "calculate"
name = "in_district"
calculation = "count(instance('sites')/root/item[adm2 = ${district}])"

[[survey]]
type = "calculate"
name = "scanned"
calculation = "count(instance('sites')/root/item[last_ind_total > 990 and adm2 = ${district}])"

[[survey]]
type = "integer"
name = "ind_total"
label = "Individuals"
constraint = ". <= 2 * pulldata('sites', 'last_ind_total', 'name', ${site})"
"#;

/// 10,000 sites in 100 districts, with last round's totals.
fn write_form(dir: &std::path::Path) -> std::path::PathBuf {
    let mut csv =
        String::from("name,label,adm2,last_round,last_ind_total,last_hh_total,__version\n");
    for i in 0..SITES {
        csv.push_str(&format!(
            "S{i:05},Site {i},D{:02},R1,{},{},1\n",
            i % 100,
            100 + i % 900,
            20 + i % 180
        ));
    }
    std::fs::write(dir.join("sites.csv"), csv).expect("csv");
    let path = dir.join("site_visit.toml");
    std::fs::write(&path, FORM).expect("form");
    path
}

/// `${site}` is the site asked about; `${district}` its district.
struct Visit<'a> {
    form: &'a Form,
    site: String,
    district: String,
}

impl Scope for Visit<'_> {
    fn field(&self, node: NodeId) -> XVal {
        match self.form.nodes[node].name.as_str() {
            "site" => XVal::Str(self.site.clone()),
            _ => XVal::Str(self.district.clone()),
        }
    }
    fn current(&self) -> XVal {
        XVal::Str("150".into())
    }
    fn position(&self) -> Option<usize> {
        None
    }
    fn column(&self, _name: &str) -> XVal {
        XVal::Str(String::new())
    }
    fn choice_label(&self, _field: &str, _value: &str) -> String {
        String::new()
    }
    fn now(&self) -> DateTime {
        parse_datetime("2026-11-22T09:00:00+07:00", 0).expect("clock")
    }
    fn indexed_repeat(&self, _field: NodeId, _at: &[(NodeId, usize)]) -> XVal {
        XVal::Str(String::new())
    }
    fn regex_match(&self, _text: &str, _pattern: &str) -> bool {
        false
    }
    fn instance(&self, id: &str) -> Option<&ChoiceList> {
        self.form.instance(id)
    }
}

fn bench_expressions(form: &Form) {
    // A site drawn all over the list (a multiplicative walk, no RNG crate).
    let site = |k: usize| format!("S{:05}", (k * 7919) % SITES);
    let exprs: Vec<(&str, &fieldkit::form::expr::Expr)> = form
        .nodes
        .iter()
        .filter_map(|n| {
            Some((
                n.name.as_str(),
                n.calculation.as_ref().or(n.constraint.as_ref())?,
            ))
        })
        .collect();
    // The first lookup builds the column's index: timed on its own.
    let fresh = form::load(&form.source).expect("loads");
    let t = Instant::now();
    let scope = Visit {
        form: &fresh,
        site: site(1),
        district: "D01".into(),
    };
    black_box(eval(exprs[0].1, &scope));
    percentiles(
        "first lookup (builds the 'name' index of 10,000)",
        vec![t.elapsed()],
    );
    for (name, expr) in &exprs {
        let mut samples = Vec::with_capacity(20_000);
        for k in 0..20_000 {
            let scope = Visit {
                form,
                site: site(k),
                district: format!("D{:02}", k % 100),
            };
            let t = Instant::now();
            black_box(eval(expr, &scope));
            samples.push(t.elapsed());
        }
        percentiles(&format!("{name}: {expr}"), samples);
    }
}

fn bench_session(form: &Arc<Form>) {
    let env = Env {
        now: parse_datetime("2026-11-22T09:00:00+07:00", 0).expect("clock"),
        device_id: "bench".into(),
        username: "bench".into(),
        seed: 7,
    };
    let mut s = Session::new(Arc::clone(form), env);
    let site = Pos {
        path: Vec::new(),
        node: form.find("site").expect("site"),
    };
    let mut samples = Vec::with_capacity(2_000);
    for k in 0..2_000 {
        let t = Instant::now();
        s.answer(&site, &format!("S{:05}", (k * 7919) % SITES))
            .expect("answer");
        samples.push(t.elapsed());
    }
    percentiles(
        "answer ${site}: 4 lookups, a count and a scan recalculated",
        samples,
    );
}

fn main() {
    // `cargo test --benches` passes --bench too; run the figures only for `cargo bench`.
    if std::env::args().any(|a| a == "--test") {
        return;
    }
    let dir = tempfile::tempdir().expect("temp dir");
    let path = write_form(dir.path());
    let t = Instant::now();
    let form = Arc::new(form::load(&path).expect("the form loads"));
    percentiles("load the form + 10,000 sites", vec![t.elapsed()]);
    bench_expressions(&form);
    bench_session(&form);
}
