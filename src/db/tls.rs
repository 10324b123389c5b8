//! rustls configuration that reproduces libpq's `sslmode` semantics, since
//! tokio-postgres itself only knows disable/prefer/require and leaves
//! certificate checking entirely to the TLS connector.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use rustls::client::WebPkiServerVerifier;
use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::crypto::CryptoProvider;
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, ServerName, UnixTime};
use rustls::{
    CertificateError, ClientConfig, DigitallySignedStruct, RootCertStore, SignatureScheme,
};
use tokio_postgres_rustls::MakeRustlsConnect;

use crate::db::conninfo::{ConnParams, Env, Host, SslMode};

#[derive(thiserror::Error, Debug)]
pub enum TlsError {
    #[error("cannot read sslrootcert \"{}\": {}", path.display(), io_message(err))]
    ReadRootCert { path: PathBuf, err: std::io::Error },
    #[error("invalid PEM in sslrootcert \"{}\": {detail}", path.display())]
    RootCertPem { path: PathBuf, detail: String },
    #[error("no certificates found in sslrootcert \"{}\" (expected PEM)", path.display())]
    NoCertificates { path: PathBuf },
    #[error("invalid certificate in sslrootcert \"{}\": {detail}", path.display())]
    InvalidRootCert { path: PathBuf, detail: String },
    #[error(
        "sslmode {0} needs a root certificate: set sslrootcert (or PGSSLROOTCERT), or create ~/.postgresql/root.crt"
    )]
    NoRootCert(SslMode),
    #[error("cannot set up TLS: {0}")]
    Config(String),
}

/// `io::Error`'s Display ends in " (os error N)", which is noise for users.
fn io_message(err: &std::io::Error) -> String {
    let text = err.to_string();
    match text.find(" (os error ") {
        Some(pos) => text[..pos].to_owned(),
        None => text,
    }
}

/// How much of the server certificate to check.
#[derive(Debug)]
enum Verification {
    /// Encrypt, but accept any certificate (libpq's prefer/require without a root cert).
    EncryptOnly,
    /// Chain to a trusted root, any host name (verify-ca).
    Chain(Arc<RootCertStore>),
    /// Chain and host name (verify-full).
    Full(Arc<RootCertStore>),
}

/// Builds the TLS connector for `params.sslmode`. The crypto provider is
/// passed explicitly so nothing depends on a process-wide default.
pub fn make_tls(params: &ConnParams, env: &dyn Env) -> Result<MakeRustlsConnect, TlsError> {
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let verifier = build_verifier(plan(params, env)?, &provider)?;
    let config = ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| TlsError::Config(e.to_string()))?
        .dangerous()
        .with_custom_certificate_verifier(verifier)
        .with_no_client_auth();
    Ok(MakeRustlsConnect::new(config))
}

/// tokio-postgres' notion of the mode. It has no libpq "allow" (plain first, TLS
/// if the server refuses plain): that is plain here, and `connect` retries with TLS.
pub fn tokio_postgres_sslmode(mode: SslMode) -> tokio_postgres::config::SslMode {
    use tokio_postgres::config::SslMode as Tp;
    match mode {
        SslMode::Disable | SslMode::Allow => Tp::Disable,
        SslMode::Prefer => Tp::Prefer,
        SslMode::Require | SslMode::VerifyCa | SslMode::VerifyFull => Tp::Require,
    }
}

/// Like [`tokio_postgres_sslmode`], but for a particular host: the server
/// refuses TLS on Unix sockets (and libpq never tries it there), whereas
/// tokio-postgres would attempt it and fail under `require`.
pub fn tokio_postgres_sslmode_for(mode: SslMode, host: &Host) -> tokio_postgres::config::SslMode {
    match host {
        Host::Socket(_) => tokio_postgres::config::SslMode::Disable,
        Host::Tcp(_) => tokio_postgres_sslmode(mode),
    }
}

