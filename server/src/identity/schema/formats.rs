//! The `format` checks Kratos applies to traits, with Kratos's semantics: `email` is an RFC 5322
//! addr-spec whose domain is a host name, `tel` a phone number that libphonenumber's metadata
//! considers valid (international form, as Kratos parses without a default region).

/// Kratos's `email` format: at most 254 bytes, a local part of at most 64 bytes that is a dot-atom
/// or a quoted string, and a domain that is a valid host name.
pub fn is_email(value: &str) -> bool {
    if value.len() > 254 {
        return false;
    }
    let Some(at) = value.rfind('@') else {
        return false;
    };
    let (local, domain) = (&value[..at], &value[at + 1..]);
    local.len() <= 64 && is_hostname(domain) && is_local_part(local)
}

/// RFC 1034/1123 host names: labels of 1 to 63 letters, digits and hyphens, not starting or
/// ending with a hyphen, at most 253 characters (a trailing dot is allowed).
pub fn is_hostname(value: &str) -> bool {
    let value = value.strip_suffix('.').unwrap_or(value);
    if value.is_empty() || value.len() > 253 {
        return false;
    }
    value.split('.').all(|label| {
        (1..=63).contains(&label.len())
            && !label.starts_with('-')
            && !label.ends_with('-')
            && label
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'-')
    })
}

fn is_atext(c: char) -> bool {
    c.is_ascii_alphanumeric() || "!#$%&'*+-/=?^_`{|}~".contains(c) || !c.is_ascii()
}

fn is_local_part(local: &str) -> bool {
    if local.is_empty() {
        return false;
    }
    if let Some(inner) = local
        .strip_prefix('"')
        .and_then(|rest| rest.strip_suffix('"'))
    {
        // quoted-string: printable characters, with `"` and `\` only as quoted pairs.
        let mut chars = inner.chars();
        while let Some(c) = chars.next() {
            match c {
                '\\' => match chars.next() {
                    Some(escaped) if escaped == ' ' || escaped == '\t' || !escaped.is_control() => {
                    }
                    _ => return false,
                },
                '"' => return false,
                c if c == ' ' || c == '\t' || !c.is_control() => {}
                _ => return false,
            }
        }
        return true;
    }
    local
        .split('.')
        .all(|atom| !atom.is_empty() && atom.chars().all(is_atext))
}

/// Kratos's `tel` format: a phone number in international form that is valid for its region.
pub fn is_phone(value: &str) -> bool {
    parse_phone(value).is_some()
}

/// Parses a valid phone number and renders it in E.164 (`+4917612345678`).
pub fn parse_phone(value: &str) -> Option<String> {
    let number = phonenumber::parse(None, value).ok()?;
    if !phonenumber::is_valid(&number) {
        return None;
    }
    Some(number.format().mode(phonenumber::Mode::E164).to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn emails_like_kratos() {
        for ok in [
            "a@b.c",
            "foo.bar+tag@example.org",
            "\"john doe\"@example.com",
            "user@localhost",
            "üser@example.com",
            "x@sub-domain.example.co.uk",
        ] {
            assert!(is_email(ok), "{ok}");
        }
        for bad in [
            "",
            "plain",
            "@example.org",
            "a@",
            "a..b@example.org",
            ".a@example.org",
            "a b@example.org",
            "a@-example.org",
            "a@exa_mple.org",
            "Ann <ann@example.org>",
            &format!("{}@example.org", "a".repeat(65)),
            &format!("a@{}.org", "b".repeat(250)),
        ] {
            assert!(!is_email(bad), "{bad}");
        }
    }

    #[test]
    fn phones_are_validated_and_normalised() {
        assert_eq!(
            parse_phone("+49 176 671 11 638").as_deref(),
            Some("+4917667111638")
        );
        assert_eq!(
            parse_phone("+1 (415) 555-2671").as_deref(),
            Some("+14155552671")
        );
        assert!(is_phone("+4917667111638"));
        // Without a country code there is no region to validate against.
        assert!(!is_phone("0176 67111638"));
        assert!(!is_phone("+49 123"));
        assert!(!is_phone("not a number"));
    }
}
