//! Unit tests of every operator and function (written next).
