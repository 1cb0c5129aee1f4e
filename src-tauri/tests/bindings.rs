//! The committed TypeScript bindings in `ui/src/ipc/bindings/`, the TypeScript client
//! `ui/src/ipc/commands.gen.ts` and the capability `capabilities/main.json` must equal what the
//! Rust DTOs and the IPC contract (`src/ipc/contract.rs`) generate. Run with `UPDATE_BINDINGS=1`
//! (`make bindings`) to regenerate them after changing a DTO or the contract.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

fn read_dir(dir: &Path) -> BTreeMap<String, String> {
    let mut out = BTreeMap::new();
    let Ok(entries) = std::fs::read_dir(dir) else {
        return out;
    };
    for e in entries {
        let p = e.unwrap().path();
        if p.extension().is_some_and(|x| x == "ts") {
            let name = p.file_name().unwrap().to_string_lossy().to_string();
            out.insert(name, std::fs::read_to_string(&p).unwrap());
        }
    }
    out
}

#[test]
fn typescript_bindings_match_the_rust_dtos() {
    let committed = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../ui/src/ipc/bindings");
    if std::env::var_os("UPDATE_BINDINGS").is_some() {
        for old in read_dir(&committed).keys() {
            std::fs::remove_file(committed.join(old)).unwrap();
        }
        nuts_wallet_app::ipc::dto::export_bindings(&committed).unwrap();
    }
    let fresh = tempfile_dir();
    nuts_wallet_app::ipc::dto::export_bindings(&fresh).unwrap();
    let want = read_dir(&fresh);
    let have = read_dir(&committed);
    std::fs::remove_dir_all(&fresh).ok();
    assert!(!want.is_empty(), "no bindings were generated");
    assert_eq!(
        have.keys().collect::<Vec<_>>(),
        want.keys().collect::<Vec<_>>(),
        "binding files differ; run `UPDATE_BINDINGS=1 cargo test -p nuts-wallet-app --test bindings`"
    );
    for (name, text) in &want {
        assert_eq!(
            &have[name], text,
            "{name} is stale; run `UPDATE_BINDINGS=1 cargo test -p nuts-wallet-app --test bindings`"
        );
    }
}

fn tempfile_dir() -> PathBuf {
    let d = std::env::temp_dir().join(format!("nuts-wallet-bindings-{}", std::process::id()));
    std::fs::create_dir_all(&d).unwrap();
    d
}

#[test]
fn typescript_client_and_capability_match_the_contract() {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    let generated = [
        (
            dir.join("../ui/src/ipc/commands.gen.ts"),
            nuts_wallet_app::ipc::codegen::typescript_client(),
        ),
        (
            dir.join("capabilities/main.json"),
            nuts_wallet_app::ipc::codegen::capability_json(),
        ),
    ];
    for (path, text) in &generated {
        if std::env::var_os("UPDATE_BINDINGS").is_some() {
            std::fs::write(path, text).unwrap();
        }
        let committed = std::fs::read_to_string(path).unwrap_or_default();
        assert_eq!(
            &committed,
            text,
            "{} is stale; run `UPDATE_BINDINGS=1 cargo test -p nuts-wallet-app --test bindings`",
            path.display()
        );
    }
}
