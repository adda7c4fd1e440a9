//! XLSForm figures (`cargo bench --bench xlsform`): loading a workbook,
//! from the file to a checked form model, for the largest real workbook in
//! the corpus (the 501-question household survey with 5,145 choices, in
//! ../shared, skipped when absent) and the largest one in the repository
//! (5,667 external choices). Also the conversion to TOML alone. Asserts
//! nothing.

mod common;
use common::percentiles;

use std::path::{Path, PathBuf};
use std::time::Instant;

use fieldkit::form::{self, xlsform};

fn bench(label: &str, path: &Path) {
    let bytes = std::fs::read(path).expect("workbook");
    let form = form::load(path).expect("the workbook loads");
    println!(
        "{}: {} questions, {} choices, {} warnings",
        path.display(),
        form.question_count(),
        form.lists.values().map(|l| l.choices.len()).sum::<usize>(),
        form.warnings.len()
    );
    let runs = 20;
    let mut load = Vec::with_capacity(runs);
    let mut convert = Vec::with_capacity(runs);
    for _ in 0..runs {
        let t = Instant::now();
        std::hint::black_box(form::load(path).expect("loads"));
        load.push(t.elapsed());
        let t = Instant::now();
        std::hint::black_box(xlsform::convert(&bytes, "bench.xlsx").expect("converts"));
        convert.push(t.elapsed());
    }
    percentiles(&format!("{label}: load (read, convert, check)"), load);
    percentiles(&format!("{label}: convert to TOML only"), convert);
}

fn main() {
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    let largest = root.join("../shared/corpus/xlsform/cleaningtools/kobo_tool.xlsx");
    if largest.exists() {
        bench("kobo_tool.xlsx (501 rows, 5,145 choices)", &largest);
    } else {
        println!("SKIP kobo_tool.xlsx: {} is absent", largest.display());
    }
    bench(
        "subdistrict_profiling_tool.xlsx",
        &root.join("tests/fixtures/xlsform/onadata__subdistrict_profiling_tool.xlsx"),
    );
}
