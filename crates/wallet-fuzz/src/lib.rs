//! Fuzz targets for the wallet's parsers, on stable Rust (libFuzzer needs nightly).
//!
//! [`engine`] is a seeded mutation loop that catches panics as findings; [`targets`] holds one
//! target per parser that reads untrusted input. `cargo test -p wallet-fuzz` runs a short
//! pass; `scripts/fuzz.sh` the long one (`FUZZ_CASES`, `FUZZ_SEED`).

pub mod api;
pub mod backup;
pub mod engine;
pub mod targets;

/// Administrator passphrase of the vaults the fuzz targets set up.
pub const ADMIN_PASSPHRASE: &str = "administrator of the fuzz vault";

/// A set-up wallet (organization, credential; keyring in memory, fast test KDF) in a new
/// temporary directory, which the caller keeps alive.
pub fn fuzz_wallet() -> (tempfile::TempDir, wallet_testkit::wallet::OrgWallet) {
    let dir = tempfile::tempdir().expect("temporary directory");
    let wallet = wallet_testkit::wallet::org_wallet(
        &dir.path().join("vault"),
        wallet_vault::Protection::Keyring,
        ADMIN_PASSPHRASE,
        "https://zorg.example",
    );
    (dir, wallet)
}

/// Cases for target `name`: `FUZZ_CASES_<NAME>` (e.g. `FUZZ_CASES_DEEPLINK`), else
/// `FUZZ_CASES`, else `default`.
pub fn cases_from_env(name: &str, default: u64) -> u64 {
    let read = |var: &str| {
        std::env::var(var)
            .ok()
            .and_then(|v| v.trim().replace('_', "").parse().ok())
    };
    read(&format!("FUZZ_CASES_{}", name.to_ascii_uppercase()))
        .or_else(|| read("FUZZ_CASES"))
        .unwrap_or(default)
}

/// RNG seed: `FUZZ_SEED` when set, else a fixed one (so a plain test run is reproducible).
pub fn seed_from_env() -> u64 {
    std::env::var("FUZZ_SEED")
        .ok()
        .and_then(|v| v.trim().parse().ok())
        .unwrap_or(0x5EED)
}

/// Runs `target` for `cases` (or `FUZZ_CASES`), prints the report line, and fails with every
/// finding's message and input.
pub fn run_and_check(target: &engine::Target, default_cases: u64) {
    let cases = cases_from_env(target.name, default_cases);
    let report = engine::fuzz(target, cases, seed_from_env());
    println!("FUZZ {}", report.line());
    if !report.findings.is_empty() {
        let detail: Vec<String> = report
            .findings
            .iter()
            .map(|f| format!("  {}\n    input: {}", f.message, engine::show(&f.input)))
            .collect();
        panic!(
            "{}: {} distinct panic(s):\n{}",
            target.name,
            report.findings.len(),
            detail.join("\n")
        );
    }
}
