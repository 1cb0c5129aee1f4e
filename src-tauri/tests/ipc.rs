//! Commands through Tauri's real IPC path on the mock runtime (no window, no display).

use std::sync::Arc;

use nuts_wallet_app::state::AppState;
use serde_json::{json, Value};
use tauri::ipc::{CallbackFn, InvokeBody};
use tauri::test::MockRuntime;
use tauri::{Manager, WebviewWindow};
use wallet_core::session::WalletSession;
use wallet_vault::{KdfParams, MemoryKeyStore};

fn invoke(wv: &WebviewWindow<MockRuntime>, cmd: &str, args: Value) -> Result<Value, Value> {
    tauri::test::get_ipc_response(
        wv,
        tauri::webview::InvokeRequest {
            cmd: cmd.into(),
            callback: CallbackFn(0),
            error: CallbackFn(1),
            url: "tauri://localhost".parse().unwrap(),
            body: InvokeBody::Json(args),
            headers: Default::default(),
            invoke_key: tauri::test::INVOKE_KEY.to_string(),
        },
    )
    .map(|b| b.deserialize::<Value>().unwrap())
}

fn call(wv: &WebviewWindow<MockRuntime>, cmd: &str, args: Value) -> Value {
    invoke(wv, cmd, args).unwrap_or_else(|e| panic!("{cmd} failed: {e}"))
}

fn app(data_dir: &std::path::Path) -> (tauri::App<MockRuntime>, WebviewWindow<MockRuntime>) {
    let session = WalletSession::with_kdf(
        data_dir,
        Arc::new(MemoryKeyStore::new()),
        KdfParams::INSECURE_TEST,
    );
    let app = nuts_wallet_app::with_commands(
        tauri::test::mock_builder(),
        AppState::new(data_dir.to_path_buf(), true, session),
    )
    .build(tauri::test::mock_context(tauri::test::noop_assets()))
    .unwrap();
    let wv = tauri::WebviewWindowBuilder::new(&app, "main", Default::default())
        .build()
        .unwrap();
    (app, wv)
}

#[test]
fn app_info_and_incoming_requests_round_trip() {
    let tmp = tempfile::tempdir().unwrap();
    let (app, wv) = app(tmp.path());

    let info = call(&wv, "app_info", json!({}));
    assert_eq!(info["version"], env!("CARGO_PKG_VERSION"));
    assert_eq!(info["dataDir"], tmp.path().display().to_string());
    assert_eq!(info["devMode"], true);
    assert!(info["logDir"].as_str().unwrap().ends_with("logs"));

    assert_eq!(call(&wv, "incoming_requests", json!({})), json!([]));
    let state = app.state::<AppState>();
    state.receive_link(
        "nuts-wallet://authorize?client_id=https://as.example/o&request_uri=https://as.example/r",
    );
    state.receive_link("nuts-wallet://authorize?client_id=http://as.example/o");
    let list = call(&wv, "incoming_requests", json!({}));
    assert_eq!(list[0]["id"], 1);
    assert_eq!(list[0]["outcome"]["kind"], "authorize");
    assert_eq!(list[0]["outcome"]["verifierHost"], "as.example");
    assert_eq!(list[1]["outcome"]["kind"], "invalid");
    assert_eq!(list[1]["outcome"]["code"], "invalid_parameter");
}

#[test]
fn setup_lock_unlock_and_activity_through_ipc() {
    let tmp = tempfile::tempdir().unwrap();
    let (_app, wv) = app(tmp.path());

    assert_eq!(
        call(&wv, "vault_status", json!({}))["state"],
        "uninitialized"
    );
    // Locked or missing vault: activity is refused with a code the UI can act on.
    let err = invoke(&wv, "activity_list", json!({"query": {}})).unwrap_err();
    assert_eq!(err["code"], "not_initialized");

    let short = invoke(
        &wv,
        "vault_setup",
        json!({"input": {"useKeyring": false, "passphrase": "vault pass 1", "adminPassphrase": "short"}}),
    )
    .unwrap_err();
    assert_eq!(short["code"], "invalid_input", "{short}");

    let v = call(
        &wv,
        "vault_setup",
        json!({"input": {"useKeyring": false, "passphrase": "vault pass 1", "adminPassphrase": "admin pass 1"}}),
    );
    assert_eq!(v["state"], "unlocked");
    assert_eq!(v["protection"], json!(["passphrase"]));
    assert_eq!(v["autoLockSecs"], 600);

    assert_eq!(call(&wv, "vault_lock", json!({}))["state"], "locked");
    let err = invoke(
        &wv,
        "vault_unlock",
        json!({"input": {"passphrase": "nope nope"}}),
    )
    .unwrap_err();
    assert_eq!(err["code"], "wrong_passphrase");
    assert!(!err["message"].as_str().unwrap().contains("nope"));
    let v = call(
        &wv,
        "vault_unlock",
        json!({"input": {"passphrase": "vault pass 1"}}),
    );
    assert_eq!(v["state"], "unlocked");

    let all = call(&wv, "activity_list", json!({"query": {}}));
    let actions: Vec<_> = all
        .as_array()
        .unwrap()
        .iter()
        .map(|e| {
            format!(
                "{}/{}",
                e["action"].as_str().unwrap(),
                e["outcome"].as_str().unwrap()
            )
        })
        .collect();
    assert_eq!(
        actions,
        [
            "vault.unlock/success",
            "vault.unlock/failure",
            "api_key.create/success",
            "vault.create/success"
        ]
    );
    let failures = call(
        &wv,
        "activity_list",
        json!({"query": {"outcome": "failure"}}),
    );
    assert_eq!(failures.as_array().unwrap().len(), 1);
    let check = call(&wv, "activity_verify", json!({}));
    assert_eq!(check["intact"], true);
    assert_eq!(check["entries"], 4);
}

