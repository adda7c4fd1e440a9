//! The shipped forms behave as their designers meant: relevance and
//! skipping, constraints and sums, required answers, choice filters,
//! calculations and repeats, run through the session engine.

use fieldkit::form::{Screen, Session, ViolationKind};
use serde_json::{Value, json};

use crate::support::shipped_session;

/// Loads `answers` into a fresh session of the shipped form.
fn filled(form: &str, answers: Value) -> Session {
    let mut s = shipped_session(form);
    let problems = s.load_answers(answers.as_object().expect("object"));
    assert!(
        problems.is_empty(),
        "{form}: answers refused: {problems:#?}"
    );
    s
}

fn problems(s: &Session) -> Vec<(String, ViolationKind)> {
    s.violations()
        .into_iter()
        .map(|v| (v.path, v.kind))
        .collect()
}

fn has(s: &Session, path: &str, kind: ViolationKind) -> bool {
    problems(s).contains(&(path.to_string(), kind))
}

fn screen_names(s: &Session) -> Vec<String> {
    s.screens()
        .iter()
        .flat_map(|sc| s.questions_on(sc))
        .map(|p| s.describe(&p))
        .collect()
}

fn with(base: &Value, extra: Value) -> Value {
    let mut v = base.clone();
    for (k, x) in extra.as_object().unwrap() {
        v[k] = x.clone();
    }
    v
}

fn health_base() -> Value {
    json!({
        "assessment_date": "2026-11-21", "point_of_entry": "friendship_bridge_1_vientiane", "consent": "yes",
        "traveller_sex": "female", "traveller_age": 29, "nationality": "LAO", "travelling_from_country": "THA",
        "destination_adm1_pcode": "LA01", "destination_adm2_pcode": "LA0103",
        "temperature_c": 36.8, "symptoms": ["none"],
        "tb_cough_2_weeks": "no", "tb_fever": "no", "tb_weight_loss": "no", "tb_night_sweats": "no", "tb_coughing_blood": "no",
        "vacc_measles": "yes", "vacc_polio": "yes", "vacc_covid19": "dnk", "vacc_tetanus": "no", "vacc_card_seen": "no",
        "chronic_conditions": ["none"], "pregnant": "no", "referral_decision": "no_referral", "health_info_given": "yes"
    })
}

#[test]
fn migrant_health_complete_record_is_valid() {
    let s = filled("migrant_health_poe.toml", health_base());
    assert_eq!(problems(&s), []);
    let record = s.record();
    assert_eq!(record["fever"], json!("0"));
    assert_eq!(record["tb_screen_positive"], json!("0"));
    assert_eq!(record["temperature_c"], json!(36.8));
}

#[test]
fn migrant_health_refused_consent_skips_everything() {
    let s = filled(
        "migrant_health_poe.toml",
        json!({"assessment_date": "2026-11-21", "point_of_entry": "friendship_bridge_1_vientiane", "consent": "no"}),
    );
    assert_eq!(problems(&s), []);
    let shown = screen_names(&s);
    assert!(shown.contains(&"consent_declined_note".to_string()));
    assert!(
        !shown
            .iter()
            .any(|n| n.starts_with("tb_") || n == "temperature_c"),
        "{shown:?}"
    );
    assert!(!s.record().contains_key("fever"));
}

#[test]
fn migrant_health_tb_screen_drives_the_referral() {
    let base = health_base();
    let s = filled(
        "migrant_health_poe.toml",
        with(&base, json!({"tb_cough_2_weeks": "yes"})),
    );
    assert_eq!(s.record()["tb_screen_positive"], json!("1"));
    assert!(
        has(&s, "referral_decision", ViolationKind::Constraint),
        "{:?}",
        problems(&s)
    );
    let s = filled(
        "migrant_health_poe.toml",
        with(
            &base,
            json!({"tb_cough_2_weeks": "yes", "referral_decision": "refer_tb_testing", "referral_reasons": ["fever"]}),
        ),
    );
    assert!(
        has(&s, "referral_reasons", ViolationKind::Constraint),
        "TB reason must be given: {:?}",
        problems(&s)
    );
    let s = filled(
        "migrant_health_poe.toml",
        with(
            &base,
            json!({"tb_cough_2_weeks": "yes", "referral_decision": "refer_tb_testing", "referral_reasons": ["tb_screen_positive"]}),
        ),
    );
    assert_eq!(problems(&s), []);
}

