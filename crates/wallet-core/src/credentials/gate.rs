//! Right before a presentation: which of the organization's stored credentials may go out.
//!
//! Expired and not-yet-valid credentials are withheld (checked locally, no skew: a verifier
//! would refuse them). Credentials with a `credentialStatus` (StatusList2021, what Nuts
//! issuers use) are re-checked here: a revoked or suspended one is withheld. When the status
//! cannot be determined (list unreachable, unverifiable, malformed) the credential goes ahead
//! with the reason, because the verifier checks the status as well; under
//! [`RevocationPolicy::Strict`] it is withheld instead. Every decision comes back as a
//! [`CredentialNote`] for the consent screen and the activity log.
//!
//! Fetched lists are cached per URL for as long as the list credential itself is valid,
//! bounded by [`MAX_LIST_CACHE_SECS`] (a list without an expiry: [`NO_EXPIRY_CACHE_SECS`]),
//! so that a revocation is noticed within minutes while a burst of requests costs one fetch.
//! Failures are not cached.

use std::collections::HashMap;
use std::sync::Mutex;

use serde::Serialize;
use wallet_pex::WalletCredential;
use wallet_protocol::clock::format_rfc3339;
use wallet_protocol::vc::status::{fetch_status_list, status_entry, RevocationStatus, StatusList};
use wallet_protocol::vc::{normalize, validity_info};

use super::VerifyEnv;
use crate::access_policy::RevocationPolicy;

/// Longest time a fetched status list is trusted without fetching it again.
pub const MAX_LIST_CACHE_SECS: i64 = 15 * 60;
/// How long a list that names no expiry is cached.
pub const NO_EXPIRY_CACHE_SECS: i64 = 5 * 60;
/// Most lists kept (each at most 2 MiB decompressed).
const MAX_CACHED_LISTS: usize = 32;

/// Why a credential was withheld or went ahead unchecked. Stable codes: the UI translates
/// them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum NoteCode {
    /// Past its `expirationDate`/`validUntil`.
    Expired,
    /// Before its `issuanceDate`/`validFrom`.
    NotYetValid,
    /// Its issuer revoked it.
    Revoked,
    /// Its issuer suspended it.
    Suspended,
    /// The revocation status could not be determined (see `detail`).
    RevocationUnknown,
}

impl NoteCode {
    /// The stable code, as serialized (also a credential warning code).
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Expired => "expired",
            Self::NotYetValid => "not_yet_valid",
            Self::Revoked => "revoked",
            Self::Suspended => "suspended",
            Self::RevocationUnknown => "revocation_unknown",
        }
    }
}

/// One credential the screening has something to say about. No claim values.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct CredentialNote {
    /// The credential's id (as in the consent's credential list).
    pub id: String,
    /// Its types.
    pub types: Vec<String>,
    /// Its issuer.
    pub issuer: String,
    /// Why.
    pub code: NoteCode,
    /// English detail (date, or why the status is unknown) for the CLI and the log.
    pub detail: String,
}

/// The outcome of [`StatusGate::screen`].
#[derive(Debug, Default)]
pub struct Screening {
    /// The credentials that may be presented, in the original order.
    pub usable: Vec<WalletCredential>,
    /// Credentials that are not presented, and why.
    pub withheld: Vec<CredentialNote>,
    /// Credentials presented although their revocation status is unknown (lenient policy).
    pub unchecked: Vec<CredentialNote>,
}

struct Cached {
    list: StatusList,
    until: i64,
}

/// The presentation gate with its status list cache; one per process, shared by both flows.
#[derive(Default)]
pub struct StatusGate {
    lists: Mutex<HashMap<String, Cached>>,
}

impl std::fmt::Debug for StatusGate {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("StatusGate")
            .field("cached_lists", &self.cached_lists())
            .finish()
    }
}

fn note(c: &WalletCredential, code: NoteCode, detail: String) -> CredentialNote {
    CredentialNote {
        id: c.id().to_owned(),
        types: c.types().to_vec(),
        issuer: normalize::issuer_id(c.normalized())
            .unwrap_or_default()
            .to_owned(),
        code,
        detail,
    }
}

impl StatusGate {
    /// An empty gate.
    pub fn new() -> Self {
        Self::default()
    }

    /// Number of lists in the cache.
    pub fn cached_lists(&self) -> usize {
        self.lists.lock().unwrap_or_else(|p| p.into_inner()).len()
    }

