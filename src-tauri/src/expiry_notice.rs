//! The administrator's desktop notification about credentials that expired or expire within
//! 30 days: after the vault opens, once per credential per run. Only on an unmanaged wallet
//! (the administrator's): on a managed workstation the credentials come with the
//! organization profile and its users cannot renew them; Home shows the warning there.

use std::collections::HashSet;
use std::sync::Mutex;

use wallet_core::credentials::{self, CredentialSummary};

use crate::state::AppState;

static NOTIFIED: Mutex<Option<HashSet<String>>> = Mutex::new(None);

fn now() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs() as i64)
}

/// Dutch when the OS session speaks Dutch (the window's language choice lives in the web
/// view, out of reach here).
fn dutch() -> bool {
    ["LC_ALL", "LC_MESSAGES", "LANG"]
        .iter()
        .find_map(|k| std::env::var(k).ok().filter(|v| !v.is_empty()))
        .is_some_and(|v| v.starts_with("nl"))
}

/// Summary and body of the notification about `c`.
pub fn message(c: &CredentialSummary, nl: bool) -> (String, String) {
    let expired = c.warnings.iter().any(|w| w.code == "expired");
    let date = c
        .valid_until
        .as_deref()
        .map(|d| d.get(..10).unwrap_or(d))
        .unwrap_or("?");
    let what = match c.organization.as_ref().and_then(|o| o.ura.as_deref()) {
        Some(ura) => format!("{} (URA {ura})", c.display_type),
        None => c.display_type.clone(),
    };
    match (expired, nl) {
        (true, false) => (
            "Nuts Wallet: a credential has expired".into(),
            format!("{what} expired on {date} and is no longer presented. Issue or import a new one."),
        ),
        (true, true) => (
            "Nuts Wallet: een verklaring is verlopen".into(),
            format!("{what} is verlopen op {date} en wordt niet meer getoond. Geef een nieuwe uit of importeer die."),
        ),
        (false, false) => (
            "Nuts Wallet: a credential expires soon".into(),
            format!("{what} expires on {date}. Renew it before then."),
        ),
        (false, true) => (
            "Nuts Wallet: een verklaring verloopt binnenkort".into(),
            format!("{what} verloopt op {date}. Vernieuw die vóór die datum."),
        ),
    }
}

/// Checks the open vault and notifies about what was not notified yet in this run. The
/// notification itself is sent off the caller's thread (a D-Bus call may wait).
pub fn check(state: &AppState) {
    let Ok(vault) = state.session.vault() else {
        return;
    };
    if vault.is_locked() {
        return;
    }
    match wallet_core::profile::managed_by(&vault) {
        Ok(None) => {}
        _ => return,
    }
    let due = match credentials::expiring_credentials(&vault, now()) {
        Ok(d) => d,
        Err(e) => {
            tracing::warn!(error = %e, "could not check credential expiry");
            return;
        }
    };
    let fresh: Vec<CredentialSummary> = {
        let mut seen = NOTIFIED.lock().unwrap_or_else(|p| p.into_inner());
        let seen = seen.get_or_insert_with(HashSet::new);
        due.into_iter()
            .filter(|c| seen.insert(c.id.clone()))
            .collect()
    };
    if fresh.is_empty() {
        return;
    }
    let nl = dutch();
    std::thread::spawn(move || {
        for c in fresh {
            let (summary, body) = message(&c, nl);
            if let Err(e) = notify_rust::Notification::new()
                .appname("Nuts Wallet")
                .summary(&summary)
                .body(&body)
                .show()
            {
                // No notification service (a server session): Home still says it.
                tracing::info!(error = %e, "desktop notification not shown");
            }
        }
    });
}

#[cfg(test)]
mod tests {
    use super::*;
    use wallet_core::credentials::{OrganizationFacts, Warning};

    fn summary(code: &'static str) -> CredentialSummary {
        CredentialSummary {
            id: "c1".into(),
            types: vec!["VerifiableCredential".into(), "X509Credential".into()],
            display_type: "X509Credential".into(),
            format: "jwt_vc".into(),
            issuer: "did:x509:0:sha256:x".into(),
            subject: None,
            valid_from: None,
            valid_until: Some("2027-01-15T00:00:00Z".into()),
            imported_at: "2026-01-01T00:00:00Z".into(),
            issuer_trusted: true,
            warnings: vec![Warning {
                code,
                message: String::new(),
            }],
            organization: Some(OrganizationFacts {
                ura: Some("90000380".into()),
                ..Default::default()
            }),
        }
    }

    #[test]
    fn says_which_credential_and_when_in_both_languages() {
        let (s, b) = message(&summary("expiring_soon"), false);
        assert!(s.contains("expires soon"));
        assert_eq!(
            b,
            "X509Credential (URA 90000380) expires on 2027-01-15. Renew it before then."
        );
        let (s, b) = message(&summary("expired"), true);
        assert!(s.contains("verlopen"));
        assert!(b.starts_with("X509Credential (URA 90000380) is verlopen op 2027-01-15"));
    }
}
