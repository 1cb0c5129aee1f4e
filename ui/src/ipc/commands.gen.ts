// Generated from the IPC contract (src-tauri/src/ipc/contract.rs) by `make bindings`. Do not edit.
import type { UnlistenFn } from "@tauri-apps/api/event";
import type { ActivityCheck } from "./bindings/ActivityCheck";
import type { ActivityExportInput } from "./bindings/ActivityExportInput";
import type { ActivityExportView } from "./bindings/ActivityExportView";
import type { ActivityItem } from "./bindings/ActivityItem";
import type { ActivityQuery } from "./bindings/ActivityQuery";
import type { AdminLoginInput } from "./bindings/AdminLoginInput";
import type { AdminPassphraseInput } from "./bindings/AdminPassphraseInput";
import type { AdminView } from "./bindings/AdminView";
import type { AppInfo } from "./bindings/AppInfo";
import type { ApproverChoice } from "./bindings/ApproverChoice";
import type { ApproverView } from "./bindings/ApproverView";
import type { BackupInput } from "./bindings/BackupInput";
import type { BackupView } from "./bindings/BackupView";
import type { ConsentPrompt } from "./bindings/ConsentPrompt";
import type { CredentialDetailView } from "./bindings/CredentialDetailView";
import type { CredentialRow } from "./bindings/CredentialRow";
import type { DecisionInput } from "./bindings/DecisionInput";
import type { DecisionView } from "./bindings/DecisionView";
import type { EmployeeInput } from "./bindings/EmployeeInput";
import type { EmployeeRow } from "./bindings/EmployeeRow";
import type { EnrollInput } from "./bindings/EnrollInput";
import type { ForwardInput } from "./bindings/ForwardInput";
import type { ForwardView } from "./bindings/ForwardView";
import type { IncomingRequest } from "./bindings/IncomingRequest";
import type { LiveCheckView } from "./bindings/LiveCheckView";
import type { LocalAreaView } from "./bindings/LocalAreaView";
import type { ManagedSetupView } from "./bindings/ManagedSetupView";
import type { OrgInitInput } from "./bindings/OrgInitInput";
import type { OrgView } from "./bindings/OrgView";
import type { PolicyChange } from "./bindings/PolicyChange";
import type { PolicyModes } from "./bindings/PolicyModes";
import type { PolicyServer } from "./bindings/PolicyServer";
import type { PresentationView } from "./bindings/PresentationView";
import type { ProfilePublishView } from "./bindings/ProfilePublishView";
import type { ProfileRefreshView } from "./bindings/ProfileRefreshView";
import type { ProfileView } from "./bindings/ProfileView";
import type { PublishView } from "./bindings/PublishView";
import type { RestoreInput } from "./bindings/RestoreInput";
import type { ServicesView } from "./bindings/ServicesView";
import type { SetupInput } from "./bindings/SetupInput";
import type { StatusChecks } from "./bindings/StatusChecks";
import type { UnlockInput } from "./bindings/UnlockInput";
import type { VaultView } from "./bindings/VaultView";
import type { X509Input } from "./bindings/X509Input";
import type { X509Preview } from "./bindings/X509Preview";
import { call, listen } from "./invoke";

/** Every command the window may call. */
export type CommandName = "app_info" | "incoming_requests" | "vault_status" | "keyring_available" | "vault_setup" | "vault_restore" | "vault_enroll" | "managed_setup_status" | "vault_unlock" | "vault_lock" | "vault_touch" | "ui_ready" | "activity_list" | "activity_verify" | "status_checks" | "activity_export" | "admin_status" | "admin_login" | "admin_logout" | "set_auto_lock" | "admin_passphrase_change" | "vault_backup" | "org_info" | "org_init" | "org_default_publish_dir" | "org_publish" | "org_provide_pin" | "org_key_check" | "org_key_rotate" | "org_key_activate" | "org_key_retire" | "org_verify_live" | "credentials_list" | "credential_detail" | "credential_import" | "credential_x509_preview" | "credential_x509_issue" | "credential_delete" | "trusted_issuers_list" | "issuer_trust" | "employees_list" | "employee_add" | "employee_set_active" | "employee_update" | "employee_validity" | "set_employee_validity" | "employee_set_os_account" | "approver_choice" | "set_approver_choice" | "profile_status" | "profile_refresh" | "profile_publish" | "profile_enrollment_secret" | "profile_revert" | "profile_local_changes" | "services_overview" | "policy_get" | "policy_modes" | "policy_change" | "api_key_show" | "api_key_rotate" | "audit_forward_status" | "audit_forward_set" | "audit_forward_off" | "consent_answer" | "presentation_resolve" | "presentation_select" | "presentation_employee" | "presentation_decide";