    /// Forgets every cached list.
    pub fn clear(&self) {
        self.lists.lock().unwrap_or_else(|p| p.into_inner()).clear();
    }

    fn cached(&self, url: &str, now: i64) -> Option<StatusList> {
        let mut lists = self.lists.lock().unwrap_or_else(|p| p.into_inner());
        lists.retain(|_, c| c.until > now);
        lists.get(url).map(|c| c.list.clone())
    }

    fn store(&self, url: &str, list: StatusList, now: i64) {
        let until = match list.valid_until {
            Some(v) => v.min(now + MAX_LIST_CACHE_SECS),
            None => now + NO_EXPIRY_CACHE_SECS,
        };
        if until <= now {
            return;
        }
        let mut lists = self.lists.lock().unwrap_or_else(|p| p.into_inner());
        if lists.len() >= MAX_CACHED_LISTS && !lists.contains_key(url) {
            // Drop the one that would expire first.
            if let Some(k) = lists
                .iter()
                .min_by_key(|(_, c)| c.until)
                .map(|(k, _)| k.clone())
            {
                lists.remove(&k);
            }
        }
        lists.insert(url.to_owned(), Cached { list, until });
    }

    /// The status of one credential, through the cache.
    async fn status(
        &self,
        c: &WalletCredential,
        env: &VerifyEnv,
        failed: &mut HashMap<String, String>,
    ) -> RevocationStatus {
        let entry = match status_entry(c.normalized()) {
            Ok(None) => return RevocationStatus::NoStatus,
            Ok(Some(e)) => e,
            Err(reason) => return RevocationStatus::Unknown { reason },
        };
        let url = entry.list_url.to_string();
        let issuer = normalize::issuer_id(c.normalized());
        let now = env.clock.now_unix();
        if let Some(list) = self.cached(&url, now) {
            return list.status_of(&entry, issuer);
        }
        // One attempt per list per screening: several credentials on one unreachable list
        // do not each wait for the timeout.
        if let Some(reason) = failed.get(&url) {
            return RevocationStatus::Unknown {
                reason: reason.clone(),
            };
        }
        match fetch_status_list(
            &entry.list_url,
            env.http.as_ref(),
            &env.policy,
            env.resolver.as_ref(),
            env.clock.as_ref(),
        )
        .await
        {
            Ok(list) => {
                let status = list.status_of(&entry, issuer);
                self.store(&url, list, now);
                status
            }
            Err(reason) => {
                failed.insert(url, reason.clone());
                RevocationStatus::Unknown { reason }
            }
        }
    }

    /// Screens `credentials` right before presenting them at `env.clock`'s now.
    pub async fn screen(
        &self,
        credentials: Vec<WalletCredential>,
        env: &VerifyEnv,
        policy: RevocationPolicy,
    ) -> Screening {
        let now = env.clock.now_unix();
        let mut out = Screening::default();
        let mut failed = HashMap::new();
        for c in credentials {
            let validity = validity_info(c.normalized(), now);
            if validity.expired {
                let at = validity.valid_until.map(format_rfc3339).unwrap_or_default();
                out.withheld
                    .push(note(&c, NoteCode::Expired, format!("expired on {at}")));
                continue;
            }
            if validity.not_yet_valid {
                let at = validity.valid_from.map(format_rfc3339).unwrap_or_default();
                out.withheld.push(note(
                    &c,
                    NoteCode::NotYetValid,
                    format!("not valid before {at}"),
                ));
                continue;
            }
            match self.status(&c, env, &mut failed).await {
                RevocationStatus::NoStatus | RevocationStatus::Active => out.usable.push(c),
                RevocationStatus::Revoked => {
                    out.withheld
                        .push(note(&c, NoteCode::Revoked, "revoked by its issuer".into()))
                }
                RevocationStatus::Suspended => out.withheld.push(note(
                    &c,
                    NoteCode::Suspended,
                    "suspended by its issuer".into(),
                )),
                RevocationStatus::Unknown { reason } => {
                    let n = note(&c, NoteCode::RevocationUnknown, reason);
                    match policy {
                        RevocationPolicy::Lenient => {
                            out.unchecked.push(n);
                            out.usable.push(c);
                        }
                        RevocationPolicy::Strict => out.withheld.push(n),
                    }
                }
            }
        }
        out
    }
}

