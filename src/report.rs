//! Renderers from an analysis to the formats people paste and scripts read. The TUI's
//! snapshot key and the headless `snapshot` command share them.
pub mod guard;
pub mod incident;
pub mod json;
pub mod markdown;
pub mod mermaid;

use std::str::FromStr;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    Json,
    Markdown,
}

impl FromStr for Format {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.to_ascii_lowercase().as_str() {
            "json" => Ok(Format::Json),
            "markdown" | "md" => Ok(Format::Markdown),
            other => Err(format!(
                "unknown format \"{other}\" (expected json or markdown)"
            )),
        }
    }
}

impl Format {
    pub fn extension(self) -> &'static str {
        match self {
            Format::Json => "json",
            Format::Markdown => "md",
        }
    }
}

pub fn render(
    format: Format,
    analysis: &crate::analysis::Analysis,
    actions: &[crate::model::ActionRecord],
) -> anyhow::Result<String> {
    Ok(match format {
        Format::Json => json::render(analysis, actions)?,
        Format::Markdown => markdown::render(analysis, actions),
    })
}
