//! Certificates for the tests: a CA of the test's own, which signed nothing the broker holds.

use rcgen::{BasicConstraints, CertificateParams, DnType, IsCa, KeyPair};

/// A CA certificate (PEM through `.pem()`) and its key.
pub fn new_ca(name: &str) -> (rcgen::Certificate, KeyPair) {
    let key = KeyPair::generate().expect("a CA key");
    let mut params = CertificateParams::new(Vec::<String>::new()).expect("CA parameters");
    params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    params.distinguished_name.push(DnType::CommonName, name);
    (params.self_signed(&key).expect("a self-signed CA"), key)
}
