//! `summary.html`: the aggregation's report, one self-contained page
//! (inline CSS, inline SVG charts from `svg`, no script, no external URL)
//! that opens offline in any browser: records by province and district
//! (names beside p-codes), DTM totals, the displaced by sex and age, top
//! needs, coverage against the assignments, the quality checks, rounds,
//! and every problem. Every number shown is in summary.json too, and its
//! element says where (`data-json`, a JSON pointer), so a test can compare
//! the page with the file. The figures summary.json did not have before
//! are worked out in `figures`. Writes one file; reads nothing itself.

pub mod figures;
pub mod svg;

use std::collections::BTreeMap;
use std::path::Path;

use super::checks::Finding;
use super::error::AggregateError;
use super::output::under;
use super::summary::Summary;
use svg::{Bar, number};

/// Problems the page lists (summary.md has them all).
const SHOWN_PROBLEMS: usize = 100;
/// Rounds a chart shows (the latest).
const MAX_ROUNDS: usize = 30;
/// Provinces or districts a chart shows (Lao PDR has 18 and 148).
const MAX_AREAS: usize = 200;
/// Bars a needs chart shows (the most named first).
const TOP_NEEDS: usize = 10;

/// Text made safe for HTML (element text and attribute values).
pub fn esc(text: &str) -> String {
    let mut s = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => s.push_str("&amp;"),
            '<' => s.push_str("&lt;"),
            '>' => s.push_str("&gt;"),
            '"' => s.push_str("&quot;"),
            '\'' => s.push_str("&#39;"),
            c if c.is_control() && c != '\n' => s.push('\u{FFFD}'),
            c => s.push(c),
        }
    }
    s
}

/// A JSON pointer (RFC 6901) to `parts` in summary.json.
pub fn pointer(parts: &[&str]) -> String {
    let mut p = String::new();
    for part in parts {
        p.push('/');
        p.push_str(&part.replace('~', "~0").replace('/', "~1"));
    }
    p
}

const STYLE: &str = "body{font-family:system-ui,'Noto Sans','Noto Sans Lao','Phetsarath OT',sans-serif;\
margin:0 auto;max-width:1200px;padding:16px 24px;color:#1d2733;background:#fff}\
h1{font-size:1.5em;margin:0 0 4px}h2{font-size:1.15em;margin:28px 0 8px;border-bottom:1px solid #d5dbe1;\
padding-bottom:4px}h3{font-size:1em;margin:16px 0 6px}\
.cards{display:flex;gap:12px 28px;flex-wrap:wrap;align-items:flex-start}.card{border:1px solid #d5dbe1;border-radius:6px;\
padding:8px 14px;min-width:120px}.card .n{font-size:1.6em;font-weight:600;display:block}\
table{border-collapse:collapse;margin:4px 0 8px}td,th{border:1px solid #d5dbe1;padding:3px 8px;\
text-align:left;vertical-align:top}td.r,th.r{text-align:right}th{background:#f1f4f7}\
svg.chart{display:block;max-width:100%;height:auto;font-size:12px}svg .label{fill:#1d2733}\
svg .bar{fill:#0b6fa4}svg .male{fill:#2f7fb8}svg .female{fill:#d9792b}svg text{fill:#1d2733}\
.note{color:#5b6773;font-size:.9em}.lo{color:#5b6773}";

/// Writes `summary.html` in `out`.
pub fn write(out: &Path, summary: &Summary, shown: &[Finding]) -> Result<(), AggregateError> {
    let path = under(out, &["summary.html"])?;
    std::fs::write(&path, page(summary, shown)).map_err(|e| AggregateError::write(&path, e))
}

/// The page.
pub fn page(summary: &Summary, shown: &[Finding]) -> String {
    let mut h = String::from(
        "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">\
         <meta name=\"viewport\" content=\"width=device-width\">\
         <title>fieldkit aggregation summary</title><style>",
    );
    h.push_str(STYLE);
    h.push_str("</style></head><body>\n<h1>fieldkit aggregation summary</h1>\n");
    h.push_str(&format!(
        "<div class=\"cards\"><div class=\"card\">{}records</div><div class=\"card\">{}bundles \
         read</div><div class=\"card\">{}duplicate records counted once</div><div class=\"card\">\
         <span class=\"n\" id=\"problems\">{}</span>problems</div><div class=\"card\">{}checks to \
         look at</div></div>\n",
        number(&pointer(&["records"]), summary.records as f64),
        number(&pointer(&["bundles_read"]), summary.bundles_read as f64),
        number(&pointer(&["duplicates"]), summary.duplicates as f64),
        summary.problems(),
        number(&pointer(&["checks_total"]), summary.checks_total as f64),
    ));
    areas(&mut h, summary);
    counts(&mut h, summary);
    totals(&mut h, summary);
    pyramids(&mut h, summary);
    needs(&mut h, summary);
    coverage(&mut h, summary);
    checks(&mut h, summary, shown);
    rounds(&mut h, summary);
    problems(&mut h, summary);
    h.push_str("</body></html>\n");
    h
}

