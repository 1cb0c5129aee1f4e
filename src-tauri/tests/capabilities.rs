//! Every app command is declared once in build.rs (which generates its `allow-<command>`
//! permission), registered in `with_commands`, and granted by exactly one permission in the
//! main window's capability: nothing more (narrow capabilities), nothing less (a missing grant
//! is a runtime "not allowed" error in the UI).

use std::collections::BTreeSet;

fn quoted_after(text: &str, marker: &str, end: &str) -> BTreeSet<String> {
    let start = text.find(marker).expect("marker") + marker.len();
    let rest = &text[start..];
    let body = &rest[..rest.find(end).expect("end")];
    body.split('"')
        .skip(1)
        .step_by(2)
        .map(str::to_string)
        .collect()
}

#[test]
fn each_command_has_exactly_its_permission() {
    let dir = env!("CARGO_MANIFEST_DIR");
    let build = std::fs::read_to_string(format!("{dir}/build.rs")).unwrap();
    let commands = quoted_after(&build, ".commands(&[", "])");
    assert!(commands.len() > 10, "{commands:?}");

    let lib = std::fs::read_to_string(format!("{dir}/src/lib.rs")).unwrap();
    let start = lib.find("generate_handler![").unwrap();
    let handler = &lib[start..start + lib[start..].find("])").unwrap()];
    let registered: BTreeSet<String> = handler
        .split([',', '['])
        .filter_map(|s| s.trim().rsplit("::").next().map(str::to_string))
        .filter(|s| !s.is_empty() && !s.starts_with("generate_handler"))
        .collect();
    assert_eq!(
        registered, commands,
        "build.rs and generate_handler! disagree"
    );

    let cap: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(format!("{dir}/capabilities/main.json")).unwrap(),
    )
    .unwrap();
    let granted: BTreeSet<String> = cap["permissions"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|p| p.as_str())
        .filter(|p| p.starts_with("allow-"))
        .map(|p| p.trim_start_matches("allow-").replace('-', "_"))
        .collect();
    assert_eq!(
        granted, commands,
        "capabilities/main.json grants differ from the commands"
    );
    // Besides the app commands, only event listening is granted.
    let others: Vec<_> = cap["permissions"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|p| p.as_str())
        .filter(|p| !p.starts_with("allow-"))
        .collect();
    assert_eq!(
        others,
        ["core:event:allow-listen", "core:event:allow-unlisten"]
    );
    assert_eq!(cap["windows"], serde_json::json!(["main"]));
}
