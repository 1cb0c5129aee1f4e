fn main() {
    // One permission per app command (allow-<command>); the capability grants each explicitly.
    let manifest = tauri_build::AppManifest::new().commands(&[
        "app_info",
        "incoming_requests",
        "vault_status",
        "keyring_available",
        "vault_setup",
        "vault_unlock",
        "vault_lock",
        "vault_touch",
        "activity_list",
        "activity_verify",
        "admin_status",
        "admin_login",
        "admin_logout",
        "set_auto_lock",
        "org_info",
        "org_init",
        "org_default_publish_dir",
        "org_publish",
        "credentials_list",
        "credential_detail",
        "credential_import",
        "credential_delete",
        "employees_list",
        "employee_add",
        "employee_set_active",
        "employee_update",
        "employee_validity",
        "set_employee_validity",
    ]);
    tauri_build::try_build(tauri_build::Attributes::new().app_manifest(manifest))
        .expect("tauri-build failed");
}