/// "Name · ຊື່ (CODE)", or the code alone when the lists lack it.
fn admin_label(summary: &Summary, code: &str) -> String {
    if code.is_empty() {
        return "(none)".into();
    }
    match summary.report.admin_names.get(code) {
        Some(n) if !n.lo.is_empty() => format!("{} · {} ({code})", n.en, n.lo),
        Some(n) => format!("{} ({code})", n.en),
        None => code.to_string(),
    }
}

fn areas(h: &mut String, summary: &Summary) {
    if summary.by_province.is_empty() && summary.by_district.is_empty() {
        return;
    }
    h.push_str("<div class=\"cards\">");
    for (title, key, map) in [
        ("province", "by_province", &summary.by_province),
        ("district", "by_district", &summary.by_district),
    ] {
        if map.is_empty() {
            continue;
        }
        h.push_str(&format!("<div><h2>Records by {title}</h2>\n"));
        let bars: Vec<Bar> = map
            .iter()
            .take(MAX_AREAS)
            .map(|(code, n)| Bar {
                label: admin_label(summary, code),
                value: *n as f64,
                pointer: pointer(&[key, code]),
            })
            .collect();
        h.push_str(&svg::bars(&format!("Records by {title}"), &bars, svg::HALF));
        if map.len() > MAX_AREAS {
            h.push_str(&format!(
                "<p class=\"note\">The first {MAX_AREAS} of {} (summary.json has them all).</p>",
                map.len()
            ));
        }
        h.push_str("</div>\n");
    }
    h.push_str("</div>\n");
}

fn table(h: &mut String, title: &str, key: &str, map: &BTreeMap<String, usize>) {
    if map.is_empty() {
        return;
    }
    h.push_str(&format!(
        "<h3>By {title}</h3><table><tr><th>{title}</th><th class=\"r\">records</th></tr>"
    ));
    for (k, n) in map {
        h.push_str(&format!(
            "<tr><td>{}</td><td class=\"r\">{}</td></tr>",
            esc(if k.is_empty() { "(none)" } else { k }),
            number(&pointer(&[key, k]), *n as f64)
        ));
    }
    h.push_str("</table>\n");
}

fn counts(h: &mut String, summary: &Summary) {
    h.push_str("<h2>Records by form, enumerator and day</h2>\n<div class=\"cards\">");
    for (title, key, map) in [
        ("form", "by_form", &summary.by_form),
        ("enumerator", "by_enumerator", &summary.by_enumerator),
        ("day", "by_day", &summary.by_day),
    ] {
        h.push_str("<div>");
        table(h, title, key, map);
        h.push_str("</div>");
    }
    h.push_str("</div>\n");
}

fn totals(h: &mut String, summary: &Summary) {
    if summary.totals.is_empty() {
        return;
    }
    h.push_str(
        "<h2>DTM totals</h2><p class=\"note\">Sums of the fields a form tags #affected (HXL).</p>\
         <table><tr><th>form</th><th>indicator</th><th class=\"r\">total</th></tr>",
    );
    for (form, totals) in &summary.totals {
        for (k, v) in totals {
            h.push_str(&format!(
                "<tr><td>{}</td><td>{}</td><td class=\"r\">{}</td></tr>",
                esc(form),
                esc(k),
                number(&pointer(&["totals", form, k]), *v)
            ));
        }
    }
    h.push_str("</table>\n");
}

fn pyramids(h: &mut String, summary: &Summary) {
    if summary.report.pyramid.is_empty() {
        return;
    }
    h.push_str("<h2>The displaced population by sex and age</h2>\n");
    for (form, bands) in &summary.report.pyramid {
        let rows: Vec<(String, Bar, Bar)> = bands
            .iter()
            .enumerate()
            .map(|(i, b)| {
                let i = i.to_string();
                let bar = |sex: &str, value: f64| Bar {
                    label: String::new(),
                    value,
                    pointer: pointer(&["report", "pyramid", form, &i, sex]),
                };
                (b.band.clone(), bar("male", b.male), bar("female", b.female))
            })
            .collect();
        h.push_str(&format!("<h3>{}</h3>", esc(form)));
        h.push_str(&svg::pyramid(&format!("{form}: by sex and age"), &rows));
        h.push('\n');
    }
}

