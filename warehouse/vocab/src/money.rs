//! Money and other exact decimals, parsed from text, never through a float.
//!
//! One grammar for every input (file cells, platform JSON, entry forms): an optional sign, an
//! optional `¥`/`￥`, digits with optional `,` thousands grouping, and at most `scale` decimals —
//! `12.3`, `-0.05`, `1,234.50`, `¥8`, `.5`. A further decimal place is an error, never a
//! rounding; `12.`, `1e3` and empty text are errors. Money is stored as `Decimal128(18, 2)`, so
//! at most 16 integer digits. Whole numbers ([`parse_whole`]) follow the same grouping rule:
//! `1,234` is 1234, `1,2,3` is an error, never 123.

/// Precision and scale of every money column.
pub const MONEY_PRECISION: u8 = 18;
pub const MONEY_SCALE: i8 = 2;

/// Why a text is not a decimal; the message reads after the value (`"12.345" has more than 2
/// decimal places`).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DecimalError {
    #[error("is not a decimal number")]
    Malformed,
    #[error("has more than {0} decimal places")]
    TooPrecise(i8),
    #[error("is too large")]
    TooLarge,
}

/// Parses `text` into its raw value at `scale` (fen for money at scale 2).
pub fn parse_decimal(text: &str, scale: i8) -> Result<i128, DecimalError> {
    let t = text.trim();
    let (negative, t) = match t.as_bytes().first() {
        Some(b'-') => (true, &t[1..]),
        Some(b'+') => (false, &t[1..]),
        _ => (false, t),
    };
    let t = t
        .strip_prefix('¥')
        .or_else(|| t.strip_prefix('￥'))
        .unwrap_or(t);
    let (int, frac) = match t.split_once('.') {
        Some((_, "")) => return Err(DecimalError::Malformed),
        Some((i, f)) => (i, f),
        None => (t, ""),
    };
    if int.contains(',') && !thousands_grouped(int) {
        return Err(DecimalError::Malformed);
    }
    let int: String = int.chars().filter(|c| *c != ',').collect();
    let digits = |p: &str| !p.is_empty() && p.bytes().all(|b| b.is_ascii_digit());
    let int_ok = digits(&int) || (int.is_empty() && digits(frac));
    if !int_ok || !(frac.is_empty() || digits(frac)) {
        return Err(DecimalError::Malformed);
    }
    let scale_places = usize::try_from(scale).unwrap_or(0);
    if frac.len() > scale_places {
        return Err(DecimalError::TooPrecise(scale));
    }
    let int = int.trim_start_matches('0');
    if int.len() + scale_places > usize::from(MONEY_PRECISION) {
        return Err(DecimalError::TooLarge);
    }
    let mut raw: i128 = if int.is_empty() {
        0
    } else {
        int.parse().map_err(|_| DecimalError::Malformed)?
    };
    for i in 0..scale_places {
        raw = raw * 10 + frac.as_bytes().get(i).map_or(0, |b| i128::from(b - b'0'));
    }
    Ok(if negative { -raw } else { raw })
}

/// Whether `,` groups `int` in thousands: `1,234,567` yes; `1,23`, `1,2,3`, `,123`, `1234,567`
/// no (a comma there is a decimal comma or a typo, never grouping).
fn thousands_grouped(int: &str) -> bool {
    let mut groups = int.split(',');
    let first = groups.next().unwrap_or("");
    (1..=3).contains(&first.len()) && groups.all(|g| g.len() == 3)
}

/// Parses a whole number (`42`, `-7`, `+3`, `1,234,567`) with the same thousands grouping as
/// amounts; decimals, currency signs and any other comma are errors.
pub fn parse_whole(text: &str) -> Result<i64, DecimalError> {
    let t = text.trim();
    let digits = match t.as_bytes().first() {
        Some(b'-' | b'+') => &t[1..],
        _ => t,
    };
    if digits.contains('.') {
        return Err(DecimalError::TooPrecise(0));
    }
    if digits.is_empty()
        || (digits.contains(',') && !thousands_grouped(digits))
        || !digits.bytes().all(|b| b.is_ascii_digit() || b == b',')
    {
        return Err(DecimalError::Malformed);
    }
    let plain: String = t.chars().filter(|c| *c != ',').collect();
    plain.parse::<i64>().map_err(|_| DecimalError::TooLarge)
}

