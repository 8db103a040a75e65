//! Delivery over HTTP: `courier.http.request_config` (emails when `delivery_strategy: http`) and
//! the `sms` entry of `courier.channels`.
//!
//! The request is `method url` with the configured headers and auth (`basic_auth`, or `api_key`
//! in a header or cookie), and a JSON body built from this context (Kratos's field names):
//!
//! ```json
//! { "recipient": "...", "subject": "...", "body": "plaintext or SMS text",
//!   "html_body": "...", "template_type": "recovery_code_valid", "message_type": "email",
//!   "template_data": { "to": "...", "recovery_code": "...", "identity": {...}, ... },
//!   "request_headers": {} }
//! ```
//!
//! Without `body`, that context is sent as it is. With `body` (a `file://`, `base64://` or
//! `http(s)://` location), the template is evaluated as Jsonnet, within this subset, which covers
//! the usual courier templates: `function(ctx) <expr>` (or a bare expression with `ctx` bound);
//! objects (`name: expr`, `"quoted": expr`, `[expr]: expr`, `::` fields), arrays, strings (`"..."`,
//! `'...'`), numbers, `true`/`false`/`null`, `ctx.a.b` and `ctx["a"]` look-ups, `+` (string
//! concatenation, addition, object and array merge), `==`/`!=`, `"key" in obj`, `&&`, `||`, `!`,
//! `if c then a else b`, `local x = e;`, parentheses and comments.
//! A non-2xx response is a failed attempt.

use std::time::Duration;

use serde_json::{Map, Value, json};

use super::template::Rendered;
use super::{Channel, TemplateType};
use crate::config::{ApiKeyLocation, HttpAuth, HttpRequestConfig};

/// What the body template receives as `ctx`.
pub fn context(
    channel: Channel,
    recipient: &str,
    template: TemplateType,
    rendered: &Rendered,
    model: &Value,
) -> Value {
    let mut ctx = json!({
        "recipient": recipient,
        "subject": rendered.subject,
        "body": rendered.plaintext,
        "template_type": template.as_str(),
        "template_data": snake_case_keys(model),
        "message_type": match channel { Channel::Email => "email", Channel::Sms => "sms" },
        "request_headers": {},
    });
    if let (Some(html), Value::Object(map)) = (&rendered.html, &mut ctx) {
        map.insert("html_body".into(), Value::String(html.clone()));
    }
    ctx
}

/// `RecoveryURL` → `recovery_url`: the template model under Kratos's JSON names.
fn snake_case_keys(model: &Value) -> Value {
    match model {
        Value::Object(map) => Value::Object(
            map.iter()
                .filter(|(k, _)| k.as_str() != "RequestURLDomain")
                .map(|(k, v)| (to_snake(k), v.clone()))
                .collect(),
        ),
        other => other.clone(),
    }
}

fn to_snake(name: &str) -> String {
    let chars: Vec<char> = name.chars().collect();
    let mut out = String::with_capacity(name.len() + 4);
    for (i, ch) in chars.iter().enumerate() {
        if ch.is_uppercase() && i > 0 {
            let prev = chars[i - 1];
            let next_lower = chars.get(i + 1).is_some_and(|c| c.is_lowercase());
            if prev.is_lowercase() || prev.is_ascii_digit() || (prev.is_uppercase() && next_lower) {
                out.push('_');
            }
        }
        out.extend(ch.to_lowercase());
    }
    out
}

