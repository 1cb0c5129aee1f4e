//! Commands through Tauri's real IPC path on the mock runtime (no window, no display).

use nuts_wallet_app::state::AppState;
use serde_json::Value;
use tauri::ipc::{CallbackFn, InvokeBody};
use tauri::Manager;

fn call(wv: &tauri::WebviewWindow<tauri::test::MockRuntime>, cmd: &str) -> Value {
    tauri::test::get_ipc_response(
        wv,
        tauri::webview::InvokeRequest {
            cmd: cmd.into(),
            callback: CallbackFn(0),
            error: CallbackFn(1),
            url: "tauri://localhost".parse().unwrap(),
            body: InvokeBody::Json(serde_json::json!({})),
            headers: Default::default(),
            invoke_key: tauri::test::INVOKE_KEY.to_string(),
        },
    )
    .map(|b| b.deserialize::<Value>().unwrap())
    .unwrap_or_else(|e| panic!("{cmd} failed: {e:?}"))
}

#[test]
fn app_info_and_incoming_requests_round_trip() {
    let data_dir = std::env::temp_dir().join("nuts-wallet-ipc-test");
    let app = nuts_wallet_app::with_commands(
        tauri::test::mock_builder(),
        AppState::new(data_dir.clone(), true),
    )
    .build(tauri::test::mock_context(tauri::test::noop_assets()))
    .unwrap();
    let wv = tauri::WebviewWindowBuilder::new(&app, "main", Default::default())
        .build()
        .unwrap();

    let info = call(&wv, "app_info");
    assert_eq!(info["version"], env!("CARGO_PKG_VERSION"));
    assert_eq!(info["dataDir"], data_dir.display().to_string());
    assert_eq!(info["devMode"], true);
    assert!(info["logDir"].as_str().unwrap().ends_with("logs"));

    assert_eq!(call(&wv, "incoming_requests"), serde_json::json!([]));
    let state = app.state::<AppState>();
    state.receive_link(
        "nuts-wallet://authorize?client_id=https://as.example/o&request_uri=https://as.example/r",
    );
    state.receive_link("nuts-wallet://authorize?client_id=http://as.example/o");
    let list = call(&wv, "incoming_requests");
    assert_eq!(list[0]["id"], 1);
    assert_eq!(list[0]["outcome"]["kind"], "authorize");
    assert_eq!(list[0]["outcome"]["verifierHost"], "as.example");
    assert_eq!(list[1]["outcome"]["kind"], "invalid");
    assert_eq!(list[1]["outcome"]["code"], "invalid_parameter");
}
