//! Certificates for TLS tests: a CA of their own and a certificate it signed for 127.0.0.1 and
//! localhost, written as PEM files.

use std::path::{Path, PathBuf};

use rcgen::{BasicConstraints, CertificateParams, DnType, IsCa, KeyPair};

/// PEM files in a directory: the CA a client must trust, and the server's chain and key.
pub struct TlsFiles {
    /// The CA certificate.
    pub ca: PathBuf,
    /// The server certificate.
    pub cert: PathBuf,
    /// The server's private key.
    pub key: PathBuf,
}

/// Makes a CA and a server certificate it signed, written in `dir`.
pub fn server_certificates(dir: &Path) -> TlsFiles {
    let ca_key = KeyPair::generate().expect("a CA key");
    let mut params = CertificateParams::new(Vec::<String>::new()).expect("CA parameters");
    params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    params.distinguished_name.push(DnType::CommonName, "Sluice test CA");
    let ca = params.self_signed(&ca_key).expect("a self-signed CA");
    let key = KeyPair::generate().expect("a server key");
    let cert = CertificateParams::new(vec!["127.0.0.1".to_string(), "localhost".to_string()])
        .expect("server parameters")
        .signed_by(&key, &ca, &ca_key)
        .expect("a server certificate");
    let files = TlsFiles { ca: dir.join("ca.pem"), cert: dir.join("cert.pem"), key: dir.join("key.pem") };
    std::fs::write(&files.ca, ca.pem()).expect("write the CA");
    std::fs::write(&files.cert, cert.pem()).expect("write the certificate");
    std::fs::write(&files.key, key.serialize_pem()).expect("write the key");
    files
}
