//! One problem in a file someone wrote by hand or another tool produced: a
//! benchmark, a layout, an inventory, a waiver file. Loaders collect every
//! problem they find, each with its file and line, so the author fixes the
//! file in one pass.

use std::fmt;

/// A problem at `file:line` (`line` 0: the file as a whole).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Problem {
    pub file: String,
    pub line: usize,
    pub message: String,
}

impl fmt::Display for Problem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.line > 0 {
            write!(f, "{}:{}: {}", self.file, self.line, self.message)
        } else {
            write!(f, "{}: {}", self.file, self.message)
        }
    }
}
