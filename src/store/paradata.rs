//! A draft's paradata: how long each question was in focus on the
//! enumerator's screen, how often it came into focus and how often its
//! answer was changed once given, summed per question (one small entry per
//! question path, repeat instances by path: `members[2]/age`). Kept inside
//! the draft, so it is encrypted with the draft's answers and saved in the
//! same write; made into the finalized record's [`Paradata`] at finalize.
//!
//! Time is counted on events, never by a timer: each key on a record
//! page adds the time since the previous one (at most [`IDLE_CAP_S`]) to
//! the question that was in focus. Only while fieldkit runs: the count
//! starts again when a draft is opened. Pure: the clock is the caller's
//! (`App::now`), so tests drive it.

use serde::{Deserialize, Serialize};

use crate::form::dates::DateTime;
use crate::record::{Paradata, QuestionParadata};

/// The most one gap between two keys counts, in seconds: 5 minutes. A
/// question a key informant answers at length may sit that long without a
/// key pressed; a longer gap is a pause (a meal, the laptop asleep, the
/// lid closed), and counting it whole would make one question of an
/// interview of 20 to 60 minutes look longer than the rest together.
pub const IDLE_CAP_S: i64 = 5 * 60;

/// The paradata a draft carries.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct DraftParadata {
    /// When this version's editing began on the screen.
    pub start: String,
    /// Milliseconds counted in all (on a question or not: the "add
    /// another?" page has none in focus).
    pub ms: u64,
    /// Per question, in the order first shown.
    pub questions: Vec<QuestionTime>,
    /// The question in focus at the last event (an index into
    /// `questions`), and that event's time: not saved, so that time
    /// between two sessions is never counted.
    #[serde(skip)]
    current: Option<usize>,
    #[serde(skip)]
    last_ms: Option<i64>,
}

/// One question's entry.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct QuestionTime {
    pub field: String,
    pub ms: u64,
    /// Answers changed after the first was given.
    pub changes: u32,
    /// Times it came into focus.
    pub visits: u32,
    /// When it first and last was in focus.
    pub first: String,
    pub last: String,
    /// Whether it has had an answer (this session or before), so that
    /// the next one is a change.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub given: bool,
    /// Whether an answer was set in this visit already (a visit counts
    /// one change at most, as ODK logs a question's old and new value
    /// once as it is left: clearing and typing again is one change).
    #[serde(skip)]
    set_in_visit: bool,
}

impl DraftParadata {
    pub fn new(now: DateTime) -> Self {
        DraftParadata {
            start: now.to_string(),
            ..DraftParadata::default()
        }
    }

    /// An event at `now` with `focused` in focus: the time since the last
    /// event (capped; none after a restart or a clock set back) counts for
    /// the question in focus until now, and a question coming into focus
    /// counts a visit. True when the question in focus changed.
    pub fn tick(&mut self, now: DateTime, focused: Option<&str>) -> bool {
        let stamp = now.to_string();
        if let Some(last) = self.last_ms {
            let gap = (now.epoch_ms - last).clamp(0, IDLE_CAP_S * 1000) as u64;
            self.ms += gap;
            if let Some(q) = self.current.and_then(|i| self.questions.get_mut(i)) {
                q.ms += gap;
                q.last.clone_from(&stamp);
            }
        }
        self.last_ms = Some(now.epoch_ms);
        let was = self.current;
        self.current = focused.map(|field| {
            let i = self.entry(field);
            if was != Some(i) {
                let q = &mut self.questions[i];
                q.visits += 1;
                q.set_in_visit = false;
                if q.first.is_empty() {
                    q.first.clone_from(&stamp);
                }
                q.last.clone_from(&stamp);
            }
            i
        });
        was != self.current
    }

    /// Stops counting (the record is left): time until the next event
    /// after it is opened again is not counted.
    pub fn pause(&mut self) {
        self.current = None;
        self.last_ms = None;
    }

    /// An answer to `field` was set; `had_answer`: it held one before.
    /// A visit that sets the answer of a question already answered (in
    /// this session or before: a resumed draft, a correction) counts one
    /// change, however often it sets it.
    pub fn answered(&mut self, field: &str, had_answer: bool) {
        let i = self.entry(field);
        let q = &mut self.questions[i];
        if !q.set_in_visit {
            q.set_in_visit = true;
            if q.given || had_answer {
                q.changes += 1;
            }
        }
        q.given = true;
    }

    /// The record's paradata, finalized at `end`: whole seconds, rounded.
    pub fn finish(&self, end: &str) -> Paradata {
        Paradata {
            start: self.start.clone(),
            end: end.to_string(),
            duration_s: seconds(self.ms),
            questions: self
                .questions
                .iter()
                .filter(|q| q.visits > 0)
                .map(|q| QuestionParadata {
                    field: q.field.clone(),
                    seconds: seconds(q.ms),
                    changes: q.changes,
                    visits: q.visits,
                })
                .collect(),
        }
    }

    fn entry(&mut self, field: &str) -> usize {
        match self.questions.iter().position(|q| q.field == field) {
            Some(i) => i,
            None => {
                self.questions.push(QuestionTime {
                    field: field.to_string(),
                    ..QuestionTime::default()
                });
                self.questions.len() - 1
            }
        }
    }
}

