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

/// A cluster that speaks TLS with `cert`/`key` and accepts TCP only over TLS, started
/// here whether or not PGLOCKS_TEST_DSN is set. None when no server binaries are installed
/// (the test has then failed, or been skipped under PGLOCKS_TEST_ALLOW_SKIP=1).
async fn tls_cluster(cert: Vec<u8>, key: Vec<u8>) -> Option<Cluster> {
    if !common::local_binaries("it configures TLS and pg_hba.conf on a server of its own") {
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

/// Whether the backend `pid` talks TLS, asked over the Unix socket (pg_hba.conf lets
/// that in whatever it does to TCP).
async fn encrypted(cluster: &Cluster, pid: i32) -> Option<bool> {
    let dsn = format!(
        "host={} port={} user=postgres dbname=postgres",
        cluster.socket_dir().display(),
        cluster.port
    );
    let (client, conn) = tokio_postgres::connect(&dsn, tokio_postgres::NoTls)
        .await
        .unwrap();
    tokio::spawn(conn);
    client
        .query_opt("SELECT ssl FROM pg_stat_ssl WHERE pid = $1", &[&pid])
        .await
        .unwrap()
        .map(|r| r.get(0))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn allow_and_prefer_against_a_server_without_tls() {
    if !common::local_binaries("it needs a server of its own with TLS off") {
        return;
    }
    let cluster = tokio::task::spawn_blocking(|| Cluster::start(&["ssl=off"]))
        .await
        .unwrap()
        .unwrap();
    for mode in ["allow", "prefer"] {
        let conn = connect(&cluster, &format!("sslmode={mode}"))
            .await
            .unwrap_or_else(|e| panic!("sslmode={mode} against a plain-only server: {e}"));
        assert_eq!(
            encrypted(&cluster, conn.monitor_pid).await,
            Some(false),
            "{mode}"
        );
        let (ok, _, stderr) = snapshot(conninfo(&cluster, &format!("sslmode={mode}"))).await;
        assert!(ok, "sslmode={mode} against a plain-only server: {stderr}");
    }
    assert!(connect(&cluster, "sslmode=require").await.is_err());
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
    let Some(cluster) = tls_cluster(cert, key).await else {
        return;
    };

    // require: encrypted, certificate not checked.
    let conn = connect(&cluster, "sslmode=require").await.unwrap();
    assert!(conn.server.version_num >= 130000);
    // allow (issue 13.7: it was plain only) and prefer: the server turns plain away, TLS
    // gets in, as with libpq. The library, then the binary.
    for mode in ["allow", "prefer"] {
        let conn = connect(&cluster, &format!("sslmode={mode}"))
            .await
            .unwrap_or_else(|e| panic!("sslmode={mode} against a TLS-only server: {e}"));
        assert_eq!(
            encrypted(&cluster, conn.monitor_pid).await,
            Some(true),
            "{mode}"
        );
        let (ok, _, stderr) = snapshot(conninfo(&cluster, &format!("sslmode={mode}"))).await;
        assert!(ok, "sslmode={mode} against a TLS-only server: {stderr}");
    }
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
    let Some(cluster) = tls_cluster(cert, key).await else {
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
