//! When to try again: exponential backoff between a floor and a ceiling, with jitter so that
//! several guarded deploys stalled by the same blocker do not all come back at once.
use std::time::Duration;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Backoff {
    pub min: Duration,
    pub max: Duration,
}

/// `1s..60s` (also `1s-60s`); a single duration is a fixed wait.
pub fn parse_backoff(s: &str) -> Result<Backoff, String> {
    let (lo, hi) = match s.split_once("..").or_else(|| s.split_once('-')) {
        Some((lo, hi)) => (lo, hi),
        None => (s, s),
    };
    let min = crate::humanize::parse_duration(lo)?;
    let max = crate::humanize::parse_duration(hi)?;
    if min > max {
        return Err(format!(
            "invalid backoff \"{s}\": the first bound is larger"
        ));
    }
    Ok(Backoff { min, max })
}

impl Backoff {
    /// The wait before retry number `retry` (1 for the first): min * 2^(retry-1), capped at
    /// max, then a random point in its upper half ("equal jitter"), never below min.
    pub fn wait(&self, retry: u32, unit: f64) -> Duration {
        let exp = 2f64.powi(i32::try_from(retry.saturating_sub(1).min(30)).unwrap_or(30));
        let base = (self.min.as_secs_f64() * exp).min(self.max.as_secs_f64());
        let jittered = base / 2.0 + base / 2.0 * unit.clamp(0.0, 1.0);
        Duration::from_secs_f64(jittered.max(self.min.as_secs_f64()))
    }
}

/// A small xorshift generator: jitter needs spread, not secrecy.
pub struct Jitter(u64);

impl Jitter {
    pub fn seeded() -> Jitter {
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_nanos() as u64)
            .unwrap_or(1);
        Jitter((nanos ^ u64::from(std::process::id()).rotate_left(32)) | 1)
    }

    /// Uniform in [0, 1].
    pub fn unit(&mut self) -> f64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        (self.0 >> 11) as f64 / (1u64 << 53) as f64
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_grows_caps_and_jitters_within_bounds() {
        let b = parse_backoff("1s..10s").unwrap();
        assert_eq!(b.wait(1, 1.0), Duration::from_secs(1));
        assert_eq!(b.wait(2, 1.0), Duration::from_secs(2));
        assert_eq!(b.wait(3, 0.0), Duration::from_secs(2));
        assert_eq!(b.wait(9, 1.0), Duration::from_secs(10));
        assert_eq!(b.wait(9, 0.0), Duration::from_secs(5));
        assert_eq!(
            b.wait(1, 0.0),
            Duration::from_secs(1),
            "never below the floor"
        );
        let mut j = Jitter::seeded();
        for _ in 0..1000 {
            let w = b.wait(4, j.unit());
            assert!(
                w >= Duration::from_secs(4) && w <= Duration::from_secs(8),
                "{w:?}"
            );
        }
        assert_eq!(
            parse_backoff("200ms").unwrap(),
            Backoff {
                min: Duration::from_millis(200),
                max: Duration::from_millis(200)
            }
        );
        assert!(parse_backoff("5s..1s").is_err());
        assert!(parse_backoff("soon..later").is_err());
    }
}
