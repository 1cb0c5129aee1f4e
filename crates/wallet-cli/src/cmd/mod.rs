//! One module per command topic.

pub mod doctor;
pub mod pex;
pub mod vault;