/// Sends the request; the error text is recorded with the dispatch.
pub async fn send(rc: &HttpRequestConfig, ctx: &Value) -> Result<(), String> {
    let url = rc
        .url
        .as_ref()
        .ok_or("the courier HTTP request has no url configured")?;
    let body = match rc.body.as_deref().filter(|b| !b.trim().is_empty()) {
        None => ctx.clone(),
        Some(location) => {
            let source = super::template::fetch(location)
                .await
                .map_err(|e| format!("unable to load the HTTP body template: {e}"))?;
            jsonnet::evaluate(&source, ctx)
                .map_err(|e| format!("unable to evaluate the HTTP body template: {e}"))?
        }
    };
    let method = reqwest::Method::from_bytes(rc.method.to_uppercase().as_bytes())
        .map_err(|_| format!("invalid HTTP method {}", rc.method))?;
    let client = reqwest::Client::builder()
        .timeout(Duration::from_secs(10))
        .build()
        .map_err(|e| format!("http client: {e}"))?;
    let mut req = client.request(method, url.clone());
    for (name, value) in rc.headers.expose() {
        req = req.header(name.as_str(), value.as_str());
    }
    match &rc.auth {
        Some(HttpAuth::BasicAuth(basic)) => {
            req = req.basic_auth(&basic.user, Some(basic.password.expose()));
        }
        Some(HttpAuth::ApiKey(key)) => match key.r#in {
            ApiKeyLocation::Header => {
                req = req.header(key.name.as_str(), key.value.expose().as_str());
            }
            ApiKeyLocation::Cookie => {
                req = req.header("Cookie", format!("{}={}", key.name, key.value.expose()));
            }
        },
        None => {}
    }
    let has_content_type = rc
        .headers
        .expose()
        .keys()
        .any(|k| k.eq_ignore_ascii_case("content-type"));
    if !has_content_type {
        req = req.header("Content-Type", "application/json");
    }
    let payload = serde_json::to_vec(&body).map_err(|e| e.to_string())?;
    let res = req
        .body(payload)
        .send()
        .await
        .map_err(|e| format!("courier HTTP request failed: {e}"))?;
    let status = res.status();
    if status.is_success() {
        return Ok(());
    }
    Err(format!(
        "unable to dispatch the message because the upstream server replied with status code {}",
        status.as_u16()
    ))
}

/// A small Jsonnet evaluator for body templates (see the module docs for the subset).
pub mod jsonnet {
    use super::*;

    /// Evaluates `source` with `ctx` as the function argument (or the variable `ctx`).
    pub fn evaluate(source: &str, ctx: &Value) -> Result<Value, String> {
        let tokens = lex(source)?;
        let mut p = Parser {
            tokens,
            pos: 0,
            param: "ctx".to_string(),
        };
        if p.peek_ident("function") {
            p.pos += 1;
            p.expect(&Tok::Sym("("))?;
            p.param = p.ident()?;
            p.expect(&Tok::Sym(")"))?;
        }
        let expr = p.expr()?;
        if p.pos != p.tokens.len() {
            return Err(format!("unexpected {:?}", p.tokens[p.pos]));
        }
        let mut env = Env::new();
        env.insert(p.param.clone(), ctx.clone());
        eval(&expr, &env)
    }

    /// Variables in scope: the function parameter and `local` bindings.
    type Env = std::collections::HashMap<String, Value>;

    #[derive(Debug, Clone, PartialEq)]
    enum Tok {
        Ident(String),
        Str(String),
        Num(f64),
        Sym(&'static str),
    }

    const SYMBOLS: [&str; 18] = [
        ":::", "::", "==", "!=", "&&", "||", "{", "}", "[", "]", "(", ")", ",", ":", "+", "!", "=",
        ";",
    ];

