//! SCRAM (RFC 5802, RFC 7677) as MongoDB speaks it, on the server side: the credentials kept
//! for an API key (salt, iterations, StoredKey, ServerKey; never the key), and one
//! conversation's two steps. SCRAM-SHA-1 hashes MongoDB's password digest
//! (`hex(MD5(user ":mongo:" password))`), as every driver does.

use base64::Engine;
use hmac::{KeyInit, Mac};
use sluice_store::ScramCredential;

/// A SCRAM mechanism.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mechanism {
    /// `SCRAM-SHA-1`.
    Sha1,
    /// `SCRAM-SHA-256`.
    Sha256,
}

impl Mechanism {
    /// Every mechanism, preferred first.
    pub const ALL: [Mechanism; 2] = [Mechanism::Sha256, Mechanism::Sha1];

    /// The mechanism's name on the wire.
    pub fn as_str(self) -> &'static str {
        match self {
            Mechanism::Sha1 => "SCRAM-SHA-1",
            Mechanism::Sha256 => "SCRAM-SHA-256",
        }
    }

    /// Parses a mechanism name.
    pub fn parse(name: &str) -> Option<Mechanism> {
        Mechanism::ALL.into_iter().find(|m| m.as_str() == name)
    }

    /// The iteration count MongoDB uses by default for new credentials.
    fn iterations(self) -> u32 {
        match self {
            Mechanism::Sha1 => 10_000,
            Mechanism::Sha256 => 15_000,
        }
    }

    fn hmac(self, key: &[u8], data: &[u8]) -> Vec<u8> {
        match self {
            Mechanism::Sha1 => mac::<hmac::Hmac<sha1::Sha1>>(key, data),
            Mechanism::Sha256 => mac::<hmac::Hmac<sha2::Sha256>>(key, data),
        }
    }

    fn hash(self, data: &[u8]) -> Vec<u8> {
        use sha2::Digest;
        match self {
            Mechanism::Sha1 => sha1::Sha1::digest(data).to_vec(),
            Mechanism::Sha256 => sha2::Sha256::digest(data).to_vec(),
        }
    }

    fn salted_password(self, user: &str, password: &str, salt: &[u8], iterations: u32) -> Vec<u8> {
        match self {
            Mechanism::Sha1 => {
                use md5::Digest;
                let digest = hex::encode(md5::Md5::digest(format!("{}:mongo:{}", user, password).as_bytes()));
                let mut out = vec![0u8; 20];
                pbkdf2::pbkdf2_hmac::<sha1::Sha1>(digest.as_bytes(), salt, iterations, &mut out);
                out
            }
            Mechanism::Sha256 => {
                // SASLprep leaves the keys Sluice makes (ASCII letters, digits, '-') unchanged.
                let mut out = vec![0u8; 32];
                pbkdf2::pbkdf2_hmac::<sha2::Sha256>(password.as_bytes(), salt, iterations, &mut out);
                out
            }
        }
    }
}

fn mac<M: Mac + KeyInit>(key: &[u8], data: &[u8]) -> Vec<u8> {
    // HMAC takes a key of any length: `new_from_slice` cannot fail for it.
    match <M as KeyInit>::new_from_slice(key) {
        Ok(mut m) => {
            m.update(data);
            m.finalize().into_bytes().to_vec()
        }
        Err(_) => Vec::new(),
    }
}

fn b64(b: &[u8]) -> String {
    base64::engine::general_purpose::STANDARD.encode(b)
}

fn unb64(s: &str) -> Option<Vec<u8>> {
    base64::engine::general_purpose::STANDARD.decode(s).ok()
}

/// The credential of `user`/`password` for `mech` with a fresh random salt.
pub fn credential(mech: Mechanism, user: &str, password: &str) -> ScramCredential {
    let salt = hex::decode(sluice_control::random_hex(16)).unwrap_or_else(|_| vec![0; 16]);
    credential_with(mech, user, password, salt, mech.iterations())
}