fn plan(params: &ConnParams, env: &dyn Env) -> Result<Verification, TlsError> {
    let mode = params.sslmode;
    match mode {
        // Certificates are not checked in these modes even if root certs exist:
        // a failed check would not fall back to plain text, it would just fail.
        SslMode::Disable | SslMode::Allow | SslMode::Prefer => Ok(Verification::EncryptOnly),
        SslMode::Require => Ok(match load_roots(params, env)? {
            // libpq: "if a root CA file exists, require behaves like verify-ca".
            Some(roots) => Verification::Chain(roots),
            None => Verification::EncryptOnly,
        }),
        SslMode::VerifyCa => load_roots(params, env)?
            .map(Verification::Chain)
            .ok_or(TlsError::NoRootCert(mode)),
        SslMode::VerifyFull => load_roots(params, env)?
            .map(Verification::Full)
            .ok_or(TlsError::NoRootCert(mode)),
    }
}

/// Root certificates from sslrootcert, or `~/.postgresql/root.crt` if it
/// exists. An explicitly named file that is missing is an error in every mode
/// (libpq ignores it under `require`, which hides typos in the path).
fn load_roots(params: &ConnParams, env: &dyn Env) -> Result<Option<Arc<RootCertStore>>, TlsError> {
    match params.sslrootcert.as_deref() {
        Some("system") => Ok(Some(Arc::new(RootCertStore {
            roots: webpki_roots::TLS_SERVER_ROOTS.to_vec(),
        }))),
        Some(path) => load_pem_roots(Path::new(path)).map(Some),
        None => {
            let Some(default) = env.home().map(|h| h.join(".postgresql").join("root.crt")) else {
                return Ok(None);
            };
            if default.exists() {
                load_pem_roots(&default).map(Some)
            } else {
                Ok(None)
            }
        }
    }
}

fn load_pem_roots(path: &Path) -> Result<Arc<RootCertStore>, TlsError> {
    let pem = std::fs::read(path).map_err(|err| TlsError::ReadRootCert {
        path: path.to_owned(),
        err,
    })?;
    let mut store = RootCertStore::empty();
    for cert in CertificateDer::pem_slice_iter(&pem) {
        let cert = cert.map_err(|e| TlsError::RootCertPem {
            path: path.to_owned(),
            detail: e.to_string(),
        })?;
        store.add(cert).map_err(|e| TlsError::InvalidRootCert {
            path: path.to_owned(),
            detail: e.to_string(),
        })?;
    }
    if store.is_empty() {
        return Err(TlsError::NoCertificates {
            path: path.to_owned(),
        });
    }
    Ok(Arc::new(store))
}

fn build_verifier(
    verification: Verification,
    provider: &Arc<CryptoProvider>,
) -> Result<Arc<dyn ServerCertVerifier>, TlsError> {
    let webpki = |roots: Arc<RootCertStore>| {
        WebPkiServerVerifier::builder_with_provider(roots, Arc::clone(provider))
            .build()
            .map_err(|e| TlsError::Config(e.to_string()))
    };
    Ok(match verification {
        Verification::EncryptOnly => Arc::new(AcceptAnyCertificate {
            provider: Arc::clone(provider),
        }),
        Verification::Chain(roots) => Arc::new(ChainOnly {
            inner: webpki(roots)?,
        }),
        Verification::Full(roots) => webpki(roots)?,
    })
}

/// Accepts any certificate, but still checks the handshake signatures so the
/// session really is keyed to the certificate's key.
#[derive(Debug)]
struct AcceptAnyCertificate {
    provider: Arc<CryptoProvider>,
}