    fn lex(src: &str) -> Result<Vec<Tok>, String> {
        let chars: Vec<char> = src.chars().collect();
        let mut i = 0;
        let mut out = Vec::new();
        while i < chars.len() {
            let c = chars[i];
            if c.is_whitespace() {
                i += 1;
            } else if c == '#' || (c == '/' && chars.get(i + 1) == Some(&'/')) {
                while i < chars.len() && chars[i] != '\n' {
                    i += 1;
                }
            } else if c == '/' && chars.get(i + 1) == Some(&'*') {
                i += 2;
                while i + 1 < chars.len() && !(chars[i] == '*' && chars[i + 1] == '/') {
                    i += 1;
                }
                i += 2;
            } else if c == '"' || c == '\'' {
                let mut s = String::new();
                i += 1;
                loop {
                    let ch = *chars.get(i).ok_or("unterminated string")?;
                    i += 1;
                    if ch == c {
                        break;
                    }
                    if ch == '\\' {
                        let esc = *chars.get(i).ok_or("unterminated string")?;
                        i += 1;
                        s.push(match esc {
                            'n' => '\n',
                            't' => '\t',
                            'r' => '\r',
                            other => other,
                        });
                    } else {
                        s.push(ch);
                    }
                }
                out.push(Tok::Str(s));
            } else if c.is_ascii_digit() {
                let start = i;
                while i < chars.len() && (chars[i].is_ascii_digit() || chars[i] == '.') {
                    i += 1;
                }
                let text: String = chars[start..i].iter().collect();
                out.push(Tok::Num(
                    text.parse().map_err(|_| format!("bad number {text}"))?,
                ));
            } else if c.is_alphabetic() || c == '_' {
                let start = i;
                while i < chars.len() && (chars[i].is_alphanumeric() || chars[i] == '_') {
                    i += 1;
                }
                out.push(Tok::Ident(chars[start..i].iter().collect()));
            } else if c == '.' {
                out.push(Tok::Sym("."));
                i += 1;
            } else {
                let rest: String = chars[i..chars.len().min(i + 3)].iter().collect();
                let sym = SYMBOLS
                    .iter()
                    .find(|s| rest.starts_with(**s))
                    .ok_or_else(|| format!("unsupported character {c:?}"))?;
                out.push(Tok::Sym(sym));
                i += sym.len();
            }
        }
        Ok(out)
    }

    #[derive(Debug)]
    enum Expr {
        Lit(Value),
        Var(String),
        Index(Box<Expr>, Box<Expr>),
        Object(Vec<(Expr, Expr)>),
        Array(Vec<Expr>),
        Add(Box<Expr>, Box<Expr>),
        Eq(Box<Expr>, Box<Expr>, bool),
        If(Box<Expr>, Box<Expr>, Option<Box<Expr>>),
        And(Box<Expr>, Box<Expr>),
        Or(Box<Expr>, Box<Expr>),
        Not(Box<Expr>),
        In(Box<Expr>, Box<Expr>),
        Local(String, Box<Expr>, Box<Expr>),
    }

    struct Parser {
        tokens: Vec<Tok>,
        pos: usize,
        param: String,
    }

    impl Parser {
        fn peek(&self) -> Option<&Tok> {
            self.tokens.get(self.pos)
        }
        fn peek_ident(&self, name: &str) -> bool {
            matches!(self.peek(), Some(Tok::Ident(n)) if n == name)
        }
        fn eat(&mut self, t: &Tok) -> bool {
            if self.peek() == Some(t) {
                self.pos += 1;
                true
            } else {
                false
            }
        }
        fn expect(&mut self, t: &Tok) -> Result<(), String> {
            if self.eat(t) {
                Ok(())
            } else {
                Err(format!("expected {t:?}, found {:?}", self.peek()))
            }
        }
        fn ident(&mut self) -> Result<String, String> {
            match self.tokens.get(self.pos).cloned() {
                Some(Tok::Ident(n)) => {
                    self.pos += 1;
                    Ok(n)
                }
                other => Err(format!("expected a name, found {other:?}")),
            }
        }

        fn expr(&mut self) -> Result<Expr, String> {
            if self.peek_ident("local") {
                self.pos += 1;
                let name = self.ident()?;
                self.expect(&Tok::Sym("="))?;
                let value = self.expr()?;
                self.expect(&Tok::Sym(";"))?;
                let body = self.expr()?;
                return Ok(Expr::Local(name, Box::new(value), Box::new(body)));
            }
            if self.peek_ident("if") {
                self.pos += 1;
                let cond = self.expr()?;
                if !self.peek_ident("then") {
                    return Err("expected then".into());
                }
                self.pos += 1;
                let then = self.expr()?;
                let otherwise = if self.peek_ident("else") {
                    self.pos += 1;
                    Some(Box::new(self.expr()?))
                } else {
                    None
                };
                return Ok(Expr::If(Box::new(cond), Box::new(then), otherwise));
            }
            self.or()
        }

