//! HTTP Digest authentication (RFC 7616) as Atlas uses it: the API public key is the user name,
//! the private key the password, `qop=auth`, MD5 or SHA-256. Nonces are the server's own, expire,
//! and each nonce count is accepted once, so a captured request cannot be replayed.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use md5::Md5;
use sha2::{Digest as _, Sha256};
use subtle::ConstantTimeEq as _;

/// The realm Atlas announces.
pub const REALM: &str = "MMS Public API";
/// How long a nonce stays valid.
const NONCE_LIFETIME: Duration = Duration::from_secs(300);

/// A digest algorithm.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Algorithm {
    /// `MD5` (Atlas's, and curl's default).
    Md5,
    /// `SHA-256`.
    Sha256,
}

impl Algorithm {
    fn parse(s: Option<&str>) -> Option<Algorithm> {
        match s {
            None => Some(Algorithm::Md5),
            Some(a) if a.eq_ignore_ascii_case("MD5") => Some(Algorithm::Md5),
            Some(a) if a.eq_ignore_ascii_case("SHA-256") => Some(Algorithm::Sha256),
            _ => None,
        }
    }

    /// Hex digest of `data`.
    pub fn hash(self, data: &str) -> String {
        match self {
            Algorithm::Md5 => hex::encode(Md5::digest(data.as_bytes())),
            Algorithm::Sha256 => hex::encode(Sha256::digest(data.as_bytes())),
        }
    }
}

/// HA1 = H(user:realm:password): all the server keeps of a private key.
pub fn ha1(alg: Algorithm, user: &str, password: &str) -> String {
    alg.hash(&format!("{}:{}:{}", user, REALM, password))
}

/// The fields of an `Authorization: Digest ...` header.
#[derive(Debug, Default, Clone, PartialEq)]
pub struct DigestFields {
    fields: HashMap<String, String>,
}

impl DigestFields {
    /// Parses the part after `Digest `.
    pub fn parse(s: &str) -> DigestFields {
        let mut fields = HashMap::new();
        let mut rest = s.trim();
        while !rest.is_empty() {
            let Some(eq) = rest.find('=') else { break };
            let key = rest[..eq].trim().trim_start_matches(',').trim().to_ascii_lowercase();
            rest = rest[eq + 1..].trim_start();
            let value;
            if let Some(quoted) = rest.strip_prefix('"') {
                let mut out = String::new();
                let mut chars = quoted.char_indices();
                let mut end = quoted.len();
                while let Some((i, c)) = chars.next() {
                    match c {
                        '\\' => {
                            if let Some((_, n)) = chars.next() {
                                out.push(n);
                            }
                        }
                        '"' => {
                            end = i + 1;
                            break;
                        }
                        _ => out.push(c),
                    }
                }
                value = out;
                rest = quoted[end.min(quoted.len())..].trim_start();
            } else {
                let end = rest.find(',').unwrap_or(rest.len());
                value = rest[..end].trim().to_string();
                rest = &rest[end..];
            }
            rest = rest.trim_start_matches(',').trim_start();
            fields.insert(key, value);
        }
        DigestFields { fields }
    }

    /// A field's value.
    pub fn get(&self, k: &str) -> Option<&str> {
        self.fields.get(k).map(String::as_str)
    }
}

/// Why a Digest header was not accepted.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DigestFailure {
    /// Malformed, wrong user or wrong response.
    Invalid,
    /// The nonce expired or is unknown: the client should retry with a fresh one (`stale=true`).
    Stale,
}

/// Nonces are self-validating: `issued secs | random | HMAC(server key, both)`, in hex. Issuing
/// one keeps nothing, so a flood of unanswered challenges costs no memory and takes no lock; only
/// nonces that signed a valid request are remembered, with their last nonce count.
const NONCE_BODY: usize = 16;

/// The last nonce count seen of each nonce that signed a valid request, in two generations: an
/// entry lives at least one [`NONCE_LIFETIME`] after it was written, and a nonce is used only
/// within one lifetime of its issue, so dropping the older generation never reopens a replay.
struct UsedNonces {
    current: HashMap<[u8; NONCE_BODY], u64>,
    previous: HashMap<[u8; NONCE_BODY], u64>,
    rotated: Instant,
}

/// Issues and checks nonces.
pub struct NonceBook {
    rng: ring::rand::SystemRandom,
    key: ring::hmac::Key,
    used: Mutex<UsedNonces>,
}

impl Default for NonceBook {
    fn default() -> Self {
        let rng = ring::rand::SystemRandom::new();
        // A key that cannot be made leaves no way to authenticate safely: the process would have no
        // randomness at all, which ring treats as fatal too.
        let key = ring::hmac::Key::generate(ring::hmac::HMAC_SHA256, &rng).expect("the system's random source works");
        let used = UsedNonces { current: HashMap::new(), previous: HashMap::new(), rotated: Instant::now() };
        NonceBook { rng, key, used: Mutex::new(used) }
    }
}

/// Seconds since the Unix epoch.
fn unix_secs() -> u64 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map(|d| d.as_secs()).unwrap_or(0)
}