impl ServerCertVerifier for AcceptAnyCertificate {
    fn verify_server_cert(
        &self,
        _end_entity: &CertificateDer<'_>,
        _intermediates: &[CertificateDer<'_>],
        _server_name: &ServerName<'_>,
        _ocsp_response: &[u8],
        _now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        Ok(ServerCertVerified::assertion())
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls12_signature(
            message,
            cert,
            dss,
            &self.provider.signature_verification_algorithms,
        )
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls13_signature(
            message,
            cert,
            dss,
            &self.provider.signature_verification_algorithms,
        )
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.provider
            .signature_verification_algorithms
            .supported_schemes()
    }
}

/// verify-ca: the full WebPKI check minus the host name. WebPKI checks the
/// name only after the chain, validity and revocation, so a name mismatch
/// error means everything else passed.
#[derive(Debug)]
struct ChainOnly {
    inner: Arc<WebPkiServerVerifier>,
}

impl ServerCertVerifier for ChainOnly {
    fn verify_server_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        intermediates: &[CertificateDer<'_>],
        server_name: &ServerName<'_>,
        ocsp_response: &[u8],
        now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        match self.inner.verify_server_cert(
            end_entity,
            intermediates,
            server_name,
            ocsp_response,
            now,
        ) {
            Err(rustls::Error::InvalidCertificate(
                CertificateError::NotValidForName | CertificateError::NotValidForNameContext { .. },
            )) => Ok(ServerCertVerified::assertion()),
            other => other,
        }
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        self.inner.verify_tls12_signature(message, cert, dss)
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        self.inner.verify_tls13_signature(message, cert, dss)
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.inner.supported_verify_schemes()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::db::conninfo::{Overrides, resolve};
    use std::time::Duration;

    // Generated with openssl (P-256, valid 2026-11-25 .. 2126-11-01):
    // TEST_CA and OTHER_CA are self-signed CAs; SERVER is issued by TEST_CA
    // for DNS:db.example.com.
    const TEST_CA: &str = "-----BEGIN CERTIFICATE-----
MIIBnDCCAUGgAwIBAgIUAwH08w2qxaBMnhEAa8s89CwJgBEwCgYIKoZIzj0EAwIw
GjEYMBYGA1UEAwwPcGdsb2NrcyB0ZXN0IENBMCAXDTI2MTEyNTE0MjMzMloYDzIx
MjYxMTAxMTQyMzMyWjAaMRgwFgYDVQQDDA9wZ2xvY2tzIHRlc3QgQ0EwWTATBgcq
hkjOPQIBBggqhkjOPQMBBwNCAATDzVZmsEXnli7HMoEO/ebCnlS9oRhSObRLI6d3
Ul48qAz04UTTvB5YL3ZR6uhSFyVN9jMycLHo7FD5cLvV62Gbo2MwYTAdBgNVHQ4E
FgQUhz3gUyrZOnGTarkcmP2FRdRqf2kwHwYDVR0jBBgwFoAUhz3gUyrZOnGTarkc
mP2FRdRqf2kwDwYDVR0TAQH/BAUwAwEB/zAOBgNVHQ8BAf8EBAMCAQYwCgYIKoZI
zj0EAwIDSQAwRgIhALElmvtNSdZOn/fTvIuSPwJqeWZcxIdMtc6IjyxWuJnoAiEA
6xvkpP4y4DaZyeeKUfCF1T40pWI7peIgr7SRt+Tz0Dc=
-----END CERTIFICATE-----
";
    const OTHER_CA: &str = "-----BEGIN CERTIFICATE-----
MIIBnDCCAUOgAwIBAgIUcA7mFDxedUslxVGDyGyOGNz/yecwCgYIKoZIzj0EAwIw
GzEZMBcGA1UEAwwQcGdsb2NrcyBvdGhlciBDQTAgFw0yNjExMjUxNDIzMzJaGA8y
MTI2MTEwMTE0MjMzMlowGzEZMBcGA1UEAwwQcGdsb2NrcyBvdGhlciBDQTBZMBMG
ByqGSM49AgEGCCqGSM49AwEHA0IABCMu/iHqz+o6bYq338iiN2Viex4/4twYJWoI
4/Xfv9V1mdM2Dir+sqYEQDdwCrk9zgCoZ20eo23QG6mFeEURB2qjYzBhMB0GA1Ud
DgQWBBTYRBcQyC40CvMXeMYJlGKCBeFonjAfBgNVHSMEGDAWgBTYRBcQyC40CvMX
eMYJlGKCBeFonjAPBgNVHRMBAf8EBTADAQH/MA4GA1UdDwEB/wQEAwIBBjAKBggq
hkjOPQQDAgNHADBEAiAWLnbGTQas7c4L/c8X6uJgYGPisJ6WkJdBucG7qUcJOAIg
UCR/qU8MaZi74k1KL4fgbzEIgYZrUJAcARp7mlfaYG4=
-----END CERTIFICATE-----
";
    const SERVER: &str = "-----BEGIN CERTIFICATE-----
MIIByTCCAW+gAwIBAgIUXl3M/9vRkxnEJZnU8/eSRPO4EtcwCgYIKoZIzj0EAwIw
GjEYMBYGA1UEAwwPcGdsb2NrcyB0ZXN0IENBMCAXDTI2MTEyNTE0MjMzMloYDzIx
MjYxMTAxMTQyMzMyWjAZMRcwFQYDVQQDDA5kYi5leGFtcGxlLmNvbTBZMBMGByqG
SM49AgEGCCqGSM49AwEHA0IABGjU2ULLDap2iHl5cEEr1JKkgIQU9v72wnChhV77
DfRXqti1Gz/p89iiCyGMIwt3dwswytVPQKaKuJVJ+fdwh4ijgZEwgY4wDAYDVR0T
AQH/BAIwADAOBgNVHQ8BAf8EBAMCB4AwEwYDVR0lBAwwCgYIKwYBBQUHAwEwGQYD
VR0RBBIwEIIOZGIuZXhhbXBsZS5jb20wHQYDVR0OBBYEFGM4Lp0qc4u63jTBhsSt
1JSzaWm8MB8GA1UdIwQYMBaAFIc94FMq2Tpxk2q5HJj9hUXUan9pMAoGCCqGSM49
BAMCA0gAMEUCIQCP2pEh/syvNmPDGborisdAYcYZA8j9RVWRHVwCCyqdvQIgfNSF
ab6RlXgwcXPoltc9OasthMoCmIEykLVr3+glKCo=
-----END CERTIFICATE-----
";

    /// A scratch directory standing in for $HOME, removed on drop.
    struct TempHome(PathBuf);

    impl TempHome {
        fn new(name: &str) -> Self {
            let dir =
                std::env::temp_dir().join(format!("pglocks-tls-{name}-{}", std::process::id()));
            let _ = std::fs::remove_dir_all(&dir);
            std::fs::create_dir_all(&dir).unwrap();
            TempHome(dir)
        }

        fn write(&self, rel: &str, contents: &str) -> PathBuf {
            let path = self.0.join(rel);
            std::fs::create_dir_all(path.parent().unwrap()).unwrap();
            std::fs::write(&path, contents).unwrap();
            path
        }
    }

    impl Drop for TempHome {
        fn drop(&mut self) {
            let _ = std::fs::remove_dir_all(&self.0);
        }
    }

    struct FakeEnv {
        home: PathBuf,
    }

    impl Env for FakeEnv {
        fn var(&self, _key: &str) -> Option<String> {
            None
        }
        fn home(&self) -> Option<PathBuf> {
            Some(self.home.clone())
        }
        fn socket_exists(&self, _dir: &Path, _port: u16) -> bool {
            false
        }
        fn read_passfile(&self, _path: &Path) -> Option<String> {
            None
        }
    }

    fn params(conn: &str, home: &TempHome) -> (ConnParams, FakeEnv) {
        let env = FakeEnv {
            home: home.0.clone(),
        };
        let p = resolve(Some(conn), &Overrides::default(), &env).unwrap();
        (p, env)
    }

    fn tls_err(p: &ConnParams, env: &dyn Env) -> TlsError {
        match make_tls(p, env) {
            Ok(_) => panic!("expected an error for sslmode {}", p.sslmode),
            Err(e) => e,
        }
    }

    const ALL_MODES: [&str; 6] = [
        "disable",
        "allow",
        "prefer",
        "require",
        "verify-ca",
        "verify-full",
    ];

    #[test]
    fn builds_for_every_mode_with_root_cert() {
        let home = TempHome::new("every-mode");
        let ca = home.write("ca.pem", TEST_CA);
        for mode in ALL_MODES {
            let conn = format!(
                "host=db.example.com sslmode={mode} sslrootcert={}",
                ca.display()
            );
            let (p, env) = params(&conn, &home);
            make_tls(&p, &env).unwrap();
        }
        let (p, env) = params("sslrootcert=system", &home);
        assert_eq!(p.sslmode, SslMode::VerifyFull);
        make_tls(&p, &env).unwrap();
    }

    #[test]
    fn builds_without_root_cert_except_verify_modes() {
        let home = TempHome::new("no-root");
        for mode in ["disable", "allow", "prefer", "require"] {
            let (p, env) = params(&format!("sslmode={mode}"), &home);
            make_tls(&p, &env).unwrap();
            assert!(matches!(plan(&p, &env).unwrap(), Verification::EncryptOnly));
        }
        for mode in ["verify-ca", "verify-full"] {
            let (p, env) = params(&format!("sslmode={mode}"), &home);
            let err = tls_err(&p, &env);
            assert_eq!(
                err.to_string(),
                format!(
                    "sslmode {mode} needs a root certificate: set sslrootcert (or PGSSLROOTCERT), or create ~/.postgresql/root.crt"
                )
            );
        }
    }

    #[test]
    fn default_root_cert_makes_require_verify_the_chain() {
        let home = TempHome::new("default-root");
        home.write(".postgresql/root.crt", TEST_CA);
        let (p, env) = params("sslmode=require", &home);
        assert!(matches!(plan(&p, &env).unwrap(), Verification::Chain(_)));
        let (p, env) = params("sslmode=verify-ca", &home);
        assert!(matches!(plan(&p, &env).unwrap(), Verification::Chain(_)));
        let (p, env) = params("sslmode=verify-full", &home);
        assert!(matches!(plan(&p, &env).unwrap(), Verification::Full(_)));
        let (p, env) = params("sslmode=prefer", &home);
        assert!(matches!(plan(&p, &env).unwrap(), Verification::EncryptOnly));
    }

    #[test]
    fn several_certs_in_one_file() {
        let home = TempHome::new("bundle");
        let ca = home.write("bundle.pem", &format!("{TEST_CA}{OTHER_CA}"));
        let (p, env) = params(
            &format!("sslmode=verify-ca sslrootcert={}", ca.display()),
            &home,
        );
        let Verification::Chain(roots) = plan(&p, &env).unwrap() else {
            panic!("expected chain verification");
        };
        assert_eq!(roots.len(), 2);
    }

    #[test]
    fn missing_root_cert_file() {
        let home = TempHome::new("missing");
        let path = home.0.join("nope.pem");
        for mode in ["require", "verify-ca", "verify-full"] {
            let (p, env) = params(
                &format!("sslmode={mode} sslrootcert={}", path.display()),
                &home,
            );
            let err = tls_err(&p, &env);
            assert_eq!(
                err.to_string(),
                format!(
                    "cannot read sslrootcert \"{}\": No such file or directory",
                    path.display()
                )
            );
        }
    }

    #[test]
    fn garbage_root_cert_files() {
        let home = TempHome::new("garbage");
        let text = home.write("text.pem", "this is not a certificate\n");
        let broken = home.write("broken.pem", "-----BEGIN CERTIFICATE-----\nMIIBnDCC\n");
        let not_der = home.write(
            "notder.pem",
            "-----BEGIN CERTIFICATE-----\naGVsbG8gd29ybGQ=\n-----END CERTIFICATE-----\n",
        );
        let cases = [
            (&text, "no certificates found in sslrootcert"),
            (&broken, "invalid PEM in sslrootcert"),
            (&not_der, "invalid certificate in sslrootcert"),
        ];
        for (path, prefix) in cases {
            let (p, env) = params(
                &format!("sslmode=verify-full sslrootcert={}", path.display()),
                &home,
            );
            let err = tls_err(&p, &env).to_string();
            let expected = format!("{prefix} \"{}\"", path.display());
            assert!(err.starts_with(&expected), "{err}");
            assert!(!err.contains('\n'), "{err}");
        }

        // A broken default root.crt is reported too, not silently skipped.
        home.write(".postgresql/root.crt", "junk");
        let (p, env) = params("sslmode=require", &home);
        let err = tls_err(&p, &env).to_string();
        assert!(
            err.starts_with("no certificates found in sslrootcert"),
            "{err}"
        );
    }

    fn der(pem: &str) -> CertificateDer<'static> {
        CertificateDer::from_pem_slice(pem.as_bytes()).unwrap()
    }

