//! TLS 1.3 for QUIC peers: a self-signed certificate over a persistent key, mutual
//! authentication, and verifiers that accept any certificate (opportunistic
//! encryption, as in BIP324) while still checking the handshake signatures, so a peer
//! proves it holds the key whose hash is its identity.

use std::fs;
use std::io::Write;
use std::path::Path;
use std::sync::Arc;

use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::crypto::{CryptoProvider, WebPkiSupportedAlgorithms};
use rustls::pki_types::{CertificateDer, PrivateKeyDer, PrivatePkcs8KeyDer, ServerName, UnixTime};
use rustls::server::danger::{ClientCertVerified, ClientCertVerifier};
use rustls::server::ParsedCertificate;
use rustls::{DigitallySignedStruct, DistinguishedName, SignatureScheme};
use sha2::{Digest, Sha256};

use crate::error::TransportError;

/// File in the data dir holding our PKCS#8 private key.
pub const KEY_FILE: &str = "quic_key.der";

/// Name put in our certificate and sent as SNI; nobody checks it.
pub const CERT_NAME: &str = "weft";

/// The process-wide rustls provider: ring, never aws-lc.
pub fn provider() -> Arc<CryptoProvider> {
    Arc::new(rustls::crypto::ring::default_provider())
}

/// SHA-256 of a certificate's SubjectPublicKeyInfo: a QUIC peer's identity.
pub fn cert_identity(cert: &CertificateDer<'_>) -> Result<[u8; 32], TransportError> {
    let parsed = ParsedCertificate::try_from(cert).map_err(|e| TransportError::Handshake(format!("bad cert: {e}")))?;
    Ok(Sha256::digest(parsed.subject_public_key_info().as_ref()).into())
}

/// Our key and self-signed certificate.
pub struct TlsIdentity {
    cert: CertificateDer<'static>,
    key: PrivatePkcs8KeyDer<'static>,
    id: [u8; 32],
}

impl TlsIdentity {
    /// A fresh key that lives only as long as the process.
    pub fn ephemeral() -> Result<Self, TransportError> {
        let key = rcgen::KeyPair::generate_for(&rcgen::PKCS_ED25519).map_err(setup)?;
        Self::from_key(key)
    }

    /// Loads the key from `dir`, or creates it there (mode 0600) on first start.
    pub fn load_or_create(dir: &Path) -> Result<Self, TransportError> {
        let path = dir.join(KEY_FILE);
        match fs::read(&path) {
            Ok(der) => {
                let key = rcgen::KeyPair::try_from(der.as_slice())
                    .map_err(|e| TransportError::Setup(format!("{}: {e}", path.display())))?;
                Self::from_key(key)
            }
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                let key = rcgen::KeyPair::generate_for(&rcgen::PKCS_ED25519).map_err(setup)?;
                fs::create_dir_all(dir)?;
                write_private(&path, &key.serialize_der())?;
                Self::from_key(key)
            }
            Err(e) => Err(e.into()),
        }
    }

    fn from_key(key: rcgen::KeyPair) -> Result<Self, TransportError> {
        let params = rcgen::CertificateParams::new(vec![CERT_NAME.to_string()]).map_err(setup)?;
        let cert = params.self_signed(&key).map_err(setup)?;
        let cert = cert.der().clone();
        let id = cert_identity(&cert)?;
        Ok(TlsIdentity {
            cert,
            key: PrivatePkcs8KeyDer::from(key.serialize_der()),
            id,
        })
    }

    /// Our identity: SHA-256 of our certificate's public key.
    pub fn id(&self) -> [u8; 32] {
        self.id
    }

    /// Our certificate.
    pub fn cert(&self) -> &CertificateDer<'static> {
        &self.cert
    }

    /// TLS 1.3 client config presenting our certificate and accepting any server.
    pub fn client_config(&self, alpn: &[u8]) -> Result<rustls::ClientConfig, TransportError> {
        let provider = provider();
        let verifier = AnyCertVerifier::new(&provider);
        let mut cfg = rustls::ClientConfig::builder_with_provider(provider)
            .with_protocol_versions(&[&rustls::version::TLS13])
            .map_err(setup)?
            .dangerous()
            .with_custom_certificate_verifier(Arc::new(verifier))
            .with_client_auth_cert(vec![self.cert.clone()], PrivateKeyDer::Pkcs8(self.key.clone_key()))
            .map_err(setup)?;
        cfg.alpn_protocols = vec![alpn.to_vec()];
        Ok(cfg)
    }

    /// TLS 1.3 server config presenting our certificate and requiring one from the client.
    pub fn server_config(&self, alpn: &[u8]) -> Result<rustls::ServerConfig, TransportError> {
        let provider = provider();
        let verifier = AnyCertVerifier::new(&provider);
        let mut cfg = rustls::ServerConfig::builder_with_provider(provider)
            .with_protocol_versions(&[&rustls::version::TLS13])
            .map_err(setup)?
            .with_client_cert_verifier(Arc::new(verifier))
            .with_single_cert(vec![self.cert.clone()], PrivateKeyDer::Pkcs8(self.key.clone_key()))
            .map_err(setup)?;
        cfg.alpn_protocols = vec![alpn.to_vec()];
        Ok(cfg)
    }
}