/// The credential of `user`/`password` for `mech` with a given salt and iteration count.
pub fn credential_with(mech: Mechanism, user: &str, password: &str, salt: Vec<u8>, iterations: u32) -> ScramCredential {
    let salted = mech.salted_password(user, password, &salt, iterations);
    let client_key = mech.hmac(&salted, b"Client Key");
    ScramCredential {
        public_key: user.to_string(),
        mechanism: mech.as_str().to_string(),
        salt,
        iterations,
        stored_key: mech.hash(&client_key),
        server_key: mech.hmac(&salted, b"Server Key"),
    }
}

/// A credential for a user that does not exist, so that the conversation goes on to fail at the
/// proof exactly as a wrong key does: its salt is the same for the same user while the server
/// runs (derived from `secret`), and its keys match no proof.
pub fn decoy(mech: Mechanism, user: &str, secret: &[u8]) -> ScramCredential {
    let mut salt = mech.hmac(secret, user.as_bytes());
    salt.truncate(16);
    let unknowable = mech.hmac(secret, format!("{}\0keys", user).as_bytes());
    ScramCredential {
        public_key: user.to_string(),
        mechanism: mech.as_str().to_string(),
        salt,
        iterations: mech.iterations(),
        stored_key: mech.hash(&unknowable),
        server_key: unknowable,
    }
}

/// Why a SCRAM step failed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ScramError {
    /// The client's message does not parse.
    #[error("malformed SCRAM message: {0}")]
    Malformed(&'static str),
    /// The proof does not match: wrong password (or user).
    #[error("authentication failed")]
    Failed,
}

/// The client's first message: `n,,n=user,r=nonce`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClientFirst {
    /// The user name, unescaped.
    pub user: String,
    /// The client's nonce.
    pub nonce: String,
    /// The message without its GS2 header (part of the AuthMessage).
    pub bare: String,
}

/// Parses the client's first message.
pub fn parse_client_first(payload: &[u8]) -> Result<ClientFirst, ScramError> {
    let s = std::str::from_utf8(payload).map_err(|_| ScramError::Malformed("not UTF-8"))?;
    // Channel binding is not supported: `n` (or `y`) with no authzid.
    let bare = s.strip_prefix("n,,").or_else(|| s.strip_prefix("y,,")).ok_or(ScramError::Malformed("GS2 header"))?;
    let mut user = None;
    let mut nonce = None;
    for part in bare.split(',') {
        if let Some(u) = part.strip_prefix("n=") {
            user = Some(u.replace("=2C", ",").replace("=3D", "="));
        } else if let Some(r) = part.strip_prefix("r=") {
            nonce = Some(r.to_string());
        }
    }
    match (user, nonce) {
        (Some(user), Some(nonce)) if !nonce.is_empty() => Ok(ClientFirst { user, nonce, bare: bare.to_string() }),
        _ => Err(ScramError::Malformed("user or nonce")),
    }
}

/// A conversation after the server's first message.
#[derive(Debug, Clone)]
pub struct Conversation {
    mech: Mechanism,
    credential: ScramCredential,
    client_first_bare: String,
    server_first: String,
    nonce: String,
}

impl Conversation {
    /// Answers the client's first message for a stored credential: the server's first message
    /// (`r=nonce,s=salt,i=iterations`) and the conversation to finish.
    pub fn start(mech: Mechanism, credential: ScramCredential, first: &ClientFirst) -> Conversation {
        let nonce = format!("{}{}", first.nonce, b64(&hex::decode(sluice_control::random_hex(24)).unwrap_or_default()));
        let server_first = format!("r={},s={},i={}", nonce, b64(&credential.salt), credential.iterations);
        Conversation { mech, credential, client_first_bare: first.bare.clone(), server_first, nonce }
    }

    /// The server's first message.
    pub fn server_first(&self) -> &str {
        &self.server_first
    }