#[test]
fn admin_session_gates_settings_and_ends_on_lock() {
    let tmp = tempfile::tempdir().unwrap();
    let (_app, wv) = app(tmp.path());
    call(
        &wv,
        "vault_setup",
        json!({"input": {"useKeyring": false, "passphrase": "vault pass 1", "adminPassphrase": "admin pass 1"}}),
    );
    assert_eq!(call(&wv, "admin_status", json!({}))["active"], false);
    let err = invoke(&wv, "set_auto_lock", json!({"minutes": 5})).unwrap_err();
    assert_eq!(err["code"], "admin_required");
    let err = invoke(
        &wv,
        "admin_login",
        json!({"input": {"passphrase": "vault pass 1"}}),
    )
    .unwrap_err();
    assert_eq!(err["code"], "wrong_passphrase");
    let a = call(
        &wv,
        "admin_login",
        json!({"input": {"passphrase": "admin pass 1"}}),
    );
    assert_eq!(a["active"], true);
    assert!(a["remainingSecs"].as_u64().unwrap() > 800);
    let err = invoke(&wv, "set_auto_lock", json!({"minutes": 0})).unwrap_err();
    assert_eq!(err["code"], "invalid_input");
    assert_eq!(
        call(&wv, "set_auto_lock", json!({"minutes": 5}))["autoLockSecs"],
        300
    );
    call(&wv, "vault_lock", json!({}));
    call(
        &wv,
        "vault_unlock",
        json!({"input": {"passphrase": "vault pass 1"}}),
    );
    assert_eq!(call(&wv, "admin_status", json!({}))["active"], false);
    assert_eq!(call(&wv, "vault_status", json!({}))["autoLockSecs"], 300);
}

