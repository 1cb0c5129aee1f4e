//! [`Pkcs11Signer`]: the organization's ES256 key on a PKCS#11 token.

use std::sync::{Arc, Mutex, PoisonError};

use cryptoki::error::{Error as CkError, RvError};
use cryptoki::mechanism::Mechanism;
use cryptoki::object::{Attribute, AttributeType, KeyType, ObjectClass, ObjectHandle};
use cryptoki::session::{Session, UserType};
use cryptoki::slot::Slot;
use serde_json::{Map, Value};
use sha2::{Digest, Sha256};
use wallet_protocol::jose::b64url;
use wallet_protocol::signer::{SignError, Signer};

use crate::error::{map_ck, Pkcs11Error};
use crate::module::{Module, ModuleGuard};
use crate::pin::Pin;
use crate::uri::Pkcs11Uri;

/// DER of the prime256v1 (P-256) OID, the `CKA_EC_PARAMS` of a P-256 key.
const P256_PARAMS: [u8; 10] = [0x06, 0x08, 0x2a, 0x86, 0x48, 0xce, 0x3d, 0x03, 0x01, 0x07];

/// The x and y coordinates of a P-256 point.
type Point = ([u8; 32], [u8; 32]);

/// An ES256 signer whose private key never leaves the token.
///
/// Holds one logged-in session (behind a mutex: PKCS#11 sessions are not for concurrent
/// use) and the PIN, so it can log in again after the token went away and came back.
pub struct Pkcs11Signer {
    module: Arc<Module>,
    uri: Pkcs11Uri,
    pin: Pin,
    kid: String,
    /// The uncompressed point's x and y, read once at open; a reconnect must find the
    /// same key, or signatures would no longer match the published JWK.
    point: Point,
    live: Mutex<Option<Live>>,
}

/// A logged-in session with the key found, valid for one module generation.
struct Live {
    session: Session,
    slot: Slot,
    key: ObjectHandle,
    generation: u64,
}

impl std::fmt::Debug for Pkcs11Signer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Pkcs11Signer")
            .field("uri", &self.uri.to_string())
            .field("kid", &self.kid)
            .field("pin", &self.pin)
            .finish()
    }
}

impl Pkcs11Signer {
    /// Opens the existing P-256 key the URI names; `KeyMissing` when it is not there.
    pub fn open(uri: &Pkcs11Uri, pin: Pin, kid: String) -> Result<Self, Pkcs11Error> {
        let module = Module::get(uri.module_path())?;
        let (live, point) = with_reinit(&module, |guard| connect(guard, uri, &pin))?;
        Ok(Self {
            module,
            uri: uri.clone(),
            pin,
            kid,
            point,
            live: Mutex::new(Some(live)),
        })
    }

    /// Opens the key, or generates a P-256 key pair inside the token when no private key
    /// with that label (and id) exists. The bool says whether it was generated now.
    pub fn open_or_generate(
        uri: &Pkcs11Uri,
        pin: Pin,
        kid: String,
    ) -> Result<(Self, bool), Pkcs11Error> {
        let module = Module::get(uri.module_path())?;
        // Another process (the CLI next to the app) can still race this; the second key
        // would then make `open` fail with "2 private keys are labelled ...".
        let keygen = module.keygen.lock().unwrap_or_else(PoisonError::into_inner);
        let generated = with_reinit(&module, |guard| {
            let (session, _) = login(guard, uri, &pin, true)?;
            let result = match find_key(&session, uri) {
                Ok(_) => Ok(false),
                Err(Pkcs11Error::KeyMissing { .. }) => generate(&session, uri).map(|()| true),
                Err(e) => Err(e),
            };
            let _ = session.close();
            result
        })?;
        drop(keygen);
        Ok((Self::open(uri, pin, kid)?, generated))
    }

    /// The URI this signer was opened with.
    pub fn uri(&self) -> &Pkcs11Uri {
        &self.uri
    }

    /// Sets the JWS `kid` (e.g. the DID URL once the DID is known).
    pub fn set_key_id(&mut self, kid: String) {
        self.kid = kid;
    }