/** Commands that need the live administrator session. */
export const ADMIN_COMMANDS: readonly CommandName[] = ["activity_export", "set_auto_lock", "admin_passphrase_change", "vault_backup", "org_init", "org_publish", "org_key_rotate", "org_key_activate", "org_key_retire", "credential_import", "credential_x509_preview", "credential_x509_issue", "credential_delete", "issuer_trust", "employee_add", "employee_set_active", "employee_update", "set_employee_validity", "employee_set_os_account", "set_approver_choice", "profile_publish", "profile_enrollment_secret", "profile_revert", "policy_change", "api_key_show", "api_key_rotate", "audit_forward_set", "audit_forward_off"];

/** Every event the window may listen to. */
export type EventName = "incoming-request" | "vault-locked" | "consent-request";

/** `app_info` */
export function appInfo(): Promise<AppInfo> {
  return call<AppInfo>("app_info");
}

/** `incoming_requests` */
export function incomingRequests(): Promise<Array<IncomingRequest>> {
  return call<Array<IncomingRequest>>("incoming_requests");
}

/** `vault_status` */
export function vaultStatus(): Promise<VaultView> {
  return call<VaultView>("vault_status");
}

/** `keyring_available` */
export function keyringAvailable(): Promise<boolean> {
  return call<boolean>("keyring_available");
}

/** `vault_setup` */
export function vaultSetup(input: SetupInput): Promise<VaultView> {
  return call<VaultView>("vault_setup", { input });
}

/** `vault_restore` */
export function vaultRestore(input: RestoreInput): Promise<VaultView> {
  return call<VaultView>("vault_restore", { input });
}

/** `vault_enroll` */
export function vaultEnroll(input: EnrollInput): Promise<VaultView> {
  return call<VaultView>("vault_enroll", { input });
}

/** `managed_setup_status` */
export function managedSetupStatus(): Promise<ManagedSetupView> {
  return call<ManagedSetupView>("managed_setup_status");
}

/** `vault_unlock` */
export function vaultUnlock(input: UnlockInput): Promise<VaultView> {
  return call<VaultView>("vault_unlock", { input });
}

/** `vault_lock` */
export function vaultLock(): Promise<VaultView> {
  return call<VaultView>("vault_lock");
}

/** `vault_touch` */
export function vaultTouch(): Promise<void> {
  return call<void>("vault_touch");
}

/** `ui_ready` */
export function uiReady(): Promise<void> {
  return call<void>("ui_ready");
}

/** `activity_list` */
export function activityList(query: ActivityQuery): Promise<Array<ActivityItem>> {
  return call<Array<ActivityItem>>("activity_list", { query });
}

/** `activity_verify` */
export function activityVerify(): Promise<ActivityCheck> {
  return call<ActivityCheck>("activity_verify");
}

/** `status_checks` */
export function statusChecks(): Promise<StatusChecks> {
  return call<StatusChecks>("status_checks");
}

/** `activity_export` (administrator) */
export function activityExport(input: ActivityExportInput): Promise<ActivityExportView> {
  return call<ActivityExportView>("activity_export", { input });
}

/** `admin_status` */
export function adminStatus(): Promise<AdminView> {
  return call<AdminView>("admin_status");
}

/** `admin_login` */
export function adminLogin(input: AdminLoginInput): Promise<AdminView> {
  return call<AdminView>("admin_login", { input });
}

/** `admin_logout` */
export function adminLogout(): Promise<AdminView> {
  return call<AdminView>("admin_logout");
}

/** `set_auto_lock` (administrator) */
export function setAutoLock(minutes: number): Promise<VaultView> {
  return call<VaultView>("set_auto_lock", { minutes });
}

/** `admin_passphrase_change` (administrator) */
export function adminPassphraseChange(input: AdminPassphraseInput): Promise<void> {
  return call<void>("admin_passphrase_change", { input });
}