#[test]
fn policy_editor_needs_the_administrator_and_round_trips() {
    let tmp = tempfile::tempdir().unwrap();
    let (_app, wv) = app(tmp.path());
    call(
        &wv,
        "vault_setup",
        json!({"input": {"useKeyring": false, "passphrase": "vault pass 1", "adminPassphrase": "admin pass 1"}}),
    );
    assert_eq!(call(&wv, "policy_get", json!({})), json!([]));
    let allow = json!({"change": {"kind": "allowServer", "authorizationServer": "https://as.example/oauth2/a"}});
    let err = invoke(&wv, "policy_change", allow.clone()).unwrap_err();
    assert_eq!(err["code"], "admin_required");
    call(
        &wv,
        "admin_login",
        json!({"input": {"passphrase": "admin pass 1"}}),
    );
    call(&wv, "policy_change", allow);
    let p = call(
        &wv,
        "policy_change",
        json!({"change": {"kind": "allowScope", "authorizationServer": "https://as.example/oauth2/a", "scope": "test"}}),
    );
    assert_eq!(
        p,
        json!([{"authorizationServer": "https://as.example/oauth2/a", "noPromptScopes": ["test"], "unsolicited": false,
                "displayName": null, "scopeDescriptions": []}])
    );
    // The name and scope texts the consent screens show.
    let p = call(
        &wv,
        "policy_change",
        json!({"change": {"kind": "nameServer", "authorizationServer": "https://as.example/oauth2/a", "displayName": " Ziekenhuis Oost "}}),
    );
    assert_eq!(p[0]["displayName"], "Ziekenhuis Oost");
    let p = call(
        &wv,
        "policy_change",
        json!({"change": {"kind": "describeScope", "authorizationServer": "https://as.example/oauth2/a", "scope": "test",
               "nl": "Dossier inzien", "en": null}}),
    );
    assert_eq!(
        p[0]["scopeDescriptions"],
        json!([{"scope": "test", "text": {"nl": "Dossier inzien", "en": null}}])
    );
    let err = invoke(
        &wv,
        "policy_change",
        json!({"change": {"kind": "nameServer", "authorizationServer": "https://other.example/oauth2/b", "displayName": "X"}}),
    )
    .unwrap_err();
    assert_eq!(err["code"], "invalid_input", "{err}");
    let p = call(
        &wv,
        "policy_change",
        json!({"change": {"kind": "setUnsolicited", "authorizationServer": "https://as.example/oauth2/a", "allowed": true}}),
    );
    assert_eq!(p[0]["unsolicited"], true);
    let p = call(
        &wv,
        "policy_change",
        json!({"change": {"kind": "setUnsolicited", "authorizationServer": "https://as.example/oauth2/a", "allowed": false}}),
    );
    assert_eq!(p[0]["unsolicited"], false);
    let bad = invoke(
        &wv,
        "policy_change",
        json!({"change": {"kind": "allowServer", "authorizationServer": "http://plain.example"}}),
    )
    .unwrap_err();
    assert_eq!(bad["code"], "invalid_input", "{bad}");
    let p = call(
        &wv,
        "policy_change",
        json!({"change": {"kind": "requirePrompt", "authorizationServer": "https://as.example/oauth2/a", "scope": "test"}}),
    );
    assert_eq!(p[0]["noPromptScopes"], json!([]));
    call(
        &wv,
        "policy_change",
        json!({"change": {"kind": "removeServer", "authorizationServer": "https://as.example/oauth2/a"}}),
    );
    assert_eq!(call(&wv, "policy_get", json!({})), json!([]));
    // No organization yet: the loopback API does not run, and nothing was requested.
    let o = call(&wv, "services_overview", json!({}));
    assert_eq!(o["apiUrl"], Value::Null);
    assert_eq!(o["recent"], json!([]));
    // The consent screen's commands refuse ids of links that never arrived.
    let err = invoke(&wv, "presentation_resolve", json!({"id": 42})).unwrap_err();
    assert_eq!(err["code"], "not_found", "{err}");
    let err = invoke(
        &wv,
        "presentation_decide",
        json!({"input": {"id": 42, "approve": false, "employee": null}}),
    )
    .unwrap_err();
    assert_eq!(err["code"], "not_found", "{err}");
    // A consent answer for a prompt that is not waiting is refused.
    assert_eq!(
        call(&wv, "consent_answer", json!({"id": 7, "approve": true})),
        false
    );
}

#[test]
fn consent_prompt_waits_for_the_employee() {
    use nuts_wallet_app::service_prompt::ServiceTokenPrompt;
    use wallet_core::oauth::{
        ChannelKind, PromptDecision, PromptRequest, ServiceTokenPrompt as _, TokenType,
    };

    let tmp = tempfile::tempdir().unwrap();
    let (app, _wv) = app(tmp.path());
    let hook = std::sync::Arc::new(ServiceTokenPrompt::new(app.handle().clone()));
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_time()
        .build()
        .unwrap();
    let request = |scope: &str| PromptRequest {
        subject: "zorg".into(),
        authorization_server: "https://as.example/oauth2/a".into(),
        scope: scope.into(),
        token_type: TokenType::Bearer,
        credentials: vec![],
        channel: ChannelKind::Api,
        server_name: Some("Ziekenhuis Oost".into()),
        scope_description: None,
    };
    let decide = |approve: bool, id: u64, scope: &str| {
        let h = hook.clone();
        rt.block_on(async {
            let ask = h.ask(request(scope));
            let answer = async {
                tokio::time::sleep(std::time::Duration::from_millis(50)).await;
                assert!(hook.answer(id, approve), "prompt {id} should be waiting");
            };
            let (decision, ()) = tokio::join!(ask, answer);
            decision
        })
    };
    assert!(matches!(decide(true, 1, "a"), PromptDecision::Approve));
    assert!(matches!(decide(false, 2, "b"), PromptDecision::Decline));
    // Answered prompts are gone.
    assert!(!hook.answer(1, true));
}

/// Whether `v` is what the TypeScript type `ts` of a command's result describes.
fn has_shape(ts: &str, v: &Value) -> bool {
    match ts {
        "void" => v.is_null(),
        "boolean" => v.is_boolean(),
        "string" => v.is_string(),
        "number" => v.is_number(),
        t if t.starts_with("Array<") => v.is_array(),
        t if t.ends_with(" | null") => v.is_null() || has_shape(&t[..t.len() - 7], v),
        _ => v.is_object(),
    }
}