    /// Checks the client's final message (`c=...,r=...,p=proof`); on success the server's final
    /// message (`v=signature`).
    pub fn finish(&self, payload: &[u8]) -> Result<String, ScramError> {
        let s = std::str::from_utf8(payload).map_err(|_| ScramError::Malformed("not UTF-8"))?;
        let (without_proof, proof) = s.rsplit_once(",p=").ok_or(ScramError::Malformed("no proof"))?;
        let nonce =
            without_proof.split(',').find_map(|p| p.strip_prefix("r=")).ok_or(ScramError::Malformed("no nonce"))?;
        if nonce != self.nonce {
            return Err(ScramError::Failed);
        }
        let proof = unb64(proof).ok_or(ScramError::Malformed("proof is not base64"))?;
        let auth_message = format!("{},{},{}", self.client_first_bare, self.server_first, without_proof);
        let signature = self.mech.hmac(&self.credential.stored_key, auth_message.as_bytes());
        if proof.len() != signature.len() {
            return Err(ScramError::Failed);
        }
        let client_key: Vec<u8> = proof.iter().zip(&signature).map(|(a, b)| a ^ b).collect();
        let stored = self.mech.hash(&client_key);
        // Constant-time comparison: the difference is folded over every byte.
        let diff = stored.iter().zip(&self.credential.stored_key).fold(0u8, |d, (a, b)| d | (a ^ b));
        if diff != 0 || stored.len() != self.credential.stored_key.len() {
            return Err(ScramError::Failed);
        }
        let server_signature = self.mech.hmac(&self.credential.server_key, auth_message.as_bytes());
        Ok(format!("v={}", b64(&server_signature)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// RFC 7677's SCRAM-SHA-256 example, run through the server side.
    #[test]
    fn rfc7677_example() {
        let salt = unb64("W22ZaJ0SNY7soEsUEjb6gQ==").unwrap();
        let cred = credential_with(Mechanism::Sha256, "user", "pencil", salt, 4096);
        let first = parse_client_first(b"n,,n=user,r=rOprNGfwEbeRWgbNEkqO").unwrap();
        let mut conv = Conversation::start(Mechanism::Sha256, cred, &first);
        // Replace the random server nonce by the RFC's.
        conv.nonce = "rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0".into();
        conv.server_first = format!("r={},s=W22ZaJ0SNY7soEsUEjb6gQ==,i=4096", conv.nonce);
        let fin = conv
            .finish(b"c=biws,r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0,p=dHzbZapWIk4jUhN+Ute9ytag9zjfMHgsqmmiz7AndVQ=")
            .unwrap();
        assert_eq!(fin, "v=6rriTRBi23WpRR/wtup+mMhUZUn/dB5nLTJRsjl95G4=");
        let wrong = conv.finish(
            b"c=biws,r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0,p=AAAAAapWIk4jUhN+Ute9ytag9zjfMHgsqmmiz7AndVQ=",
        );
        assert_eq!(wrong, Err(ScramError::Failed));
    }

    /// RFC 5802's SCRAM-SHA-1 example, with MongoDB's digest of the password in place of it
    /// (so the proof below is computed here as a client would).
    #[test]
    fn sha1_with_the_mongodb_password_digest() {
        let cred = credential(Mechanism::Sha1, "user", "pencil");
        let first = parse_client_first(b"n,,n=user,r=fyko+d2lbbFgONRv9qkxdawL").unwrap();
        let conv = Conversation::start(Mechanism::Sha1, cred.clone(), &first);
        let salted = Mechanism::Sha1.salted_password("user", "pencil", &cred.salt, cred.iterations);
        let client_key = Mechanism::Sha1.hmac(&salted, b"Client Key");
        let without_proof = format!("c=biws,r={}", conv.nonce);
        let auth = format!("{},{},{}", first.bare, conv.server_first(), without_proof);
        let sig = Mechanism::Sha1.hmac(&Mechanism::Sha1.hash(&client_key), auth.as_bytes());
        let proof: Vec<u8> = client_key.iter().zip(&sig).map(|(a, b)| a ^ b).collect();
        let reply = conv.finish(format!("{},p={}", without_proof, b64(&proof)).as_bytes()).unwrap();
        let expected = Mechanism::Sha1.hmac(&Mechanism::Sha1.hmac(&salted, b"Server Key"), auth.as_bytes());
        assert_eq!(reply, format!("v={}", b64(&expected)));
    }

    #[test]
    fn malformed_first_messages() {
        assert!(parse_client_first(b"p=tls-server-end-point,,n=u,r=x").is_err());
        assert!(parse_client_first(b"n,,n=u").is_err());
        assert_eq!(parse_client_first(b"n,,n=a=2Cb=3D,r=x").unwrap().user, "a,b=");
    }
}