/** `vault_backup` (administrator) */
export function vaultBackup(input: BackupInput): Promise<BackupView> {
  return call<BackupView>("vault_backup", { input });
}

/** `org_info` */
export function orgInfo(): Promise<OrgView | null> {
  return call<OrgView | null>("org_info");
}

/** `org_init` (administrator) */
export function orgInit(input: OrgInitInput): Promise<OrgView> {
  return call<OrgView>("org_init", { input });
}

/** `org_default_publish_dir` */
export function orgDefaultPublishDir(): Promise<string> {
  return call<string>("org_default_publish_dir");
}

/** `org_publish` (administrator) */
export function orgPublish(outDir: string): Promise<PublishView> {
  return call<PublishView>("org_publish", { outDir });
}

/** `org_provide_pin` */
export function orgProvidePin(keyUri: string | null, pin: string, remember: boolean): Promise<void> {
  return call<void>("org_provide_pin", { keyUri, pin, remember });
}

/** `org_key_check` */
export function orgKeyCheck(): Promise<void> {
  return call<void>("org_key_check");
}

/** `org_key_rotate` (administrator) */
export function orgKeyRotate(keyUri: string | null): Promise<OrgView> {
  return call<OrgView>("org_key_rotate", { keyUri });
}

/** `org_key_activate` (administrator) */
export function orgKeyActivate(): Promise<OrgView> {
  return call<OrgView>("org_key_activate");
}

/** `org_key_retire` (administrator) */
export function orgKeyRetire(): Promise<OrgView> {
  return call<OrgView>("org_key_retire");
}

/** `org_verify_live` */
export function orgVerifyLive(): Promise<LiveCheckView> {
  return call<LiveCheckView>("org_verify_live");
}

/** `credentials_list` */
export function credentialsList(): Promise<Array<CredentialRow>> {
  return call<Array<CredentialRow>>("credentials_list");
}

/** `credential_detail` */
export function credentialDetail(id: string): Promise<CredentialDetailView> {
  return call<CredentialDetailView>("credential_detail", { id });
}

/** `credential_import` (administrator) */
export function credentialImport(text: string): Promise<CredentialRow> {
  return call<CredentialRow>("credential_import", { text });
}

/** `credential_x509_preview` (administrator) */
export function credentialX509Preview(input: X509Input, ca: string | null): Promise<X509Preview> {
  return call<X509Preview>("credential_x509_preview", { input, ca });
}

/** `credential_x509_issue` (administrator) */
export function credentialX509Issue(input: X509Input, ca: string): Promise<CredentialRow> {
  return call<CredentialRow>("credential_x509_issue", { input, ca });
}

/** `credential_delete` (administrator) */
export function credentialDelete(id: string): Promise<void> {
  return call<void>("credential_delete", { id });
}

/** `trusted_issuers_list` */
export function trustedIssuersList(): Promise<Array<string>> {
  return call<Array<string>>("trusted_issuers_list");
}

/** `issuer_trust` (administrator) */
export function issuerTrust(did: string, trusted: boolean): Promise<Array<string>> {
  return call<Array<string>>("issuer_trust", { did, trusted });
}

/** `employees_list` */
export function employeesList(): Promise<Array<EmployeeRow>> {
  return call<Array<EmployeeRow>>("employees_list");
}

/** `employee_add` (administrator) */
export function employeeAdd(input: EmployeeInput): Promise<EmployeeRow> {
  return call<EmployeeRow>("employee_add", { input });
}

/** `employee_set_active` (administrator) */
export function employeeSetActive(id: string, active: boolean): Promise<EmployeeRow> {
  return call<EmployeeRow>("employee_set_active", { id, active });
}

/** `employee_update` (administrator) */
export function employeeUpdate(id: string, name: string, role: string): Promise<EmployeeRow> {
  return call<EmployeeRow>("employee_update", { id, name, role });
}

/** `employee_validity` */
export function employeeValidity(): Promise<number> {
  return call<number>("employee_validity");
}

/** `set_employee_validity` (administrator) */
export function setEmployeeValidity(minutes: number): Promise<number> {
  return call<number>("set_employee_validity", { minutes });
}

/** `employee_set_os_account` (administrator) */
export function employeeSetOsAccount(id: string, osAccount: string | null): Promise<EmployeeRow> {
  return call<EmployeeRow>("employee_set_os_account", { id, osAccount });
}