        fn or(&mut self) -> Result<Expr, String> {
            let mut left = self.and()?;
            while self.eat(&Tok::Sym("||")) {
                left = Expr::Or(Box::new(left), Box::new(self.and()?));
            }
            Ok(left)
        }

        fn and(&mut self) -> Result<Expr, String> {
            let mut left = self.equality()?;
            while self.eat(&Tok::Sym("&&")) {
                left = Expr::And(Box::new(left), Box::new(self.equality()?));
            }
            Ok(left)
        }

        fn equality(&mut self) -> Result<Expr, String> {
            let left = self.membership()?;
            for (sym, eq) in [("==", true), ("!=", false)] {
                if self.eat(&Tok::Sym(sym)) {
                    let right = self.membership()?;
                    return Ok(Expr::Eq(Box::new(left), Box::new(right), eq));
                }
            }
            Ok(left)
        }

        fn membership(&mut self) -> Result<Expr, String> {
            let left = self.sum()?;
            if self.peek_ident("in") {
                self.pos += 1;
                let right = self.sum()?;
                return Ok(Expr::In(Box::new(left), Box::new(right)));
            }
            Ok(left)
        }

        fn unary(&mut self) -> Result<Expr, String> {
            if self.eat(&Tok::Sym("!")) {
                return Ok(Expr::Not(Box::new(self.unary()?)));
            }
            self.postfix()
        }

        fn sum(&mut self) -> Result<Expr, String> {
            let mut left = self.unary()?;
            while self.eat(&Tok::Sym("+")) {
                let right = self.unary()?;
                left = Expr::Add(Box::new(left), Box::new(right));
            }
            Ok(left)
        }

        fn postfix(&mut self) -> Result<Expr, String> {
            let mut e = self.primary()?;
            loop {
                if self.eat(&Tok::Sym(".")) {
                    let name = self.ident()?;
                    e = Expr::Index(Box::new(e), Box::new(Expr::Lit(Value::String(name))));
                } else if self.eat(&Tok::Sym("[")) {
                    let idx = self.expr()?;
                    self.expect(&Tok::Sym("]"))?;
                    e = Expr::Index(Box::new(e), Box::new(idx));
                } else if self.peek() == Some(&Tok::Sym("{")) {
                    // `a { ... }` is object inheritance: `a + { ... }`.
                    let obj = self.primary()?;
                    e = Expr::Add(Box::new(e), Box::new(obj));
                } else {
                    return Ok(e);
                }
            }
        }