fn needs(h: &mut String, summary: &Summary) {
    if summary.report.needs.is_empty() {
        return;
    }
    h.push_str("<h2>Top needs</h2><p class=\"note\">Records naming each need.</p>\n");
    for (form, fields) in &summary.report.needs {
        for (field, choices) in fields {
            let whose = figures::NEEDS
                .iter()
                .find(|(f, _)| f == field)
                .map_or("", |(_, w)| w);
            let mut sorted: Vec<(&String, &usize)> = choices.iter().collect();
            sorted.sort_by(|a, b| b.1.cmp(a.1).then(a.0.cmp(b.0)));
            let bars: Vec<Bar> = sorted
                .into_iter()
                .take(TOP_NEEDS)
                .map(|(code, n)| Bar {
                    label: summary
                        .report
                        .need_labels
                        .get(code)
                        .cloned()
                        .unwrap_or_else(|| code.clone()),
                    value: *n as f64,
                    pointer: pointer(&["report", "needs", form, field, code]),
                })
                .collect();
            h.push_str(&format!(
                "<h3>{}: needs of {whose} <span class=\"note\">({})</span></h3>",
                esc(form),
                esc(field)
            ));
            h.push_str(&svg::bars(
                &format!("{form}: needs of {whose}"),
                &bars,
                svg::WIDTH,
            ));
            h.push('\n');
        }
    }
}

fn coverage(h: &mut String, summary: &Summary) {
    let Some(c) = &summary.coverage else {
        return;
    };
    h.push_str(&format!(
        "<h2>Coverage against the assignments</h2><p>{} visit(s) to entities nobody was \
         assigned. Every assignment is in coverage.csv.</p>\n",
        number(
            &pointer(&["coverage", "unassigned_visits"]),
            c.unassigned_visits as f64
        )
    ));
    for (title, key, map) in [
        ("enumerator", "by_enumerator", &c.by_enumerator),
        ("area", "by_area", &c.by_area),
    ] {
        h.push_str(&format!(
            "<h3>By {title}</h3><table><tr><th>{title}</th><th class=\"r\">assigned</th>\
             <th class=\"r\">visited</th><th class=\"r\">by another</th>\
             <th class=\"r\">not visited</th></tr>"
        ));
        for (k, n) in map {
            let label = if key == "by_area" {
                admin_label(summary, k)
            } else {
                k.clone()
            };
            let cell = |field: &str, v: usize| {
                format!(
                    "<td class=\"r\">{}</td>",
                    number(&pointer(&["coverage", key, k, field]), v as f64)
                )
            };
            h.push_str(&format!(
                "<tr><td>{}</td>{}{}{}{}</tr>",
                esc(&label),
                cell("assigned", n.assigned),
                cell("visited", n.visited),
                cell("visited_by_another", n.visited_by_another),
                cell("not_visited", n.not_visited)
            ));
        }
        h.push_str("</table>\n");
    }
}

fn checks(h: &mut String, summary: &Summary, shown: &[Finding]) {
    h.push_str(
        "<h2>Quality checks</h2><p class=\"note\">Records to look at again; nothing was \
         changed. Every finding is in checks.csv.</p><table><tr><th>check</th>\
         <th class=\"r\">records</th></tr>",
    );
    for (name, n) in &summary.checks {
        h.push_str(&format!(
            "<tr><td>{}</td><td class=\"r\">{}</td></tr>",
            esc(name),
            number(&pointer(&["checks", name]), *n as f64)
        ));
    }
    h.push_str("</table>\n");
    if shown.is_empty() {
        return;
    }
    if shown.len() < summary.checks_total {
        h.push_str(&format!(
            "<p class=\"note\">The first {} of them:</p>",
            shown.len()
        ));
    }
    h.push_str(
        "<table><tr><th>check</th><th>record</th><th>form</th><th>field</th><th>value</th>\
         <th>why</th></tr>",
    );
    for f in shown {
        h.push_str(&format!(
            "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
            esc(f.check),
            esc(&f.record_id),
            esc(&f.form_id),
            esc(&f.field),
            esc(&f.value),
            esc(&f.why)
        ));
    }
    h.push_str("</table>\n");
}

