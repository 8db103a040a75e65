//! `kratos import identities <file...>`: creates identities through a running server's admin API
//! (`POST /admin/identities`), as Kratos's command does. Each file, or standard input, holds one
//! identity (`createIdentityBody`) or an array of them.

use std::io::{Read, Write};
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use serde_json::Value;

use crate::error::{Error, Result};

#[derive(clap::Subcommand, Debug)]
pub enum ImportCommand {
    /// Import one or more identities from files or standard input.
    ///
    /// Files can contain a single identity or an array of identities.
    Identities(ImportIdentitiesArgs),
}

#[derive(clap::Args, Debug)]
pub struct ImportIdentitiesArgs {
    /// Files with identities; none, or `-`, reads standard input.
    files: Vec<PathBuf>,
    /// The URL of the admin API.
    #[arg(short = 'e', long, env = "KRATOS_ADMIN_URL", hide_env_values = true)]
    endpoint: Option<String>,
    /// Output format: table, json, json-pretty, yaml, jsonpointer=<pointer> or quiet.
    #[arg(long, default_value = "table")]
    format: String,
    /// Print only the ids of the imported identities.
    #[arg(short = 'q', long)]
    quiet: bool,
}

/// Requests that time out or cannot connect are retried this often, as Kratos's client does.
const ATTEMPTS: usize = 3;
const TIMEOUT: Duration = Duration::from_secs(10);

pub async fn run(cmd: ImportCommand) -> Result<ExitCode> {
    let ImportCommand::Identities(args) = cmd;
    let format = if args.quiet {
        Format::Quiet
    } else {
        Format::parse(&args.format)?
    };
    let endpoint = args
        .endpoint
        .filter(|e| !e.trim().is_empty())
        .ok_or_else(|| {
            Error::Config("you have to set the remote endpoint, try --help for details".into())
        })?;
    let endpoint = url::Url::parse(&endpoint).map_err(|e| {
        Error::Config(format!(
            "could not parse the endpoint URL \"{endpoint}\": {e}"
        ))
    })?;
    let target = format!(
        "{}/admin/identities",
        endpoint.as_str().trim_end_matches('/')
    );

    let Some(bodies) = read_identities(&args.files) else {
        return Ok(ExitCode::FAILURE);
    };
    let client = reqwest::Client::builder()
        .timeout(TIMEOUT)
        .build()
        .map_err(|e| Error::internal(format!("cannot build the HTTP client: {e}")))?;

    let mut imported = Vec::new();
    let mut failed = 0;
    for (source, body) in bodies {
        match create(&client, &target, &body).await {
            Ok(identity) => imported.push(identity),
            Err(message) => {
                failed += 1;
                eprintln!("{source}: {message}");
            }
        }
    }
    let mut out = std::io::stdout().lock();
    let printed = if imported.len() == 1 {
        format.print_one(&mut out, &imported[0])
    } else {
        format.print_many(&mut out, &imported)
    };
    printed.map_err(|e| Error::internal(format!("cannot write to standard output: {e}")))?;
    Ok(if failed == 0 {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    })
}

/// Every identity body with where it came from (`file.json[2]`, `STD_IN[0]`). Problems are
/// reported on standard error; then nothing is imported.
fn read_identities(files: &[PathBuf]) -> Option<Vec<(String, Value)>> {
    let stdin = PathBuf::from("-");
    let sources: Vec<&PathBuf> = if files.is_empty() {
        vec![&stdin]
    } else {
        files.iter().collect()
    };
    let mut bodies = Vec::new();
    let mut ok = true;
    for path in sources {
        let (name, raw) = if path == &stdin {
            let mut buf = Vec::new();
            match std::io::stdin().read_to_end(&mut buf) {
                Ok(_) => ("STD_IN".to_string(), buf),
                Err(e) => {
                    eprintln!("STD_IN: Could not read: {e}");
                    return None;
                }
            }
        } else {
            match std::fs::read(path) {
                Ok(buf) => (path.display().to_string(), buf),
                Err(e) => {
                    eprintln!("{}: Could not open identity file: {e}", path.display());
                    return None;
                }
            }
        };
        let items = match serde_json::from_slice::<Value>(&raw) {
            Ok(Value::Array(items)) => items,
            Ok(one) => vec![one],
            Err(e) => {
                eprintln!("{name}: Could not parse identity: {e}");
                ok = false;
                continue;
            }
        };
        for (i, item) in items.into_iter().enumerate() {
            let source = format!("{name}[{i}]");
            if !item.is_object() {
                eprintln!("{source}: Could not parse identity: expected a JSON object");
                ok = false;
                continue;
            }
            bodies.push((source, item));
        }
    }
    ok.then_some(bodies)
}

