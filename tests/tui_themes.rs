//! One insta snapshot per theme, of the screen with its styles (a TestBackend buffer keeps
//! them; the snapshot lists each line's text, then its styled runs). In mono every state
//! the colours carry (ROOT, MIGRATION, a stale screen, an alarm) is still in the text or
//! the style.
// The whole file is test code, helpers included (clippy.toml only exempts #[test] fns).
#![allow(clippy::unwrap_used)]
mod common;

use std::fmt::Write;

use chrono::Duration as ChronoDuration;
use common::fixture::t0;
use pglocks::poller::PollerEvent;
use pglocks::tui::state::State;
use pglocks::tui::theme::Theme;
use pglocks::tui::update::{Msg, update};
use pglocks::tui::view;
use ratatui::Terminal;
use ratatui::backend::TestBackend;
use ratatui::buffer::Buffer;
use ratatui::style::{Color, Modifier, Style};

/// The pile-up, then a failed poll: the screen shows a stale analysis.
fn state(theme: Theme) -> State {
    let mut s = common::tui_state::pileup_state();
    s.theme = theme;
    update(
        &mut s,
        Msg::Poller(PollerEvent::Failed("connection refused".into())),
        t0(),
    );
    s
}

fn render(theme: Theme) -> Buffer {
    let s = state(theme);
    let mut t = Terminal::new(TestBackend::new(150, 14)).unwrap();
    t.draw(|f| view::draw(f, &s, t0() + ChronoDuration::seconds(3)))
        .unwrap();
    t.backend().buffer().clone()
}

fn style_name(st: Style) -> String {
    let mut out = Vec::new();
    if let Some(fg) = st.fg.filter(|c| *c != Color::Reset) {
        out.push(format!("fg={fg}"));
    }
    if let Some(bg) = st.bg.filter(|c| *c != Color::Reset) {
        out.push(format!("bg={bg}"));
    }
    for (m, name) in [
        (Modifier::BOLD, "bold"),
        (Modifier::UNDERLINED, "underlined"),
        (Modifier::REVERSED, "reversed"),
        (Modifier::ITALIC, "italic"),
        (Modifier::DIM, "dim"),
    ] {
        if st.add_modifier.contains(m) {
            out.push(name.into());
        }
    }
    out.join(" ")
}

/// Each line's text, and under it the runs of non-default style as `x..x style`.
fn styled(buf: &Buffer) -> String {
    let mut out = String::new();
    let area = buf.area;
    for y in 0..area.height {
        let mut text = String::new();
        let mut runs: Vec<(u16, u16, String)> = Vec::new();
        for x in 0..area.width {
            let cell = &buf[(x, y)];
            text.push_str(cell.symbol());
            let name = style_name(cell.style());
            match runs.last_mut() {
                Some((_, end, n)) if *n == name && *end + 1 == x => *end = x,
                _ => runs.push((x, x, name)),
            }
        }
        let _ = writeln!(out, "{}", text.trim_end());
        for (a, b, n) in runs.iter().filter(|r| !r.2.is_empty()) {
            let _ = writeln!(out, "    {a}..{b} {n}");
        }
    }
    out
}

#[test]
fn each_theme_snapshot() {
    for (theme, name) in [
        (Theme::Dark, "theme_dark"),
        (Theme::Light, "theme_light"),
        (Theme::Mono, "theme_mono"),
    ] {
        insta::assert_snapshot!(name, styled(&render(theme)));
    }
}

#[test]
fn mono_keeps_every_state_in_text_or_style() {
    let buf = render(Theme::Mono);
    assert!(buf.content().iter().all(|c| c.fg == Color::Reset));
    let text = styled(&buf);
    for word in ["ROOT", "MIGRATION", "stale"] {
        assert!(text.contains(word), "mono lost {word}:\n{text}");
    }
    // The root blocker's row is bold, as it is red and bold in colour.
    let root_line = (0..buf.area.height)
        .find(|&y| {
            (0..buf.area.width)
                .map(|x| buf[(x, y)].symbol())
                .collect::<String>()
                .contains("ROOT")
        })
        .unwrap();
    assert!((0..buf.area.width).any(|x| {
        buf[(x, root_line)]
            .style()
            .add_modifier
            .contains(Modifier::BOLD)
    }));
}

#[test]
fn light_avoids_the_colours_that_vanish_on_white() {
    let buf = render(Theme::Light);
    assert!(
        buf.content()
            .iter()
            .all(|c| !matches!(c.fg, Color::Yellow | Color::LightRed | Color::Cyan))
    );
    assert!(buf.content().iter().any(|c| c.fg != Color::Reset));
}
