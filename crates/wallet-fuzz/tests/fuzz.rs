//! A short fuzz pass over every target (a few thousand cases each) as part of the test suite;
//! `FUZZ_CASES=<n>` (or `FUZZ_CASES_<TARGET>`) per target for longer runs (`scripts/fuzz.sh`).

use wallet_fuzz::{api, backup, run_and_check, targets};

/// One test per target: `name => target, cases;`.
macro_rules! fuzz_tests {
    ($($name:ident => $target:expr, $cases:expr;)*) => {
        $(
            #[test]
            fn $name() {
                run_and_check(&$target, $cases);
            }
        )*
    };
}

fuzz_tests! {
    fuzz_deeplink => targets::deeplink(), 5_000;
    fuzz_compact_jws => targets::compact_jws(), 5_000;
    fuzz_request_object => targets::request_object(), 2_000;
    fuzz_pex_definition => targets::pex_definition(), 2_000;
    fuzz_pex_credential => targets::pex_credential(), 2_000;
    fuzz_did => targets::did(), 5_000;
    fuzz_pkcs11_uri => targets::pkcs11_uri(), 5_000;
    fuzz_profile_envelope => targets::profile_envelope(), 2_000;
    fuzz_backup_header => backup::backup_header(), 2_000;
    fuzz_api_request => api::api_request(), 1_000;
}
