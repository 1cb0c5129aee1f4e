//! Integration tests of wallet-pex (one binary, see STYLE 2.5).

mod definitions;
mod filters;
mod negotiation;
mod properties;
mod requirements;
mod support;
mod vectors;
mod verifier;