    fn verifier_for(mode: &str, ca_pem: &str, name: &str) -> Arc<dyn ServerCertVerifier> {
        let home = TempHome::new(name);
        let ca = home.write("ca.pem", ca_pem);
        let (p, env) = params(
            &format!("sslmode={mode} sslrootcert={}", ca.display()),
            &home,
        );
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        build_verifier(plan(&p, &env).unwrap(), &provider).unwrap()
    }

    fn check(verifier: &dyn ServerCertVerifier, host: &str) -> Result<(), rustls::Error> {
        // Inside the certificates' validity period.
        let now = UnixTime::since_unix_epoch(Duration::from_secs(1_893_456_000));
        let name = ServerName::try_from(host.to_owned()).unwrap();
        verifier
            .verify_server_cert(&der(SERVER), &[], &name, &[], now)
            .map(|_| ())
    }

    #[test]
    fn verify_ca_ignores_only_the_host_name() {
        let v = verifier_for("verify-ca", TEST_CA, "vca");
        check(v.as_ref(), "db.example.com").unwrap();
        check(v.as_ref(), "other.example.com").unwrap();
        check(v.as_ref(), "10.0.0.1").unwrap();

        let v = verifier_for("verify-ca", OTHER_CA, "vca-other");
        let err = check(v.as_ref(), "db.example.com").unwrap_err();
        assert!(
            matches!(
                err,
                rustls::Error::InvalidCertificate(CertificateError::UnknownIssuer)
            ),
            "{err:?}"
        );
    }

