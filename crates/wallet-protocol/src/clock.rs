//! Injected time. Everything that checks a validity window takes a [`Clock`], so tests can
//! verify vectors "at" their date and nothing reads the system clock behind the caller's back.

/// A source of the current time in seconds since the Unix epoch.
pub trait Clock: Send + Sync {
    /// Seconds since 1970-01-01T00:00:00Z.
    fn now_unix(&self) -> i64;
}

/// The operating-system clock.
#[derive(Debug, Clone, Copy, Default)]
pub struct SystemClock;

impl Clock for SystemClock {
    fn now_unix(&self) -> i64 {
        let now = std::time::SystemTime::now();
        match now.duration_since(std::time::UNIX_EPOCH) {
            Ok(d) => i64::try_from(d.as_secs()).unwrap_or(i64::MAX),
            Err(_) => 0,
        }
    }
}

/// A clock frozen at one instant (tests, verifying historic vectors).
#[derive(Debug, Clone, Copy)]
pub struct FixedClock(pub i64);

impl Clock for FixedClock {
    fn now_unix(&self) -> i64 {
        self.0
    }
}

/// Formats Unix seconds as an RFC 3339 UTC timestamp (`2024-01-02T03:04:05Z`).
pub fn format_rfc3339(unix: i64) -> String {
    match time::OffsetDateTime::from_unix_timestamp(unix) {
        Ok(t) => {
            let (y, mo, d) = (t.year(), u8::from(t.month()), t.day());
            format!(
                "{y:04}-{mo:02}-{d:02}T{:02}:{:02}:{:02}Z",
                t.hour(),
                t.minute(),
                t.second()
            )
        }
        Err(_) => "0001-01-01T00:00:00Z".to_owned(),
    }
}

/// Parses an RFC 3339 timestamp (fractional seconds and offsets allowed) to Unix seconds.
pub fn parse_rfc3339(s: &str) -> Option<i64> {
    time::OffsetDateTime::parse(s, &time::format_description::well_known::Rfc3339)
        .ok()
        .map(|t| t.unix_timestamp())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rfc3339_round_trip() {
        assert_eq!(format_rfc3339(1_700_000_000), "2023-11-14T22:13:20Z");
        assert_eq!(parse_rfc3339("2023-11-14T22:13:20Z"), Some(1_700_000_000));
        assert_eq!(
            parse_rfc3339("2022-06-01T15:34:40.65319+02:00"),
            Some(1_654_090_480)
        );
        assert_eq!(parse_rfc3339("yesterday"), None);
    }
}
