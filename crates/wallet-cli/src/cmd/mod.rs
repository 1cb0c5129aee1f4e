//! One module per command topic.

pub mod credential;
pub mod doctor;
pub mod employee;
pub mod org;
pub mod pex;
pub mod vault;
