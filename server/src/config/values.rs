//! Value types of the configuration that plain Rust types do not express: Go-style durations,
//! byte sizes, URI references, secrets that must not show up in `Debug` output, and subtrees we
//! accept without interpreting them.
//!
//! Each type carries its JSON Schema (via `schemars`), which the validator in `schema.rs` uses to
//! report *all* problems with key paths before serde ever sees the value.

use std::borrow::Cow;
use std::fmt;
use std::ops::Deref;
use std::time::Duration;

use schemars::{JsonSchema, Schema, SchemaGenerator, json_schema};
use serde::de::Error as _;
use serde::{Deserialize, Deserializer, Serialize, Serializer};
use url::Url;

/// Custom `format` names understood by our validator (see `schema.rs`).
pub(crate) const FORMAT_DURATION: &str = "go-duration";
pub(crate) const FORMAT_BYTE_SIZE: &str = "byte-size";
pub(crate) const FORMAT_BOOL_STRING: &str = "bool-string";

// ---------------------------------------------------------------------------------------------
// Durations
// ---------------------------------------------------------------------------------------------

/// Parses a duration in Go's `time.ParseDuration` syntax ("1h", "15m30s", "1.5h", "500ms",
/// "720h"), as Kratos does. Negative durations are refused: no Kratos setting means anything
/// with them.
pub fn parse_go_duration(input: &str) -> Result<Duration, String> {
    let invalid = || format!("invalid duration {input:?}");
    if input.starts_with('-') {
        return Err(format!("invalid duration {input:?}: must not be negative"));
    }
    let mut rest = input.strip_prefix('+').unwrap_or(input);
    if rest == "0" {
        return Ok(Duration::ZERO);
    }
    if rest.is_empty() {
        return Err(invalid());
    }
    let mut total: u128 = 0;
    while !rest.is_empty() {
        let int_len = rest.bytes().take_while(u8::is_ascii_digit).count();
        let int_part = &rest[..int_len];
        rest = &rest[int_len..];
        let mut frac_part = "";
        if let Some(after_dot) = rest.strip_prefix('.') {
            let frac_len = after_dot.bytes().take_while(u8::is_ascii_digit).count();
            frac_part = &after_dot[..frac_len];
            rest = &after_dot[frac_len..];
        }
        if int_part.is_empty() && frac_part.is_empty() {
            return Err(invalid());
        }
        let unit_len = rest
            .char_indices()
            .find(|(_, c)| *c == '.' || c.is_ascii_digit())
            .map_or(rest.len(), |(i, _)| i);
        let unit_nanos: u128 = match &rest[..unit_len] {
            "ns" => 1,
            "us" | "\u{b5}s" | "\u{3bc}s" => 1_000,
            "ms" => 1_000_000,
            "s" => 1_000_000_000,
            "m" => 60 * 1_000_000_000,
            "h" => 3_600 * 1_000_000_000,
            "" => return Err(format!("invalid duration {input:?}: missing unit")),
            unit => return Err(format!("invalid duration {input:?}: unknown unit {unit:?}")),
        };
        rest = &rest[unit_len..];
        let int_value: u128 = if int_part.is_empty() {
            0
        } else {
            int_part.parse().map_err(|_| invalid())?
        };
        let mut value = int_value.checked_mul(unit_nanos).ok_or_else(invalid)?;
        if !frac_part.is_empty() {
            // Like Go, digits beyond nanosecond precision are dropped.
            let digits = &frac_part[..frac_part.len().min(30)];
            let numerator: u128 = digits.parse().map_err(|_| invalid())?;
            let denominator = 10u128.pow(digits.len() as u32);
            value = value
                .checked_add(numerator * unit_nanos / denominator)
                .ok_or_else(invalid)?;
        }
        total = total.checked_add(value).ok_or_else(invalid)?;
    }
    // Go durations are int64 nanoseconds; larger values are an error there too.
    if total > i64::MAX as u128 {
        return Err(format!("invalid duration {input:?}: too large"));
    }
    Ok(Duration::from_nanos(total as u64))
}