/** `approver_choice` */
export function approverChoice(): Promise<ApproverView> {
  return call<ApproverView>("approver_choice");
}

/** `set_approver_choice` (administrator) */
export function setApproverChoice(choice: ApproverChoice): Promise<ApproverView> {
  return call<ApproverView>("set_approver_choice", { choice });
}

/** `profile_status` */
export function profileStatus(): Promise<ProfileView | null> {
  return call<ProfileView | null>("profile_status");
}

/** `profile_refresh` */
export function profileRefresh(): Promise<ProfileRefreshView> {
  return call<ProfileRefreshView>("profile_refresh");
}

/** `profile_publish` (administrator) */
export function profilePublish(out: string, validDays: number, localChanges: Array<LocalAreaView>): Promise<ProfilePublishView> {
  return call<ProfilePublishView>("profile_publish", { out, validDays, localChanges });
}

/** `profile_enrollment_secret` (administrator) */
export function profileEnrollmentSecret(): Promise<string> {
  return call<string>("profile_enrollment_secret");
}

/** `profile_revert` (administrator) */
export function profileRevert(area: LocalAreaView): Promise<ProfileView> {
  return call<ProfileView>("profile_revert", { area });
}

/** `profile_local_changes` */
export function profileLocalChanges(): Promise<Array<LocalAreaView>> {
  return call<Array<LocalAreaView>>("profile_local_changes");
}

/** `services_overview` */
export function servicesOverview(): Promise<ServicesView> {
  return call<ServicesView>("services_overview");
}

/** `policy_get` */
export function policyGet(): Promise<Array<PolicyServer>> {
  return call<Array<PolicyServer>>("policy_get");
}

/** `policy_modes` */
export function policyModes(): Promise<PolicyModes> {
  return call<PolicyModes>("policy_modes");
}

/** `policy_change` (administrator) */
export function policyChange(change: PolicyChange): Promise<Array<PolicyServer>> {
  return call<Array<PolicyServer>>("policy_change", { change });
}

/** `api_key_show` (administrator) */
export function apiKeyShow(): Promise<string> {
  return call<string>("api_key_show");
}

/** `api_key_rotate` (administrator) */
export function apiKeyRotate(): Promise<string> {
  return call<string>("api_key_rotate");
}

/** `audit_forward_status` */
export function auditForwardStatus(): Promise<ForwardView> {
  return call<ForwardView>("audit_forward_status");
}

/** `audit_forward_set` (administrator) */
export function auditForwardSet(input: ForwardInput): Promise<ForwardView> {
  return call<ForwardView>("audit_forward_set", { input });
}

/** `audit_forward_off` (administrator) */
export function auditForwardOff(): Promise<ForwardView> {
  return call<ForwardView>("audit_forward_off");
}

/** `consent_answer` */
export function consentAnswer(id: number, approve: boolean): Promise<boolean> {
  return call<boolean>("consent_answer", { id, approve });
}

/** `presentation_resolve` */
export function presentationResolve(id: number): Promise<PresentationView> {
  return call<PresentationView>("presentation_resolve", { id });
}

/** `presentation_select` */
export function presentationSelect(id: number, descriptor: string, credential: number, employee: string | null): Promise<PresentationView> {
  return call<PresentationView>("presentation_select", { id, descriptor, credential, employee });
}

/** `presentation_employee` */
export function presentationEmployee(id: number, employee: string): Promise<PresentationView> {
  return call<PresentationView>("presentation_employee", { id, employee });
}

/** `presentation_decide` */
export function presentationDecide(input: DecisionInput): Promise<DecisionView> {
  return call<DecisionView>("presentation_decide", { input });
}

/** Calls `handler` on every `incoming-request` event. */
export function onIncomingRequest(handler: (payload: IncomingRequest) => void): Promise<UnlistenFn> {
  return listen<IncomingRequest>("incoming-request", handler);
}

/** Calls `handler` on every `vault-locked` event. */
export function onVaultLocked(handler: (payload: void) => void): Promise<UnlistenFn> {
  return listen<void>("vault-locked", handler);
}

/** Calls `handler` on every `consent-request` event. */
export function onConsentRequest(handler: (payload: ConsentPrompt) => void): Promise<UnlistenFn> {
  return listen<ConsentPrompt>("consent-request", handler);
}
