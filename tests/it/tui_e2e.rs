//! The enumerator's screen end to end, in a real terminal: the real
//! binary in tmux at 80x24, typed like a person fills a DTM site
//! assessment from the home screen to finalize. On the way: province and
//! district picked by filtering, a village found by typing part of its Lao
//! name, four answers refused by their constraints and corrected, the
//! terminal killed mid-way and the draft resumed, one agency in the repeat
//! and a second declined, review and finalize. Then the store is checked,
//! and the finalized record is decrypted with the demo data manager key.

use std::path::PathBuf;
use std::time::{Duration, Instant};

use serde_json::{Value, json};

use crate::support::{Enumerator, Tmux, have, repo, stderr};

const NOW: &str = "2026-11-22T09:00:00+07:00";

/// How long one step may take to show on screen (the first screen waits
/// for the passphrase's key derivation in a debug build).
const PATIENCE: Duration = Duration::from_secs(20);

/// The real `fieldkit` (no subcommand: the enumerator's screen) in an
/// 80x24 tmux terminal, and what it wrote to stderr.
pub(crate) struct Screen {
    term: Tmux,
    log: PathBuf,
}

impl Screen {
    pub(crate) fn start(e: &Enumerator, name: &str) -> Screen {
        Screen::start_with(e, name, "")
    }

    /// With more arguments (e.g. `--forms 'DIR'`), as shell words.
    pub(crate) fn start_with(e: &Enumerator, name: &str, args: &str) -> Screen {
        let log = e.dir.path().join(format!("{name}.stderr"));
        let cmd = format!(
            "cd '{}' && unset FIELDKIT_HOME FIELDKIT_FORMS; \
             FIELDKIT_NOW='{NOW}' XDG_DATA_HOME=/nonexistent/fieldkit-tests \
             exec '{}' --home '{}' --passphrase-file '{}' {args} 2>'{}'",
            repo().display(),
            env!("CARGO_BIN_EXE_fieldkit"),
            e.home.display(),
            e.passphrase_file.display(),
            log.display()
        );
        Screen {
            term: Tmux::start(name, &cmd, 80, 24),
            log,
        }
    }

    pub(crate) fn screen(&self) -> String {
        self.term.screen()
    }

    /// The screen and the program's stderr, for assertion messages.
    pub(crate) fn shows(&self) -> String {
        let err = std::fs::read_to_string(&self.log).unwrap_or_default();
        format!(
            "the screen shows:\n{}\n--- stderr:\n{err}",
            frame(&self.screen())
        )
    }

    /// Waits until `ok` holds for the screen; fails the test otherwise.
    pub(crate) fn wait(&self, what: &str, ok: impl Fn(&str) -> bool) -> String {
        let start = Instant::now();
        loop {
            let screen = self.screen();
            if ok(&screen) {
                return screen;
            }
            if start.elapsed() > PATIENCE {
                panic!("waited {PATIENCE:?} for {what}; {}", self.shows());
            }
            std::thread::sleep(Duration::from_millis(30));
        }
    }

    pub(crate) fn see(&self, text: &str) -> String {
        self.wait(&format!("'{text}'"), |s| s.contains(text))
    }

    pub(crate) fn keys(&self, keys: &[&str]) {
        self.term.send("", keys);
    }

    pub(crate) fn type_text(&self, text: &str) {
        self.term.send(text, &[]);
    }

    /// Waits until the question labelled `label` has the focus: on a page
    /// of several questions its line carries the ▸ marker.
    pub(crate) fn at(&self, label: &str) {
        self.wait(&format!("the focus on '{label}'"), |s| focused_on(s, label));
    }

    /// Types an answer and Enter.
    pub(crate) fn answer(&self, label: &str, value: &str) {
        self.at(label);
        self.type_text(value);
        self.keys(&["Enter"]);
    }

    /// Enter on a note.
    fn read_note(&self, text: &str) {
        self.at(text);
        self.keys(&["Enter"]);
    }