/// Every command of the IPC contract is registered and takes the arguments the contract
/// declares (its body runs: a result, or an `IpcError` with a code, whereas Tauri refuses
/// arguments with a plain string), returns what the contract declares, and needs the
/// administrator session exactly when the contract says so.
#[test]
fn every_contract_command_takes_its_declared_arguments_and_access() {
    use nuts_wallet_app::ipc::codegen::{camel, commands};

    let tmp = tempfile::tempdir().unwrap();
    let (_app, wv) = app(tmp.path());
    call(
        &wv,
        "vault_setup",
        json!({"input": {"useKeyring": false, "passphrase": "vault pass 1", "adminPassphrase": "admin pass 1"}}),
    );
    let folder = tmp.path().join("publication").display().to_string();
    let sample = |ts: &str| match ts {
        "string" => json!(folder),
        "number" => json!(1),
        "boolean" => json!(false),
        "string | null" => Value::Null,
        "SetupInput" => {
            json!({"useKeyring": false, "passphrase": "vault pass 1", "adminPassphrase": "admin pass 1"})
        }
        "UnlockInput" => json!({"passphrase": "vault pass 1"}),
        "ActivityQuery" => json!({}),
        "AdminLoginInput" => json!({"passphrase": "not the admin passphrase"}),
        "OrgInitInput" => {
            json!({"subject": "zorg", "baseUrl": "https://wallet.example", "did": null})
        }
        "EmployeeInput" => {
            json!({"identifier": "e1", "name": "Ann", "role": "nurse", "osAccount": null})
        }
        "PolicyChange" => {
            json!({"kind": "allowServer", "authorizationServer": "https://as.example/oauth2/a"})
        }
        "DecisionInput" => json!({"id": 1, "approve": false, "employee": null}),
        "EnrollInput" => json!({
            "profile": folder, "orgDid": "did:web:zorg.example", "secret": "nwe_x",
            "useKeyring": true, "passphrase": null, "adminPassphrase": "admin pass 1"
        }),
        "ApproverChoice" => json!("pick"),
        "LocalAreaView" => json!("accessPolicy"),
        "ForwardInput" => json!({"syslog": "not a collector", "caPem": null}),
        "Array<LocalAreaView>" => json!(["trustedIssuers"]),
        "X509Input" => json!({"pkcs12Base64": "bm90IGEgZmlsZQ", "password": "x"}),
        "AdminPassphraseInput" => json!({"newPassphrase": "x"}),
        "ActivityExportInput" => json!({"format": "csv", "path": folder}),
        "BackupInput" => json!({"path": folder, "passphrase": "x"}),
        "RestoreInput" => json!({"backupBase64": "bm90IGEgYmFja3Vw", "backupPassphrase": "x",
            "adminPassphrase": "x", "useKeyring": false, "passphrase": "x"}),
        other => panic!("no sample argument of type {other}: add one here"),
    };
    let mut all = commands();
    // The keyring probe may wait for an OS prompt; locking ends the session, so it runs last.
    all.retain(|c| c.name != "keyring_available");
    all.sort_by_key(|c| c.name == "vault_lock");
    for c in &all {
        let args: serde_json::Map<String, Value> =
            c.args.iter().map(|(n, t)| (camel(n), sample(t))).collect();
        let code = match invoke(&wv, c.name, Value::Object(args)) {
            Ok(v) => {
                assert!(
                    has_shape(&c.result, &v),
                    "{}: {v} is not {}",
                    c.name,
                    c.result
                );
                None
            }
            Err(e) => Some(
                e["code"]
                    .as_str()
                    .unwrap_or_else(|| panic!("{} refused its declared arguments: {e}", c.name))
                    .to_owned(),
            ),
        };
        assert_eq!(
            code.as_deref() == Some("admin_required"),
            c.admin,
            "{}: access differs from the contract ({code:?})",
            c.name
        );
    }
}

/// Two starts of the loopback API in quick succession (after unlock, then from Home) start one
/// listener: the second caller sees it starting.
#[test]
fn the_loopback_api_is_started_once() {
    use nuts_wallet_app::state::ApiState;
    let tmp = tempfile::tempdir().unwrap();
    let session = WalletSession::with_kdf(
        tmp.path(),
        Arc::new(MemoryKeyStore::new()),
        KdfParams::INSECURE_TEST,
    );
    let state = AppState::new(tmp.path().to_path_buf(), true, session);
    assert!(state.begin_api_start());
    assert!(!state.begin_api_start(), "already starting");
    state.set_api_state(ApiState::Running("http://127.0.0.1:1".into()));
    assert!(!state.begin_api_start(), "already running");
    state.set_api_state(ApiState::Failed("port in use".into()));
    assert!(state.begin_api_start(), "a failed start may be tried again");
}
