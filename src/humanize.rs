//! Numbers and text shortened for people reading under pressure.

/// Ages in the largest unit that keeps them short: 45s, 4m12s, 12m, 3h05m, 14h, 2d03h.
pub fn age(secs: f64) -> String {
    let s = secs.max(0.0) as u64;
    match s {
        0..60 => format!("{s}s"),
        60..600 => format!("{}m{:02}s", s / 60, s % 60),
        600..3600 => format!("{}m", s / 60),
        3600..36000 => format!("{}h{:02}m", s / 3600, (s % 3600) / 60),
        36000..86400 => format!("{}h", s / 3600),
        _ => format!("{}d{:02}h", s / 86400, (s % 86400) / 3600),
    }
}

pub fn opt_age(secs: Option<f64>) -> String {
    secs.map(age).unwrap_or_else(|| "-".into())
}

/// Text from the server made harmless for a terminal or a document: control characters
/// (ESC of an escape sequence, OSC 52 clipboard writes, BEL, C1 controls) become visible
/// symbols instead of being interpreted. Tabs become spaces; newlines are kept.
pub fn inert(text: &str) -> std::borrow::Cow<'_, str> {
    let dangerous = |c: char| (c.is_control() && c != '\n') || c == '\u{2028}' || c == '\u{2029}';
    if !text.chars().any(dangerous) {
        return std::borrow::Cow::Borrowed(text);
    }
    let out = text
        .chars()
        .map(|c| match c {
            '\t' => ' ',
            '\n' => '\n',
            // Unicode's "control pictures" show C0 characters as visible glyphs (␛ for ESC).
            c if (c as u32) < 0x20 => char::from_u32(0x2400 + c as u32).unwrap_or('?'),
            '\u{7f}' => '\u{2421}',
            c if dangerous(c) => '\u{fffd}',
            c => c,
        })
        .collect();
    std::borrow::Cow::Owned(out)
}

/// The first non-blank line, whitespace collapsed, cut to `max` characters with an ellipsis.
pub fn first_line(text: &str, max: usize) -> String {
    let line = text
        .lines()
        .map(str::trim)
        .find(|l| !l.is_empty())
        .unwrap_or("");
    let collapsed = line.split_whitespace().collect::<Vec<_>>().join(" ");
    truncate(&inert(&collapsed), max)
}

pub fn truncate(text: &str, max: usize) -> String {
    if text.chars().count() <= max {
        return text.to_string();
    }
    let mut out: String = text.chars().take(max.saturating_sub(1)).collect();
    out.push('…');
    out
}

/// Row estimates as people say them: 950, 12k, 3.4M.
pub fn count(n: f64) -> String {
    let n = n.max(0.0);
    if n < 1_000.0 {
        format!("{n:.0}")
    } else if n < 1_000_000.0 {
        format!("{:.0}k", n / 1_000.0)
    } else if n < 1_000_000_000.0 {
        format!("{:.1}M", n / 1_000_000.0)
    } else {
        format!("{:.1}G", n / 1_000_000_000.0)
    }
}

pub fn plural(n: usize, one: &str, many: &str) -> String {
    format!("{n} {}", if n == 1 { one } else { many })
}

/// Estimated rows as people say them, or "unknown" when the table was never analyzed.
pub fn estimated_rows(n: Option<f64>) -> String {
    n.map(count).unwrap_or_else(|| "unknown".into())
}

/// `500ms`, `1s`, `2m`, or a bare `2` meaning seconds. Any input gives a duration or a
/// one-line error (never a panic: `Duration::from_secs_f64(1e20)` would).
pub fn parse_duration(s: &str) -> Result<std::time::Duration, String> {
    let s = s.trim();
    let shown: String = s.chars().take(40).collect();
    if let Ok(secs) = s.parse::<f64>() {
        return std::time::Duration::try_from_secs_f64(secs)
            .ok()
            .filter(|d| *d <= MAX_DURATION)
            .ok_or_else(|| format!("invalid duration \"{shown}\""));
    }
    match humantime::parse_duration(s) {
        Ok(d) if d <= MAX_DURATION => Ok(d),
        Ok(_) => Err(format!("invalid duration \"{shown}\": longer than a year")),
        Err(e) => Err(format!("invalid duration \"{shown}\": {e}")),
    }
}

/// Nothing pglocks times is longer; also keeps every later sum and conversion in range.
const MAX_DURATION: std::time::Duration = std::time::Duration::from_secs(366 * 24 * 3600);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ages() {
        assert_eq!(age(0.4), "0s");
        assert_eq!(age(45.0), "45s");
        assert_eq!(age(252.0), "4m12s");
        assert_eq!(age(720.0), "12m");
        assert_eq!(age(3.0 * 3600.0 + 300.0), "3h05m");
        assert_eq!(age(14.0 * 3600.0), "14h");
        assert_eq!(age(2.0 * 86400.0 + 3.0 * 3600.0), "2d03h");
        assert_eq!(age(-5.0), "0s");
    }

    #[test]
    fn escape_sequences_are_shown_not_interpreted() {
        let evil = "select 1 /* \u{1b}]52;c;ZXZpbA==\u{7} \u{1b}[31mred\u{9b}2J */";
        let shown = inert(evil);
        assert!(!shown.chars().any(|c| c.is_control()), "{shown:?}");
        assert!(shown.contains("␛]52;c;ZXZpbA==␇"));
        assert_eq!(inert("a\nb"), "a\nb");
        assert!(matches!(inert("plain"), std::borrow::Cow::Borrowed(_)));
        assert!(!first_line(evil, 200).contains('\u{1b}'));
    }

    #[test]
    fn text() {
        assert_eq!(first_line("\n  select   1\nfrom t", 20), "select 1");
        assert_eq!(first_line("abcdef", 4), "abc…");
        assert_eq!(count(12_345.0), "12k");
        assert_eq!(count(3_400_000.0), "3.4M");
        assert_eq!(plural(1, "session", "sessions"), "1 session");
    }
}