#[test]
fn migrant_health_temperature_fever_and_pregnancy_relevance() {
    let base = health_base();
    let s = filled(
        "migrant_health_poe.toml",
        with(&base, json!({"temperature_c": 45})),
    );
    assert!(has(&s, "temperature_c", ViolationKind::Constraint));
    let s = filled(
        "migrant_health_poe.toml",
        with(&base, json!({"temperature_c": 38.2})),
    );
    assert_eq!(s.record()["fever"], json!("1"));
    assert!(screen_names(&s).contains(&"fever_note".to_string()));
    // Pregnancy is asked of women aged 12 to 55 only.
    let s = filled(
        "migrant_health_poe.toml",
        with(
            &base,
            json!({"traveller_sex": "male", "pregnant": Value::Null}),
        ),
    );
    assert!(!screen_names(&s).contains(&"pregnant".to_string()));
    let s = filled(
        "migrant_health_poe.toml",
        with(&base, json!({"traveller_age": 60, "pregnant": Value::Null})),
    );
    assert!(!screen_names(&s).contains(&"pregnant".to_string()));
    assert_eq!(problems(&s), []);
    let s = filled(
        "migrant_health_poe.toml",
        with(&base, json!({"pregnant": Value::Null})),
    );
    assert!(has(&s, "pregnant", ViolationKind::Required));
    // "none" cannot go with a symptom.
    let s = filled(
        "migrant_health_poe.toml",
        with(&base, json!({"symptoms": ["none", "cough"]})),
    );
    assert!(has(&s, "symptoms", ViolationKind::Constraint));
}

#[test]
fn migrant_health_district_follows_the_province() {
    let s = filled(
        "migrant_health_poe.toml",
        with(&health_base(), json!({"destination_adm2_pcode": "LA1301"})),
    );
    assert!(
        has(&s, "destination_adm2_pcode", ViolationKind::Constraint),
        "{:?}",
        problems(&s)
    );
}

/// A complete, valid site assessment (shared with the TUI's tests).
fn site_base() -> Value {
    serde_json::from_str(include_str!("../fixtures/site_assessment_complete.json")).unwrap()
}

#[test]
fn site_assessment_complete_record_and_calculations() {
    let s = shipped_session("dtm_site_assessment.toml");
    let mut s2 = s.clone();
    let refused = s2.load_answers(site_base().as_object().unwrap());
    assert!(refused.is_empty(), "{refused:#?}");
    assert_eq!(problems(&s2), [], "a complete site record should be valid");
    let r = s2.record();
    assert_eq!(r["num_agencies"], json!("2"));
    assert_eq!(r["agencies_present"][1]["agency_number"], json!("2"));
    assert_eq!(r["num_idp_female_total"], json!("90"));
    assert_eq!(r["m2970_loc_num_children_idp"], json!("80"));
    assert_eq!(r["wash_persons_per_latrine"], json!("30"));
    assert_eq!(
        r["s2878_loc_top_3_priority_need_idp"],
        json!("food shelter drinking_water")
    );
    assert!(screen_names(&s2).contains(&"wash_latrine_ratio_note".to_string()));
}

#[test]
fn site_assessment_age_bands_must_add_up() {
    let s = filled(
        "dtm_site_assessment.toml",
        with(&site_base(), json!({"num_idp_men_60plus": 13})),
    );
    assert!(
        has(&s, "num_idp_men_60plus", ViolationKind::Constraint),
        "{:?}",
        problems(&s)
    );
    let s = filled(
        "dtm_site_assessment.toml",
        with(&site_base(), json!({"num_pregnant_lactating": 95})),
    );
    assert!(has(&s, "num_pregnant_lactating", ViolationKind::Constraint));
}