fn seconds(ms: u64) -> u64 {
    (ms + 500) / 1000
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(s: i64) -> DateTime {
        DateTime {
            epoch_ms: 1_795_000_000_000 + s * 1000,
            offset_s: 7 * 3600,
        }
    }

    fn q<'a>(p: &'a DraftParadata, field: &str) -> &'a QuestionTime {
        p.questions.iter().find(|q| q.field == field).unwrap()
    }

    #[test]
    fn time_goes_to_the_question_in_focus_until_the_next_key() {
        let mut p = DraftParadata::new(at(0));
        assert!(p.tick(at(0), Some("a")));
        assert!(!p.tick(at(4), Some("a")));
        assert!(p.tick(at(10), Some("b")));
        assert!(p.tick(at(13), None));
        assert!(p.tick(at(20), Some("a")));
        p.tick(at(21), Some("a"));
        assert_eq!((q(&p, "a").ms, q(&p, "a").visits), (11_000, 2));
        assert_eq!((q(&p, "b").ms, q(&p, "b").visits), (3_000, 1));
        // The "add another?" page (no question) counts in the whole only.
        assert_eq!(p.ms, 21_000);
        assert_eq!(q(&p, "a").first, at(0).to_string());
        assert_eq!(q(&p, "a").last, at(21).to_string());
        assert_eq!(q(&p, "b").last, at(13).to_string());
    }

    #[test]
    fn an_idle_gap_counts_at_most_the_cap_and_a_clock_set_back_nothing() {
        let mut p = DraftParadata::new(at(0));
        p.tick(at(0), Some("a"));
        // Eight hours asleep with "a" in focus.
        p.tick(at(8 * 3600), Some("a"));
        assert_eq!(q(&p, "a").ms, IDLE_CAP_S as u64 * 1000);
        p.tick(at(8 * 3600 - 60), Some("a"));
        assert_eq!(q(&p, "a").ms, IDLE_CAP_S as u64 * 1000);
        assert_eq!(p.finish("end").duration_s, IDLE_CAP_S as u64);
    }

    #[test]
    fn time_between_sessions_is_not_counted() {
        let mut p = DraftParadata::new(at(0));
        p.tick(at(0), Some("a"));
        p.tick(at(30), Some("a"));
        p.pause();
        // Saved and read back the next day: the event times are not saved.
        let json = serde_json::to_string(&p).unwrap();
        let mut back: DraftParadata = serde_json::from_str(&json).unwrap();
        back.tick(at(86_400), Some("a"));
        back.tick(at(86_405), Some("a"));
        assert_eq!(q(&back, "a").ms, 35_000);
        assert_eq!(q(&back, "a").visits, 2);
    }

    #[test]
    fn changes_count_visits_that_set_an_answer_already_given() {
        let mut p = DraftParadata::new(at(0));
        p.tick(at(0), Some("a"));
        p.answered("a", false);
        // Typed again in the same visit: still the first answer.
        p.answered("a", true);
        assert_eq!(q(&p, "a").changes, 0);
        // Back to it twice: cleared and typed again is one change a visit.
        for _ in 0..2 {
            p.tick(at(1), Some("b"));
            p.tick(at(2), Some("a"));
            p.answered("a", true);
            p.answered("a", false);
        }
        assert_eq!(q(&p, "a").changes, 2);
        // Cleared in one visit, given again in the next: two changes.
        p.tick(at(3), Some("b"));
        p.tick(at(4), Some("a"));
        p.answered("a", true);
        p.tick(at(5), Some("b"));
        p.tick(at(6), Some("a"));
        p.answered("a", false);
        assert_eq!(q(&p, "a").changes, 4);
        // An answer a draft already held (resumed, or a correction).
        p.tick(at(7), Some("c"));
        p.answered("c", true);
        assert_eq!(q(&p, "c").changes, 1);
    }

    #[test]
    fn repeat_instances_are_their_own_entries_and_finish_rounds_seconds() {
        let mut p = DraftParadata::new(at(0));
        p.tick(at(0), Some("members[1]/age"));
        p.tick(at(2), Some("members[2]/age"));
        p.tick(at(3), Some("members[1]/age"));
        let ms = |s: i64| DateTime {
            epoch_ms: at(3).epoch_ms + s,
            offset_s: 0,
        };
        p.tick(ms(1_499), None);
        let done = p.finish("2026-12-03T10:00:00.000+07:00");
        let fields: Vec<_> = done.questions.iter().map(|q| q.field.as_str()).collect();
        assert_eq!(fields, ["members[1]/age", "members[2]/age"]);
        assert_eq!(done.questions[0].seconds, 3);
        assert_eq!(done.questions[0].visits, 2);
        assert_eq!(done.questions[1].seconds, 1);
        assert_eq!(done.duration_s, 4);
        assert_eq!(done.start, at(0).to_string());
        assert_eq!(done.end, "2026-12-03T10:00:00.000+07:00");
    }

    #[test]
    fn an_answer_without_a_visit_is_not_a_line_of_the_record() {
        let mut p = DraftParadata::new(at(0));
        p.answered("given_by_the_assignment", false);
        assert!(p.finish("end").questions.is_empty());
    }
}