impl NonceBook {
    /// A fresh nonce. Keeps no state.
    pub fn issue(&self) -> String {
        self.issue_at(unix_secs())
    }

    fn issue_at(&self, secs: u64) -> String {
        let mut body = [0u8; NONCE_BODY];
        body[..8].copy_from_slice(&secs.to_be_bytes());
        // The generator fails only without a system random source, and then the key could not
        // have been made at start: this cannot fail here.
        let _ = ring::rand::SecureRandom::fill(&self.rng, &mut body[8..]);
        let tag = ring::hmac::sign(&self.key, &body);
        format!("{}{}", hex::encode(body), hex::encode(tag.as_ref()))
    }

    /// The body of a nonce this server issued, if it is one and is still live at `now_secs`.
    fn check(&self, nonce: &str, now_secs: u64) -> Result<[u8; NONCE_BODY], DigestFailure> {
        let raw = hex::decode(nonce).map_err(|_| DigestFailure::Stale)?;
        if raw.len() != NONCE_BODY + 32 {
            return Err(DigestFailure::Stale);
        }
        let (body, tag) = raw.split_at(NONCE_BODY);
        ring::hmac::verify(&self.key, body, tag).map_err(|_| DigestFailure::Stale)?;
        let mut issued = [0u8; 8];
        issued.copy_from_slice(&body[..8]);
        if now_secs.saturating_sub(u64::from_be_bytes(issued)) >= NONCE_LIFETIME.as_secs() {
            return Err(DigestFailure::Stale);
        }
        let mut out = [0u8; NONCE_BODY];
        out.copy_from_slice(body);
        Ok(out)
    }

    /// Accepts `(nonce, nc)` once: the nonce must be live and `nc` above any seen with it.
    fn consume(&self, nonce: &str, nc: u64) -> Result<(), DigestFailure> {
        let body = self.check(nonce, unix_secs())?;
        let mut used = self.used.lock().map_err(|_| DigestFailure::Invalid)?;
        if used.rotated.elapsed() >= NONCE_LIFETIME {
            used.previous = std::mem::take(&mut used.current);
            used.rotated = Instant::now();
        }
        let UsedNonces { current, previous, .. } = &mut *used;
        let last = match previous.get_mut(&body) {
            Some(last) => last,
            None => current.entry(body).or_insert(0),
        };
        if nc <= *last {
            return Err(DigestFailure::Invalid);
        }
        *last = nc;
        Ok(())
    }

    /// The `WWW-Authenticate` values: SHA-256 and MD5 with one nonce.
    pub fn challenges(&self, stale: bool) -> Vec<String> {
        let nonce = self.issue();
        ["MD5", "SHA-256"]
            .iter()
            .map(|alg| {
                format!(
                    "Digest realm=\"{}\", domain=\"\", nonce=\"{}\", algorithm={}, qop=\"auth\", stale={}",
                    REALM, nonce, alg, stale
                )
            })
            .collect()
    }

