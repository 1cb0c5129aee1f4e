//! One module per command topic.

pub mod apikey;
pub mod audit_export;
pub mod credential;
pub mod doctor;
pub mod employee;
pub mod org;
pub mod pex;
pub mod policy;
pub mod present;
pub mod profile;
pub mod serve;
pub mod token;
pub mod user_token;
pub mod vault;
