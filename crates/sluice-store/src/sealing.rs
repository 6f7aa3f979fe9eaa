//! Connection secrets sealed at rest: every value under a secret field of a connection's
//! settings ([`sluice_types::secrets`]) is stored as `{"$sealed": "v1:HEX"}`, AES-256-GCM with a
//! random nonce and the connection's id as associated data (a sealed value copied into another
//! connection does not open). The key is kept apart from the database: a key file made on first
//! start (mode 0600) or 32 bytes in hex from the environment, so that a copied database alone
//! reveals no secret.

use std::io::Write as _;
use std::path::Path;

use ring::aead::{Aad, LessSafeKey, Nonce, UnboundKey, AES_256_GCM, NONCE_LEN};
use ring::rand::{SecureRandom, SystemRandom};
use serde_json::{json, Map, Value as Json};
use sluice_types::secrets::{is_secret_field, SECRET_MAP_FIELD};

use crate::{StoreError, StoreResult};

/// The marker of a sealed value.
const SEALED: &str = "$sealed";
/// The format of a sealed value's text.
const VERSION: &str = "v1:";
/// Key length in bytes.
const KEY_LEN: usize = 32;

/// Seals and opens connection secrets with one key.
pub struct Sealer {
    key: LessSafeKey,
    rng: SystemRandom,
    /// Proves to another node sharing the key that a call comes from a node ([`Sealer::node_token`]).
    node_token: String,
}

impl std::fmt::Debug for Sealer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Sealer(..)")
    }
}

/// What the node token signs: a token made for another use never matches.
const NODE_TOKEN_PURPOSE: &[u8] = b"sluice node-to-node calls v1";

fn sealing_error(what: impl std::fmt::Display) -> StoreError {
    StoreError::Backend(format!("secret sealing: {}", what))
}

impl Sealer {
    /// A sealer over 32 key bytes.
    pub fn new(key: &[u8]) -> StoreResult<Sealer> {
        if key.len() != KEY_LEN {
            return Err(sealing_error(format!("the key must be {} bytes, not {}", KEY_LEN, key.len())));
        }
        let unbound = UnboundKey::new(&AES_256_GCM, key).map_err(|_| sealing_error("unusable key"))?;
        let signing = ring::hmac::Key::new(ring::hmac::HMAC_SHA256, key);
        let node_token = hex::encode(ring::hmac::sign(&signing, NODE_TOKEN_PURPOSE).as_ref());
        Ok(Sealer { key: LessSafeKey::new(unbound), rng: SystemRandom::new(), node_token })
    }

    /// A secret every node holding the same key derives alike (an HMAC of the key, from which the
    /// key cannot be found): the credential of calls between nodes.
    pub fn node_token(&self) -> &str {
        &self.node_token
    }

    /// A sealer over a key given in hex (64 digits).
    pub fn from_hex(hex_key: &str) -> StoreResult<Sealer> {
        let key = hex::decode(hex_key.trim()).map_err(|_| sealing_error("the key is not hex"))?;
        Sealer::new(&key)
    }

    /// The key given in hex (`SLUICE_SECRET_KEY`), or else the key file at `path`, made with
    /// a fresh random key and mode 0600 when missing.
    pub fn from_hex_or_file(hex_key: Option<&str>, path: &Path) -> StoreResult<Sealer> {
        if let Some(h) = hex_key {
            return Sealer::from_hex(h);
        }
        match std::fs::read_to_string(path) {
            Ok(text) => {
                let key = hex::decode(text.trim())
                    .map_err(|_| sealing_error(format!("{} does not hold a hex key", path.display())))?;
                Sealer::new(&key)
            }
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                let mut key = [0u8; KEY_LEN];
                SystemRandom::new().fill(&mut key).map_err(|_| sealing_error("no random source"))?;
                write_private(path, hex::encode(key).as_bytes())?;
                Sealer::new(&key)
            }
            Err(e) => Err(sealing_error(format!("cannot read {}: {}", path.display(), e))),
        }
    }

    fn seal_value(&self, v: &Json, aad: &str) -> StoreResult<Json> {
        let mut nonce = [0u8; NONCE_LEN];
        self.rng.fill(&mut nonce).map_err(|_| sealing_error("no random source"))?;
        let mut data = v.to_string().into_bytes();
        self.key
            .seal_in_place_append_tag(Nonce::assume_unique_for_key(nonce), Aad::from(aad.as_bytes()), &mut data)
            .map_err(|_| sealing_error("cannot seal"))?;
        let mut out = nonce.to_vec();
        out.extend_from_slice(&data);
        Ok(json!({ SEALED: format!("{}{}", VERSION, hex::encode(out)) }))
    }

    fn open_value(&self, text: &str, aad: &str) -> StoreResult<Json> {
        let raw = text
            .strip_prefix(VERSION)
            .and_then(|h| hex::decode(h).ok())
            .filter(|r| r.len() > NONCE_LEN)
            .ok_or_else(|| sealing_error("a sealed value is malformed"))?;
        let (nonce, sealed) = raw.split_at(NONCE_LEN);
        let nonce = Nonce::try_assume_unique_for_key(nonce).map_err(|_| sealing_error("bad nonce"))?;
        let mut data = sealed.to_vec();
        let plain = self
            .key
            .open_in_place(nonce, Aad::from(aad.as_bytes()), &mut data)
            .map_err(|_| sealing_error("a sealed secret does not open with this key"))?;
        serde_json::from_slice(plain).map_err(|_| sealing_error("a sealed value is not JSON"))
    }

    /// `config` with every secret value sealed for the connection `id` (sealed ones kept).
    pub fn seal(&self, id: &str, config: &Json) -> StoreResult<Json> {
        walk(config, &mut |v| if sealed_text(v).is_some() { Ok(v.clone()) } else { self.seal_value(v, id) })
    }

    /// `config` with every sealed value of the connection `id` opened.
    pub fn open(&self, id: &str, config: &Json) -> StoreResult<Json> {
        open_all(config, &mut |text| self.open_value(text, id))
    }
}