fn rounds(h: &mut String, summary: &Summary) {
    if summary.report.rounds.is_empty() {
        return;
    }
    h.push_str(
        "<h2>Across rounds</h2><p class=\"note\">By the survey round (#round+code), else \
         the form version.</p>\n",
    );
    for (form, rounds) in &summary.report.rounds {
        // The latest rounds (in the order of their codes), when there are
        // more than a chart can show.
        let skip = rounds.len().saturating_sub(MAX_ROUNDS);
        if skip > 0 {
            h.push_str(&format!(
                "<p class=\"note\">{}: the last {MAX_ROUNDS} of {} rounds (summary.json has \
                 them all).</p>",
                esc(form),
                rounds.len()
            ));
        }
        let bars = |field: &str| -> Vec<Bar> {
            rounds
                .iter()
                .skip(skip)
                .map(|(r, f)| Bar {
                    label: if r.is_empty() {
                        "(none)".into()
                    } else {
                        r.clone()
                    },
                    value: if field == "idps" {
                        f.idps
                    } else {
                        f.records as f64
                    },
                    pointer: pointer(&["report", "rounds", form, r, field]),
                })
                .collect()
        };
        h.push_str(&format!("<h3>{}: IDPs by round</h3>", esc(form)));
        h.push_str(&svg::columns(
            &format!("{form}: IDPs by round"),
            &bars("idps"),
        ));
        h.push_str(&format!("<h3>{}: records by round</h3>", esc(form)));
        h.push_str(&svg::columns(
            &format!("{form}: records by round"),
            &bars("records"),
        ));
        h.push('\n');
    }
}

fn problems(h: &mut String, summary: &Summary) {
    h.push_str("<h2>Problems</h2>\n");
    let lines = summary.problem_lines();
    if lines.is_empty() {
        h.push_str("<p>None.</p>\n");
        return;
    }
    h.push_str("<ul>");
    for line in lines.iter().take(SHOWN_PROBLEMS) {
        h.push_str(&format!("<li>{}</li>", esc(line)));
    }
    h.push_str("</ul>\n");
    if lines.len() > SHOWN_PROBLEMS {
        h.push_str(&format!(
            "<p>... and {} more: every problem is in summary.md and summary.json.</p>\n",
            lines.len() - SHOWN_PROBLEMS
        ));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pointers_and_escapes() {
        assert_eq!(pointer(&["totals", "f", "a/b~c"]), "/totals/f/a~1b~0c");
        assert_eq!(
            esc("<script>\"x\" & 'y'\u{1b}"),
            "&lt;script&gt;&quot;x&quot; &amp; &#39;y&#39;\u{FFFD}"
        );
    }

    #[test]
    fn problems_are_escaped_and_listed_up_to_a_hundred() {
        let mut summary = Summary::default();
        summary.sequence_problems = (0..150).map(|i| format!("<b>gap {i}</b>")).collect();
        let page = page(&summary, &[]);
        assert_eq!(page.matches("<li>").count(), SHOWN_PROBLEMS);
        assert!(page.contains("&lt;b&gt;gap 0&lt;/b&gt;") && !page.contains("<b>"));
        assert!(page.contains("... and 50 more"));
        assert!(page.contains("<span class=\"n\" id=\"problems\">150</span>"));
    }

    #[test]
    fn charts_stay_readable_however_many_rounds_and_areas() {
        let mut summary = Summary::default();
        for i in 0..250 {
            summary.by_district.insert(format!("D{i:03}"), 1);
        }
        let rounds = summary.report.rounds.entry("f".into()).or_default();
        for i in 0..40 {
            rounds.insert(format!("R{i:02}"), Default::default());
        }
        let page = page(&summary, &[]);
        assert!(page.contains("/by_district/D199") && !page.contains("/by_district/D200"));
        assert!(page.contains("The first 200 of 250"));
        assert!(
            page.contains("/report/rounds/f/R39/idps") && !page.contains("/report/rounds/f/R09/")
        );
        assert!(page.contains("the last 30 of 40 rounds"));
    }

    #[test]
    fn a_page_of_an_empty_run_is_whole_and_fetches_nothing() {
        let page = page(&Summary::default(), &[]);
        assert!(page.starts_with("<!DOCTYPE html>") && page.ends_with("</html>\n"));
        assert!(!page.contains("http://") && !page.contains("https://"));
        assert!(!page.contains("<script"));
    }
}
