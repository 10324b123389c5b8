//! `pglocks completions SHELL` and `pglocks man`: generated from the clap definitions, so
//! every subcommand and flag appears.
// The whole file is test code, helpers included (clippy.toml only exempts #[test] fns).
#![allow(clippy::unwrap_used)]

use std::process::Command;

fn run(args: &[&str]) -> (Option<i32>, String, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_pglocks"))
        .args(args)
        .output()
        .unwrap();
    (
        out.status.code(),
        String::from_utf8(out.stdout).unwrap(),
        String::from_utf8(out.stderr).unwrap(),
    )
}

#[test]
fn completions_for_every_shell_name_the_subcommands_and_flags() {
    for shell in ["bash", "zsh", "fish", "powershell", "elvish"] {
        let (code, out, err) = run(&["completions", shell]);
        assert_eq!(code, Some(0), "{shell}: {err}");
        // fish writes `-l migration-role`, the others `--migration-role`.
        for word in [
            "snapshot",
            "preflight",
            "doctor",
            "migration-role",
            "long-xact",
        ] {
            assert!(out.contains(word), "{shell} completions lack {word}");
        }
    }
    let (code, _, err) = run(&["completions", "tcsh"]);
    assert_eq!(code, Some(1));
    assert_eq!(err.lines().count(), 1, "{err}");
}

#[test]
fn bash_accepts_the_bash_completions() {
    let (_, out, _) = run(&["completions", "bash"]);
    let status = Command::new("bash")
        .args(["-n", "-c", &out])
        .status()
        .unwrap();
    assert!(status.success(), "bash -n rejects the completion script");
}

#[test]
fn man_page_has_every_subcommand() {
    let (code, out, err) = run(&["man"]);
    assert_eq!(code, Some(0), "{err}");
    assert!(
        out.starts_with(".ie") || out.contains(".TH pglocks"),
        "{}",
        &out[..200.min(out.len())]
    );
    for section in ["PGLOCKS SNAPSHOT", "PGLOCKS DOCTOR", "PGLOCKS PREFLIGHT"] {
        assert!(out.contains(section), "man page lacks {section}");
    }
    assert!(out.contains(r"\fB\-\-migration\-role\fR"));
}