        fn primary(&mut self) -> Result<Expr, String> {
            let tok = self.tokens.get(self.pos).cloned().ok_or("unexpected end")?;
            self.pos += 1;
            Ok(match tok {
                Tok::Str(s) => Expr::Lit(Value::String(s)),
                Tok::Num(n) => Expr::Lit(number(n)),
                Tok::Ident(n) => match n.as_str() {
                    "true" => Expr::Lit(Value::Bool(true)),
                    "false" => Expr::Lit(Value::Bool(false)),
                    "null" => Expr::Lit(Value::Null),
                    _ => Expr::Var(n),
                },
                Tok::Sym("(") => {
                    let e = self.expr()?;
                    self.expect(&Tok::Sym(")"))?;
                    e
                }
                Tok::Sym("[") => {
                    let mut items = Vec::new();
                    while !self.eat(&Tok::Sym("]")) {
                        items.push(self.expr()?);
                        if !self.eat(&Tok::Sym(",")) {
                            self.expect(&Tok::Sym("]"))?;
                            break;
                        }
                    }
                    Expr::Array(items)
                }
                Tok::Sym("{") => {
                    let mut fields = Vec::new();
                    while !self.eat(&Tok::Sym("}")) {
                        let key = match self.tokens.get(self.pos).cloned() {
                            Some(Tok::Ident(n)) => {
                                self.pos += 1;
                                Expr::Lit(Value::String(n))
                            }
                            Some(Tok::Str(s)) => {
                                self.pos += 1;
                                Expr::Lit(Value::String(s))
                            }
                            Some(Tok::Sym("[")) => {
                                self.pos += 1;
                                let k = self.expr()?;
                                self.expect(&Tok::Sym("]"))?;
                                k
                            }
                            other => return Err(format!("expected a field name, found {other:?}")),
                        };
                        if !(self.eat(&Tok::Sym(":"))
                            || self.eat(&Tok::Sym("::"))
                            || self.eat(&Tok::Sym(":::")))
                        {
                            return Err("expected : after a field name".into());
                        }
                        fields.push((key, self.expr()?));
                        if !self.eat(&Tok::Sym(",")) {
                            self.expect(&Tok::Sym("}"))?;
                            break;
                        }
                    }
                    Expr::Object(fields)
                }
                other => return Err(format!("unexpected {other:?}")),
            })
        }
    }

    fn eval(e: &Expr, env: &Env) -> Result<Value, String> {
        Ok(match e {
            Expr::Lit(v) => v.clone(),
            Expr::Var(n) => env
                .get(n)
                .cloned()
                .ok_or_else(|| format!("unknown variable {n}"))?,
            Expr::Local(name, value, body) => {
                let mut inner = env.clone();
                inner.insert(name.clone(), eval(value, env)?);
                eval(body, &inner)?
            }
            // Short-circuit, so that `"k" in o && o.k == x` is safe.
            Expr::And(a, b) => Value::Bool(truthy(eval(a, env)?)? && truthy(eval(b, env)?)?),
            Expr::Or(a, b) => Value::Bool(truthy(eval(a, env)?)? || truthy(eval(b, env)?)?),
            Expr::Not(a) => Value::Bool(!truthy(eval(a, env)?)?),
            Expr::In(key, obj) => match (eval(key, env)?, eval(obj, env)?) {
                (Value::String(k), Value::Object(map)) => Value::Bool(map.contains_key(&k)),
                _ => return Err("`in` needs a string and an object".into()),
            },
            Expr::Index(target, idx) => {
                let target = eval(target, env)?;
                match eval(idx, env)? {
                    Value::String(k) => match target {
                        Value::Object(map) => map
                            .get(&k)
                            .cloned()
                            .ok_or_else(|| format!("field does not exist: {k}"))?,
                        _ => return Err(format!("cannot look up {k} in a non-object")),
                    },
                    Value::Number(n) => {
                        let i = n.as_f64().unwrap_or(-1.0);
                        match target {
                            Value::Array(items) if i >= 0.0 => items
                                .get(i as usize)
                                .cloned()
                                .ok_or("index out of bounds")?,
                            _ => return Err("cannot index a non-array".into()),
                        }
                    }
                    _ => return Err("invalid index".into()),
                }
            }
            Expr::Object(fields) => {
                let mut map = Map::new();
                for (k, v) in fields {
                    let key = match eval(k, env)? {
                        Value::String(s) => s,
                        Value::Null => continue,
                        _ => return Err("field names must be strings".into()),
                    };
                    map.insert(key, eval(v, env)?);
                }
                Value::Object(map)
            }
            Expr::Array(items) => Value::Array(
                items
                    .iter()
                    .map(|i| eval(i, env))
                    .collect::<Result<_, _>>()?,
            ),
            Expr::Add(a, b) => match (eval(a, env)?, eval(b, env)?) {
                (Value::Number(x), Value::Number(y)) => {
                    number(x.as_f64().unwrap_or(0.0) + y.as_f64().unwrap_or(0.0))
                }
                (Value::Object(mut x), Value::Object(y)) => {
                    x.extend(y);
                    Value::Object(x)
                }
                (Value::Array(mut x), Value::Array(y)) => {
                    x.extend(y);
                    Value::Array(x)
                }
                (x, y) => Value::String(format!("{}{}", as_text(&x), as_text(&y))),
            },
            Expr::Eq(a, b, eq) => Value::Bool((eval(a, env)? == eval(b, env)?) == *eq),
            Expr::If(cond, then, otherwise) => match eval(cond, env)? {
                Value::Bool(true) => eval(then, env)?,
                Value::Bool(false) => match otherwise {
                    Some(o) => eval(o, env)?,
                    None => Value::Null,
                },
                _ => return Err("an if condition must be a boolean".into()),
            },
        })
    }