impl CredentialNote {
    /// One line for error messages: `NutsOrganizationCredential <id>: revoked by its issuer`.
    pub fn line(&self) -> String {
        let ty = self
            .types
            .iter()
            .find(|t| t.as_str() != "VerifiableCredential")
            .map(String::as_str)
            .unwrap_or("credential");
        format!("{ty} {}: {}", self.id, self.detail)
    }
}

/// The gate with what it needs to fetch lists: one per process, cloned into both flows.
#[derive(Clone, Debug)]
pub struct Screener {
    /// The gate and its cache.
    pub gate: std::sync::Arc<StatusGate>,
    /// DID resolution, HTTP with the network policy, clock.
    pub env: VerifyEnv,
}

impl Screener {
    /// A screener with an empty cache over `env`.
    pub fn new(env: VerifyEnv) -> Self {
        Self {
            gate: std::sync::Arc::new(StatusGate::new()),
            env,
        }
    }

    /// [`StatusGate::screen`] with this screener's environment.
    pub async fn screen(
        &self,
        credentials: Vec<WalletCredential>,
        policy: RevocationPolicy,
    ) -> Screening {
        self.gate.screen(credentials, &self.env, policy).await
    }
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::{AtomicI64, AtomicUsize, Ordering};
    use std::sync::Arc;

    use serde_json::Value;
    use wallet_protocol::did::UniversalResolver;
    use wallet_protocol::net::{BoxFuture, HttpClient, HttpRequest, HttpResponse, NetError};
    use wallet_protocol::{Clock, NetPolicy};
    use wallet_testkit::vc::StatusIssuer;

    use super::*;

    const T0: i64 = 1_800_000_000;
    const LIST: &str = "https://status.example/list/1";
    const HOLDER: &str = "did:web:org.example";

    struct Clk(AtomicI64);
    impl Clock for Clk {
        fn now_unix(&self) -> i64 {
            self.0.load(Ordering::SeqCst)
        }
    }

