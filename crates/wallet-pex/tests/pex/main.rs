//! Integration tests of wallet-pex (one binary, see STYLE 2.5).

mod definitions;
mod properties;
mod requirements;
mod support;
mod vectors;
mod verifier;