    fn truthy(v: Value) -> Result<bool, String> {
        match v {
            Value::Bool(b) => Ok(b),
            _ => Err("a boolean operator needs booleans".into()),
        }
    }

    /// Whole numbers stay integers in the JSON output.
    fn number(n: f64) -> Value {
        if n.fract() == 0.0 && n.abs() < 9.0e15 {
            Value::from(n as i64)
        } else {
            serde_json::Number::from_f64(n)
                .map(Value::Number)
                .unwrap_or(Value::Null)
        }
    }

    fn as_text(v: &Value) -> String {
        match v {
            Value::String(s) => s.clone(),
            other => other.to_string(),
        }
    }

    #[cfg(test)]
    mod tests {
        #![allow(clippy::unwrap_used)]
        use super::*;

        #[test]
        fn courier_style_templates() {
            let ctx = json!({"recipient": "a@b.c", "template_type": "x", "template_data": {"to": "a@b.c", "code": "123"}, "n": 2});
            let src = r#"
                // Kratos-style body
                function(ctx) {
                  recipient: ctx.recipient,
                  "type": ctx["template_type"],
                  code: if ctx.template_data.code != null then 'Code: ' + ctx.template_data.code else null,
                  list: [1, ctx.n + 1],
                  nested: { to: ctx.template_data.to } + { extra: true },
                }
            "#;
            let out = evaluate(src, &ctx).unwrap();
            assert_eq!(
                out,
                json!({"recipient": "a@b.c", "type": "x", "code": "Code: 123", "list": [1, 3], "nested": {"to": "a@b.c", "extra": true}})
            );
            assert_eq!(
                evaluate("function(c) c.recipient", &ctx).unwrap(),
                json!("a@b.c")
            );
            assert!(evaluate("function(ctx) ctx.missing", &ctx).is_err());
        }

        #[test]
        fn kratos_documented_style() {
            let ctx =
                json!({"recipient": "a@b.c", "template_data": {"to": "a@b.c", "code": "123"}});
            let src = r#"function(ctx) {
              to: if "template_data" in ctx && "to" in ctx.template_data then ctx.template_data.to else null,
              missing: if "template_data" in ctx && "nope" in ctx.template_data then ctx.template_data.nope else null,
              neg: !("x" in ctx) || false,
            }"#;
            assert_eq!(
                evaluate(src, &ctx).unwrap(),
                json!({"to": "a@b.c", "missing": null, "neg": true})
            );
            assert_eq!(
                evaluate(
                    "function(ctx) local t = ctx.template_data; { code: t.code }",
                    &ctx
                )
                .unwrap(),
                json!({"code": "123"})
            );
            assert!(evaluate("function(ctx) 1 && true", &ctx).is_err());
        }

        #[test]
        fn template_data_uses_kratos_json_names() {
            assert_eq!(to_snake("RecoveryURL"), "recovery_url");
            assert_eq!(to_snake("ExpiresInMinutes"), "expires_in_minutes");
            assert_eq!(to_snake("To"), "to");
            assert_eq!(to_snake("RequestURLDomain"), "request_url_domain");
        }
    }
}