/// Formats a duration the way Go's `time.Duration.String` does ("1h0m0s", "1m30s", "1.5s",
/// "500ms", "0s"), so values round-trip through [`parse_go_duration`].
pub fn format_go_duration(duration: Duration) -> String {
    let nanos = duration.as_nanos();
    if nanos == 0 {
        return "0s".to_string();
    }
    if nanos < 1_000_000_000 {
        let (unit, precision) = match nanos {
            n if n < 1_000 => return format!("{n}ns"),
            n if n < 1_000_000 => ("\u{b5}s", 3),
            _ => ("ms", 6),
        };
        return format!("{}{unit}", fraction(nanos, precision));
    }
    let mut out = String::new();
    let hours = nanos / 3_600_000_000_000;
    let minutes = (nanos / 60_000_000_000) % 60;
    let seconds = nanos % 60_000_000_000;
    if hours > 0 {
        out.push_str(&format!("{hours}h"));
    }
    if hours > 0 || minutes > 0 {
        out.push_str(&format!("{minutes}m"));
    }
    out.push_str(&fraction(seconds, 9));
    out.push('s');
    out
}

/// `value / 10^precision` with the fraction's trailing zeros removed.
fn fraction(value: u128, precision: u32) -> String {
    let scale = 10u128.pow(precision);
    let (int, frac) = (value / scale, value % scale);
    if frac == 0 {
        return int.to_string();
    }
    let digits = format!("{frac:0width$}", width = precision as usize);
    format!("{int}.{}", digits.trim_end_matches('0'))
}

/// Serde and schema adapter for `std::time::Duration` fields written in Go syntax:
/// `#[serde(with = "GoDuration")]`.
pub struct GoDuration;

impl GoDuration {
    pub fn serialize<S: Serializer>(value: &Duration, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(&format_go_duration(*value))
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Duration, D::Error> {
        let raw = String::deserialize(deserializer)?;
        parse_go_duration(&raw).map_err(D::Error::custom)
    }
}

impl JsonSchema for GoDuration {
    fn inline_schema() -> bool {
        true
    }
    fn schema_name() -> Cow<'static, str> {
        "GoDuration".into()
    }
    fn json_schema(_: &mut SchemaGenerator) -> Schema {
        json_schema!({ "type": "string", "format": FORMAT_DURATION })
    }
}

/// Like [`GoDuration`], for `Option<Duration>` fields.
pub struct OptionalGoDuration;

impl OptionalGoDuration {
    pub fn serialize<S: Serializer>(
        value: &Option<Duration>,
        serializer: S,
    ) -> Result<S::Ok, S::Error> {
        match value {
            Some(duration) => serializer.serialize_some(&format_go_duration(*duration)),
            None => serializer.serialize_none(),
        }
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(
        deserializer: D,
    ) -> Result<Option<Duration>, D::Error> {
        Option::<String>::deserialize(deserializer)?
            .map(|raw| parse_go_duration(&raw).map_err(D::Error::custom))
            .transpose()
    }
}

impl JsonSchema for OptionalGoDuration {
    fn inline_schema() -> bool {
        true
    }
    fn schema_name() -> Cow<'static, str> {
        "OptionalGoDuration".into()
    }
    fn json_schema(_: &mut SchemaGenerator) -> Schema {
        json_schema!({ "type": ["string", "null"], "format": FORMAT_DURATION })
    }
}

// ---------------------------------------------------------------------------------------------
// Byte sizes
// ---------------------------------------------------------------------------------------------

/// A size in bytes, written like Kratos does: "128MB", "1GB", "512KB", "1024B". Units are
/// binary (1KB = 1024B), as in the Go library Kratos uses.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct ByteSize(pub u64);

const BYTE_UNITS: [(&str, u32); 7] = [
    ("EB", 60),
    ("PB", 50),
    ("TB", 40),
    ("GB", 30),
    ("MB", 20),
    ("KB", 10),
    ("B", 0),
];

