//! A TLS endpoint in front of a plaintext broker: it holds a certificate for 127.0.0.1 signed by
//! a CA of its own, ends TLS and forwards the bytes. The test broker cannot serve TLS itself, so
//! a broker started to advertise this endpoint gives clients a Kafka cluster reached only over
//! TLS, which is what a connection with `security.protocol: SSL` must handle.

use std::sync::Arc;

use rcgen::{BasicConstraints, CertificateParams, DnType, IsCa, KeyPair};
use tokio_rustls::rustls::crypto::ring::default_provider;
use tokio_rustls::rustls::pki_types::{PrivateKeyDer, PrivatePkcs8KeyDer};
use tokio_rustls::rustls::ServerConfig;
use tokio_rustls::TlsAcceptor;

/// A running TLS endpoint.
pub struct TlsProxy {
    /// `127.0.0.1:PORT`, where clients connect with TLS.
    pub addr: String,
    /// The CA that signed its certificate, as PEM: what a client must trust.
    pub ca_pem: String,
}

/// A CA certificate (PEM) and its key.
pub fn new_ca(name: &str) -> (rcgen::Certificate, KeyPair) {
    let key = KeyPair::generate().expect("a CA key");
    let mut params = CertificateParams::new(Vec::<String>::new()).expect("CA parameters");
    params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    params.distinguished_name.push(DnType::CommonName, name);
    (params.self_signed(&key).expect("a self-signed CA"), key)
}

impl TlsProxy {
    /// Listens on a free port and forwards every connection to `target` (`host:port`, which
    /// need not answer yet).
    pub fn start(target: &str) -> TlsProxy {
        let (ca, ca_key) = new_ca("Sluice test CA");
        let key = KeyPair::generate().expect("a server key");
        let params = CertificateParams::new(vec!["127.0.0.1".to_string(), "localhost".to_string()]).expect("params");
        let cert = params.signed_by(&key, &ca, &ca_key).expect("a server certificate");
        let config = ServerConfig::builder_with_provider(Arc::new(default_provider()))
            .with_safe_default_protocol_versions()
            .expect("TLS versions")
            .with_no_client_auth()
            .with_single_cert(
                vec![cert.der().clone(), ca.der().clone()],
                PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(key.serialize_der())),
            )
            .expect("a server configuration");
        let acceptor = TlsAcceptor::from(Arc::new(config));
        let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("a free port");
        listener.set_nonblocking(true).expect("non-blocking");
        let addr = listener.local_addr().expect("address").to_string();
        let target = target.to_string();
        std::thread::spawn(move || {
            let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().expect("runtime");
            rt.block_on(async move {
                let listener = tokio::net::TcpListener::from_std(listener).expect("listener");
                while let Ok((socket, _)) = listener.accept().await {
                    let (acceptor, target) = (acceptor.clone(), target.clone());
                    tokio::spawn(async move {
                        let Ok(mut tls) = acceptor.accept(socket).await else { return };
                        let Ok(mut upstream) = tokio::net::TcpStream::connect(&target).await else { return };
                        let _ = tokio::io::copy_bidirectional(&mut tls, &mut upstream).await;
                    });
                }
            });
        });
        TlsProxy { addr, ca_pem: ca.pem() }
    }
}
