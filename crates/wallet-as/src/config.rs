//! Configuration: a TOML file (paths relative to the file's directory) plus command-line
//! overrides. Everything unsafe for production is off by default: the server listens on
//! loopback only unless `allow_non_loopback = true`, and outbound fetches (did:web, request
//! objects, entity statements) refuse `localhost` unless `dev = true`.
//!
//! Example (`as.toml`):
//!
//! ```toml
//! listen = "127.0.0.1:8443"
//! base_url = "https://localhost:8443"
//! subject = "as"
//! key_file = "as-key.pem"        # P-256 PKCS#8 PEM; created on first start
//! tls_cert = "server.pem"
//! tls_key = "server-key.pem"
//! policy = ["policies"]          # Nuts policy files or directories of them
//! dev = true                     # allow localhost / loopback outbound (test setups)
//! ca_file = "ca.pem"             # extra CA trusted for outbound HTTPS
//! ```

use std::net::SocketAddr;
use std::path::{Path, PathBuf};

use serde::Deserialize;
use url::Url;

use crate::error::{AsError, Result};

/// The server configuration.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Config {
    /// Listen address (default `127.0.0.1:8443`).
    #[serde(default = "default_listen")]
    pub listen: SocketAddr,
    /// Public base URL (`https://host[:port][/path]`); issuer = `<base_url>/oauth2/<subject>`.
    pub base_url: Url,
    /// The tenant subject (default `as`).
    #[serde(default = "default_subject")]
    pub subject: String,
    /// Last segment of the did:web (`did:web:<host>:iam:<did_id>`); default: the subject.
    #[serde(default)]
    pub did_id: Option<String>,
    /// The AS's P-256 key (PKCS#8 PEM); generated on first start when missing.
    pub key_file: PathBuf,
    /// TLS certificate chain (PEM).
    pub tls_cert: PathBuf,
    /// TLS private key (PEM).
    pub tls_key: PathBuf,
    /// Nuts policy files, or directories whose `*.json` files are policy files.
    #[serde(default)]
    pub policy: Vec<PathBuf>,
    /// Development mode for outbound requests (allows localhost and private addresses).
    #[serde(default)]
    pub dev: bool,
    /// Extra CA (PEM) trusted for outbound HTTPS.
    #[serde(default)]
    pub ca_file: Option<PathBuf>,
    /// Serve the user flow (authorization endpoint); Nuts has it off by default, the
    /// reference server on.
    #[serde(default = "default_true")]
    pub user_flow: bool,
    /// Allow a listen address other than loopback.
    #[serde(default)]
    pub allow_non_loopback: bool,
}

fn default_listen() -> SocketAddr {
    SocketAddr::from(([127, 0, 0, 1], 8443))
}

fn default_subject() -> String {
    "as".to_owned()
}

fn default_true() -> bool {
    true
}

impl Config {
    /// Reads a TOML file; relative paths are taken from the file's directory.
    pub fn load(path: &Path) -> Result<Self> {
        let text = std::fs::read_to_string(path)
            .map_err(|e| AsError::Config(format!("cannot read {}: {e}", path.display())))?;
        let mut cfg: Config = toml::from_str(&text)
            .map_err(|e| AsError::Config(format!("{}: {e}", path.display())))?;
        let dir = path.parent().unwrap_or(Path::new("."));
        cfg.resolve_paths(dir);
        Ok(cfg)
    }

    /// Makes relative paths relative to `dir`.
    pub fn resolve_paths(&mut self, dir: &Path) {
        let fix = |p: &mut PathBuf| {
            if p.is_relative() {
                *p = dir.join(&*p);
            }
        };
        fix(&mut self.key_file);
        fix(&mut self.tls_cert);
        fix(&mut self.tls_key);
        for p in &mut self.policy {
            fix(p);
        }
        if let Some(p) = &mut self.ca_file {
            fix(p);
        }
    }

    /// Checks what can be checked without I/O.
    pub fn validate(&self) -> Result<()> {
        if !self.listen.ip().is_loopback() && !self.allow_non_loopback {
            return Err(AsError::Config(format!(
                "listen address {} is not loopback; set allow_non_loopback = true to expose the server",
                self.listen
            )));
        }
        if self.base_url.scheme() != "https" {
            return Err(AsError::Config("base_url must be https".into()));
        }
        if self.subject.is_empty()
            || !self
                .subject
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.'))
        {
            return Err(AsError::Config(
                "subject must be a non-empty [A-Za-z0-9._-] string".into(),
            ));
        }
        if let Some(id) = &self.did_id {
            if id.is_empty()
                || !id
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.'))
            {
                return Err(AsError::Config(
                    "did_id must be a non-empty [A-Za-z0-9._-] string".into(),
                ));
            }
        }
        if self.policy.is_empty() {
            return Err(AsError::Config("no policy files configured".into()));
        }
        Ok(())
    }

    /// The did:web id segment.
    pub fn did_id(&self) -> &str {
        self.did_id.as_deref().unwrap_or(&self.subject)
    }
}