#[test]
fn site_assessment_needs_must_differ_and_gates_skip() {
    let s = filled(
        "dtm_site_assessment.toml",
        with(&site_base(), json!({"priority_need_3": "food"})),
    );
    assert!(has(&s, "priority_need_3", ViolationKind::Constraint));
    let s = filled(
        "dtm_site_assessment.toml",
        with(
            &site_base(),
            json!({"priority_need_1": "none", "priority_need_2": Value::Null, "priority_need_3": Value::Null}),
        ),
    );
    assert_eq!(problems(&s), []);
    assert!(!screen_names(&s).contains(&"priority_need_2".to_string()));
    // No consent: the whole assessment is skipped and the record is still complete.
    let s = filled(
        "dtm_site_assessment.toml",
        with(&site_base(), json!({"ki_consent": "no"})),
    );
    assert_eq!(problems(&s), []);
    assert!(!s.record().contains_key("m0310_loc_num_idp_ind"));
    // A village outside the chosen district is refused.
    let s = filled(
        "dtm_site_assessment.toml",
        with(&site_base(), json!({"m0306_meta_adm4_pcode": "10101"})),
    );
    assert!(has(&s, "m0306_meta_adm4_pcode", ViolationKind::Constraint));
}

#[test]
fn site_assessment_agencies_repeat_can_be_added_and_removed() {
    let mut s = filled("dtm_site_assessment.toml", site_base());
    let rep = s.form().find("agencies_present").unwrap();
    assert_eq!(s.instance_count(&[], rep), 2);
    let new = s.add_instance(&[], rep).unwrap();
    assert!(has(
        &s,
        "agencies_present[3]/agency_name",
        ViolationKind::Required
    ));
    assert!(s.screens().contains(&Screen::AddRepeat {
        path: vec![],
        repeat: rep
    }));
    s.remove_instance(&new).unwrap();
    assert_eq!(s.record()["num_agencies"], json!("2"));
}

fn flow_base() -> Value {
    json!({
        "m1855_meta_assessment_date": "2026-11-20", "m1470_meta_enum_sex": "female", "m1725_meta_interview_type": "inperson_mobile",
        "flow_monitoring_point": "friendship_bridge_1", "consent": "yes", "direction": "outgoing", "nationality": "lao",
        "sex": "female", "age": 24, "travel_group": "alone", "origin_in_lao": "yes", "origin_adm1_pcode": "LA13",
        "origin_adm2_pcode": "LA1301", "destination_country": "thailand", "destination_place": "Bangkok",
        "main_reason": "work", "transport_mode": "bus", "intended_length_of_stay": "months_7_12", "job_secured": "yes",
        "recruitment_channel": "friend_relative", "fees_paid": "no", "written_contract": "yes", "contract_understood": "yes",
        "pre_departure_training": "yes", "documents_carried": ["passport", "work_permit"], "documents_holder": "self",
        "return_intention": "yes_within_12m"
    })
}

#[test]
fn flow_monitoring_trafficking_risk_and_referral() {
    let s = filled("dtm_flow_monitoring.toml", flow_base());
    assert_eq!(problems(&s), []);
    assert_eq!(s.record()["risk_score"], json!("0"));
    assert!(!screen_names(&s).contains(&"referral_note".to_string()));
    let s = filled(
        "dtm_flow_monitoring.toml",
        with(
            &flow_base(),
            json!({"age": 16, "risk_documents_withheld": "yes", "referral_offered": "accepted"}),
        ),
    );
    assert_eq!(s.record()["is_minor"], json!("1"));
    assert_eq!(
        s.record()["risk_score"],
        json!("2"),
        "withheld documents + a minor alone"
    );
    assert!(screen_names(&s).contains(&"referral_note".to_string()));
}

#[test]
fn flow_monitoring_consent_documents_and_age() {
    let s = filled(
        "dtm_flow_monitoring.toml",
        json!({"m1855_meta_assessment_date": "2026-11-20", "m1470_meta_enum_sex": "male", "m1725_meta_interview_type": "inperson_mobile", "flow_monitoring_point": "vte_northern_bus_station", "consent": "no"}),
    );
    assert_eq!(problems(&s), []);
    assert!(!screen_names(&s).contains(&"direction".to_string()));
    let s = filled(
        "dtm_flow_monitoring.toml",
        with(
            &flow_base(),
            json!({"documents_carried": ["none", "passport"]}),
        ),
    );
    assert!(has(&s, "documents_carried", ViolationKind::Constraint));
    let s = filled(
        "dtm_flow_monitoring.toml",
        with(&flow_base(), json!({"age": 9})),
    );
    assert!(has(&s, "age", ViolationKind::Constraint));
    let s = filled(
        "dtm_flow_monitoring.toml",
        with(
            &flow_base(),
            json!({"m1855_meta_assessment_date": "2026-12-01"}),
        ),
    );
    assert!(
        has(&s, "m1855_meta_assessment_date", ViolationKind::Constraint),
        "future dates are refused"
    );
}

