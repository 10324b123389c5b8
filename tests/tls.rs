//! TLS against a real server: a throwaway cluster with `ssl=on`, a certificate signed by a
//! CA made here with the openssl CLI, and a pg_hba.conf that accepts only `hostssl` over
//! TCP. Each sslmode is checked through the library and, for the failures, through the
//! `pglocks` binary, whose error must be one line starting with `pglocks: `.
// The whole file is test code, helpers included (clippy.toml only exempts #[test] fns).
#![allow(clippy::unwrap_used)]

mod common;

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use common::bin::pglocks;
use pglocks::cluster::Cluster;
use pglocks::db::conninfo::{self, Overrides, ProcessEnv};
use pglocks::db::{self, DbError};

/// Only TLS over TCP; the Unix socket stays open for nobody but the harness.
const HOSTSSL_ONLY: &str = "local all all trust\nhostssl all all 127.0.0.1/32 trust\n";

fn openssl(dir: &Path, args: &[&str]) {
    let out = Command::new("openssl")
        .args(args)
        .current_dir(dir)
        .stdin(Stdio::null())
        .output()
        .unwrap_or_else(|e| {
            panic!("openssl is needed for the TLS tests (apt-get install openssl): {e}")
        });
    assert!(
        out.status.success(),
        "openssl {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// A CA (`NAME.crt`, `NAME.key`) in `dir`.
fn make_ca(dir: &Path, name: &str) -> PathBuf {
    openssl(
        dir,
        &[
            "req",
            "-x509",
            "-newkey",
            "ec",
            "-pkeyopt",
            "ec_paramgen_curve:prime256v1",
            "-nodes",
            "-days",
            "2",
            "-subj",
            &format!("/CN={name}"),
            "-keyout",
            &format!("{name}.key"),
            "-out",
            &format!("{name}.crt"),
            "-addext",
            "basicConstraints=critical,CA:TRUE",
            "-addext",
            "keyUsage=critical,keyCertSign,cRLSign",
        ],
    );
    dir.join(format!("{name}.crt"))
}

/// A server certificate for `san` signed by the CA `ca`: (certificate PEM, key PEM).
fn make_server_cert(dir: &Path, ca: &str, name: &str, san: &str) -> (Vec<u8>, Vec<u8>) {
    openssl(
        dir,
        &[
            "req",
            "-new",
            "-newkey",
            "ec",
            "-pkeyopt",
            "ec_paramgen_curve:prime256v1",
            "-nodes",
            "-subj",
            &format!("/CN={name}"),
            "-keyout",
            &format!("{name}.key"),
            "-out",
            &format!("{name}.csr"),
        ],
    );
    let ext = format!(
        "basicConstraints=critical,CA:FALSE\nkeyUsage=critical,digitalSignature\nextendedKeyUsage=serverAuth\nsubjectAltName={san}\n"
    );
    std::fs::write(dir.join(format!("{name}.ext")), ext).unwrap();
    openssl(
        dir,
        &[
            "x509",
            "-req",
            "-in",
            &format!("{name}.csr"),
            "-CA",
            &format!("{ca}.crt"),
            "-CAkey",
            &format!("{ca}.key"),
            "-set_serial",
            &format!("{}", std::process::id()),
            "-days",
            "2",
            "-extfile",
            &format!("{name}.ext"),
            "-out",
            &format!("{name}.crt"),
        ],
    );
    (
        std::fs::read(dir.join(format!("{name}.crt"))).unwrap(),
        std::fs::read(dir.join(format!("{name}.key"))).unwrap(),
    )
}

struct Pki {
    dir: tempfile::TempDir,
    right_ca: PathBuf,
    wrong_ca: PathBuf,
}

fn pki() -> Pki {
    let dir = tempfile::tempdir().unwrap();
    let right_ca = make_ca(dir.path(), "right-ca");
    let wrong_ca = make_ca(dir.path(), "wrong-ca");
    Pki {
        dir,
        right_ca,
        wrong_ca,
    }
}

/// A cluster that speaks TLS with `cert`/`key` and accepts TCP only over TLS. None, with a
/// note, when PGLOCKS_TEST_DSN points at an outside server: these tests need their own
/// server configuration, as docs/testing.md says.
async fn tls_cluster(test: &str, cert: Vec<u8>, key: Vec<u8>) -> Option<Cluster> {
    if std::env::var("PGLOCKS_TEST_DSN").is_ok_and(|d| !d.is_empty()) {
        eprintln!("{test}: skipped, it needs its own TLS cluster (PGLOCKS_TEST_DSN is set)");
        return None;
    }
    let cluster = tokio::task::spawn_blocking(move || {
        Cluster::start_with_files(
            &["ssl=on"],
            &[
                ("server.crt", &cert),
                ("server.key", &key),
                ("pg_hba.conf", HOSTSSL_ONLY.as_bytes()),
            ],
        )
    })
    .await
    .unwrap()
    .unwrap_or_else(|e| panic!("a TLS cluster should start: {e:#}"));
    Some(cluster)
}

fn conninfo(cluster: &Cluster, extra: &str) -> String {
    format!(
        "host=127.0.0.1 port={} user=postgres dbname=postgres connect_timeout=5 {extra}",
        cluster.port
    )
}

async fn connect(cluster: &Cluster, extra: &str) -> Result<db::Connection, DbError> {
    let params = conninfo::resolve(
        Some(&conninfo(cluster, extra)),
        &Overrides::default(),
        &ProcessEnv,
    )
    .unwrap();
    db::connect(&params, &ProcessEnv).await
}

/// `pglocks snapshot CONN --format json` with no PG* variables and an empty HOME, so that
/// no ~/.postgresql/root.crt or PGSSLMODE of the developer's can leak in.
async fn snapshot(conn: String) -> (bool, String, String) {
    let run = pglocks(["snapshot", conn.as_str(), "--format", "json"])
        .run()
        .await;
    (run.status.success(), run.stdout, run.stderr)
}

/// Asserts one `pglocks: ` line on stderr mentioning every phrase, and returns it.
async fn one_line_failure(conn: String, phrases: &[&str]) -> String {
    let (ok, stdout, stderr) = snapshot(conn).await;
    assert!(!ok, "expected a failure; stdout: {stdout}");
    assert!(
        stdout.is_empty(),
        "nothing on stdout after an error: {stdout}"
    );
    let line = stderr.strip_suffix('\n').unwrap_or(&stderr).to_string();
    assert!(!line.contains('\n'), "one line, got: {stderr:?}");
    assert!(line.starts_with("pglocks: "), "{line}");
    assert!(!line.contains("panicked"), "{line}");
    let lower = line.to_lowercase();
    for p in phrases {
        assert!(
            lower.contains(&p.to_lowercase()),
            "{line:?} should mention {p:?}"
        );
    }
    eprintln!("{line}");
    line
}

fn root(path: &Path) -> String {
    format!("sslrootcert={}", path.display())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sslmodes_against_a_server_that_requires_tls() {
    let pki = pki();
    let (cert, key) = make_server_cert(
        pki.dir.path(),
        "right-ca",
        "server",
        "IP:127.0.0.1,DNS:localhost",
    );
    let Some(cluster) = tls_cluster("sslmodes_against_a_server_that_requires_tls", cert, key).await
    else {
        return;
    };

    // require: encrypted, certificate not checked.
    let conn = connect(&cluster, "sslmode=require").await.unwrap();
    assert!(conn.server.version_num >= 130000);
    // verify-full with the CA that signed the server's certificate.
    connect(
        &cluster,
        &format!("sslmode=verify-full {}", root(&pki.right_ca)),
    )
    .await
    .unwrap();
    // The binary does the same and prints a snapshot.
    let (ok, stdout, stderr) = snapshot(conninfo(
        &cluster,
        &format!("sslmode=verify-full {}", root(&pki.right_ca)),
    ))
    .await;
    assert!(ok, "verify-full with the right CA: {stderr}");
    let doc: serde_json::Value = serde_json::from_str(&stdout).unwrap();
    assert_eq!(doc["format"], "pglocks.snapshot/1");

    // verify-full with a CA that did not sign it.
    let err = connect(
        &cluster,
        &format!("sslmode=verify-full {}", root(&pki.wrong_ca)),
    )
    .await
    .err()
    .expect("a certificate from an unknown CA must be refused");
    let text = err.to_string();
    assert!(text.contains("certificate"), "{text}");
    one_line_failure(
        conninfo(
            &cluster,
            &format!("sslmode=verify-full {}", root(&pki.wrong_ca)),
        ),
        &[
            "certificate",
            "not signed by a CA in sslrootcert",
            &format!("127.0.0.1:{}", cluster.port),
        ],
    )
    .await;

    // disable, against a pg_hba.conf that only has hostssl lines.
    assert!(connect(&cluster, "sslmode=disable").await.is_err());
    let line = one_line_failure(conninfo(&cluster, "sslmode=disable"), &["pg_hba.conf"]).await;
    assert!(
        line.contains("no encryption") || line.contains("SSL off"),
        "the server says the connection was not encrypted: {line}"
    );

    // A missing root certificate file is named, not ignored.
    one_line_failure(
        conninfo(
            &cluster,
            "sslmode=verify-full sslrootcert=/nonexistent/root.crt",
        ),
        &["/nonexistent/root.crt"],
    )
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn verify_ca_accepts_a_misnamed_certificate_that_verify_full_refuses() {
    let pki = pki();
    let (cert, key) = make_server_cert(
        pki.dir.path(),
        "right-ca",
        "elsewhere",
        "DNS:db.elsewhere.invalid",
    );
    let Some(cluster) = tls_cluster("verify_ca_accepts_a_misnamed_certificate", cert, key).await
    else {
        return;
    };

    connect(
        &cluster,
        &format!("sslmode=verify-ca {}", root(&pki.right_ca)),
    )
    .await
    .unwrap();
    let (ok, _, stderr) = snapshot(conninfo(
        &cluster,
        &format!("sslmode=verify-ca {}", root(&pki.right_ca)),
    ))
    .await;
    assert!(ok, "verify-ca ignores the host name: {stderr}");

    let err = connect(
        &cluster,
        &format!("sslmode=verify-full {}", root(&pki.right_ca)),
    )
    .await
    .err()
    .expect("verify-full must check the host name");
    assert!(err.to_string().contains("certificate"), "{err}");
    one_line_failure(
        conninfo(
            &cluster,
            &format!("sslmode=verify-full {}", root(&pki.right_ca)),
        ),
        &["certificate"],
    )
    .await;
    // Still the right CA: verify-ca with the wrong one fails on the chain instead.
    assert!(
        connect(
            &cluster,
            &format!("sslmode=verify-ca {}", root(&pki.wrong_ca))
        )
        .await
        .is_err()
    );
}
