// The IPC contract: every command the window may call, declared once.
//
// One row a command: who may call it (`user`: anyone at the window; `admin`: only with the
// live administrator session, which the command body checks again through the core), the module
// under `ipc` that defines it, its arguments as the UI sends them (snake_case here, camelCase on
// the wire, as Tauri converts them) and its result on success (every command fails with an
// `IpcError`).
//
// From this table come:
// - the handler list (`generate_handler!` in `lib.rs`, via `with_ipc_contract!`),
// - the permission manifest (`build.rs` includes this file: one `allow-<command>` each),
// - `capabilities/main.json` and the TypeScript client `ui/src/ipc/commands.gen.ts`
//   (written by `ipc::codegen`; `make bindings` regenerates them, `tests/bindings.rs` fails
//   when the committed files drift).
//
// This file holds only the table so that `build.rs` can `include!` it without the crate.

/// Calls `$then! { <rows> }` with the contract's rows:
/// `<access> <module>::<command>(<arg>: <type>, ...) -> <result>;`
macro_rules! with_ipc_contract {
    ($then:ident) => {
        $then! {
            user commands::app_info() -> AppInfo;
            user commands::incoming_requests() -> Vec<IncomingRequest>;
            user commands::vault_status() -> VaultView;
            user commands::keyring_available() -> bool;
            user commands::vault_setup(input: SetupInput) -> VaultView;
            user commands::vault_restore(input: RestoreInput) -> VaultView;
            user commands::vault_enroll(input: EnrollInput) -> VaultView;
            user commands::managed_setup_status() -> ManagedSetupView;
            user commands::vault_unlock(input: UnlockInput) -> VaultView;
            user commands::vault_lock() -> VaultView;
            user commands::vault_touch() -> ();
            user commands::ui_ready() -> ();
            user commands::activity_list(query: ActivityQuery) -> Vec<ActivityItem>;
            user commands::activity_verify() -> ActivityCheck;
            user commands::status_checks() -> StatusChecks;
            admin commands::activity_export(input: ActivityExportInput) -> ActivityExportView;
            user commands::admin_status() -> AdminView;
            user commands::admin_login(input: AdminLoginInput) -> AdminView;
            user commands::admin_logout() -> AdminView;
            admin commands::set_auto_lock(minutes: u64) -> VaultView;
            admin commands::admin_passphrase_change(input: AdminPassphraseInput) -> ();
            admin commands::vault_backup(input: BackupInput) -> BackupView;
            user identity::org_info() -> Option<OrgView>;
            admin identity::org_init(input: OrgInitInput) -> OrgView;
            user identity::org_default_publish_dir() -> String;
            admin identity::org_publish(out_dir: String) -> PublishView;
            user identity::org_provide_pin(
                key_uri: Option<String>,
                pin: String,
                remember: bool
            ) -> ();
            user identity::org_key_check() -> ();
            admin identity::org_key_rotate(key_uri: Option<String>) -> OrgView;
            admin identity::org_key_activate() -> OrgView;
            admin identity::org_key_retire() -> OrgView;
            user identity::org_verify_live() -> LiveCheckView;
            user identity::credentials_list() -> Vec<CredentialRow>;
            user identity::credential_detail(id: String) -> CredentialDetailView;
            admin identity::credential_import(text: String) -> CredentialRow;
            admin identity::credential_x509_preview(input: X509Input, ca: Option<String>) -> X509Preview;
            admin identity::credential_x509_issue(input: X509Input, ca: String) -> CredentialRow;
            admin identity::credential_delete(id: String) -> ();
            user identity::trusted_issuers_list() -> Vec<String>;
            admin identity::issuer_trust(did: String, trusted: bool) -> Vec<String>;
            user identity::employees_list() -> Vec<EmployeeRow>;
            admin identity::employee_add(input: EmployeeInput) -> EmployeeRow;
            admin identity::employee_set_active(id: String, active: bool) -> EmployeeRow;
            admin identity::employee_update(id: String, name: String, role: String) -> EmployeeRow;
            user identity::employee_validity() -> i64;
            admin identity::set_employee_validity(minutes: i64) -> i64;
            admin identity::employee_set_os_account(
                id: String,
                os_account: Option<String>
            ) -> EmployeeRow;
            user identity::approver_choice() -> ApproverView;
            admin identity::set_approver_choice(choice: ApproverChoice) -> ApproverView;
            user identity::profile_status() -> Option<ProfileView>;
            user identity::profile_refresh() -> ProfileRefreshView;
            admin identity::profile_publish(out: String, valid_days: u32, local_changes: Vec<LocalAreaView>) -> ProfilePublishView;
            admin identity::profile_enrollment_secret() -> String;
            admin identity::profile_revert(area: LocalAreaView) -> ProfileView;
            user identity::profile_local_changes() -> Vec<LocalAreaView>;
            user services::services_overview() -> ServicesView;
            user services::policy_get() -> Vec<PolicyServer>;
            user services::policy_modes() -> PolicyModes;
            admin services::policy_change(change: PolicyChange) -> Vec<PolicyServer>;
            admin services::api_key_show() -> String;
            admin services::api_key_rotate() -> String;
            user services::audit_forward_status() -> ForwardView;
            admin services::audit_forward_set(input: ForwardInput) -> ForwardView;
            admin services::audit_forward_off() -> ForwardView;
            user services::consent_answer(id: u64, approve: bool) -> bool;
            user consent_screen::presentation_resolve(id: u32) -> PresentationView;
            user consent_screen::presentation_select(
                id: u32,
                descriptor: String,
                credential: u32,
                employee: Option<String>
            ) -> PresentationView;
            user consent_screen::presentation_employee(id: u32, employee: String) -> PresentationView;
            user consent_screen::presentation_decide(input: DecisionInput) -> DecisionView;
        }
    };
}