/// Money text to fen.
pub fn parse_fen(text: &str) -> Result<i128, DecimalError> {
    parse_decimal(text, MONEY_SCALE)
}

/// Fen as decimal text with two places: `-5` → `"-0.05"`.
pub fn fen_text(fen: i128) -> String {
    let sign = if fen < 0 { "-" } else { "" };
    let a = fen.unsigned_abs();
    format!("{sign}{}.{:02}", a / 100, a % 100)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accepted_text_is_exact() {
        for (text, fen) in [
            ("12.3", 1230),
            ("-0.05", -5),
            ("+7", 700),
            ("¥8", 800),
            ("￥8.01", 801),
            ("-¥1.5", -150),
            ("1,234.50", 123_450),
            ("12,345,678", 1_234_567_800),
            (".5", 50),
            ("  42  ", 4200),
            ("0000.10", 10),
            ("9999999999999999.99", 999_999_999_999_999_999),
        ] {
            assert_eq!(parse_fen(text), Ok(fen), "{text:?}");
        }
    }

    #[test]
    fn refused_text_says_why() {
        for (text, err) in [
            ("1.234", DecimalError::TooPrecise(2)),
            ("12.", DecimalError::Malformed),
            ("1e3", DecimalError::Malformed),
            ("", DecimalError::Malformed),
            ("-", DecimalError::Malformed),
            ("1.2.3", DecimalError::Malformed),
            ("12,3.4,5", DecimalError::Malformed),
            ("1,23", DecimalError::Malformed),
            ("1,2,3", DecimalError::Malformed),
            (",123", DecimalError::Malformed),
            ("1234,567", DecimalError::Malformed),
            ("1,234.5,0", DecimalError::Malformed),
            ("abc", DecimalError::Malformed),
            ("NaN", DecimalError::Malformed),
            ("10000000000000000", DecimalError::TooLarge),
            ("--1", DecimalError::Malformed),
        ] {
            assert_eq!(parse_fen(text), Err(err), "{text:?}");
        }
    }

    #[test]
    fn fen_text_round_trips() {
        for fen in [0, 5, -5, 100, -12_345, 999_999_999_999_999_999] {
            assert_eq!(parse_fen(&fen_text(fen)), Ok(fen));
        }
        assert_eq!(fen_text(-5), "-0.05");
        assert_eq!(fen_text(i128::MIN + 1).chars().next(), Some('-'));
    }

    #[test]
    fn whole_numbers_group_like_amounts() {
        for (text, n) in [
            ("42", 42),
            (" -7 ", -7),
            ("+3", 3),
            ("1,234", 1234),
            ("-1,234,567", -1_234_567),
            ("9223372036854775807", i64::MAX),
            ("-9223372036854775808", i64::MIN),
        ] {
            assert_eq!(parse_whole(text), Ok(n), "{text:?}");
        }
        for (text, err) in [
            ("1,2,3", DecimalError::Malformed),
            ("1,23", DecimalError::Malformed),
            (",123", DecimalError::Malformed),
            ("12,", DecimalError::Malformed),
            ("", DecimalError::Malformed),
            ("-", DecimalError::Malformed),
            ("--1", DecimalError::Malformed),
            ("¥8", DecimalError::Malformed),
            ("1e3", DecimalError::Malformed),
            ("1.0", DecimalError::TooPrecise(0)),
            ("9223372036854775808", DecimalError::TooLarge),
        ] {
            assert_eq!(parse_whole(text), Err(err), "{text:?}");
        }
    }

    #[test]
    fn other_scales() {
        assert_eq!(parse_decimal("1.25", 3), Ok(1250));
        assert_eq!(parse_decimal("1", 0), Ok(1));
        assert_eq!(parse_decimal("1.5", 0), Err(DecimalError::TooPrecise(0)));
    }
}