impl ByteSize {
    pub const fn kib(n: u64) -> Self {
        ByteSize(n << 10)
    }
    pub const fn mib(n: u64) -> Self {
        ByteSize(n << 20)
    }
    pub const fn gib(n: u64) -> Self {
        ByteSize(n << 30)
    }
    pub const fn bytes(self) -> u64 {
        self.0
    }
    /// Whole kibibytes, the unit argon2 takes its memory cost in.
    pub const fn as_kib(self) -> u64 {
        self.0 >> 10
    }

    pub fn parse(input: &str) -> Result<Self, String> {
        let invalid = || format!("invalid byte size {input:?}");
        let trimmed = input.trim();
        let number_len = trimmed
            .char_indices()
            .find(|(_, c)| !(c.is_ascii_digit() || *c == '.'))
            .map_or(trimmed.len(), |(i, _)| i);
        let (number, unit) = trimmed.split_at(number_len);
        if number.is_empty() {
            return Err(invalid());
        }
        let unit = unit.trim().to_ascii_uppercase();
        let shift = match unit.as_str() {
            "" => 0,
            unit => {
                BYTE_UNITS
                    .iter()
                    .find(|(name, _)| *name == unit)
                    .ok_or_else(|| format!("invalid byte size {input:?}: unknown unit {unit:?}"))?
                    .1
            }
        };
        let multiplier = 1u128 << shift;
        let bytes: u128 = match number.split_once('.') {
            None => number.parse::<u128>().map_err(|_| invalid())? * multiplier,
            Some((int, frac)) => {
                let int: u128 = if int.is_empty() {
                    0
                } else {
                    int.parse().map_err(|_| invalid())?
                };
                let frac = &frac[..frac.len().min(20)];
                let frac_value: u128 = if frac.is_empty() {
                    0
                } else {
                    frac.parse().map_err(|_| invalid())?
                };
                int * multiplier + frac_value * multiplier / 10u128.pow(frac.len() as u32)
            }
        };
        u64::try_from(bytes)
            .map(ByteSize)
            .map_err(|_| format!("invalid byte size {input:?}: too large"))
    }
}

impl fmt::Display for ByteSize {
    /// The largest unit that divides the size exactly, so the output parses back to the same value.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (name, shift) in BYTE_UNITS {
            let unit = 1u64 << shift;
            if self.0.is_multiple_of(unit) && (self.0 != 0 || shift == 0) {
                return write!(f, "{}{name}", self.0 / unit);
            }
        }
        write!(f, "{}B", self.0)
    }
}

impl fmt::Debug for ByteSize {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(self, f)
    }
}

impl std::str::FromStr for ByteSize {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        ByteSize::parse(s)
    }
}

impl Serialize for ByteSize {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for ByteSize {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let raw = String::deserialize(deserializer)?;
        ByteSize::parse(&raw).map_err(D::Error::custom)
    }
}

impl JsonSchema for ByteSize {
    fn inline_schema() -> bool {
        true
    }
    fn schema_name() -> Cow<'static, str> {
        "ByteSize".into()
    }
    fn json_schema(_: &mut SchemaGenerator) -> Schema {
        json_schema!({ "type": "string", "format": FORMAT_BYTE_SIZE })
    }
}

// ---------------------------------------------------------------------------------------------
// URI references
// ---------------------------------------------------------------------------------------------

/// An absolute URL or a relative reference ("/login", "https://app.example/login"), for the
/// keys Kratos types as `uri-reference` (UI URLs, return URLs). Browser redirects use it as is.
#[derive(Clone, PartialEq, Eq, Hash, Serialize)]
#[serde(transparent)]
pub struct UriRef(String);