/// Creates one identity; on failure, the message to show (Kratos's error message and reason).
async fn create(
    client: &reqwest::Client,
    target: &str,
    body: &Value,
) -> std::result::Result<Value, String> {
    let mut attempt = 0;
    let response = loop {
        attempt += 1;
        match client.post(target).json(body).send().await {
            Ok(res) => break res,
            // Only requests that never reached the server are repeated: a create is not
            // idempotent.
            Err(e) if (e.is_connect() || e.is_timeout()) && attempt < ATTEMPTS => {
                tokio::time::sleep(Duration::from_millis(250 * attempt as u64)).await;
            }
            Err(e) => return Err(format!("the admin API could not be reached: {e}")),
        }
    };
    let status = response.status();
    let text = response
        .text()
        .await
        .map_err(|e| format!("could not read the admin API's answer: {e}"))?;
    let parsed: Option<Value> = serde_json::from_str(&text).ok();
    if status.is_success() {
        return parsed
            .filter(Value::is_object)
            .ok_or_else(|| format!("the admin API answered {status} with an unexpected body"));
    }
    let error = parsed.as_ref().map(|v| &v["error"]);
    let lines: Vec<&str> = ["message", "reason"]
        .iter()
        .filter_map(|k| error.and_then(|e| e[*k].as_str()))
        .collect();
    if lines.is_empty() {
        Err(format!("the admin API answered {status}: {text}"))
    } else {
        Err(lines.join("\n"))
    }
}

/// Kratos's `--format` values (`cmdx`), minus `jsonpath`.
enum Format {
    Table,
    Json,
    JsonPretty,
    Yaml,
    JsonPointer(String),
    Quiet,
}

impl Format {
    fn parse(value: &str) -> Result<Format> {
        Ok(match value {
            "" | "table" | "default" => Format::Table,
            "json" => Format::Json,
            "json-pretty" => Format::JsonPretty,
            "yaml" => Format::Yaml,
            "quiet" => Format::Quiet,
            other => match other.strip_prefix("jsonpointer=") {
                Some(pointer) => Format::JsonPointer(pointer.to_string()),
                None => {
                    return Err(Error::Config(format!(
                        "unknown output format \"{other}\"; use table, json, json-pretty, yaml, jsonpointer=<pointer> or quiet"
                    )));
                }
            },
        })
    }

    fn print_one(&self, out: &mut impl Write, identity: &Value) -> std::io::Result<()> {
        match self {
            Format::Table => {
                let rows: Vec<Vec<String>> = HEADER
                    .iter()
                    .zip(columns(identity))
                    .map(|(h, c)| vec![h.to_string(), c])
                    .collect();
                write_table(out, &rows)
            }
            Format::Quiet => writeln!(out, "{}", str_field(identity, "id")),
            _ => self.print_value(out, identity),
        }
    }

    fn print_many(&self, out: &mut impl Write, identities: &[Value]) -> std::io::Result<()> {
        match self {
            Format::Table => {
                let mut rows = vec![HEADER.iter().map(|h| h.to_string()).collect()];
                rows.extend(identities.iter().map(columns));
                write_table(out, &rows)
            }
            Format::Quiet => {
                for identity in identities {
                    writeln!(out, "{}", str_field(identity, "id"))?;
                }
                Ok(())
            }
            _ => self.print_value(out, &Value::Array(identities.to_vec())),
        }
    }

    fn print_value(&self, out: &mut impl Write, value: &Value) -> std::io::Result<()> {
        let text = match self {
            Format::Json => serde_json::to_string(value)?,
            Format::JsonPretty => serde_json::to_string_pretty(value)?,
            Format::JsonPointer(pointer) => {
                serde_json::to_string_pretty(value.pointer(pointer).unwrap_or(&Value::Null))?
            }
            Format::Yaml => {
                let yaml = serde_yaml_ng::to_string(value).map_err(std::io::Error::other)?;
                return out.write_all(yaml.as_bytes());
            }
            Format::Table | Format::Quiet => String::new(),
        };
        writeln!(out, "{text}")
    }
}

const HEADER: [&str; 5] = [
    "ID",
    "VERIFIED ADDRESSES",
    "RECOVERY ADDRESSES",
    "SCHEMA ID",
    "SCHEMA URL",
];

fn str_field<'a>(v: &'a Value, key: &str) -> &'a str {
    v.get(key).and_then(Value::as_str).unwrap_or("")
}

fn columns(identity: &Value) -> Vec<String> {
    let addresses = |key: &str| -> String {
        identity
            .get(key)
            .and_then(Value::as_array)
            .map(|list| {
                list.iter()
                    .filter_map(|a| a.get("value").and_then(Value::as_str))
                    .filter(|v| !v.is_empty())
                    .collect::<Vec<_>>()
                    .join(", ")
            })
            .unwrap_or_default()
    };
    vec![
        str_field(identity, "id").to_string(),
        addresses("verifiable_addresses"),
        addresses("recovery_addresses"),
        str_field(identity, "schema_id").to_string(),
        str_field(identity, "schema_url").to_string(),
    ]
}

/// Columns padded to their widest cell, separated by one tab-free gap.
fn write_table(out: &mut impl Write, rows: &[Vec<String>]) -> std::io::Result<()> {
    let mut widths: Vec<usize> = Vec::new();
    for row in rows {
        for (i, cell) in row.iter().enumerate() {
            let n = cell.chars().count();
            match widths.get_mut(i) {
                Some(w) => *w = (*w).max(n),
                None => widths.push(n),
            }
        }
    }
    for row in rows {
        let line: Vec<String> = row
            .iter()
            .enumerate()
            .map(|(i, cell)| format!("{cell:<width$}", width = widths[i]))
            .collect();
        writeln!(out, "{}", line.join("  ").trim_end())?;
    }
    Ok(())
}
