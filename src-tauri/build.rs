// The IPC contract (one row a command) is shared with the crate: see src/ipc/contract.rs.
include!("src/ipc/contract.rs");

macro_rules! command_names {
    ($($access:ident $module:ident :: $name:ident ($($arg:ident : $ty:ty),* $(,)?) -> $ret:ty;)*) => {
        &[$(stringify!($name)),*]
    };
}

/// Every command of the contract, in its order.
const COMMANDS: &[&str] = with_ipc_contract!(command_names);

fn main() {
    // One permission per command (allow-<command>); the capability grants each explicitly.
    let manifest = tauri_build::AppManifest::new().commands(COMMANDS);
    tauri_build::try_build(tauri_build::Attributes::new().app_manifest(manifest))
        .expect("tauri-build failed");
}
