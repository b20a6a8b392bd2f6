//! The HTTP/3 door's certificate: made once with rcgen, kept as PEM in the data dir, and
//! trusted by clients that load `cert_file` as their only root.

use std::fs;
use std::io;
use std::path::Path;

use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};

use super::auth::write_private;
use super::RpcServerError;

/// Names the certificate is valid for: how local clients reach the node.
pub const CERT_NAMES: [&str; 3] = ["localhost", "127.0.0.1", "::1"];

/// ALPN for HTTP/3.
pub const ALPN_H3: &[u8] = b"h3";

/// The certificate chain (from `cert_file`) and its key (from `key_file`).
pub struct CertKey {
    /// Leaf first.
    pub chain: Vec<CertificateDer<'static>>,
    /// The leaf's private key.
    pub key: PrivateKeyDer<'static>,
}

/// Loads `cert_file` and `key_file`, creating both if either is missing.
pub fn load_or_create(cert_file: &Path, key_file: &Path) -> Result<CertKey, RpcServerError> {
    if !cert_file.exists() || !key_file.exists() {
        create(cert_file, key_file)?;
        tracing::info!("Created RPC certificate {}", cert_file.display());
    }
    let chain = CertificateDer::pem_file_iter(cert_file)
        .and_then(|it| it.collect::<Result<Vec<_>, _>>())
        .map_err(|e| cert_err(cert_file, e))?;
    if chain.is_empty() {
        return Err(cert_err(cert_file, "no certificate in file"));
    }
    let key = PrivateKeyDer::from_pem_file(key_file).map_err(|e| cert_err(key_file, e))?;
    Ok(CertKey { chain, key })
}

/// A self-signed end-entity certificate with no basicConstraints and no EKU: rustls/webpki
/// and aioquic (cryptography + OpenSSL) both accept it as its own trust anchor, so no
/// separate CA is needed. Not rcgen's `ExplicitNoCa`: it encodes the DEFAULT `cA FALSE`,
/// which is invalid DER that Python's cryptography refuses to parse.
fn create(cert_file: &Path, key_file: &Path) -> Result<(), RpcServerError> {
    let names: Vec<String> = CERT_NAMES.iter().map(|s| s.to_string()).collect();
    let mut params = rcgen::CertificateParams::new(names).map_err(|e| cert_err(cert_file, e))?;
    params.is_ca = rcgen::IsCa::NoCa;
    params.distinguished_name.push(rcgen::DnType::CommonName, "weft RPC");
    let key = rcgen::KeyPair::generate().map_err(|e| cert_err(key_file, e))?;
    let cert = params.self_signed(&key).map_err(|e| cert_err(cert_file, e))?;
    if let Some(dir) = key_file.parent() {
        fs::create_dir_all(dir).map_err(|e| cert_err(key_file, e))?;
    }
    write_private(key_file, key.serialize_pem().as_bytes()).map_err(|e| cert_err(key_file, e))?;
    write_public(cert_file, cert.pem().as_bytes()).map_err(|e| cert_err(cert_file, e))?;
    Ok(())
}

/// The certificate is public: clients must read it.
fn write_public(path: &Path, data: &[u8]) -> io::Result<()> {
    let mut tmp = path.as_os_str().to_owned();
    tmp.push(".tmp");
    fs::write(&tmp, data)?;
    fs::rename(&tmp, path)
}

fn cert_err(path: &Path, e: impl std::fmt::Display) -> RpcServerError {
    RpcServerError::Cert(format!("{}: {e}", path.display()))
}

/// A TLS 1.3 server config for QUIC with ALPN `h3`, on ring.
pub fn quic_server_config(ck: CertKey) -> Result<quinn::crypto::rustls::QuicServerConfig, RpcServerError> {
    let provider = weft_transports::quic::tls::provider();
    let tls_err = |e: &dyn std::fmt::Display| RpcServerError::Tls(e.to_string());
    let mut tls = rustls::ServerConfig::builder_with_provider(provider)
        .with_protocol_versions(&[&rustls::version::TLS13])
        .map_err(|e| tls_err(&e))?
        .with_no_client_auth()
        .with_single_cert(ck.chain, ck.key)
        .map_err(|e| tls_err(&e))?;
    tls.alpn_protocols = vec![ALPN_H3.to_vec()];
    quinn::crypto::rustls::QuicServerConfig::try_from(tls).map_err(|e| tls_err(&e))
}

#[cfg(test)]
mod tests {
    use super::*;
    use rustls::client::danger::ServerCertVerifier;
    use rustls::pki_types::{ServerName, UnixTime};
    use std::sync::Arc;

    /// The check the brief asks for: a rustls client whose only root is `cert_file`
    /// verifies the server's chain for every name clients use.
    #[test]
    fn cert_file_alone_is_a_trust_anchor() {
        let dir = tempfile::tempdir().unwrap();
        let (cf, kf) = (dir.path().join("c.pem"), dir.path().join("k.pem"));
        let ck = load_or_create(&cf, &kf).unwrap();
        let mut roots = rustls::RootCertStore::empty();
        for c in CertificateDer::pem_file_iter(&cf).unwrap() {
            roots.add(c.unwrap()).unwrap();
        }
        let provider = weft_transports::quic::tls::provider();
        let verifier = rustls::client::WebPkiServerVerifier::builder_with_provider(Arc::new(roots), provider)
            .build()
            .unwrap();
        for name in CERT_NAMES {
            let sn = ServerName::try_from(name).unwrap();
            verifier
                .verify_server_cert(&ck.chain[0], &ck.chain[1..], &sn, &[], UnixTime::now())
                .unwrap_or_else(|e| panic!("{name}: {e}"));
        }
        let other = ServerName::try_from("example.com").unwrap();
        assert!(verifier
            .verify_server_cert(&ck.chain[0], &[], &other, &[], UnixTime::now())
            .is_err());
    }

    #[test]
    fn created_once_then_reused_with_private_key() {
        let dir = tempfile::tempdir().unwrap();
        let (cf, kf) = (dir.path().join("c.pem"), dir.path().join("k.pem"));
        let a = load_or_create(&cf, &kf).unwrap();
        let b = load_or_create(&cf, &kf).unwrap();
        assert_eq!(a.chain, b.chain);
        // No basicConstraints at all (OID 2.5.29.19): rcgen's explicit `cA FALSE` is invalid
        // DER that Python's cryptography, hence aioquic, refuses.
        let bc_oid = [0x06, 0x03, 0x55, 0x1d, 0x13];
        assert!(!a.chain[0].windows(5).any(|w| w == bc_oid));
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = fs::metadata(&kf).unwrap().permissions().mode();
            assert_eq!(mode & 0o777, 0o600);
        }
        assert!(quic_server_config(b).is_ok());
    }
}
