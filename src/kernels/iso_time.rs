//! ISO-8601 timestamp strings to microseconds since 1970-01-01 (UTC), for the shapes exports
//! write: `2024-03-01`, `20240301`, `2024-03-01T12:30`, `2024-03-01 12:30:05`,
//! `2024-03-01T12:30:05.123456`, with `Z` or an offset (`+02:00`, `-0530`) after the seconds of a
//! `T` timestamp. Strict fixed-width fields; a calendar date and a time of day that exist
//! (seconds 00-59, no leap second); 1 to 9 fraction digits, truncated to microseconds.
//!
//! Why: Polars' strptime reads `%Y-%m-%dT%H:%M:%S%.f` at about 7 µs a value on this machine, and a
//! string timestamp column tries twelve layouts, which made reading a CSV dump take seconds per
//! million lines. This reads a value in tens of nanoseconds. It accepts only shapes whose reading
//! by the layouts in `input::timestamps` is certain, and gives `None` for anything else, which the
//! caller reads with those layouts as before (so no value reads differently; the test
//! `iso_kernel_reads_every_value_as_strptime_does` compares the two).

/// The microseconds of `s` (ASCII whitespace around it ignored), or `None` when it is not one of
/// the shapes above.
pub fn iso_micros(s: &[u8]) -> Option<i64> {
    let s = s.trim_ascii();
    let n = s.len();
    if n == 8 {
        // %Y%m%d
        let (y, m, d) = (digits(s, 0, 4)?, digits(s, 4, 2)?, digits(s, 6, 2)?);
        return day_micros(y, m, d);
    }
    if n < 10 || s[4] != b'-' || s[7] != b'-' {
        return None;
    }
    let (y, m, d) = (digits(s, 0, 4)?, digits(s, 5, 2)?, digits(s, 8, 2)?);
    let day = day_micros(y, m, d)?;
    if n == 10 {
        return Some(day);
    }
    let t_sep = s[10] == b'T';
    if !(t_sep || s[10] == b' ') || n < 16 || s[13] != b':' {
        return None;
    }
    let (h, mi) = (digits(s, 11, 2)?, digits(s, 14, 2)?);
    if h > 23 || mi > 59 {
        return None;
    }
    let mut micros = day + (h * 3600 + mi * 60) * 1_000_000;
    if n == 16 {
        return Some(micros);
    }
    if s[16] != b':' || n < 19 {
        return None;
    }
    let sec = digits(s, 17, 2)?;
    if sec > 59 {
        return None;
    }
    micros += sec * 1_000_000;
    let mut i = 19;
    if i < n && s[i] == b'.' {
        let start = i + 1;
        let mut end = start;
        while end < n && s[end].is_ascii_digit() {
            end += 1;
        }
        let len = end - start;
        if !(1..=9).contains(&len) {
            return None;
        }
        let nanos = digits(s, start, len)? * 10i64.pow(9 - len as u32);
        micros += nanos / 1000;
        i = end;
    }
    if i == n {
        return Some(micros);
    }
    // A zone: only after the seconds of a `T` timestamp (the zoned layouts).
    if !t_sep {
        return None;
    }
    match &s[i..] {
        b"Z" => Some(micros),
        [sign @ (b'+' | b'-'), rest @ ..] => {
            let (oh, om) = match rest.len() {
                5 if rest[2] == b':' => (digits(rest, 0, 2)?, digits(rest, 3, 2)?),
                4 => (digits(rest, 0, 2)?, digits(rest, 2, 2)?),
                _ => return None,
            };
            if oh > 23 || om > 59 {
                return None;
            }
            let offset = (oh * 3600 + om * 60) * 1_000_000;
            Some(if *sign == b'+' { micros - offset } else { micros + offset })
        }
        _ => None,
    }
}

/// The number written by `len` ASCII digits of `s` from `at`; `None` if any is not a digit.
fn digits(s: &[u8], at: usize, len: usize) -> Option<i64> {
    s.get(at..at + len)?.iter().try_fold(0i64, |acc, &b| b.is_ascii_digit().then(|| acc * 10 + i64::from(b - b'0')))
}

/// Microseconds at midnight of the proleptic Gregorian date `y-m-d`, `None` if it does not exist.
fn day_micros(y: i64, m: i64, d: i64) -> Option<i64> {
    let leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
    let month_days = [31, if leap { 29 } else { 28 }, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31];
    if !(1..=12).contains(&m) || d < 1 || d > month_days[(m - 1) as usize] {
        return None;
    }
    Some(days_from_civil(y, m, d) * 86_400_000_000)
}

/// Days from 1970-01-01 to `y-m-d` (Howard Hinnant's `days_from_civil`).
fn days_from_civil(y: i64, m: i64, d: i64) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = (m + 9) % 12;
    let doy = (153 * mp + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}