/// Loads and merges the configured policy files (directories: every `*.json`, sorted).
pub fn load_policy(paths: &[PathBuf]) -> Result<wallet_pex::PolicyFile> {
    let mut files = Vec::new();
    for p in paths {
        if p.is_dir() {
            let mut entries: Vec<PathBuf> = std::fs::read_dir(p)?
                .filter_map(|e| e.ok().map(|e| e.path()))
                .filter(|e| e.extension().is_some_and(|x| x == "json"))
                .collect();
            entries.sort();
            files.extend(entries);
        } else {
            files.push(p.clone());
        }
    }
    let mut policy = wallet_pex::PolicyFile::default();
    for f in files {
        let text = std::fs::read_to_string(&f)
            .map_err(|e| AsError::Policy(format!("{}: {e}", f.display())))?;
        let one = wallet_pex::PolicyFile::parse(&text)
            .map_err(|e| AsError::Policy(format!("{}: {e}", f.display())))?;
        check_field_ids(&one).map_err(|e| AsError::Policy(format!("{}: {e}", f.display())))?;
        policy
            .merge(one)
            .map_err(|e| AsError::Policy(format!("{}: {e}", f.display())))?;
    }
    Ok(policy)
}

/// Field ids become introspection claims; Nuts refuses the reserved claim names.
fn check_field_ids(policy: &wallet_pex::PolicyFile) -> std::result::Result<(), String> {
    for scope in policy.scopes() {
        for pd in policy.scope(scope).into_iter().flat_map(|s| s.values()) {
            for d in pd.input_descriptors() {
                for f in d.fields() {
                    if let Some(id) = f.id() {
                        if crate::token::RESERVED_CLAIMS.contains(&id) || id == "cnf" {
                            return Err(format!(
                                "scope {scope}, definition {}: field id `{id}` is a reserved claim name",
                                pd.id()
                            ));
                        }
                    }
                }
            }
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn base() -> Config {
        toml::from_str(
            r#"
            base_url = "https://localhost:8443"
            key_file = "k.pem"
            tls_cert = "c.pem"
            tls_key = "ck.pem"
            policy = ["p"]
            "#,
        )
        .unwrap()
    }

    #[test]
    fn defaults_are_safe() {
        let c = base();
        assert!(c.listen.ip().is_loopback());
        assert!(!c.dev);
        assert!(c.user_flow);
        assert_eq!(c.did_id(), "as");
        c.validate().unwrap();
    }

    #[test]
    fn refuses_public_listen_and_plain_http() {
        let mut c = base();
        c.listen = "0.0.0.0:8443".parse().unwrap();
        assert!(c.validate().is_err());
        c.allow_non_loopback = true;
        c.validate().unwrap();
        c.base_url = Url::parse("http://localhost:8443").unwrap();
        assert!(c.validate().is_err());
        let mut c = base();
        c.subject = "a/b".into();
        assert!(c.validate().is_err());
        let mut c = base();
        c.did_id = Some("x:y".into());
        assert!(c.validate().is_err());
    }

    #[test]
    fn relative_paths_follow_the_config_dir() {
        let mut c = base();
        c.resolve_paths(Path::new("/etc/as"));
        assert_eq!(c.key_file, PathBuf::from("/etc/as/k.pem"));
        assert_eq!(c.policy[0], PathBuf::from("/etc/as/p"));
    }

    #[test]
    fn policies_load_from_files_and_directories_and_refuse_reserved_field_ids() {
        let vectors = Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("../../vectors/nuts/presentation-definitions");
        let p = load_policy(&[vectors.join("e2e-browser-zorgtoepassing-policy.json")]).unwrap();
        assert!(p
            .definition("zorgtoepassing", wallet_pex::WalletOwnerType::User)
            .is_some());
        let dir = tempfile::tempdir().unwrap();
        let pd = |field: &str| {
            serde_json::json!({"id": "pd", "input_descriptors": [{"id": "d", "constraints": {"fields": [
                {"id": field, "path": ["$.type"], "filter": {"type": "string"}}]}}]})
        };
        std::fs::write(
            dir.path().join("a.json"),
            serde_json::json!({"a": {"organization": pd("org_name")}}).to_string(),
        )
        .unwrap();
        std::fs::write(dir.path().join("notes.txt"), "ignored").unwrap();
        let p = load_policy(&[dir.path().to_path_buf()]).unwrap();
        assert_eq!(p.scopes().collect::<Vec<_>>(), vec!["a"]);
        // The same scope twice is refused, as a Nuts node does.
        std::fs::write(
            dir.path().join("b.json"),
            serde_json::json!({"a": {"organization": pd("x")}}).to_string(),
        )
        .unwrap();
        assert!(load_policy(&[dir.path().to_path_buf()]).is_err());
        std::fs::remove_file(dir.path().join("b.json")).unwrap();
        std::fs::write(
            dir.path().join("c.json"),
            serde_json::json!({"c": {"organization": pd("client_id")}}).to_string(),
        )
        .unwrap();
        let e = load_policy(&[dir.path().to_path_buf()]).unwrap_err();
        assert!(e.to_string().contains("reserved"), "{e}");
    }

    #[test]
    fn unknown_keys_are_refused() {
        let r: std::result::Result<Config, _> = toml::from_str(
            "base_url = \"https://x\"\nkey_file=\"k\"\ntls_cert=\"c\"\ntls_key=\"k\"\nlisten_all = true",
        );
        assert!(r.is_err());
    }
}