    /// Checks a Digest header for `method` and `uri` (the request target as sent) against the
    /// stored HA1 the lookup gives for the user name and algorithm. Returns the user name.
    pub fn verify(
        &self,
        header: &DigestFields,
        method: &str,
        uri: &str,
        stored_ha1: impl FnOnce(&str, Algorithm) -> Option<String>,
    ) -> Result<String, DigestFailure> {
        let f = |k: &str| header.get(k).ok_or(DigestFailure::Invalid);
        let (user, nonce, resp, cnonce, nc_text) =
            (f("username")?, f("nonce")?, f("response")?, f("cnonce")?, f("nc")?);
        let alg = Algorithm::parse(header.get("algorithm")).ok_or(DigestFailure::Invalid)?;
        if f("qop")? != "auth" || f("uri")? != uri || header.get("realm").is_some_and(|r| r != REALM) {
            return Err(DigestFailure::Invalid);
        }
        let nc = u64::from_str_radix(nc_text, 16).map_err(|_| DigestFailure::Invalid)?;
        let ha1 = stored_ha1(user, alg).ok_or(DigestFailure::Invalid)?;
        let ha2 = alg.hash(&format!("{}:{}", method, uri));
        let expected = alg.hash(&format!("{}:{}:{}:{}:auth:{}", ha1, nonce, nc_text, cnonce, ha2));
        // Compared in constant time, so the answer's timing tells nothing of the expected hash.
        if !bool::from(expected.as_bytes().ct_eq(resp.to_ascii_lowercase().as_bytes())) {
            return Err(DigestFailure::Invalid);
        }
        self.consume(nonce, nc)?;
        Ok(user.to_string())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// RFC 7616 section 3.9.1 example (SHA-256 and MD5), with its realm swapped in by computing
    /// the expected values from the RFC formula; the parsing is checked on the RFC's header text.
    #[test]
    fn parses_rfc_header() {
        let h = DigestFields::parse(
            r#"username="Mufasa", realm="http-auth@example.org", uri="/dir/index.html", algorithm=MD5, nonce="7ypf/xlj9XXwfDPEoM4URrv/xwf94BcCAzFZH4GiTo0v", nc=00000001, cnonce="f2/wE4q74E6zIJEtWaHKaf5wv/H5QzzpXusqGemxURZJ", qop=auth, response="8ca523f5e9506fed4657c9700eebdbec", opaque="FQhe/qaU925kfnzjCev0ciny7QMkPqMAFRtzCUYo5tdS""#,
        );
        assert_eq!(h.get("username"), Some("Mufasa"));
        assert_eq!(h.get("nc"), Some("00000001"));
        assert_eq!(h.get("qop"), Some("auth"));
        assert_eq!(h.get("opaque"), Some("FQhe/qaU925kfnzjCev0ciny7QMkPqMAFRtzCUYo5tdS"));
        // The RFC's published MD5 response for password "Circle of Life".
        let ha1 = Algorithm::Md5.hash("Mufasa:http-auth@example.org:Circle of Life");
        let ha2 = Algorithm::Md5.hash("GET:/dir/index.html");
        let resp = Algorithm::Md5.hash(&format!(
            "{}:7ypf/xlj9XXwfDPEoM4URrv/xwf94BcCAzFZH4GiTo0v:00000001:f2/wE4q74E6zIJEtWaHKaf5wv/H5QzzpXusqGemxURZJ:auth:{}",
            ha1, ha2
        ));
        assert_eq!(resp, "8ca523f5e9506fed4657c9700eebdbec");
    }

    fn sign(book_nonce: &str, alg: Algorithm, nc: &str, uri: &str, password: &str) -> DigestFields {
        let ha1 = ha1(alg, "pub", password);
        let ha2 = alg.hash(&format!("GET:{}", uri));
        let resp = alg.hash(&format!("{}:{}:{}:abc:auth:{}", ha1, book_nonce, nc, ha2));
        let name = if alg == Algorithm::Md5 { "MD5" } else { "SHA-256" };
        DigestFields::parse(&format!(
            r#"username="pub", realm="{REALM}", nonce="{book_nonce}", uri="{uri}", algorithm={name}, qop=auth, nc={nc}, cnonce="abc", response="{resp}""#
        ))
    }

    #[test]
    fn accepts_once_and_refuses_replays_wrong_keys_and_other_uris() {
        let book = NonceBook::default();
        let n = book.issue();
        let lookup =
            |alg| move |u: &str, a: Algorithm| (u == "pub").then(|| ha1(a, "pub", "secret")).filter(|_| a == alg);
        for alg in [Algorithm::Md5, Algorithm::Sha256] {
            let n = book.issue();
            let h = sign(&n, alg, "00000001", "/x?y=1", "secret");
            assert_eq!(book.verify(&h, "GET", "/x?y=1", lookup(alg)), Ok("pub".into()));
            // The same nonce count again is a replay.
            assert_eq!(book.verify(&h, "GET", "/x?y=1", lookup(alg)), Err(DigestFailure::Invalid));
            // A higher count with the same nonce is fine.
            let h2 = sign(&n, alg, "00000002", "/x?y=1", "secret");
            assert_eq!(book.verify(&h2, "GET", "/x?y=1", lookup(alg)), Ok("pub".into()));
        }
        let bad = sign(&n, Algorithm::Md5, "00000001", "/x", "wrong");
        assert_eq!(book.verify(&bad, "GET", "/x", lookup(Algorithm::Md5)), Err(DigestFailure::Invalid));
        let other_uri = sign(&n, Algorithm::Md5, "00000001", "/x", "secret");
        assert_eq!(book.verify(&other_uri, "GET", "/y", lookup(Algorithm::Md5)), Err(DigestFailure::Invalid));
        let unknown = sign("not-issued", Algorithm::Md5, "00000001", "/x", "secret");
        assert_eq!(book.verify(&unknown, "GET", "/x", lookup(Algorithm::Md5)), Err(DigestFailure::Stale));
        // Another server's nonce (another key) is not this one's.
        let foreign = NonceBook::default().issue();
        let h = sign(&foreign, Algorithm::Md5, "00000001", "/x", "secret");
        assert_eq!(book.verify(&h, "GET", "/x", lookup(Algorithm::Md5)), Err(DigestFailure::Stale));
        // An old nonce, even correctly signed, is stale.
        let old = book.issue_at(unix_secs() - NONCE_LIFETIME.as_secs());
        let h = sign(&old, Algorithm::Md5, "00000001", "/x", "secret");
        assert_eq!(book.verify(&h, "GET", "/x", lookup(Algorithm::Md5)), Err(DigestFailure::Stale));
        // A tampered issue time breaks the tag.
        let mut forged = n.clone().into_bytes();
        forged[15] = if forged[15] == b'0' { b'1' } else { b'0' };
        let h = sign(std::str::from_utf8(&forged).unwrap(), Algorithm::Md5, "00000001", "/x", "secret");
        assert_eq!(book.verify(&h, "GET", "/x", lookup(Algorithm::Md5)), Err(DigestFailure::Stale));
    }

    #[test]
    fn challenges_keep_no_state() {
        let book = NonceBook::default();
        for _ in 0..10_000 {
            book.challenges(false);
        }
        let used = book.used.lock().unwrap();
        assert_eq!(used.current.len() + used.previous.len(), 0);
    }
}