/// The text of a sealed value.
fn sealed_text(v: &Json) -> Option<&str> {
    match v {
        Json::Object(m) if m.len() == 1 => m.get(SEALED).and_then(Json::as_str),
        _ => None,
    }
}

/// Whether `config` holds a secret value that is not sealed.
pub fn has_clear_secret(config: &Json) -> bool {
    let mut found = false;
    let _ = walk(config, &mut |v| {
        found |= sealed_text(v).is_none();
        Ok(v.clone())
    });
    found
}

/// `v` with `f` applied to each secret value.
fn walk(v: &Json, f: &mut dyn FnMut(&Json) -> StoreResult<Json>) -> StoreResult<Json> {
    Ok(match v {
        Json::Object(m) => {
            let mut out = Map::new();
            for (k, x) in m {
                let y = if is_secret_field(k) && !x.is_null() {
                    f(x)?
                } else if k == SECRET_MAP_FIELD && x.is_object() {
                    let mut headers = Map::new();
                    for (hk, hv) in x.as_object().into_iter().flatten() {
                        headers.insert(hk.clone(), f(hv)?);
                    }
                    Json::Object(headers)
                } else {
                    walk(x, f)?
                };
                out.insert(k.clone(), y);
            }
            Json::Object(out)
        }
        Json::Array(a) => Json::Array(a.iter().map(|x| walk(x, f)).collect::<StoreResult<_>>()?),
        other => other.clone(),
    })
}

/// `v` with every sealed value replaced by what `f` opens it to.
fn open_all(v: &Json, f: &mut dyn FnMut(&str) -> StoreResult<Json>) -> StoreResult<Json> {
    if let Some(text) = sealed_text(v) {
        return f(text);
    }
    Ok(match v {
        Json::Object(m) => {
            Json::Object(m.iter().map(|(k, x)| Ok((k.clone(), open_all(x, f)?))).collect::<StoreResult<_>>()?)
        }
        Json::Array(a) => Json::Array(a.iter().map(|x| open_all(x, f)).collect::<StoreResult<_>>()?),
        other => other.clone(),
    })
}

/// Writes a new file readable by its owner only.
fn write_private(path: &Path, data: &[u8]) -> StoreResult<()> {
    let mut opts = std::fs::OpenOptions::new();
    opts.write(true).create_new(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut opts, 0o600);
    let mut f = opts.open(path).map_err(|e| sealing_error(format!("cannot create {}: {}", path.display(), e)))?;
    f.write_all(data).and_then(|_| f.sync_all()).map_err(|e| sealing_error(format!("{}: {}", path.display(), e)))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sealer() -> Sealer {
        Sealer::new(&[7u8; 32]).unwrap()
    }

    #[test]
    fn secrets_are_sealed_at_any_depth_and_open_back() {
        let s = sealer();
        let config = json!({"bootstrapServers": "b:9092",
            "authentication": {"mechanism": "SCRAM-256", "username": "u", "password": "hunter2"},
            "headers": {"Authorization": "Bearer t0k"}, "list": [{"secret": {"a": 1}}]});
        let sealed = s.seal("c1", &config).unwrap();
        let text = sealed.to_string();
        assert!(!text.contains("hunter2") && !text.contains("t0k") && !text.contains("\"a\":1"), "{}", text);
        assert_eq!(sealed["bootstrapServers"], "b:9092");
        assert_eq!(sealed["authentication"]["username"], "u");
        assert!(!has_clear_secret(&sealed));
        assert!(has_clear_secret(&config));
        assert_eq!(s.open("c1", &sealed).unwrap(), config);
        // Sealing twice keeps what is sealed.
        assert_eq!(s.seal("c1", &sealed).unwrap(), sealed);
    }

    #[test]
    fn another_connection_or_another_key_cannot_open() {
        let s = sealer();
        let sealed = s.seal("c1", &json!({"password": "p"})).unwrap();
        assert!(s.open("c2", &sealed).is_err(), "bound to the connection's id");
        assert!(Sealer::new(&[8u8; 32]).unwrap().open("c1", &sealed).is_err());
        assert!(Sealer::new(&[1u8; 16]).is_err());
    }

    #[test]
    fn the_key_file_is_made_once_and_private() {
        let dir = std::env::temp_dir().join(format!("sluice-sealer-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("secret.key");
        let a = Sealer::from_hex_or_file(None, &path).unwrap();
        let sealed = a.seal("c", &json!({"password": "p"})).unwrap();
        let b = Sealer::from_hex_or_file(None, &path).unwrap();
        assert_eq!(b.open("c", &sealed).unwrap(), json!({"password": "p"}));
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            assert_eq!(std::fs::metadata(&path).unwrap().permissions().mode() & 0o777, 0o600);
        }
        let from_env = Sealer::from_hex_or_file(Some(&"07".repeat(32)), &path).unwrap();
        assert_eq!(
            from_env.open("c1", &sealer().seal("c1", &json!({"secret": 1})).unwrap()).unwrap(),
            json!({"secret": 1})
        );
        let _ = std::fs::remove_dir_all(&dir);
    }
}
