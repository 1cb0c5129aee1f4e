//! Minimal RFC 3339 handling, just what the normalised credential view needs.
//!
//! Nuts (Go) parses `issuanceDate`/`expirationDate` into `time.Time` and prints them back with
//! `RFC3339Nano`: trailing zeros of the fraction are dropped and a zero offset becomes `Z`, while
//! other offsets are kept. JWT `nbf`/`exp` become UTC times. This module reproduces exactly that,
//! without pulling in a date library. It does not do time zones, leap seconds or calendars
//! beyond proleptic Gregorian.

/// A parsed RFC 3339 timestamp.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Timestamp {
    /// Seconds since the Unix epoch (UTC).
    pub unix: i64,
    /// The timestamp printed the way Go's `RFC3339Nano` prints it.
    pub go_text: String,
}

/// Parses an RFC 3339 date-time (`YYYY-MM-DDTHH:MM:SS[.frac](Z|±HH:MM)`).
pub(crate) fn parse_rfc3339(s: &str) -> Option<Timestamp> {
    let b = s.as_bytes();
    if b.len() < 20 {
        return None;
    }
    let num = |from: usize, len: usize| -> Option<i64> {
        let part = s.get(from..from + len)?;
        if !part.bytes().all(|c| c.is_ascii_digit()) {
            return None;
        }
        part.parse().ok()
    };
    let (year, month, day) = (num(0, 4)?, num(5, 2)?, num(8, 2)?);
    if b[4] != b'-' || b[7] != b'-' || b[10] != b'T' || b[13] != b':' || b[16] != b':' {
        return None;
    }
    let (hour, minute, second) = (num(11, 2)?, num(14, 2)?, num(17, 2)?);
    if !(1..=12).contains(&month)
        || day < 1
        || day > days_in_month(year, month)
        || hour > 23
        || minute > 59
        || second > 60
    {
        return None;
    }
    let mut i = 19;
    let mut frac = "";
    if b[i] == b'.' {
        let start = i + 1;
        i = start;
        while i < b.len() && b[i].is_ascii_digit() {
            i += 1;
        }
        if i == start || i - start > 9 {
            return None;
        }
        frac = &s[start..i];
    }
    let offset_secs;
    let offset_text;
    match b.get(i) {
        Some(b'Z') if i + 1 == b.len() => {
            offset_secs = 0;
            offset_text = "Z".to_string();
        }
        Some(sign @ (b'+' | b'-')) if i + 6 == b.len() && b[i + 3] == b':' => {
            let (oh, om) = (num(i + 1, 2)?, num(i + 4, 2)?);
            if oh > 23 || om > 59 {
                return None;
            }
            let total = oh * 3600 + om * 60;
            offset_secs = if *sign == b'-' { -total } else { total };
            offset_text = if total == 0 {
                "Z".to_string()
            } else {
                s[i..].to_string()
            };
        }
        _ => return None,
    }
    let frac = frac.trim_end_matches('0');
    let mut go_text = s[..19].to_string();
    if !frac.is_empty() {
        go_text.push('.');
        go_text.push_str(frac);
    }
    go_text.push_str(&offset_text);
    let unix = days_from_civil(year, month, day) * 86_400 + hour * 3600 + minute * 60 + second
        - offset_secs;
    Some(Timestamp { unix, go_text })
}

/// Formats Unix seconds as UTC RFC 3339 (`2024-04-08T09:36:52Z`), as Go prints a JWT `nbf`.
pub(crate) fn format_unix(unix: i64) -> String {
    let days = unix.div_euclid(86_400);
    let secs = unix.rem_euclid(86_400);
    let (y, m, d) = civil_from_days(days);
    format!(
        "{y:04}-{m:02}-{d:02}T{:02}:{:02}:{:02}Z",
        secs / 3600,
        (secs % 3600) / 60,
        secs % 60
    )
}

/// Go's zero `time.Time`, which Nuts prints for a credential without `issuanceDate`.
pub(crate) const GO_ZERO_TIME: &str = "0001-01-01T00:00:00Z";

fn is_leap(y: i64) -> bool {
    (y % 4 == 0 && y % 100 != 0) || y % 400 == 0
}

fn days_in_month(y: i64, m: i64) -> i64 {
    match m {
        2 if is_leap(y) => 29,
        2 => 28,
        4 | 6 | 9 | 11 => 30,
        _ => 31,
    }
}

// Howard Hinnant's days_from_civil / civil_from_days.
fn days_from_civil(y: i64, m: i64, d: i64) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = (m + 9) % 12;
    let doy = (153 * mp + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

fn civil_from_days(z: i64) -> (i64, i64, i64) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let y = yoe + era * 400;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    (if m <= 2 { y + 1 } else { y }, m, d)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn go_style_normalisation() {
        let t = parse_rfc3339("2022-06-01T15:34:40.653190+02:00").unwrap();
        assert_eq!(t.go_text, "2022-06-01T15:34:40.65319+02:00");
        assert_eq!(t.unix, 1_654_090_480);
        let t = parse_rfc3339("2024-09-17T06:44:57.000+00:00").unwrap();
        assert_eq!(t.go_text, "2024-09-17T06:44:57Z");
        assert!(parse_rfc3339("2024-02-30T00:00:00Z").is_none());
        assert!(parse_rfc3339("2024-01-01 00:00:00Z").is_none());
        assert!(parse_rfc3339("2024-01-01T00:00:00").is_none());
    }

    #[test]
    fn unix_round_trip() {
        for unix in [0, 951_782_400, 1_712_569_012, 4_102_444_800, -86_400] {
            let text = format_unix(unix);
            assert_eq!(parse_rfc3339(&text).unwrap().unix, unix, "{text}");
        }
        assert_eq!(format_unix(1_712_569_012), "2024-04-08T09:36:52Z");
    }
}
