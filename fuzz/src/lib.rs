//! What dpuflow's fuzz targets assert, and the frames their corpora start
//! from. Each target in `src/bin/` is a few lines: it hands the fuzzer's
//! bytes to a checker here and panics with the [`Violation`] it returns —
//! the panic is how libFuzzer learns of a failure. Checkers return the
//! violation rather than panicking so that tests can feed them deliberately
//! wrong results and see them refuse.
#![deny(missing_docs)]

use std::fmt;

pub mod packet;
pub mod pipeline;
#[cfg(test)]
mod pipeline_seeds;
#[cfg(test)]
mod seeds;
#[cfg(test)]
mod tests;

/// A broken invariant, said in words.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Violation(pub String);

impl fmt::Display for Violation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for Violation {}

/// Returns `Err(Violation)` with a formatted message unless `cond` holds.
macro_rules! ensure {
    ($cond:expr, $($msg:tt)+) => {
        if !$cond {
            return Err($crate::Violation(format!($($msg)+)));
        }
    };
}
pub(crate) use ensure;
