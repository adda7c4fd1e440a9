//! Records a supervisor returned to correct, on screen: first among the
//! drafts as "returned: to correct" with the note, each comment under the
//! question it names (a repeat's by `name[n]/field`), finalized as the
//! next version.

use super::*;
use crate::bundle::receipt::Comment;
use crate::store::Returned;

const ID: &str = "01a00000-0000-7000-8000-0000000000f1";

fn note() -> Returned {
    Returned {
        version: 1,
        by: "sup-01".into(),
        at: "2026-11-23T09:00:00+07:00".into(),
        note: "check the date and the second agency".into(),
        comments: vec![
            Comment {
                field: "m1855_meta_assessment_date".into(),
                text: "the visit was on the 21st".into(),
            },
            Comment {
                field: "agencies_present[2]/agency_name".into(),
                text: "full name please".into(),
            },
        ],
    }
}

/// The home page with a returned draft beside an ordinary one.
fn home_with_returned() -> App {
    let mut app = home();
    let mut listing = app.listing().to_vec();
    let mut l = listing_of(ID, "returned site");
    l.version = 2;
    l.supersedes = Some(1);
    l.returned = Some(note().note);
    // Older than the other draft: still first.
    l.updated = "2026-11-20T08:00:00.000+07:00".into();
    listing.push(l);
    let opened = opened_with(&app, listing);
    app.update(Action::Opened(Ok(opened)));
    app
}

fn listing_of(id: &str, name: &str) -> Listing {
    super::listing(id, "dtm_site_assessment", State::Draft, name)
}

/// The returned record opened from its draft.
fn opened_returned() -> App {
    let mut app = home_with_returned();
    let entry = &forms()[form_index("dtm_site_assessment")];
    let mut draft = Draft::new(
        "dtm_site_assessment",
        &entry.form.version,
        &entry.sha256,
        &now().to_string(),
    );
    draft.id = ID.into();
    draft.answers = site_complete();
    draft.version = 2;
    draft.supersedes = Some(1);
    draft.returned = Some(note());
    app.update(Action::DraftLoaded(Ok((draft, None))));
    assert!(matches!(app.page, Page::Record(_)));
    app
}

#[test]
fn a_returned_record_heads_the_drafts_with_the_supervisors_note() {
    let app = home_with_returned();
    assert_eq!(app.drafts()[0].id, ID);
    for (w, h) in [(80, 24), (60, 20)] {
        let shown = screen_text(&app, w, h);
        assert!(
            shown.contains("returned: to correct · returned site"),
            "{shown}"
        );
        assert!(shown.contains("Supervisor: check the date"), "{shown}");
        let returned = shown.find("returned: to correct").unwrap_or(usize::MAX);
        let other = shown.find("Sanamxay evacuation site").unwrap_or(0);
        assert!(returned < other, "returned first:\n{shown}");
    }
    let mut app = app;
    app.set_language(LAO);
    let shown = screen_text(&app, 80, 24);
    assert!(shown.contains("ສົ່ງຄືນ: ໃຫ້ແກ້ໄຂ"), "{shown}");
}

#[test]
fn each_comment_shows_under_the_question_it_concerns() {
    let mut app = opened_returned();
    let status = app.status_line().map(|(s, _)| s).unwrap_or_default();
    assert!(
        status.contains("Returned to correct (version 1): check the date"),
        "{status}"
    );
    // It opens on the first question commented on.
    assert_eq!(focused_name(&app), "m1855_meta_assessment_date");
    let shown = screen_text(&app, 80, 24);
    let question = shown
        .find("date of the assessment")
        .or(shown.find("ssessment date"));
    let comment = shown.find("» Supervisor: the visit was on the 21st");
    assert!(comment.is_some(), "{shown}");
    assert!(question.is_none_or(|q| q < comment.unwrap_or(0)), "{shown}");
    assert!(!shown.contains("full name please"), "{shown}");
    // In a repeat: under the second agency's name, not the first's.
    let Page::Record(r) = &mut app.page else {
        panic!("not on a record")
    };
    let names: Vec<_> = r
        .jump_entries()
        .into_iter()
        .filter(|e| r.session.form().nodes[e.pos.node].name == "agency_name")
        .collect();
    assert!(names.len() >= 2, "the fixture has two agencies");
    r.go_to(&names[0].pos);
    assert!(!screen_text(&app, 80, 24).contains("full name please"));
    let Page::Record(r) = &mut app.page else {
        panic!("not on a record")
    };
    r.go_to(&names[1].pos);
    let shown = screen_text(&app, 80, 24);
    assert!(shown.contains("» Supervisor: full name please"), "{shown}");
}

#[test]
fn a_returned_record_finalizes_as_its_next_version() {
    let mut app = opened_returned();
    let Page::Record(r) = &mut app.page else {
        panic!("not on a record")
    };
    let (draft, _) = r.final_record(now());
    assert_eq!((draft.version, draft.supersedes), (2, Some(1)));
    assert_eq!(draft.id, ID);
    app.update(Action::Finalized(Ok(())));
    let l = app.listing().iter().find(|l| l.id == ID).expect("listed");
    assert_eq!(
        (l.state, l.version, l.returned.clone()),
        (State::Outbox, 2, None)
    );
    assert!(app.drafts().iter().all(|d| d.id != ID));
}

#[test]
fn the_review_page_lists_the_note_and_the_comments_and_goes_to_their_questions() {
    let mut app = opened_returned();
    app.open_review();
    let shown = screen_text(&app, 80, 24);
    assert!(
        shown.contains("» Supervisor: check the date and the second agency"),
        "{shown}"
    );
    assert!(shown.contains("the visit was on the 21st"), "{shown}");
    assert!(shown.contains("full name please"), "{shown}");
    // Finalize first (nothing is wrong), the note, then the comments.
    let Overlay::Review { .. } = app.overlay.clone().expect("review open") else {
        panic!("not the review page")
    };
    let at = app
        .review
        .iter()
        .position(|i| matches!(i, super::super::review::ReviewItem::Comment { text, .. } if text.contains("full name")))
        .expect("the comment listed");
    app.overlay = Some(Overlay::Review { cursor: at });
    press(&mut app, KeyCode::Enter);
    assert!(app.overlay.is_none());
    let shown = screen_text(&app, 80, 24);
    assert!(shown.contains("» Supervisor: full name please"), "{shown}");
}

#[test]
fn a_receipt_with_verdicts_says_its_counts_and_shows_the_returned_draft() {
    let mut app = home();
    let with_returned = home_with_returned();
    let opened = opened_with(&app, with_returned.listing().to_vec());
    app.update(Action::Acked(Ok((
        Receipted {
            by: "sup-01".into(),
            purged: 2,
            bundle_id: "enum-03-000001".into(),
            verdicts: 2,
            approved: 1,
            returned: 1,
            received: 0,
        },
        opened,
    ))));
    let status = app.status_line().map(|(s, _)| s).unwrap_or_default();
    assert_eq!(
        status,
        "Receipt by sup-01 taken: 1 approved, 1 returned: to correct, 0 received"
    );
    let Page::Home(h) = &app.page else {
        panic!("not home")
    };
    assert_eq!((h.pane, h.draft), (Pane::Drafts, 0));
    assert_eq!(app.drafts()[0].id, ID);
}