fn setup(e: impl std::fmt::Display) -> TransportError {
    TransportError::Setup(e.to_string())
}

/// Writes `data` to `path` readable by the owner only, via a temp file and a rename.
pub(crate) fn write_private(path: &Path, data: &[u8]) -> Result<(), TransportError> {
    let tmp = path.with_extension("tmp");
    let mut opts = fs::OpenOptions::new();
    opts.write(true).create(true).truncate(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        opts.mode(0o600);
    }
    let mut f = opts.open(&tmp)?;
    f.write_all(data)?;
    f.sync_all()?;
    fs::rename(&tmp, path)?;
    Ok(())
}

/// Accepts any well-formed certificate, client or server, but verifies handshake
/// signatures against it.
#[derive(Debug)]
pub struct AnyCertVerifier {
    algs: WebPkiSupportedAlgorithms,
}

impl AnyCertVerifier {
    /// A verifier using `provider`'s signature algorithms.
    pub fn new(provider: &CryptoProvider) -> Self {
        AnyCertVerifier {
            algs: provider.signature_verification_algorithms,
        }
    }

    fn check_cert(end_entity: &CertificateDer<'_>) -> Result<(), rustls::Error> {
        ParsedCertificate::try_from(end_entity).map(|_| ())
    }

    fn tls13(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls13_signature(message, cert, dss, &self.algs)
    }
}

impl ServerCertVerifier for AnyCertVerifier {
    fn verify_server_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        _intermediates: &[CertificateDer<'_>],
        _server_name: &ServerName<'_>,
        _ocsp_response: &[u8],
        _now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        Self::check_cert(end_entity)?;
        Ok(ServerCertVerified::assertion())
    }

    fn verify_tls12_signature(
        &self,
        _message: &[u8],
        _cert: &CertificateDer<'_>,
        _dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        Err(rustls::Error::General("TLS 1.2 is not offered".into()))
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        self.tls13(message, cert, dss)
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.algs.supported_schemes()
    }
}

impl ClientCertVerifier for AnyCertVerifier {
    fn offer_client_auth(&self) -> bool {
        true
    }

    fn client_auth_mandatory(&self) -> bool {
        true
    }

    fn root_hint_subjects(&self) -> &[DistinguishedName] {
        &[]
    }

    fn verify_client_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        _intermediates: &[CertificateDer<'_>],
        _now: UnixTime,
    ) -> Result<ClientCertVerified, rustls::Error> {
        Self::check_cert(end_entity)?;
        Ok(ClientCertVerified::assertion())
    }

    fn verify_tls12_signature(
        &self,
        _message: &[u8],
        _cert: &CertificateDer<'_>,
        _dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        Err(rustls::Error::General("TLS 1.2 is not offered".into()))
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        self.tls13(message, cert, dss)
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.algs.supported_schemes()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn key_persists_with_private_mode() {
        let dir = std::env::temp_dir().join(format!("weft-tls-{}", std::process::id()));
        let _ = fs::remove_dir_all(&dir);
        let a = TlsIdentity::load_or_create(&dir).unwrap();
        let b = TlsIdentity::load_or_create(&dir).unwrap();
        assert_eq!(a.id(), b.id());
        assert_ne!(a.id(), TlsIdentity::ephemeral().unwrap().id());
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = fs::metadata(dir.join(KEY_FILE)).unwrap().permissions().mode();
            assert_eq!(mode & 0o777, 0o600);
        }
        let _ = fs::remove_dir_all(&dir);
    }
}
