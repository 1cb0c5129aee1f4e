//! [`Pkcs11RsaKey`]: an RSA key on a token that makes PS256 signatures, for the one
//! signature of the organization's X509Credential by its UZI server certificate's key
//! (which hospitals keep in an HSM as well). `CKM_SHA256_RSA_PKCS_PSS` (SHA-256, MGF1 with
//! SHA-256, 32-byte salt): the PS256 of RFC 7518.

use std::sync::{Arc, Mutex, PoisonError};

use cryptoki::mechanism::rsa::{PkcsMgfType, PkcsPssParams};
use cryptoki::mechanism::{Mechanism, MechanismType};
use cryptoki::object::{Attribute, AttributeType, KeyType, ObjectClass, ObjectHandle};
use cryptoki::session::Session;
use serde_json::{Map, Value};
use wallet_protocol::signer::{SignError, Signer};

use crate::error::{map_ck, Pkcs11Error};
use crate::module::Module;
use crate::pin::Pin;
use crate::signer::{close_session, find_private_key, key_template, login, with_reinit};
use crate::uri::Pkcs11Uri;

/// An RSA private key on a token, logged in for as long as this value lives.
pub struct Pkcs11RsaKey {
    module: Arc<Module>,
    uri: Pkcs11Uri,
    /// Behind a mutex: PKCS#11 sessions are not for concurrent use.
    session: Mutex<Option<Session>>,
    generation: u64,
    key: ObjectHandle,
    modulus: Vec<u8>,
    exponent: Vec<u8>,
    kid: String,
}

impl std::fmt::Debug for Pkcs11RsaKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Pkcs11RsaKey")
            .field("uri", &self.uri.to_string())
            .field("bits", &(self.modulus.len() * 8))
            .finish()
    }
}

fn attr_bytes(attrs: &[Attribute], modulus: bool) -> Option<Vec<u8>> {
    attrs.iter().find_map(|a| match a {
        Attribute::Modulus(m) if modulus => Some(m.clone()),
        Attribute::PublicExponent(e) if !modulus => Some(e.clone()),
        _ => None,
    })
}

impl Pkcs11RsaKey {
    /// Logs in and finds the RSA private key the URI names, with its modulus and public
    /// exponent (from the private key, or the public key object of the same label).
    pub fn open(uri: &Pkcs11Uri, pin: Pin) -> Result<Self, Pkcs11Error> {
        let module = Module::get(uri.module_path())?;
        let (session, generation, key, modulus, exponent) = with_reinit(&module, |guard| {
            let (session, _) = login(guard, uri, &pin, false)?;
            let found = find_rsa(&session, uri);
            match found {
                Ok((key, n, e)) => Ok((session, guard.generation, key, n, e)),
                Err(err) => {
                    close_session(guard, guard.generation, session);
                    Err(err)
                }
            }
        })?;
        Ok(Self {
            module,
            uri: uri.clone(),
            session: Mutex::new(Some(session)),
            generation,
            key,
            modulus,
            exponent,
            kid: String::new(),
        })
    }

    /// The modulus (big-endian).
    pub fn modulus(&self) -> &[u8] {
        &self.modulus
    }

    /// The public exponent (big-endian).
    pub fn public_exponent(&self) -> &[u8] {
        &self.exponent
    }
}

fn find_rsa(
    session: &Session,
    uri: &Pkcs11Uri,
) -> Result<(ObjectHandle, Vec<u8>, Vec<u8>), Pkcs11Error> {
    let token = uri.token();
    let key = find_private_key(session, uri)?;
    let wanted = [
        AttributeType::KeyType,
        AttributeType::Modulus,
        AttributeType::PublicExponent,
    ];
    let attrs = session
        .get_attributes(key, &wanted)
        .map_err(|e| map_ck(e, token))?;
    let is_rsa = attrs
        .iter()
        .any(|a| matches!(a, Attribute::KeyType(t) if *t == KeyType::RSA));
    if !is_rsa {
        return Err(Pkcs11Error::Other(format!(
            "\"{}\" on token \"{token}\" is not an RSA key",
            uri.object()
        )));
    }
    if let (Some(n), Some(e)) = (attr_bytes(&attrs, true), attr_bytes(&attrs, false)) {
        return Ok((key, n, e));
    }
    // Some modules keep the public parts only on the public key object.
    for public in session
        .find_objects(&key_template(uri, ObjectClass::PUBLIC_KEY))
        .map_err(|e| map_ck(e, token))?
    {
        let attrs = session
            .get_attributes(public, &wanted[1..])
            .map_err(|e| map_ck(e, token))?;
        if let (Some(n), Some(e)) = (attr_bytes(&attrs, true), attr_bytes(&attrs, false)) {
            return Ok((key, n, e));
        }
    }
    Err(Pkcs11Error::Other(format!(
        "no modulus for \"{}\" on token \"{token}\"",
        uri.object()
    )))
}

impl Drop for Pkcs11RsaKey {
    fn drop(&mut self) {
        let session = self
            .session
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .take();
        if let Some(session) = session {
            close_session(&self.module.enter(), self.generation, session);
        }
    }
}

impl Signer for Pkcs11RsaKey {
    fn algorithm(&self) -> &str {
        "PS256"
    }

    fn key_id(&self) -> &str {
        &self.kid
    }

    fn public_jwk(&self) -> Map<String, Value> {
        let mut jwk = Map::new();
        jwk.insert("kty".into(), "RSA".into());
        jwk.insert(
            "n".into(),
            wallet_protocol::jose::b64url(&self.modulus).into(),
        );
        jwk.insert(
            "e".into(),
            wallet_protocol::jose::b64url(&self.exponent).into(),
        );
        jwk
    }

    /// The token hashes and pads: `CKM_SHA256_RSA_PKCS_PSS`.
    fn sign(&self, message: &[u8]) -> Result<Vec<u8>, SignError> {
        let guard = self.module.enter();
        if guard.generation != self.generation {
            return Err(SignError::Unavailable(
                "the PKCS#11 module was re-initialised".into(),
            ));
        }
        let params = PkcsPssParams {
            hash_alg: MechanismType::SHA256,
            mgf: PkcsMgfType::MGF1_SHA256,
            s_len: 32.into(),
        };
        let session = self.session.lock().unwrap_or_else(PoisonError::into_inner);
        let Some(session) = session.as_ref() else {
            return Err(SignError::Unavailable("no open session".into()));
        };
        session
            .sign(&Mechanism::Sha256RsaPkcsPss(params), self.key, message)
            .map_err(|e| match map_ck(e, self.uri.token()) {
                Pkcs11Error::Other(m) => SignError::Crypto(m),
                other => SignError::Unavailable(other.to_string()),
            })
    }
}
