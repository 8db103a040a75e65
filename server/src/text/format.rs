//! Go's formatting rules, where message texts and contexts depend on them: `%q`, `%v` of a
//! float64, `%.2f` of `Duration.Minutes()`, `time.Time.String()`, the RFC 3339 form
//! `encoding/json` writes for a `time.Time`, how it writes a float64, and the title-casing of
//! `golang.org/x/text/cases`.

use std::fmt::Write as _;

use chrono::{DateTime, TimeDelta, Utc};
use serde_json::Value;

/// `fmt.Sprintf("%q", s)`: a double-quoted Go string literal. Printable characters stay as they
/// are; everything else is escaped the way `strconv.Quote` does.
pub(crate) fn go_quote(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    out.push('"');
    for c in s.chars() {
        match c {
            '"' | '\\' => {
                out.push('\\');
                out.push(c);
            }
            c if is_go_printable(c) => out.push(c),
            '\u{7}' => out.push_str("\\a"),
            '\u{8}' => out.push_str("\\b"),
            '\u{c}' => out.push_str("\\f"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            '\u{b}' => out.push_str("\\v"),
            c if (c as u32) < 0x20 || c == '\u{7f}' => {
                let _ = write!(out, "\\x{:02x}", c as u32);
            }
            c if (c as u32) < 0x10000 => {
                let _ = write!(out, "\\u{:04x}", c as u32);
            }
            c => {
                let _ = write!(out, "\\U{:08x}", c as u32);
            }
        }
    }
    out.push('"');
    out
}

/// Go's `strconv.IsPrint`: letters, marks, numbers, punctuation, symbols and the ASCII space.
fn is_go_printable(c: char) -> bool {
    if c.is_ascii() {
        return (' '..='~').contains(&c);
    }
    // The standard library's Debug escaping leaves exactly the same categories unescaped (it
    // escapes C* and Z* apart from U+0020). It also escapes a combining mark that starts a string,
    // which Go prints, so probe the character behind a plain letter.
    let probe: String = ['a', c].into_iter().collect();
    probe.escape_debug().eq(probe.chars())
}

/// `fmt.Sprintf("%v", f)` for a float64: the shortest representation that reads back as the same
/// number, in exponent form when the exponent is below -4 or at least 6 (`5`, `5.5`, `1e+06`).
pub(crate) fn go_float(f: f64) -> String {
    if f.is_nan() {
        return "NaN".to_owned();
    }
    if f.is_infinite() {
        return if f > 0.0 { "+Inf" } else { "-Inf" }.to_owned();
    }
    // `{:e}` yields the same shortest round-trip digits Go picks, e.g. "-1.2345e6".
    let scientific = format!("{f:e}");
    let (mantissa, exponent) = scientific
        .split_once('e')
        .unwrap_or((scientific.as_str(), "0"));
    let exponent: i32 = exponent.parse().unwrap_or(0);
    let (sign, mantissa) = match mantissa.strip_prefix('-') {
        Some(rest) => ("-", rest),
        None => ("", mantissa),
    };
    let digits: String = mantissa.chars().filter(char::is_ascii_digit).collect();

    let mut out = String::from(sign);
    if !(-4..6).contains(&exponent) {
        out.push_str(&digits[..1]);
        if digits.len() > 1 {
            out.push('.');
            out.push_str(&digits[1..]);
        }
        let exponent_sign = if exponent < 0 { '-' } else { '+' };
        let _ = write!(out, "e{exponent_sign}{:02}", exponent.unsigned_abs());
        return out;
    }
    // Position of the decimal point relative to the first digit.
    let point = exponent + 1;
    if point <= 0 {
        out.push_str("0.");
        out.extend(std::iter::repeat_n('0', point.unsigned_abs() as usize));
        out.push_str(&digits);
    } else {
        let point = point as usize;
        if point >= digits.len() {
            out.push_str(&digits);
            out.extend(std::iter::repeat_n('0', point - digits.len()));
        } else {
            out.push_str(&digits[..point]);
            out.push('.');
            out.push_str(&digits[point..]);
        }
    }
    out
}

/// A float64 as `encoding/json` writes it: integral values without a fraction (`5`, not `5.0`).
pub(crate) fn go_json_float(f: f64) -> Value {
    // Integral values in i64 range are exactly representable as i64 and print identically to Go.
    const I64_RANGE: f64 = 9_223_372_036_854_775_808.0;
    if f.fract() == 0.0 && f.abs() < I64_RANGE && !(f == 0.0 && f.is_sign_negative()) {
        Value::from(f as i64)
    } else {
        Value::from(f)
    }
}

/// `Duration.Minutes()`: whole minutes plus the remainder as a fraction, like Go computes it.
pub(crate) fn go_minutes(d: TimeDelta) -> f64 {
    const NANOS_PER_MINUTE: i128 = 60_000_000_000;
    let nanos = i128::from(d.num_seconds()) * 1_000_000_000 + i128::from(d.subsec_nanos());
    let whole = nanos / NANOS_PER_MINUTE;
    let rest = nanos % NANOS_PER_MINUTE;
    whole as f64 + rest as f64 / NANOS_PER_MINUTE as f64
}

/// `fmt.Sprintf("%.2f minutes", d.Minutes())`'s number part.
pub(crate) fn go_minutes_2f(d: TimeDelta) -> String {
    // Rust and Go both round the exact binary value half-to-even here.
    format!("{:.2}", go_minutes(d))
}

/// `time.Time.String()` of a UTC time: "2020-01-01 00:59:59 +0000 UTC", with the fraction of a
/// second only when there is one, trailing zeros removed.
pub(crate) fn go_time_string(t: &DateTime<Utc>) -> String {
    format!("{}{} +0000 UTC", t.format("%Y-%m-%d %H:%M:%S"), fraction(t))
}

/// A `time.Time` in UTC as `encoding/json` writes it (RFC 3339, trimmed nanoseconds, "Z").
pub(crate) fn go_json_time(t: &DateTime<Utc>) -> Value {
    Value::String(format!("{}{}Z", t.format("%Y-%m-%dT%H:%M:%S"), fraction(t)))
}

/// `.999999999` in Go's layouts: the nanoseconds without trailing zeros, nothing when zero.
fn fraction(t: &DateTime<Utc>) -> String {
    // Go has no leap seconds; chrono encodes one as nanoseconds past 1e9.
    let nanos = t.timestamp_subsec_nanos() % 1_000_000_000;
    if nanos == 0 {
        return String::new();
    }
    let digits = format!("{nanos:09}");
    format!(".{}", digits.trim_end_matches('0'))
}

/// `cases.Title(language.English).String(s)`: the first cased letter of each word upper-cased,
/// the word's other letters lower-cased ("github" → "Github", "GitHub" → "Github").
///
/// Word boundaries follow x/text's simplified Unicode word breaking: letters, digits and `_`
/// continue a word; `.`, `'` and `:` continue it unless two of them meet; anything else ends it.
pub(crate) fn go_title(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    let mut in_word = false;
    let mut previous_was_mid = false;
    for c in s.chars() {
        let is_mid = matches!(c, '.' | '\'' | ':' | '\u{b7}' | '\u{2018}' | '\u{2019}');
        if previous_was_mid && is_mid {
            in_word = false;
        }
        if c.is_uppercase() || c.is_lowercase() {
            if in_word {
                out.extend(c.to_lowercase());
            } else {
                out.extend(c.to_uppercase());
                in_word = true;
            }
        } else {
            out.push(c);
            let continues_word = c.is_alphanumeric() || c == '_' || is_mid;
            if !continues_word {
                in_word = false;
            }
        }
        previous_was_mid = is_mid;
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;
    use serde_json::json;

    #[test]
    fn quotes_like_strconv_quote() {
        assert_eq!(go_quote("{pattern}"), r#""{pattern}""#);
        assert_eq!(go_quote(r#"^[a-z]+\d"$"#), r#""^[a-z]+\\d\"$""#);
        assert_eq!(
            go_quote("a\tb\nc\r\u{7}\u{8}\u{c}\u{b}"),
            r#""a\tb\nc\r\a\b\f\v""#
        );
        assert_eq!(go_quote("\u{0}\u{1b}\u{7f}"), r#""\x00\x1b\x7f""#);
        assert_eq!(go_quote("héllo wörld ✓ 日本"), "\"héllo wörld ✓ 日本\"");
        // No-break space and zero-width space are not printable for Go; emoji are.
        assert_eq!(go_quote("a\u{a0}b\u{200b}"), r#""a\u00a0b\u200b""#);
        assert_eq!(go_quote("😀"), "\"😀\"");
        // Private use above the BMP takes the long form.
        assert_eq!(go_quote("\u{f0000}"), r#""\U000f0000""#);
        // A combining mark is printable even at the start.
        assert_eq!(go_quote("\u{301}x"), "\"\u{301}x\"");
    }

    #[test]
    fn formats_floats_like_percent_v() {
        let cases = [
            (5.0, "5"),
            (5.5, "5.5"),
            (-3.25, "-3.25"),
            (0.0, "0"),
            (-0.0, "-0"),
            (0.1, "0.1"),
            (0.0001, "0.0001"),
            (0.00001, "1e-05"),
            (123456.0, "123456"),
            (100000.0, "100000"),
            (1000000.0, "1e+06"),
            (1234567.0, "1.234567e+06"),
            (1e21, "1e+21"),
            (1.5e-300, "1.5e-300"),
            (f64::INFINITY, "+Inf"),
            (f64::NEG_INFINITY, "-Inf"),
            (f64::NAN, "NaN"),
        ];
        for (value, expected) in cases {
            assert_eq!(go_float(value), expected, "%v of {value:e}");
        }
    }

    #[test]
    fn writes_json_floats_like_encoding_json() {
        assert_eq!(go_json_float(5.0), json!(5));
        assert_eq!(go_json_float(-7.0), json!(-7));
        assert_eq!(go_json_float(5.5), json!(5.5));
        assert_eq!(
            serde_json::to_string(&go_json_float(3.0)).ok(),
            Some("3".to_owned())
        );
    }

    #[test]
    fn computes_minutes_like_duration_minutes() {
        assert_eq!(go_minutes_2f(TimeDelta::minutes(1)), "1.00");
        assert_eq!(go_minutes_2f(TimeDelta::seconds(1)), "0.02");
        assert_eq!(go_minutes_2f(TimeDelta::seconds(90)), "1.50");
        assert_eq!(go_minutes_2f(TimeDelta::milliseconds(-30_000)), "-0.50");
        assert_eq!(go_minutes_2f(TimeDelta::zero()), "0.00");
        // 0.125 minutes is an exact tie and rounds to even, as in Go.
        assert_eq!(go_minutes_2f(TimeDelta::milliseconds(7_500)), "0.12");
        assert_eq!(go_minutes_2f(TimeDelta::hours(10)), "600.00");
    }

    #[test]
    fn formats_times_like_go() {
        let whole = Utc
            .with_ymd_and_hms(2020, 1, 1, 0, 59, 59)
            .single()
            .unwrap_or_default();
        assert_eq!(go_time_string(&whole), "2020-01-01 00:59:59 +0000 UTC");
        assert_eq!(go_json_time(&whole), json!("2020-01-01T00:59:59Z"));

        let fractional = whole + TimeDelta::milliseconds(500);
        assert_eq!(
            go_time_string(&fractional),
            "2020-01-01 00:59:59.5 +0000 UTC"
        );
        assert_eq!(go_json_time(&fractional), json!("2020-01-01T00:59:59.5Z"));

        let nanos = whole + TimeDelta::nanoseconds(120);
        assert_eq!(go_json_time(&nanos), json!("2020-01-01T00:59:59.00000012Z"));
    }

    #[test]
    fn title_cases_like_x_text_cases() {
        assert_eq!(go_title("google"), "Google");
        assert_eq!(go_title("GitHub"), "Github");
        assert_eq!(go_title("my-provider"), "My-Provider");
        assert_eq!(go_title("my_provider"), "My_provider");
        assert_eq!(go_title("auth0 corp"), "Auth0 Corp");
        assert_eq!(go_title("1abc"), "1Abc");
        assert_eq!(go_title("o'neil"), "O'neil");
        assert_eq!(go_title("a..b"), "A..B");
        assert_eq!(go_title("ÉCOLE"), "École");
        assert_eq!(go_title(""), "");
    }
}