    /// The status list server: serves `list` (or `status` without a body) and counts fetches.
    #[derive(Default)]
    struct ListServer {
        list: Mutex<Option<Value>>,
        fetches: AtomicUsize,
    }
    impl HttpClient for ListServer {
        fn execute(&self, r: HttpRequest) -> BoxFuture<'_, Result<HttpResponse, NetError>> {
            Box::pin(async move {
                assert_eq!(r.url.as_str(), LIST);
                self.fetches.fetch_add(1, Ordering::SeqCst);
                Ok(match self.list.lock().unwrap().clone() {
                    Some(v) => HttpResponse {
                        status: 200,
                        content_type: Some("application/json".into()),
                        body: v.to_string().into_bytes(),
                        headers: vec![],
                    },
                    None => HttpResponse {
                        status: 503,
                        content_type: None,
                        body: vec![],
                        headers: vec![],
                    },
                })
            })
        }
    }

    struct Setup {
        issuer: StatusIssuer,
        server: Arc<ListServer>,
        clock: Arc<Clk>,
        env: VerifyEnv,
    }

    fn setup() -> Setup {
        let server = Arc::new(ListServer::default());
        let clock = Arc::new(Clk(AtomicI64::new(T0)));
        let env = VerifyEnv {
            resolver: Arc::new(UniversalResolver::from_policy(&NetPolicy::default()).unwrap()),
            http: server.clone(),
            policy: NetPolicy::default(),
            clock: clock.clone(),
        };
        Setup {
            issuer: StatusIssuer::new(LIST),
            server,
            clock,
            env,
        }
    }

    impl Setup {
        fn credential(&self, index: u64) -> WalletCredential {
            WalletCredential::from_json_ld(self.issuer.org_credential(HOLDER, index, T0)).unwrap()
        }
        fn serve(&self, revoked: &[u64], valid_secs: i64) {
            let now = self.clock.now_unix();
            *self.server.list.lock().unwrap() =
                Some(self.issuer.status_list(revoked, now, valid_secs));
        }
        fn fetches(&self) -> usize {
            self.server.fetches.load(Ordering::SeqCst)
        }
        fn advance(&self, secs: i64) {
            self.clock.0.fetch_add(secs, Ordering::SeqCst);
        }
    }

    fn codes(notes: &[CredentialNote]) -> Vec<NoteCode> {
        notes.iter().map(|n| n.code).collect()
    }

    #[tokio::test]
    async fn revoked_is_withheld_active_goes_ahead() {
        let s = setup();
        s.serve(&[7], 86_400);
        let gate = StatusGate::new();
        let out = gate
            .screen(
                vec![s.credential(3), s.credential(7)],
                &s.env,
                RevocationPolicy::Lenient,
            )
            .await;
        assert_eq!(out.usable.len(), 1);
        assert_eq!(out.usable[0].id(), s.credential(3).id());
        assert_eq!(codes(&out.withheld), [NoteCode::Revoked]);
        assert_eq!(out.withheld[0].id, s.credential(7).id());
        assert!(out.unchecked.is_empty());
        assert_eq!(s.fetches(), 1, "one list, one fetch");
    }

    #[tokio::test]
    async fn the_cache_is_bounded_by_the_lists_validity_and_the_cap() {
        let s = setup();
        let gate = StatusGate::new();
        let screen = || gate.screen(vec![s.credential(3)], &s.env, RevocationPolicy::Lenient);
        // A list valid for two minutes: cached for two minutes.
        s.serve(&[], 120);
        assert_eq!(screen().await.usable.len(), 1);
        s.advance(60);
        s.serve(&[3], 120); // revoked meanwhile; not seen while the old list is valid
        assert_eq!(screen().await.usable.len(), 1);
        assert_eq!(s.fetches(), 1);
        s.advance(61);
        let out = screen().await;
        assert_eq!(codes(&out.withheld), [NoteCode::Revoked], "fetched again");
        assert_eq!(s.fetches(), 2);
        // A list valid for a day is still fetched again after the cap.
        s.serve(&[], 86_400);
        gate.clear();
        assert_eq!(screen().await.usable.len(), 1);
        s.serve(&[3], 86_400);
        s.advance(MAX_LIST_CACHE_SECS - 1);
        assert_eq!(screen().await.usable.len(), 1);
        s.advance(2);
        assert_eq!(codes(&screen().await.withheld), [NoteCode::Revoked]);
    }

    #[tokio::test]
    async fn an_unreachable_list_is_lenient_or_strict_and_never_cached() {
        let s = setup();
        let gate = StatusGate::new();
        let two = || vec![s.credential(3), s.credential(4)];
        let out = gate.screen(two(), &s.env, RevocationPolicy::Lenient).await;
        assert_eq!(out.usable.len(), 2, "the verifier checks too");
        assert_eq!(
            codes(&out.unchecked),
            [NoteCode::RevocationUnknown, NoteCode::RevocationUnknown]
        );
        assert!(
            out.unchecked[0].detail.contains("HTTP 503"),
            "{:?}",
            out.unchecked
        );
        assert_eq!(s.fetches(), 1, "one attempt per list per screening");
        let out = gate.screen(two(), &s.env, RevocationPolicy::Strict).await;
        assert!(out.usable.is_empty());
        assert_eq!(
            codes(&out.withheld),
            [NoteCode::RevocationUnknown, NoteCode::RevocationUnknown]
        );
        assert_eq!(s.fetches(), 2, "a failure is not cached");
        s.serve(&[], 86_400);
        let out = gate.screen(two(), &s.env, RevocationPolicy::Strict).await;
        assert_eq!(out.usable.len(), 2);
        assert_eq!(gate.cached_lists(), 1);
    }

    #[tokio::test]
    async fn a_list_signed_by_someone_else_is_not_believed() {
        let s = setup();
        let other = StatusIssuer::new(LIST);
        *s.server.list.lock().unwrap() = Some(other.status_list(&[], T0, 86_400));
        let gate = StatusGate::new();
        let out = gate
            .screen(vec![s.credential(3)], &s.env, RevocationPolicy::Strict)
            .await;
        assert_eq!(codes(&out.withheld), [NoteCode::RevocationUnknown]);
        assert!(out.withheld[0].detail.contains("another issuer"));
    }

    #[tokio::test]
    async fn expired_and_future_credentials_are_withheld_without_a_fetch() {
        let s = setup();
        let gate = StatusGate::new();
        let c = s.credential(3);
        s.advance(2 * 86_400);
        let out = gate
            .screen(vec![c.clone()], &s.env, RevocationPolicy::Lenient)
            .await;
        assert_eq!(codes(&out.withheld), [NoteCode::Expired]);
        assert!(out.withheld[0].detail.starts_with("expired on "));
        s.clock.0.store(T0 - 3600, Ordering::SeqCst);
        let out = gate
            .screen(vec![c], &s.env, RevocationPolicy::Lenient)
            .await;
        assert_eq!(codes(&out.withheld), [NoteCode::NotYetValid]);
        assert_eq!(s.fetches(), 0);
    }
}