impl UriRef {
    pub fn parse(input: &str) -> Result<Self, String> {
        if is_uri_reference(input) {
            Ok(UriRef(input.to_string()))
        } else {
            Err(format!("invalid URI reference {input:?}"))
        }
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The URL if the reference is absolute.
    pub fn to_absolute(&self) -> Option<Url> {
        Url::parse(&self.0).ok()
    }

    /// Resolves the reference against `base` (an absolute reference ignores the base).
    pub fn resolve(&self, base: &Url) -> Result<Url, url::ParseError> {
        base.join(&self.0)
    }
}

pub(crate) fn is_uri_reference(input: &str) -> bool {
    if input.is_empty() || input.chars().any(|c| c.is_whitespace() || c.is_control()) {
        return false;
    }
    match Url::parse(input) {
        Ok(_) => true,
        Err(url::ParseError::RelativeUrlWithoutBase) => {
            // A relative reference must resolve against some base to be well-formed.
            Url::parse("http://base.invalid/")
                .and_then(|base| base.join(input))
                .is_ok()
        }
        Err(_) => false,
    }
}

impl fmt::Display for UriRef {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl fmt::Debug for UriRef {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(&self.0, f)
    }
}

impl<'de> Deserialize<'de> for UriRef {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let raw = String::deserialize(deserializer)?;
        UriRef::parse(&raw).map_err(D::Error::custom)
    }
}

impl JsonSchema for UriRef {
    fn inline_schema() -> bool {
        true
    }
    fn schema_name() -> Cow<'static, str> {
        "UriRef".into()
    }
    fn json_schema(_: &mut SchemaGenerator) -> Schema {
        json_schema!({ "type": "string", "format": "uri-reference" })
    }
}

impl std::str::FromStr for UriRef {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        UriRef::parse(s)
    }
}

impl UriRef {
    /// For defaults written in code, which are known to be well-formed.
    pub(crate) fn known_valid(value: String) -> Self {
        debug_assert!(is_uri_reference(&value), "{value}");
        UriRef(value)
    }
}

// ---------------------------------------------------------------------------------------------
// Sensitive values
// ---------------------------------------------------------------------------------------------

/// A value that must never appear in logs: `Debug` prints `"[redacted]"`. Serialises as the
/// plain value (the configuration digest covers it, as in Kratos).
#[derive(Clone, PartialEq, Eq, Default, Serialize, Deserialize, JsonSchema)]
#[serde(transparent)]
#[schemars(inline)]
pub struct Sensitive<T>(pub T);

impl<T> Sensitive<T> {
    pub fn expose(&self) -> &T {
        &self.0
    }
}

impl<T> Deref for Sensitive<T> {
    type Target = T;
    fn deref(&self) -> &T {
        &self.0
    }
}

impl<T> fmt::Debug for Sensitive<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("[redacted]")
    }
}

impl<T> From<T> for Sensitive<T> {
    fn from(value: T) -> Self {
        Sensitive(value)
    }
}

/// Shows a connection string with its password masked (`postgres://user:***@host/db`), for the
/// DSN in `Debug` output and log lines.
pub fn redact_dsn(dsn: &str) -> String {
    let Some(scheme_end) = dsn.find("://") else {
        return dsn.to_string();
    };
    let authority_start = scheme_end + 3;
    let rest = &dsn[authority_start..];
    // The user info ends at the last '@' before the path (MySQL DSNs put "tcp(host)" after it).
    let authority_end = rest.find(['/', '?']).unwrap_or(rest.len());
    let Some(at) = rest[..authority_end].rfind('@') else {
        return dsn.to_string();
    };
    let user_info = &rest[..at];
    let masked = match user_info.split_once(':') {
        Some((user, _password)) => format!("{user}:***"),
        None => user_info.to_string(),
    };
    format!("{}{masked}{}", &dsn[..authority_start], &rest[at..])
}

// ---------------------------------------------------------------------------------------------
// Subtrees we accept without interpreting
// ---------------------------------------------------------------------------------------------

/// A subtree of Kratos's configuration that kratos-rs accepts but does not interpret (yet), kept
/// as JSON. `Debug` shows only its top-level keys, since such subtrees (tracing, OAuth2 provider
/// headers) may carry credentials.
#[derive(Clone, PartialEq, Default, Serialize, Deserialize, JsonSchema)]
#[serde(transparent)]
#[schemars(inline)]
pub struct Untyped(pub serde_json::Value);