    #[test]
    fn verify_full_checks_the_host_name() {
        let v = verifier_for("verify-full", TEST_CA, "vfull");
        check(v.as_ref(), "db.example.com").unwrap();
        let err = check(v.as_ref(), "other.example.com").unwrap_err();
        assert!(
            matches!(
                err,
                rustls::Error::InvalidCertificate(
                    CertificateError::NotValidForName
                        | CertificateError::NotValidForNameContext { .. }
                )
            ),
            "{err:?}"
        );
        let v = verifier_for("verify-full", OTHER_CA, "vfull-other");
        check(v.as_ref(), "db.example.com").unwrap_err();
    }

    #[test]
    fn require_with_root_cert_checks_chain() {
        let v = verifier_for("require", OTHER_CA, "req-other");
        check(v.as_ref(), "db.example.com").unwrap_err();
        let v = verifier_for("require", TEST_CA, "req");
        check(v.as_ref(), "anything.example.com").unwrap();
    }

    #[test]
    fn encrypt_only_accepts_any_certificate() {
        let home = TempHome::new("encrypt-only");
        let (p, env) = params("sslmode=require", &home);
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let v = build_verifier(plan(&p, &env).unwrap(), &provider).unwrap();
        check(v.as_ref(), "whatever.example.com").unwrap();
        assert!(!v.supported_verify_schemes().is_empty());
    }

    #[test]
    fn sslmode_mapping() {
        use tokio_postgres::config::SslMode as Tp;
        let expected = [
            (SslMode::Disable, Tp::Disable),
            (SslMode::Allow, Tp::Disable),
            (SslMode::Prefer, Tp::Prefer),
            (SslMode::Require, Tp::Require),
            (SslMode::VerifyCa, Tp::Require),
            (SslMode::VerifyFull, Tp::Require),
        ];
        for (mode, tp) in expected {
            assert_eq!(tokio_postgres_sslmode(mode), tp);
            assert_eq!(
                tokio_postgres_sslmode_for(mode, &Host::Tcp("db".into())),
                tp
            );
            assert_eq!(
                tokio_postgres_sslmode_for(mode, &Host::Socket("/tmp".into())),
                Tp::Disable
            );
        }
    }
}
