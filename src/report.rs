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

/// `render` for one server of several: the JSON document carries `server_name`, the
/// Markdown starts with a heading naming the server and its role.
pub fn render_named(
    format: Format,
    analysis: &crate::analysis::Analysis,
    actions: &[crate::model::ActionRecord],
    server: Option<&str>,
) -> anyhow::Result<String> {
    let Some(name) = server else {
        return render(format, analysis, actions);
    };
    Ok(match format {
        Format::Json => {
            let mut doc = json::document(analysis, actions);
            doc.server_name = Some(name.to_string());
            let mut out = serde_json::to_string_pretty(&doc)?;
            out.push('\n');
            out
        }
        Format::Markdown => {
            let role = analysis
                .snapshot
                .replication
                .as_ref()
                .map(|r| r.role())
                .unwrap_or("server");
            format!(
                "# Server {} ({role})\n\n{}",
                markdown::escape(name),
                markdown::render(analysis, actions)
            )
        }
    })
}
