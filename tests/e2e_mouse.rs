//! The mouse end to end: `pglocks replay` (the live view's screen, no server needed) in tmux,
//! with SGR mouse reports typed into the pane as a terminal sends them (tmux's own
//! `send-keys -M` only forwards events it received), and the screen read back.
// The whole file is test code, helpers included (clippy.toml only exempts #[test] fns).
#![allow(clippy::unwrap_used)]

use std::process::Command;
use std::time::{Duration, Instant};

struct Tmux {
    socket: String,
}

impl Tmux {
    fn start(command: &str) -> Tmux {
        let socket = format!("pglocks-mouse-{}", std::process::id());
        let status = Command::new("tmux")
            .args([
                "-L",
                &socket,
                "new-session",
                "-d",
                "-s",
                "m",
                "-x",
                "160",
                "-y",
                "30",
            ])
            .arg(command)
            .env_remove("TMUX")
            .status()
            .expect("tmux is needed for the end-to-end test (apt-get install tmux)");
        assert!(status.success(), "tmux new-session failed");
        Tmux { socket }
    }

    fn screen(&self) -> String {
        let out = Command::new("tmux")
            .args(["-L", &self.socket, "capture-pane", "-p", "-t", "m"])
            .output()
            .unwrap();
        String::from_utf8_lossy(&out.stdout).into_owned()
    }

    fn type_raw(&self, text: &str) {
        let status = Command::new("tmux")
            .args(["-L", &self.socket, "send-keys", "-t", "m", "-l", text])
            .status()
            .unwrap();
        assert!(status.success());
    }

    fn wait_for(&self, what: &str, ok: impl Fn(&str) -> bool) -> String {
        let deadline = Instant::now() + Duration::from_secs(10);
        loop {
            let screen = self.screen();
            if ok(&screen) {
                return screen;
            }
            assert!(
                Instant::now() < deadline,
                "timed out waiting for {what}:\n{screen}"
            );
            std::thread::sleep(Duration::from_millis(100));
        }
    }
}

impl Drop for Tmux {
    fn drop(&mut self) {
        let _ = Command::new("tmux")
            .args(["-L", &self.socket, "kill-server"])
            .status();
    }
}

/// The 1-based screen row on which a tree row for `pid` starts.
fn row_of(screen: &str, pid: &str) -> usize {
    screen
        .lines()
        .position(|l| l.chars().take(12).collect::<String>().contains(pid))
        .unwrap_or_else(|| panic!("{pid} not on screen:\n{screen}"))
        + 1
}

fn selected(screen: &str) -> String {
    let line = screen.lines().find(|l| l.contains('▶')).unwrap_or("");
    line.split('▶')
        .nth(1)
        .unwrap_or("")
        .trim_start_matches([' ', '└', '│', '├'])
        .chars()
        .take_while(char::is_ascii_digit)
        .collect()
}

#[test]
fn click_selects_and_the_wheel_moves() {
    let recording = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/data/recording-v1.jsonl");
    let tmux = Tmux::start(&format!(
        "{} replay {recording}; sleep 30",
        env!("CARGO_BIN_EXE_pglocks")
    ));
    let screen = tmux.wait_for("the root blocker, selected", |s| s.contains("▶21166 ROOT"));
    // Click the last row of the tree.
    let last = screen
        .lines()
        .rfind(|l| l.contains("queued"))
        .and_then(|l| l.split('└').nth(1))
        .map(|rest| {
            rest.chars()
                .take_while(char::is_ascii_digit)
                .collect::<String>()
        })
        .unwrap_or_else(|| panic!("no queued row:\n{screen}"));
    let y = row_of(&screen, &last);
    tmux.type_raw(&format!("\x1b[<0;8;{y}M\x1b[<0;8;{y}m"));
    tmux.wait_for("the clicked row selected", |s| selected(s) == last);
    // Wheel up (button 64): three rows towards the root. The rows are the root, the
    // migration, a group of queued sessions, and the clicked one.
    tmux.type_raw(&format!("\x1b[<64;8;{y}M"));
    let after = tmux.wait_for("the wheel to move the selection", |s| selected(s) != last);
    assert_eq!(selected(&after), "21166", "{after}");
}
