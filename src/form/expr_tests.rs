//! Parser tests and property tests (written next).