fn baseline_base() -> Value {
    json!({
        "m1855_meta_assessment_date": "2026-11-20", "m0489_meta_survey_round": "R3", "m1470_meta_enum_sex": "male",
        "m1725_meta_interview_type": "inperson_mobile", "m0303_meta_adm1_pcode": "LA01", "m0304_meta_adm2_pcode": "LA0101",
        "m0306_meta_adm4_pcode": "10101", "ki_consent": "OK", "ki_type": "village_chief", "ki_sex": "male",
        "m1535_loc_arrival_time": "yes", "m1537_loc_num_arrivals_hh": 12, "m0310_loc_num_idp_ind": 50,
        "m2968_loc_num_men_idp": 15, "m2969_loc_num_women_idp": 17, "m2970_loc_num_children_idp": 18,
        "idp_girls_0_5": 4, "idp_boys_0_5": 5, "idp_girls_6_17": 4, "idp_boys_6_17": 5,
        "idp_women_18_59": 14, "idp_men_18_59": 13, "idp_women_60_plus": 3, "idp_men_60_plus": 2,
        "m1727_loc_main_group_arrival_date": "2026-09", "m2686_loc_arrivals_origin_adm1": "LA17",
        "m2685_loc_arrivals_origin_adm2": "LA1704", "m0329_loc_reason_disp_idp": ["dam_collapse", "climate_floods"],
        "m2688_loc_arrivals_site_type": "collective_centre", "s2878_loc_top_3_priority_need_idp": ["food", "shelter", "health"],
        "m1461_loc_return_obs_unit": "no", "retmig_present": "no", "formig_present": "dnk", "m1690_loc_depart_hh": "no",
        "displaced_shelter_types": ["host_family"], "num_displaced_hh_damaged_shelter": 2
    })
}

#[test]
fn baseline_complete_record_and_village_cascade() {
    let s = filled("dtm_baseline.toml", baseline_base());
    assert_eq!(problems(&s), []);
    let r = s.record();
    assert_eq!(
        r["m0448_loc_site_name"],
        json!("Nongping"),
        "the village's name in the record"
    );
    assert_eq!(r["idp_total_female"], json!("25"));
    assert_eq!(r["idp_total_male"], json!("25"));
    assert!(
        !r.contains_key("m0847_loc_num_return_idp_hh"),
        "returnee block skipped"
    );
    let s = filled(
        "dtm_baseline.toml",
        with(
            &baseline_base(),
            json!({"m0306_meta_adm4_pcode": Value::Null}),
        ),
    );
    assert!(
        has(&s, "m0306_meta_adm4_pcode_other", ViolationKind::Required),
        "an unlisted village must be named"
    );
    let s = filled(
        "dtm_baseline.toml",
        with(&baseline_base(), json!({"m0304_meta_adm2_pcode": "LA1301"})),
    );
    assert!(has(&s, "m0304_meta_adm2_pcode", ViolationKind::Constraint));
    assert!(has(&s, "m0306_meta_adm4_pcode", ViolationKind::Constraint));
}

#[test]
fn baseline_disaggregation_must_match_the_totals() {
    let s = filled(
        "dtm_baseline.toml",
        with(&baseline_base(), json!({"m2970_loc_num_children_idp": 19})),
    );
    assert!(
        has(&s, "m2970_loc_num_children_idp", ViolationKind::Constraint),
        "{:?}",
        problems(&s)
    );
    let s = filled(
        "dtm_baseline.toml",
        with(&baseline_base(), json!({"idp_boys_6_17": 6})),
    );
    assert!(has(&s, "idp_boys_6_17", ViolationKind::Constraint));
    let s = filled(
        "dtm_baseline.toml",
        with(&baseline_base(), json!({"idp_men_60_plus": 1})),
    );
    assert!(has(&s, "idp_men_60_plus", ViolationKind::Constraint));
    let s = filled(
        "dtm_baseline.toml",
        with(&baseline_base(), json!({"m0310_loc_num_idp_ind": 5})),
    );
    assert!(
        has(&s, "m0310_loc_num_idp_ind", ViolationKind::Constraint),
        "fewer people than households"
    );
}

