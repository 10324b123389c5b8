//! Colour themes. The views name the colour a state has on a dark terminal; the theme maps
//! it to what is readable on this one. Mono carries the same states by style and text: the
//! flags column already spells ROOT, MIGRATION and CYCLE, the status line says "stale",
//! and alarms are bold.
use ratatui::style::{Color, Modifier, Style};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, clap::ValueEnum)]
pub enum Theme {
    #[default]
    Dark,
    /// Yellow and light red vanish on white: darker shades of the same hues.
    Light,
    /// No colour at all (what NO_COLOR selects).
    Mono,
}

impl Theme {
    /// NO_COLOR (set and not empty) wins over any theme.
    pub fn with_env(self) -> Theme {
        if std::env::var_os("NO_COLOR").is_some_and(|v| !v.is_empty()) {
            Theme::Mono
        } else {
            self
        }
    }

    pub fn style(self, color: Color) -> Style {
        match self {
            Theme::Dark => Style::default().fg(color),
            Theme::Light => Style::default().fg(light(color)),
            // A long transaction is told apart by colour alone elsewhere; here, by underline.
            Theme::Mono if color == Color::LightRed => {
                Style::default().add_modifier(Modifier::UNDERLINED)
            }
            Theme::Mono => Style::default(),
        }
    }
}

/// 256-colour shades that keep at least 4.5:1 contrast on a white background.
fn light(color: Color) -> Color {
    match color {
        Color::Red => Color::Indexed(124),
        Color::LightRed => Color::Indexed(160),
        Color::Yellow => Color::Indexed(130),
        Color::Magenta => Color::Indexed(90),
        Color::Cyan => Color::Indexed(25),
        other => other,
    }
}
