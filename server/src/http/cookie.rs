//! `Set-Cookie` values with the attributes Kratos uses.

use std::fmt::Write;

pub use crate::config::SameSite;

#[derive(Debug, Clone)]
pub struct Cookie {
    pub name: String,
    pub value: String,
    pub path: String,
    pub domain: Option<String>,
    /// `None`: a session cookie; `Some(0)` or less: delete.
    pub max_age: Option<i64>,
    pub secure: bool,
    pub http_only: bool,
    pub same_site: Option<SameSite>,
}

impl Cookie {
    pub fn new(name: impl Into<String>, value: impl Into<String>) -> Self {
        Cookie {
            name: name.into(),
            value: value.into(),
            path: "/".into(),
            domain: None,
            max_age: None,
            secure: false,
            http_only: true,
            same_site: Some(SameSite::Lax),
        }
    }

    /// The same cookie, expired, which makes browsers delete it.
    pub fn removal(&self) -> Cookie {
        Cookie {
            value: String::new(),
            max_age: Some(-1),
            ..self.clone()
        }
    }

    pub fn to_header(&self) -> String {
        let mut out = format!("{}={}", self.name, self.value);
        let _ = write!(out, "; Path={}", self.path);
        if let Some(domain) = self.domain.as_deref().filter(|d| !d.is_empty()) {
            let _ = write!(out, "; Domain={domain}");
        }
        match self.max_age {
            Some(age) if age <= 0 => {
                out.push_str("; Max-Age=0; Expires=Thu, 01 Jan 1970 00:00:00 GMT")
            }
            Some(age) => {
                let expires = chrono::Utc::now() + chrono::Duration::seconds(age);
                let _ = write!(
                    out,
                    "; Max-Age={age}; Expires={}",
                    expires.format("%a, %d %b %Y %H:%M:%S GMT")
                );
            }
            None => {}
        }
        if self.http_only {
            out.push_str("; HttpOnly");
        }
        if self.secure {
            out.push_str("; Secure");
        }
        if let Some(same_site) = self.same_site {
            let _ = write!(out, "; SameSite={}", same_site.as_str());
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn renders_attributes() {
        let mut c = Cookie::new("ory_kratos_session", "abc");
        c.secure = true;
        c.max_age = Some(60);
        c.domain = Some("example.org".into());
        let h = c.to_header();
        assert!(h.starts_with(
            "ory_kratos_session=abc; Path=/; Domain=example.org; Max-Age=60; Expires="
        ));
        assert!(h.ends_with("; HttpOnly; Secure; SameSite=Lax"));
        assert!(c.removal().to_header().contains("Max-Age=0"));
    }
}