#[test]
fn baseline_gates_needs_and_dates() {
    let s = filled(
        "dtm_baseline.toml",
        with(
            &baseline_base(),
            json!({"s2878_loc_top_3_priority_need_idp": ["food", "shelter", "health", "education"]}),
        ),
    );
    assert!(has(
        &s,
        "s2878_loc_top_3_priority_need_idp",
        ViolationKind::Constraint
    ));
    let s = filled(
        "dtm_baseline.toml",
        with(
            &baseline_base(),
            json!({"m1727_loc_main_group_arrival_date": "2027-01-01"}),
        ),
    );
    assert!(has(
        &s,
        "m1727_loc_main_group_arrival_date",
        ViolationKind::Constraint
    ));
    let s = filled(
        "dtm_baseline.toml",
        with(
            &baseline_base(),
            json!({"m1461_loc_return_obs_unit": "yes"}),
        ),
    );
    assert!(has(
        &s,
        "m0847_loc_num_return_idp_hh",
        ViolationKind::Required
    ));
    let s = filled(
        "dtm_baseline.toml",
        with(&baseline_base(), json!({"m1535_loc_arrival_time": "no"})),
    );
    assert_eq!(
        problems(&s),
        [],
        "no IDPs: the IDP and shelter blocks are skipped"
    );
    assert!(!s.record().contains_key("m0310_loc_num_idp_ind"));
    assert!(!screen_names(&s).contains(&"idp_girls_0_5".to_string()));
}

/// A complete, valid record of each shipped form, by file name (for the
/// XLSForm twins' test).
pub fn complete_answers() -> Vec<(&'static str, Value)> {
    vec![
        ("migrant_health_poe.toml", health_base()),
        ("dtm_site_assessment.toml", site_base()),
        ("dtm_flow_monitoring.toml", flow_base()),
        ("dtm_baseline.toml", baseline_base()),
    ]
}

/// The site assessment, round after round: a site from last round's list
/// is updated (its name is not asked again), last round's totals are
/// shown and compared, and a total more than double last round's is kept
/// only once confirmed; a site not in the list is created.
#[test]
fn the_site_assessment_updates_last_rounds_site_and_checks_its_totals() {
    let dir = tempfile::tempdir().unwrap();
    let forms = crate::support::repo().join("forms");
    for file in std::fs::read_dir(&forms).unwrap().flatten() {
        std::fs::copy(file.path(), dir.path().join(file.file_name())).unwrap();
    }
    // Round 2's list, as aggregate writes it: the example site with
    // round 1's totals.
    std::fs::write(
        dir.path().join("sites.csv"),
        "name,label,__version,__updatedAt,adm1,adm2,last_hh_total,last_ind_total\n\
         10101,Nongping (ໜອງປິງ),1,2026-08-14T10:00:00.000+07:00,LA01,LA0101,40,180\n",
    )
    .unwrap();
    let form = dir.path().join("dtm_site_assessment.toml");
    let mut visit = site_base();
    let values = visit.as_object_mut().unwrap();
    values.remove("m0448_loc_site_name");
    values.insert("site".into(), json!("10101"));
    values.insert("m1537_loc_num_arrivals_hh".into(), json!(100));
    let mut confirmed = visit.clone();
    confirmed["meta/confirmed"] = json!(["m1537_loc_num_arrivals_hh"]);
    let answers = dir.path().join("answers.jsonl");
    std::fs::write(&answers, format!("{visit}\n{confirmed}\n{}\n", site_base())).unwrap();
    let (code, records) = crate::xlsform::dry_run(&form, &answers);
    assert_eq!(code, Some(1), "{records:#?}");
    assert_eq!(
        records[0]["violations"],
        json!([{"name": "m1537_loc_num_arrivals_hh", "path": "m1537_loc_num_arrivals_hh",
                "kind": "warning",
                "message": "More than double or under half of last round's 40 households."}])
    );
    let update = &records[1]["values"];
    assert_eq!(records[1]["valid"], json!(true), "{:#}", records[1]);
    assert_eq!(update["last_ind_total"], json!("180"));
    assert_eq!(update["meta/entity"]["action"], json!("update"));
    assert_eq!(update["meta/entity"]["id"], json!("10101"));
    assert_eq!(update["meta/entity"]["base_version"], json!("1"));
    assert_eq!(
        update["meta/entity"]["properties"]["last_hh_total"],
        json!("100")
    );
    assert_eq!(update["meta/confirmed"][0]["value"], json!("100"));
    assert!(
        records[1]["instance_name"]
            .as_str()
            .unwrap()
            .starts_with("Nongping")
    );
    // No site chosen: a new one, named.
    let create = &records[2]["values"]["meta/entity"];
    assert_eq!(create["action"], json!("create"));
    assert_eq!(create["label"], site_base()["m0448_loc_site_name"]);
    // Started for a site (the home page's visits): its province and
    // district are filled in; totals are counted anew, never pre-filled.
    let form = crate::support::load_ok(&form);
    let site = form.find("site").unwrap();
    let s = Session::started_with(
        form.clone(),
        crate::support::env(),
        &[(site, "10101".to_string())],
    );
    let at = |name: &str| {
        let node = form.find(name).unwrap();
        let pos = fieldkit::form::Pos {
            path: Vec::new(),
            node,
        };
        s.raw_value(&pos).to_string()
    };
    assert_eq!(at("m0303_meta_adm1_pcode"), "LA01");
    assert_eq!(at("m0304_meta_adm2_pcode"), "LA0101");
    assert_eq!(at("m1537_loc_num_arrivals_hh"), "");
    assert_eq!(at("last_hh_total"), "40");
}