    /// Health probe for the UI: asks the token about the session and the key, and
    /// reconnects once (as a signature would) when they went away.
    pub fn check(&self) -> Result<(), Pkcs11Error> {
        let mut live = self.lock();
        match self.probe(&live) {
            Ok(()) => Ok(()),
            Err(e) if e.is_transient() => {
                self.reconnect(&mut live)?;
                self.probe(&live)
            }
            Err(e) => Err(e),
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Option<Live>> {
        self.live.lock().unwrap_or_else(PoisonError::into_inner)
    }

    fn probe(&self, live: &Option<Live>) -> Result<(), Pkcs11Error> {
        let guard = self.module.enter();
        let l = current(live, &guard)?;
        let token = self.uri.token();
        l.session.get_session_info().map_err(|e| map_ck(e, token))?;
        let info = guard
            .ctx
            .get_token_info(l.slot)
            .map_err(|e| map_ck(e, token))?;
        if info.label().trim_end_matches(' ') != token {
            return Err(Pkcs11Error::Unreachable(format!(
                "the slot no longer holds the token \"{token}\""
            )));
        }
        l.session
            .get_attributes(l.key, &[AttributeType::KeyType])
            .map_err(|e| map_ck(e, token))?;
        Ok(())
    }

    fn sign_once(&self, live: &Option<Live>, digest: &[u8]) -> Result<Vec<u8>, Pkcs11Error> {
        let guard = self.module.enter();
        let l = current(live, &guard)?;
        let sig = l
            .session
            .sign(&Mechanism::Ecdsa, l.key, digest)
            .map_err(|e| map_ck(e, self.uri.token()))?;
        raw_signature(&sig).ok_or_else(|| {
            Pkcs11Error::Other(format!(
                "C_Sign returned {} bytes, neither r||s nor a DER ECDSA signature",
                sig.len()
            ))
        })
    }

    /// Drops the old session and connects again (see [`with_reinit`]).
    fn reconnect(&self, live: &mut Option<Live>) -> Result<(), Pkcs11Error> {
        if let Some(old) = live.take() {
            self.close(old);
        }
        *live = Some(with_reinit(&self.module, |guard| {
            self.connect_same_key(guard)
        })?);
        Ok(())
    }

    fn connect_same_key(&self, guard: &ModuleGuard<'_>) -> Result<Live, Pkcs11Error> {
        let (live, point) = connect(guard, &self.uri, &self.pin)?;
        if point != self.point {
            close_session(guard, live.generation, live.session);
            return Err(Pkcs11Error::Other(format!(
                "the key \"{}\" on token \"{}\" is no longer the key this signer was opened \
                 with",
                self.uri.object(),
                self.uri.token()
            )));
        }
        Ok(live)
    }

    fn close(&self, live: Live) {
        let guard = self.module.enter();
        close_session(&guard, live.generation, live.session);
    }
}

impl Drop for Pkcs11Signer {
    fn drop(&mut self) {
        if let Some(live) = self.lock().take() {
            self.close(live);
        }
    }
}

impl Signer for Pkcs11Signer {
    fn algorithm(&self) -> &str {
        "ES256"
    }

    fn key_id(&self) -> &str {
        &self.kid
    }

    fn public_jwk(&self) -> Map<String, Value> {
        let mut jwk = Map::new();
        jwk.insert("kty".into(), "EC".into());
        jwk.insert("crv".into(), "P-256".into());
        jwk.insert("x".into(), b64url(&self.point.0).into());
        jwk.insert("y".into(), b64url(&self.point.1).into());
        jwk
    }

    /// SHA-256 in software, then `CKM_ECDSA` over the digest on the token; on a session or
    /// device error one reconnect and one retry.
    fn sign(&self, message: &[u8]) -> Result<Vec<u8>, SignError> {
        let digest = Sha256::digest(message);
        let mut live = self.lock();
        match self.sign_once(&live, &digest) {
            Ok(sig) => return Ok(sig),
            Err(e) if !e.is_transient() => return Err(sign_error(e)),
            Err(_) => {}
        }
        self.reconnect(&mut live).map_err(sign_error)?;
        self.sign_once(&live, &digest).map_err(sign_error)
    }
}

fn sign_error(e: Pkcs11Error) -> SignError {
    match e {
        Pkcs11Error::Other(_) => SignError::Crypto(e.to_string()),
        e => SignError::Unavailable(e.to_string()),
    }
}

/// Runs `f` in the module; when the token is absent or unreachable, re-initialises the
/// module once (unless another thread just did) and runs `f` again.
pub(crate) fn with_reinit<T>(
    module: &Module,
    f: impl Fn(&ModuleGuard<'_>) -> Result<T, Pkcs11Error>,
) -> Result<T, Pkcs11Error> {
    let seen = {
        let guard = module.enter();
        match f(&guard) {
            Err(e) if e.is_transient() => guard.generation,
            result => return result,
        }
    };
    module.reinitialize(seen)?;
    f(&module.enter())
}

/// The session, if it belongs to the module's current generation.
fn current<'a>(live: &'a Option<Live>, guard: &ModuleGuard<'_>) -> Result<&'a Live, Pkcs11Error> {
    match live {
        Some(l) if l.generation == guard.generation => Ok(l),
        Some(_) => Err(Pkcs11Error::Unreachable(
            "the PKCS#11 module was re-initialised".to_owned(),
        )),
        None => Err(Pkcs11Error::Unreachable("no open session".to_owned())),
    }
}

/// Closes a session opened in `generation`. A session of an older generation died with
/// `C_Finalize`; its handle may already name another session, so it is left alone.
pub(crate) fn close_session(guard: &ModuleGuard<'_>, generation: u64, session: Session) {
    if guard.generation == generation {
        let _ = session.close();
    }
}

/// Finds the token, logs in, finds the key and reads its public point.
fn connect(
    guard: &ModuleGuard<'_>,
    uri: &Pkcs11Uri,
    pin: &Pin,
) -> Result<(Live, Point), Pkcs11Error> {
    let (session, slot) = login(guard, uri, pin, false)?;
    let found =
        find_key(&session, uri).and_then(|key| Ok((key, public_point(&session, uri, key)?)));
    match found {
        Ok((key, point)) => Ok((
            Live {
                session,
                slot,
                key,
                generation: guard.generation,
            },
            point,
        )),
        Err(e) => {
            let _ = session.close();
            Err(e)
        }
    }
}

/// The slot holding the token labelled as in the URI (and with its slot id, if given).
fn find_slot(guard: &ModuleGuard<'_>, uri: &Pkcs11Uri) -> Result<(Slot, bool), Pkcs11Error> {
    let token = uri.token();
    let slots = guard
        .ctx
        .get_slots_with_token()
        .map_err(|e| map_ck(e, token))?;
    let mut present = Vec::new();
    for slot in slots {
        // A token that errors here (gone, broken) is skipped like an absent one.
        let Ok(info) = guard.ctx.get_token_info(slot) else {
            continue;
        };
        if !info.token_initialized() {
            continue;
        }
        let label = info.label().trim_end_matches(' ');
        if label == token && uri.slot_id().is_none_or(|id| id == slot.id()) {
            return Ok((slot, info.login_required()));
        }
        present.push(label.to_owned());
    }
    Err(Pkcs11Error::TokenAbsent {
        label: token.to_owned(),
        present,
    })
}

/// A new session on the token, logged in as the user.
pub(crate) fn login(
    guard: &ModuleGuard<'_>,
    uri: &Pkcs11Uri,
    pin: &Pin,
    rw: bool,
) -> Result<(Session, Slot), Pkcs11Error> {
    let token = uri.token();
    let (slot, login_required) = find_slot(guard, uri)?;
    if login_required && pin.is_empty() {
        return Err(Pkcs11Error::PinRequired {
            token: token.to_owned(),
        });
    }
    // Sessions are closed explicitly (`close_session`), never by `Drop`: after a
    // re-initialisation an old handle may name someone else's session.
    let session = if rw {
        guard.ctx.open_rw_session_no_drop(slot)
    } else {
        guard.ctx.open_ro_session_no_drop(slot)
    }
    .map_err(|e| map_ck(e, token))?;
    if login_required {
        let result = match session.login(UserType::User, Some(pin.auth())) {
            Ok(()) => {
                guard.module.remember_login(token, pin);
                Ok(())
            }
            // The login state is per token and process: another session of this process
            // is logged in, and the token did not look at this PIN. Compare it with the
            // PIN that login used.
            Err(CkError::Pkcs11(RvError::UserAlreadyLoggedIn, _)) => {
                match guard.module.matches_login(token, pin) {
                    Some(false) => Err(Pkcs11Error::WrongPin {
                        token: token.to_owned(),
                    }),
                    Some(true) | None => Ok(()),
                }
            }
            // This process's view of the token may predate its set-up (`C_InitToken`, then
            // `C_InitPIN`, by another process): transient, so the module is re-read once.
            Err(CkError::Pkcs11(RvError::UserPinNotInitialized, _)) => {
                Err(Pkcs11Error::Unreachable(format!(
                    "the user PIN of token \"{token}\" is not set yet (is the token still \
                     being set up?)"
                )))
            }
            Err(e) => Err(map_ck(e, token)),
        };
        if let Err(e) = result {
            let _ = session.close();
            return Err(e);
        }
    }
    Ok((session, slot))
}

pub(crate) fn key_template(uri: &Pkcs11Uri, class: ObjectClass) -> Vec<Attribute> {
    let mut t = vec![
        Attribute::Class(class),
        Attribute::Label(uri.object().as_bytes().to_vec()),
    ];
    if let Some(id) = uri.id() {
        t.push(Attribute::Id(id.to_vec()));
    }
    t
}

/// The one private key the URI names (by label, and id when given).
pub(crate) fn find_private_key(
    session: &Session,
    uri: &Pkcs11Uri,
) -> Result<ObjectHandle, Pkcs11Error> {
    let token = uri.token();
    let found = session
        .find_objects(&key_template(uri, ObjectClass::PRIVATE_KEY))
        .map_err(|e| map_ck(e, token))?;
    match found.as_slice() {
        [] => Err(Pkcs11Error::KeyMissing {
            token: token.to_owned(),
            object: uri.object().to_owned(),
        }),
        [one] => Ok(*one),
        many => Err(Pkcs11Error::Other(format!(
            "{} private keys are labelled \"{}\" on token \"{token}\"; add id= to the URI",
            many.len(),
            uri.object()
        ))),
    }
}

/// The private key the URI names, checked to be EC on P-256.
fn find_key(session: &Session, uri: &Pkcs11Uri) -> Result<ObjectHandle, Pkcs11Error> {
    let token = uri.token();
    let key = find_private_key(session, uri)?;
    let attrs = session
        .get_attributes(key, &[AttributeType::KeyType, AttributeType::EcParams])
        .map_err(|e| map_ck(e, token))?;
    let not_p256 = |found: String| Pkcs11Error::NotEcP256 {
        object: uri.object().to_owned(),
        found,
    };
    let key_type = attrs.iter().find_map(|a| match a {
        Attribute::KeyType(t) => Some(*t),
        _ => None,
    });
    match key_type {
        Some(KeyType::EC) => {}
        Some(other) => return Err(not_p256(format!("a {other} key"))),
        None => return Err(not_p256("a key without CKA_KEY_TYPE".to_owned())),
    }
    let on_p256 = attrs
        .iter()
        .any(|a| matches!(a, Attribute::EcParams(p) if p.as_slice() == P256_PARAMS));
    if !on_p256 {
        return Err(not_p256("an EC key on another curve".to_owned()));
    }
    Ok(key)
}

/// The key's public point from the public key object with the same label (and id), or from
/// the private key's own `CKA_EC_POINT` where the module keeps one.
fn public_point(
    session: &Session,
    uri: &Pkcs11Uri,
    private: ObjectHandle,
) -> Result<Point, Pkcs11Error> {
    let token = uri.token();
    let publics = session
        .find_objects(&key_template(uri, ObjectClass::PUBLIC_KEY))
        .map_err(|e| map_ck(e, token))?;
    for handle in publics.into_iter().chain([private]) {
        let attrs = session
            .get_attributes(handle, &[AttributeType::EcPoint])
            .map_err(|e| map_ck(e, token))?;
        for a in attrs {
            if let Attribute::EcPoint(p) = a {
                return parse_ec_point(&p).ok_or_else(|| {
                    Pkcs11Error::Other(format!(
                        "the public point of \"{}\" is not an uncompressed P-256 point",
                        uri.object()
                    ))
                });
            }
        }
    }
    Err(Pkcs11Error::Other(format!(
        "no public key (CKA_EC_POINT) for \"{}\" on token \"{token}\"",
        uri.object()
    )))
}

/// Generates the key pair inside the token: the private half is sensitive and never
/// extractable, so it exists only there.
fn generate(session: &Session, uri: &Pkcs11Uri) -> Result<(), Pkcs11Error> {
    let label = uri.object().as_bytes().to_vec();
    // Without an id in the URI: a stable one from the label, so tools that pair keys and
    // certificates by CKA_ID see the two halves as one key.
    let id = uri
        .id()
        .map(<[u8]>::to_vec)
        .unwrap_or_else(|| Sha256::digest(&label)[..16].to_vec());
    let public = [
        Attribute::Token(true),
        Attribute::Private(false),
        Attribute::Verify(true),
        // A signing key only: no other use, whatever the token's defaults are.
        Attribute::Encrypt(false),
        Attribute::Wrap(false),
        Attribute::EcParams(P256_PARAMS.to_vec()),
        Attribute::Label(label.clone()),
        Attribute::Id(id.clone()),
    ];
    let private = [
        Attribute::Token(true),
        Attribute::Private(true),
        Attribute::Sensitive(true),
        Attribute::Extractable(false),
        Attribute::Sign(true),
        Attribute::Decrypt(false),
        Attribute::Unwrap(false),
        Attribute::Derive(false),
        Attribute::Label(label),
        Attribute::Id(id),
    ];
    session
        .generate_key_pair(&Mechanism::EccKeyPairGen, &public, &private)
        .map_err(|e| map_ck(e, uri.token()))?;
    Ok(())
}

/// x and y from `CKA_EC_POINT`: a DER OCTET STRING around the uncompressed point (PKCS#11),
/// or the bare point, which some modules return.
pub(crate) fn parse_ec_point(bytes: &[u8]) -> Option<Point> {
    let point = match bytes {
        [0x04, 0x41, rest @ ..] if rest.len() == 65 => rest,
        p if p.len() == 65 => p,
        _ => return None,
    };
    let (tag, xy) = point.split_first()?;
    if *tag != 0x04 {
        return None;
    }
    Some((xy[..32].try_into().ok()?, xy[32..].try_into().ok()?))
}

/// The 64-byte `r || s` JWS form from `CKM_ECDSA` output: as is, or from a DER
/// `SEQUENCE { INTEGER r, INTEGER s }` that some modules return.
pub(crate) fn raw_signature(sig: &[u8]) -> Option<Vec<u8>> {
    if sig.len() == 64 {
        return Some(sig.to_vec());
    }
    let (body, rest) = der_tlv(sig, 0x30)?;
    if !rest.is_empty() {
        return None;
    }
    let (r, body) = der_tlv(body, 0x02)?;
    let (s, body) = der_tlv(body, 0x02)?;
    if !body.is_empty() {
        return None;
    }
    let mut out = vec![0u8; 64];
    let (out_r, out_s) = out.split_at_mut(32);
    for (int, dst) in [(r, out_r), (s, out_s)] {
        let int = strip_leading_zeros(int);
        if int.len() > 32 {
            return None;
        }
        dst[32 - int.len()..].copy_from_slice(int);
    }
    Some(out)
}

fn strip_leading_zeros(mut b: &[u8]) -> &[u8] {
    while let [0, rest @ ..] = b {
        b = rest;
    }
    b
}

/// One DER element with the expected tag (short-form or one-byte long-form length).
fn der_tlv(input: &[u8], tag: u8) -> Option<(&[u8], &[u8])> {
    let (&t, rest) = input.split_first()?;
    if t != tag {
        return None;
    }
    let (&len, rest) = rest.split_first()?;
    let (len, rest) = match len {
        0..=0x7f => (usize::from(len), rest),
        0x81 => {
            let (&l, rest) = rest.split_first()?;
            (usize::from(l), rest)
        }
        _ => return None,
    };
    (rest.len() >= len).then(|| rest.split_at(len))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_ec_points_wrapped_or_bare() {
        let mut bare = vec![0x04];
        bare.extend((1..=64).collect::<Vec<u8>>());
        let mut wrapped = vec![0x04, 0x41];
        wrapped.extend(&bare);
        for p in [&bare, &wrapped] {
            let (x, y) = parse_ec_point(p).unwrap();
            assert_eq!(x[0], 1);
            assert_eq!(y[31], 64);
        }
        assert!(parse_ec_point(&bare[1..]).is_none());
        let mut compressed = vec![0x04, 0x21, 0x02];
        compressed.extend([7u8; 32]);
        assert!(parse_ec_point(&compressed).is_none());
    }

    #[test]
    fn converts_der_signatures_to_r_s() {
        let raw: Vec<u8> = (1..=64).collect();
        assert_eq!(raw_signature(&raw).unwrap(), raw);
        // r with a leading zero byte (high bit set), s shorter than 32 bytes.
        let mut r = vec![0x00, 0x80];
        r.extend([0x11; 31]);
        let s = vec![0x05; 30];
        let mut der = vec![0x30, (2 + r.len() + 2 + s.len()) as u8, 0x02, r.len() as u8];
        der.extend(&r);
        der.extend([0x02, s.len() as u8]);
        der.extend(&s);
        let out = raw_signature(&der).unwrap();
        assert_eq!(out.len(), 64);
        assert_eq!(&out[..32], &r[1..]);
        assert_eq!(&out[32..34], &[0, 0]);
        assert_eq!(&out[34..], &s[..]);
        assert!(raw_signature(&der[..der.len() - 1]).is_none());
        assert!(raw_signature(&[0u8; 63]).is_none());
    }
}