impl fmt::Debug for Untyped {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.0 {
            serde_json::Value::Object(map) => f.debug_set().entries(map.keys()).finish(),
            serde_json::Value::Array(items) => write!(f, "[{} item(s)]", items.len()),
            _ => f.write_str("[value]"),
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Booleans written as strings
// ---------------------------------------------------------------------------------------------

/// Go's `strconv.ParseBool`, which Kratos applies to keys its schema types as strings but reads
/// as booleans (`cookies.secure`, `session.cookie.secure`).
pub(crate) fn parse_go_bool(input: &str) -> Option<bool> {
    match input {
        "1" | "t" | "T" | "TRUE" | "true" | "True" => Some(true),
        "0" | "f" | "F" | "FALSE" | "false" | "False" => Some(false),
        _ => None,
    }
}

/// Serde and schema adapter for optional booleans Kratos's schema types as strings
/// (`secure: "true"`). Real YAML booleans are accepted too.
pub struct OptionalBoolString;

impl OptionalBoolString {
    pub fn serialize<S: Serializer>(
        value: &Option<bool>,
        serializer: S,
    ) -> Result<S::Ok, S::Error> {
        value.serialize(serializer)
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(
        deserializer: D,
    ) -> Result<Option<bool>, D::Error> {
        #[derive(Deserialize)]
        #[serde(untagged)]
        enum Raw {
            Bool(bool),
            Text(String),
        }
        match Option::<Raw>::deserialize(deserializer)? {
            None => Ok(None),
            Some(Raw::Bool(value)) => Ok(Some(value)),
            Some(Raw::Text(text)) => parse_go_bool(&text)
                .map(Some)
                .ok_or_else(|| D::Error::custom(format!("invalid boolean {text:?}"))),
        }
    }
}

impl JsonSchema for OptionalBoolString {
    fn inline_schema() -> bool {
        true
    }
    fn schema_name() -> Cow<'static, str> {
        "OptionalBoolString".into()
    }
    fn json_schema(_: &mut SchemaGenerator) -> Schema {
        json_schema!({ "type": ["string", "boolean", "null"], "format": FORMAT_BOOL_STRING })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn go_durations_parse() {
        let cases = [
            ("1h", Duration::from_secs(3600)),
            ("15m30s", Duration::from_secs(930)),
            ("1.5h", Duration::from_secs(5400)),
            ("500ms", Duration::from_millis(500)),
            ("720h", Duration::from_secs(720 * 3600)),
            ("1h2m3s4ms5us6ns", Duration::new(3723, 4_005_006)),
            ("2\u{b5}s", Duration::from_micros(2)),
            ("0", Duration::ZERO),
            ("0s", Duration::ZERO),
            (".5s", Duration::from_millis(500)),
            ("+3s", Duration::from_secs(3)),
        ];
        for (input, expected) in cases {
            assert_eq!(parse_go_duration(input), Ok(expected), "{input}");
        }
    }

    #[test]
    fn go_durations_reject_garbage() {
        for input in [
            "",
            "abc",
            "1",
            "10",
            "1d",
            "h",
            "1.h5",
            "-1s",
            "1s2",
            "1 s",
            "9999999999h",
        ] {
            assert!(
                parse_go_duration(input).is_err(),
                "{input} should be invalid"
            );
        }
        assert_eq!(
            parse_go_duration("abc").unwrap_err(),
            r#"invalid duration "abc""#
        );
    }

    #[test]
    fn go_durations_format_like_go() {
        let cases = [
            (Duration::ZERO, "0s"),
            (Duration::from_secs(3600), "1h0m0s"),
            (Duration::from_secs(930), "15m30s"),
            (Duration::from_secs(5400), "1h30m0s"),
            (Duration::from_millis(500), "500ms"),
            (Duration::from_millis(1500), "1.5s"),
            (Duration::from_micros(1500), "1.5ms"),
            (Duration::from_nanos(1500), "1.5\u{b5}s"),
            (Duration::from_nanos(12), "12ns"),
            (Duration::from_secs(720 * 3600), "720h0m0s"),
        ];
        for (duration, expected) in cases {
            assert_eq!(format_go_duration(duration), expected);
        }
    }

    #[test]
    fn go_durations_round_trip() {
        for input in [
            "1h",
            "15m30s",
            "1.5h",
            "500ms",
            "720h",
            "1h0m0.000000001s",
            "3.25us",
            "0s",
        ] {
            let parsed = parse_go_duration(input).unwrap();
            let formatted = format_go_duration(parsed);
            assert_eq!(
                parse_go_duration(&formatted).unwrap(),
                parsed,
                "{input} -> {formatted}"
            );
        }
    }

    #[test]
    fn byte_sizes_parse_and_round_trip() {
        assert_eq!(ByteSize::parse("128MB"), Ok(ByteSize::mib(128)));
        assert_eq!(ByteSize::parse("1GB"), Ok(ByteSize::gib(1)));
        assert_eq!(ByteSize::parse("1.5KB"), Ok(ByteSize(1536)));
        assert_eq!(ByteSize::parse("1024"), Ok(ByteSize(1024)));
        assert_eq!(ByteSize::parse("64 kb"), Ok(ByteSize::kib(64)));
        for input in ["", "MB", "12XB", "1..5MB", "-1MB", "100000EB"] {
            assert!(ByteSize::parse(input).is_err(), "{input} should be invalid");
        }
        for size in [
            ByteSize(0),
            ByteSize(1),
            ByteSize(1536),
            ByteSize::mib(128),
            ByteSize::gib(3),
        ] {
            assert_eq!(ByteSize::parse(&size.to_string()), Ok(size));
        }
        assert_eq!(ByteSize::mib(128).to_string(), "128MB");
        assert_eq!(ByteSize::gib(1).to_string(), "1GB");
        assert_eq!(ByteSize(1536).to_string(), "1536B");
    }

    #[test]
    fn uri_references() {
        for ok in [
            "/login",
            "https://app.example/login?x=1",
            "login",
            "http://127.0.0.1:4455/",
        ] {
            assert!(UriRef::parse(ok).is_ok(), "{ok}");
        }
        for bad in ["http://exa mple.com", "https://[::1", ""] {
            assert!(UriRef::parse(bad).is_err(), "{bad}");
        }
        let base = Url::parse("https://auth.example/").unwrap();
        assert_eq!(
            UriRef::parse("/ui/login")
                .unwrap()
                .resolve(&base)
                .unwrap()
                .as_str(),
            "https://auth.example/ui/login"
        );
    }

    #[test]
    fn dsn_passwords_are_masked() {
        assert_eq!(
            redact_dsn("postgres://kratos:s3cret@db:5432/kratos?sslmode=disable"),
            "postgres://kratos:***@db:5432/kratos?sslmode=disable"
        );
        assert_eq!(
            redact_dsn("mysql://root:pw@tcp(mysqld:3306)/kratos"),
            "mysql://root:***@tcp(mysqld:3306)/kratos"
        );
        assert_eq!(redact_dsn("memory"), "memory");
        assert_eq!(
            redact_dsn("sqlite:///var/lib/kratos.db?_fk=true"),
            "sqlite:///var/lib/kratos.db?_fk=true"
        );
        assert_eq!(
            redact_dsn("postgres://user@db/kratos"),
            "postgres://user@db/kratos"
        );
    }

    #[test]
    fn sensitive_and_untyped_values_hide_content_in_debug() {
        let secret = Sensitive("hunter2".to_string());
        assert_eq!(format!("{secret:?}"), "[redacted]");
        let untyped = Untyped(serde_json::json!({"headers": {"Authorization": "Bearer x"}}));
        let shown = format!("{untyped:?}");
        assert!(
            shown.contains("headers") && !shown.contains("Bearer"),
            "{shown}"
        );
    }

    #[test]
    fn go_bools() {
        assert_eq!(parse_go_bool("True"), Some(true));
        assert_eq!(parse_go_bool("0"), Some(false));
        assert_eq!(parse_go_bool("yes"), None);
    }
}