    /// Types `filter` in a list of choices, checks that `choice` is the
    /// first match, and goes into the list on it (Down). Once a filter is
    /// typed, Space is part of it ("on this device") until an arrow key.
    fn filter(&self, filter: &str, choice: &str) {
        self.keys(&["C-u"]);
        self.type_text(filter);
        self.wait(
            &format!("'{choice}' first when filtered by '{filter}'"),
            |s| first_choice(s, filter).is_some_and(|c| c == choice),
        );
        self.keys(&["Down"]);
    }

    /// select_one: filters, Down then Space picks the first match, Enter
    /// goes on (Enter alone never picks).
    pub(crate) fn choose(&self, label: &str, filter: &str, choice: &str) {
        self.at(label);
        self.filter(filter, choice);
        self.keys(&["Space"]);
        let picked = format!("(•) {choice}");
        self.wait(&format!("'{picked}'"), |s| {
            s.lines().any(|l| l.trim() == picked)
        });
        self.keys(&["Enter"]);
    }

    /// select_multiple: ticks each (filter, choice): the filter, Down, then
    /// Space ticks the highlighted choice; Enter goes on.
    fn tick(&self, label: &str, picks: &[(&str, &str)]) {
        self.at(label);
        for (filter, choice) in picks {
            self.filter(filter, choice);
            self.keys(&["Space"]);
            let ticked = format!("[x] {choice}");
            self.wait(&format!("'{ticked}'"), |s| {
                s.lines().any(|l| l.trim() == ticked)
            });
        }
        self.keys(&["Enter"]);
    }

    /// Types an answer its constraint refuses, checks the "!" message under
    /// the field, then clears the field and types the right answer.
    fn refused_then(&self, label: &str, wrong: &str, message: &str, right: &str) {
        self.at(label);
        self.type_text(wrong);
        self.keys(&["Enter"]);
        let bang = format!("! {message}");
        let screen = self.see(&bang);
        assert!(
            focused_on(&screen, label),
            "a refused answer stays on its field; {}",
            self.shows()
        );
        self.keys(&["C-u"]);
        self.type_text(right);
        self.keys(&["Enter"]);
        self.wait(&format!("'{bang}' gone"), |s| !s.contains(&bang));
    }

    /// The terminal dies: the tmux session is killed under the program.
    fn kill(self) {
        let out = std::process::Command::new("tmux")
            .args(["kill-session", "-t", &self.term.session])
            .output()
            .expect("run tmux");
        assert!(out.status.success(), "tmux: {}", stderr(&out));
    }

    /// Waits for the program to end (its terminal closes with it).
    pub(crate) fn wait_gone(&self) {
        let start = Instant::now();
        while std::process::Command::new("tmux")
            .args(["has-session", "-t", &self.term.session])
            .output()
            .is_ok_and(|o| o.status.success())
        {
            if start.elapsed() > PATIENCE {
                panic!("fieldkit did not quit; {}", self.shows());
            }
            std::thread::sleep(Duration::from_millis(30));
        }
    }
}

/// The screen with a frame, so that its edges show in a failure message.
pub(crate) fn frame(screen: &str) -> String {
    let mut out = String::from("+--------\n");
    for line in screen.lines() {
        out.push('|');
        out.push_str(line);
        out.push('\n');
    }
    out.push_str("+--------");
    out
}

/// Whether the question labelled `label` has the focus: its line shows
/// and, when a line carries the ▸ marker (pages of several questions),
/// that line is the one.
pub(crate) fn focused_on(screen: &str, label: &str) -> bool {
    let marked = screen.lines().any(|l| l.starts_with('▸'));
    screen
        .lines()
        .any(|l| l.contains(label) && (!marked || l.starts_with('▸')))
}

