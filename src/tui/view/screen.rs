//! What every part of the view shares: the smallest screen it draws on, and the colour a
//! state is drawn in through the theme the user chose (or NO_COLOR).
use ratatui::style::{Color, Style};

use crate::tui::state::State;
use crate::tui::theme::Theme;

/// Below this the layout cannot say anything useful.
pub const MIN_WIDTH: u16 = 40;
pub const MIN_HEIGHT: u16 = 10;

pub(super) fn palette(state: &State, color: Color) -> Style {
    let theme = if state.no_color {
        Theme::Mono
    } else {
        state.theme
    };
    theme.style(color)
}
