//! Records the git commit the wallet was built from (shown by `--version` and the About view).
use std::process::Command;

fn main() {
    let commit = std::env::var("NUTS_WALLET_BUILD_COMMIT")
        .ok()
        .filter(|c| !c.is_empty())
        .or_else(|| {
            Command::new("git")
                .args(["rev-parse", "--short=12", "HEAD"])
                .output()
                .ok()
                .filter(|o| o.status.success())
                .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_string())
        })
        .unwrap_or_else(|| "unknown".into());
    println!("cargo:rustc-env=NUTS_WALLET_COMMIT={commit}");
    println!("cargo:rerun-if-env-changed=NUTS_WALLET_BUILD_COMMIT");
    // Rebuild when HEAD moves (branch switch or new commit).
    for p in [
        "../../.git/HEAD",
        "../../.git/refs/heads",
        "../../.git/packed-refs",
    ] {
        if std::path::Path::new(p).exists() {
            println!("cargo:rerun-if-changed={p}");
        }
    }
}