/// The first choice listed under the filter line "/ FILTER  showing k of n".
fn first_choice(screen: &str, filter: &str) -> Option<String> {
    let lines: Vec<&str> = screen.lines().collect();
    let at = lines
        .iter()
        .position(|l| l.starts_with(&format!("   / {filter}  showing")))?;
    // The line after it says how to pick; then the choices.
    let line = lines.get(at + 2)?.trim();
    // "( ) label", "(•) label", "[ ] label" or "[x] label".
    let (_, label) = line.split_once([')', ']'])?;
    Some(label.trim().to_string())
}

/// `fieldkit status --json` once the program is gone (status waits for
/// nobody: it says "in use" while the killed program still closes).
fn status_when_free(e: &Enumerator) -> Value {
    let start = Instant::now();
    loop {
        let out = e.run(&["status", "--json"]);
        if out.status.code() == Some(0) {
            return serde_json::from_slice(&out.stdout).unwrap();
        }
        assert!(
            start.elapsed() < PATIENCE && stderr(&out).contains("in use"),
            "status: {}",
            stderr(&out)
        );
        std::thread::sleep(Duration::from_millis(50));
    }
}

#[test]
fn an_enumerator_types_a_site_assessment_survives_a_dead_terminal_and_finalizes() {
    let test = "an_enumerator_types_a_site_assessment_survives_a_dead_terminal_and_finalizes";
    if !have("tmux", test) {
        return;
    }
    let e = Enumerator::init("enum-07");

    // ---- First sitting: from the home screen to the key informant.
    let s = Screen::start(&e, "tui-e2e-1");
    let home = s.see("No drafts.");
    let forms: Vec<&str> = home
        .lines()
        .skip_while(|l| !l.contains("Forms"))
        .skip(1)
        .take_while(|l| !l.trim().is_empty())
        .collect();
    let below = forms
        .iter()
        .position(|l| l.contains("DTM Site Assessment (MSLA)"))
        .unwrap_or_else(|| panic!("the form is not listed; {}", s.shows()));
    for _ in 0..below {
        s.keys(&["Down"]);
    }
    s.wait("the form selected", |sc| {
        sc.lines()
            .any(|l| l.starts_with("▸ DTM Site Assessment (MSLA)"))
    });
    s.keys(&["Enter"]);
    s.see("Question 1 of");

    // Assessment (one page of four questions).
    s.refused_then(
        "Date of the assessment",
        "2026-12-01",
        "The assessment date cannot be in the future.",
        "2026-11-20",
    );
    s.choose("Sex of the enumerator", "fem", "Female");
    s.choose(
        "How is this assessment done?",
        "site device",
        "In person at the site, on this device",
    );
    s.answer("Survey round", "R03");

    // Site identity and location (one question a page). A new site: not
    // in last round's list, so Enter with nothing chosen, and its name.
    s.at("Site from last round's list");
    s.keys(&["Enter"]);
    s.answer("Site name", "Ban Hinlat school");
    s.answer("Site ID (SSID)", "NEW");
    s.choose("Province", "attap", "Attapeu");
    s.choose("District", "sanam", "Sanamxay");
    // Sanamxay's villages have Lao names only: "ຫີນລ" finds Ban Hinlat.
    s.at("Village where the site is");
    s.see("showing 47 of 47");
    s.filter("ຫີນລ", "ຫີນລາດ");
    s.see("showing 1 of 47");
    s.keys(&["Space", "Enter"]);
    s.answer("GPS coordinates of the site", "14.79 106.83");
    s.choose(
        "Type of site",
        "collective",
        "Collective centre (school, temple, public building)",
    );
    s.choose(
        "Can humanitarian workers and vehicles reach the site?",
        "limited",
        "Limited access",
    );
    s.tick(
        "What limits access to the site?",
        &[
            ("flooded", "Roads flooded"),
            ("boat", "Reachable only by boat"),
        ],
    );
    s.choose("Who manages the site?", "govern", "Government authorities");
    s.answer(
        "Name of the managing authority or organisation",
        "District Disaster Management Committee",
    );
    s.answer("When did the site open", "2026-11-15");

    // Key informant (one page).
    s.choose(
        "Role of the main key informant",
        "chief",
        "Village chief or village committee member",
    );
    s.choose("Read to the informant", "yes", "Yes");

    // The population page opens; the enumerator starts filtering the
    // reasons (the filter on screen shows that the consent was saved: the
    // program reads the next key only after the save) and the terminal dies.
    s.at("Main reason the people at this site were displaced");
    s.type_text("dam");
    s.see("   / dam  showing");
    s.kill();

    // ---- The store after the crash: one draft, everything answered kept.
    assert_eq!(
        status_when_free(&e),
        json!({"drafts": 1, "outbox": 0, "sent": 0, "bundles": 0})
    );
    {
        let store = e.open();
        let listing = store.listing().unwrap();
        assert_eq!(listing.len(), 1, "{listing:?}");
        let draft = store.load_draft(&listing[0].id).unwrap();
        let a = &draft.answers;
        for (name, value) in [
            ("m1855_meta_assessment_date", json!("2026-11-20")),
            ("m0448_loc_site_name", json!("Ban Hinlat school")),
            ("m0303_meta_adm1_pcode", json!("LA17")),
            ("m0304_meta_adm2_pcode", json!("LA1703")),
            ("m0306_meta_adm4_pcode", json!("1703032")),
            (
                "site_access_constraints",
                json!(["flooded_road", "boat_only"]),
            ),
            ("ki_consent", json!("yes")),
        ] {
            assert_eq!(a.get(name), Some(&value), "{name} in {a:#?}");
        }
        assert!(a.get("m0329_loc_reason_disp_idp").is_none(), "{a:#?}");
        assert_eq!(draft.instance_name, "Ban Hinlat school 2026-11-20");
    }

    // ---- Second sitting: resume the draft from the home screen.
    let s = Screen::start(&e, "tui-e2e-2");
    s.see("Drafts (1)");
    s.wait("the draft selected", |sc| {
        sc.lines()
            .any(|l| l.starts_with("▸ Ban Hinlat school 2026-11-20 · DTM Site Assessment (MSLA)"))
    });
    s.keys(&["Enter"]);
    // It resumes at the first unanswered question, past all the answered
    // ones, with nothing of the unsaved filter.
    s.at("Main reason the people at this site were displaced");
    let resumed = s.see("(type to filter)");
    assert!(!resumed.contains("Question 1 of"), "{}", s.shows());
    // The page before shows the answers given before the crash.
    s.keys(&["PgUp"]);
    s.see("= Village chief or village committee member");
    // (The consent, focused, shows as the chosen choice in its list.)
    s.see("(•) Yes");
    s.keys(&["PgDn"]);

    // Population, with individuals fewer than households refused.
    s.choose(
        "Main reason the people at this site were displaced",
        "collapse",
        "Dam collapse or failure (e.g. Xe-Pian Xe-Namnoy, Attapeu 2018)",
    );
    s.answer("How many displaced households", "120");
    s.refused_then(
        "How many displaced people (individuals)",
        "80",
        "Individuals cannot be fewer than households (120)",
        "540",
    );

    // Sex and age: eight numbers that must add up to 540.
    s.read_note("Split the 540 individuals by sex and age.");
    for (label, n) in [
        ("Girls aged 0-5", "50"),
        ("Girls aged 6-17", "80"),
        ("Women aged 18-59", "120"),
        ("Women aged 60 and over", "25"),
        ("Boys aged 0-5", "55"),
        ("Boys aged 6-17", "85"),
        ("Men aged 18-59", "100"),
    ] {
        s.answer(label, n);
    }
    s.refused_then(
        "Men aged 60 and over",
        "20",
        "The eight sex and age counts do not add up to the total of 540",
        "25",
    );

    // People with specific needs.
    s.read_note("Ask for numbers only, never for names.");
    for (label, n) in [
        ("Persons with disabilities", "12"),
        ("Pregnant or breastfeeding women", "18"),
        ("Unaccompanied or separated children", "3"),
        ("Older persons (60+) living alone", "6"),
        ("Persons with a chronic illness", "15"),
    ] {
        s.answer(label, n);
    }

    // WASH.
    s.choose("Main source of drinking water", "truck", "Water trucking");
    s.choose("Do most people at the site have enough water", "no", "No");
    s.answer("How many latrines", "12");
    s.read_note("About 45 people share each working latrine");
    s.choose(
        "Are there separate latrines for women and girls",
        "no",
        "No",
    );
    s.choose("Are there handwashing facilities", "yes", "Yes");
    s.choose("How is solid waste", "burn", "Burned");

    // Shelter.
    s.tick(
        "Where do people at the site sleep?",
        &[
            (
                "collective",
                "Inside a collective building (school, temple, hall)",
            ),
            ("tent", "Tent"),
        ],
    );
    s.answer("How many households have no shelter at all", "0");
    s.answer("How many shelters", "9");

    // Health.
    s.choose(
        "Can people at the site reach a functioning health facility",
        "yes",
        "Yes",
    );
    s.answer("Distance to the nearest functioning health facility", "4.5");
    s.answer("How many minutes does it usually take", "30");
    s.tick(
        "What are the main health problems at the site now?",
        &[("diarr", "Diarrhoea"), ("skin", "Skin disease")],
    );
    s.choose(
        "How often does a mobile clinic",
        "least",
        "At least once a week",
    );

    // Food.
    s.choose(
        "Main source of food",
        "distribution",
        "Food distribution (government or agencies)",
    );
    s.choose("Has there been a food distribution", "yes", "Yes");
    s.choose("Is there a functioning market", "no", "No");

    // Protection.
    s.read_note("Ask about the site in general.");
    s.choose("have there been security incidents", "no", "No");
    s.choose(
        "Is there lighting at night",
        "some",
        "Only some areas are lit",
    );
    s.choose("Is there a safe space for women and girls", "no", "No");
    s.choose(
        "know where to get help for gender-based violence",
        "yes",
        "Yes",
    );
    s.choose(
        "Is there a referral service for child-protection",
        "don't",
        "Don't know",
    );
    s.choose("Is unexploded ordnance (UXO) known", "yes", "Yes");
    s.choose("received UXO risk awareness", "no", "No");

    // Education (there are children aged 6-17), communication, livelihoods.
    s.choose("How many of the school-age children", "few", "A few");
    s.tick(
        "How do people at the site prefer to receive information?",
        &[
            ("loud", "Village loudspeaker"),
            ("whats", "WhatsApp, LINE or Facebook"),
        ],
    );
    s.choose(
        "Mobile phone network at the site",
        "weak",
        "Weak or only in some places",
    );
    s.choose(
        "Main livelihood of most households BEFORE",
        "rice",
        "Rice farming",
    );
    s.choose(
        "Main livelihood of most households NOW",
        "humanit",
        "Humanitarian or government assistance",
    );

    // Agencies present: one entry, and no second.
    s.choose("Are any organisations", "yes", "Yes");
    s.see("Agencies present?");
    s.see("Entries so far: 0");
    s.keys(&["y"]);
    s.answer("Agency 1: name of the organisation", "Lao Red Cross");
    s.tick(
        "Agency 1: in which sectors",
        &[
            ("health", "Health"),
            ("shelter", "Shelter and household items"),
        ],
    );
    s.see("Agencies present?");
    s.see("Entries so far: 1");
    s.keys(&["n"]);

    // Priority needs: the second may not repeat the first.
    s.choose(
        "What is the FIRST (most urgent) need",
        "drinking",
        "Drinking water",
    );
    s.at("SECOND priority need");
    s.filter("drinking", "Drinking water");
    s.keys(&["Space", "Enter"]);
    s.see("! The second need must differ from the first need.");
    s.filter("medic", "Medicines");
    s.keys(&["Space", "Enter"]);
    s.choose(
        "THIRD priority need",
        "household",
        "Household items (mats, blankets, mosquito nets, cooking sets)",
    );

    // Remarks, then review (Ctrl-F keeps what is typed) and finalize.
    s.at("Remarks");
    s.type_text("Road flooded, boat only");
    s.keys(&["C-f"]);
    s.see("Review before finalizing");
    s.see("Every required question is answered");
    s.keys(&["Enter"]);
    let home = s.see("Record finalized");
    assert!(home.contains("Drafts (0)"), "{}", s.shows());
    let line = home
        .lines()
        .find(|l| l.contains("DTM Site Assessment (MSLA)"))
        .unwrap_or_default();
    assert!(line.ends_with("0 ·   1 ·   0"), "{}", s.shows());
    s.keys(&["q"]);
    s.wait_gone();

    // ---- The store: no draft, one record in the outbox.
    assert_eq!(
        status_when_free(&e),
        json!({"drafts": 0, "outbox": 1, "sent": 0, "bundles": 0})
    );
    let store = e.open();
    let listing = store.listing().unwrap();
    assert_eq!(listing.len(), 1, "{listing:?}");
    assert_eq!(listing[0].state, fieldkit::store::State::Outbox);
    assert_eq!(listing[0].form_id, "dtm_site_assessment");
    let ciphertext = store.outbox_record(&listing[0].id).unwrap();

    // The data manager reads it.
    let key = std::fs::read_to_string(repo().join("keys/demo/data-manager.key")).unwrap();
    let ids = fieldkit::crypt::parse_identities(&key).unwrap();
    let plain = fieldkit::crypt::decrypt_with(&ids[0], &ciphertext).unwrap();
    let record: Value = serde_json::from_slice(&plain).unwrap();
    let v = &record["values"];
    let expect = json!({
        "m1855_meta_assessment_date": "2026-11-20",
        "m1470_meta_enum_sex": "female",
        "m1725_meta_interview_type": "inperson_mobile",
        "m0489_meta_survey_round": "R03",
        "m0448_loc_site_name": "Ban Hinlat school",
        "m0445_loc_site_id_ssid": "NEW",
        "m0303_meta_adm1_pcode": "LA17",
        "m0304_meta_adm2_pcode": "LA1703",
        "m0306_meta_adm4_pcode": "1703032",
        "m1650_loc_gps_coords": "14.79 106.83",
        "site_access_constraints": ["flooded_road", "boat_only"],
        "ki_consent": "yes",
        "m0329_loc_reason_disp_idp": "dam_collapse",
        "m1537_loc_num_arrivals_hh": 120,
        "m0310_loc_num_idp_ind": 540,
        "num_idp_men_60plus": 25,
        "m2970_loc_num_children_idp": "270",
        "wash_enough_water": "no",
        "health_facility_distance_km": 4.5,
        "health_main_problems": ["diarrhoea", "skin_disease"],
        "prot_cp_referral": "dnk",
        "agencies_any": "yes",
        "agencies_present": [{
            "agency_number": "1",
            "agency_name": "Lao Red Cross",
            "agency_sectors": ["health", "shelter_nfi"],
        }],
        "num_agencies": "1",
        "priority_need_1": "drinking_water",
        "priority_need_2": "medicines",
        "priority_need_3": "nfi",
        "remarks": "Road flooded, boat only",
    });
    let mut wrong = Vec::new();
    for (name, want) in expect.as_object().unwrap() {
        if &v[name] != want {
            wrong.push(format!("{name}: {} (expected {want})", v[name]));
        }
    }
    assert!(
        wrong.is_empty(),
        "{}\nin the record:\n{record:#}",
        wrong.join("\n")
    );
    assert_eq!(record["enumerator_id"], "enum-07");
    assert_eq!(record["record_id"], json!(listing[0].id));
}