/// The baseline, per village: the first round creates the village's
/// entity with its IDP totals; the next compares with them, and a total
/// more than double asks for a confirmation.
#[test]
fn the_baseline_keeps_each_villages_totals_from_round_to_round() {
    let round_one = filled("dtm_baseline.toml", baseline_base()).record();
    let op = &round_one["meta/entity"];
    assert_eq!(op["list"], json!("villages"));
    assert_eq!(
        (&op["action"], &op["id"]),
        (&json!("create"), &json!("10101"))
    );
    assert_eq!(op["label"], json!("Nongping"));
    assert_eq!(
        op["properties"],
        json!({"last_idp_hh": "12", "last_idp_ind": "50"})
    );
    // Round 2, with round 1's list as aggregate writes it.
    let dir = tempfile::tempdir().unwrap();
    let forms = crate::support::repo().join("forms");
    for file in std::fs::read_dir(&forms).unwrap().flatten() {
        std::fs::copy(file.path(), dir.path().join(file.file_name())).unwrap();
    }
    std::fs::write(
        dir.path().join("villages.csv"),
        "name,label,__version,__updatedAt,last_idp_hh,last_idp_ind\n\
         10101,Nongping,1,2026-08-14T10:00:00.000+07:00,12,20\n",
    )
    .unwrap();
    let form = crate::support::load_ok(&dir.path().join("dtm_baseline.toml"));
    let mut s = Session::new(form, crate::support::env());
    assert!(
        s.load_answers(baseline_base().as_object().unwrap())
            .is_empty()
    );
    let warned: Vec<(String, ViolationKind)> = problems(&s);
    assert_eq!(
        warned,
        [("m0310_loc_num_idp_ind".to_string(), ViolationKind::Warning)],
        "50 IDPs is more than double last round's 20"
    );
    let pos = fieldkit::form::Pos {
        path: Vec::new(),
        node: s.form().find("m0310_loc_num_idp_ind").unwrap(),
    };
    s.confirm(&pos);
    assert_eq!(problems(&s), []);
    let record = s.record();
    assert_eq!(record["meta/entity"]["action"], json!("update"));
    assert_eq!(record["meta/entity"]["base_version"], json!("1"));
    assert_eq!(
        record["meta/confirmed"][0]["field"],
        json!("m0310_loc_num_idp_ind")
    );
}
