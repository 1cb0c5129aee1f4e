//! The Nuts test vectors in `vectors/nuts` at the repository root.

use std::path::PathBuf;

/// The vectors directory.
pub const DIR: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../../vectors/nuts");

/// The path of the vector `rel` (relative to [`DIR`]).
pub fn path(rel: &str) -> PathBuf {
    PathBuf::from(format!("{DIR}/{rel}"))
}

/// The text of the vector `rel`; panics with the path when it cannot be read.
pub fn read(rel: &str) -> String {
    let path = path(rel);
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}
