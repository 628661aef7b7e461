//! PostgreSQL connection strings (issue 26, item 2): what `publish` and `run --publish` may show of
//! them, and where a password comes from when the string holds none.
//!
//! - [`redact`]: the string with every password replaced by `***`, in each form libpq accepts: URL
//!   user-info (`postgresql://u:secret@h/db`), URL query parameters (`?password=`,
//!   `?sslpassword=`, percent-encoded names too), libpq `key=value` words (plain, `\`-escaped or
//!   `'quoted'`). User, host, port and database stay visible. Every message, report and manifest
//!   shows a connection string only through it.
//! - [`scrub`]: a message with the password itself blanked out (a server or driver text that
//!   echoes it).
//! - [`resolve`]: libpq's order for the settings: the string, then the service file of
//!   `PGSERVICE`, then `PGPASSWORD`/`PGUSER`, then the password file (`PGPASSFILE`, else
//!   `~/.pgpass`) with libpq's matching rules.

use std::path::{Path, PathBuf};
use std::str::FromStr;

use crate::error::{Error, Result};

/// What replaces a password.
pub const HIDDEN: &str = "***";

/// Whether a connection parameter's value is a secret (`password`, `sslpassword`, any `*password*`).
fn secret_key(key: &str) -> bool {
    key.to_ascii_lowercase().contains("password")
}

/// Percent-decoding as libpq applies it to URL parts (invalid escapes stay as they are).
fn percent_decode(s: &str) -> String {
    percent_encoding::percent_decode_str(s).decode_utf8_lossy().into_owned()
}

/// Whether `s` is in URL form (`postgresql://`, `postgres://`, any case; anything with `://`).
fn is_url(s: &str) -> bool {
    s.contains("://")
}

/// The connection string `conn` with every password replaced by `***` (see the module doc).
pub fn redact(conn: &str) -> String {
    if is_url(conn) {
        redact_url(conn)
    } else {
        redact_words(conn)
    }
}

/// URL form: `scheme://[user[:password]@]hosts[/db][?k=v&...]`. A password may hold `@`, `?`,
/// `/` or `&` unencoded, so what is hidden is the union of every reading: the user-info ending at
/// the first `@` (the driver's) and at the last `@` before the query (a person's), and the values
/// of secret parameters (and parameters without `=`) after the first `?`, and after the first `?`
/// that follows the user-info.
fn redact_url(url: &str) -> String {
    let start = url.find("://").map(|i| i + 3).unwrap_or(0);
    let rest = &url[start..];
    let mut hidden: Vec<(usize, usize)> = Vec::new();
    let mut userinfo = |creds_end: usize| {
        if let Some(colon) = rest[..creds_end].find(':') {
            hidden.push((colon + 1, creds_end));
        }
    };
    let first_at = rest.find('@');
    if let Some(at) = first_at {
        userinfo(at);
    }
    let first_q = rest.find('?');
    if let Some(at) = rest[..first_q.unwrap_or(rest.len())].rfind('@') {
        userinfo(at);
    }
    let mut queries = vec![first_q];
    if let Some(at) = first_at {
        queries.push(rest[at..].find('?').map(|q| at + q));
    }
    for q in queries.into_iter().flatten() {
        let mut offset = q + 1;
        for part in rest[q + 1..].split('&') {
            match part.split_once('=') {
                Some((k, v)) if secret_key(&percent_decode(k)) => {
                    hidden.push((offset + k.len() + 1, offset + k.len() + 1 + v.len()))
                }
                None if !part.is_empty() => hidden.push((offset, offset + part.len())),
                _ => {}
            }
            offset += part.len() + 1;
        }
    }
    hidden.retain(|(a, b)| a < b);
    hidden.sort();
    let mut out = String::from(&url[..start]);
    let mut pos = 0;
    for (a, b) in hidden {
        if b <= pos {
            continue;
        }
        if a > pos {
            out.push_str(&rest[pos..a]);
            out.push_str(HIDDEN);
        } else if pos == 0 || a == pos && !out.ends_with(HIDDEN) {
            out.push_str(HIDDEN);
        }
        pos = b;
    }
    out.push_str(&rest[pos..]);
    out
}

/// libpq `key = value` words; a value is plain (`\` escapes the next character) or `'quoted'`
/// (`\'` and `\\` inside). The text is kept as written except the values of secret keys; what
/// cannot be parsed from some point on is hidden whole.
fn redact_words(s: &str) -> String {
    let chars: Vec<(usize, char)> = s.char_indices().collect();
    let n = chars.len();
    let at = |i: usize| if i < n { chars[i].0 } else { s.len() };
    let mut out = String::new();
    let mut i = 0;
    loop {
        let ws = i;
        while i < n && chars[i].1.is_whitespace() {
            i += 1;
        }
        out.push_str(&s[at(ws)..at(i)]);
        if i >= n {
            return out;
        }
        let k0 = i;
        while i < n && !chars[i].1.is_whitespace() && chars[i].1 != '=' {
            i += 1;
        }
        let key = &s[at(k0)..at(i)];
        while i < n && chars[i].1.is_whitespace() {
            i += 1;
        }
        if i >= n || chars[i].1 != '=' {
            // Not `key=value`: hide the rest (it may be a secret).
            out.push_str(HIDDEN);
            return out;
        }
        i += 1;
        while i < n && chars[i].1.is_whitespace() {
            i += 1;
        }
        let eq_end = at(i);
        let v0 = i;
        if i < n && chars[i].1 == '\'' {
            i += 1;
            while i < n && chars[i].1 != '\'' {
                i += if chars[i].1 == '\\' { 2 } else { 1 };
            }
            i = (i + 1).min(n);
        } else {
            while i < n && !chars[i].1.is_whitespace() {
                i += if chars[i].1 == '\\' { 2 } else { 1 };
            }
            i = i.min(n);
        }
        out.push_str(&s[at(k0)..eq_end]);
        if secret_key(key) {
            out.push_str(HIDDEN);
        } else {
            out.push_str(&s[at(v0)..at(i)]);
        }
    }
}

/// `text` with each occurrence of `password` (and of its percent-encoded form) replaced by `***`.
pub fn scrub(text: &str, password: Option<&[u8]>) -> String {
    let Some(p) = password.and_then(|p| std::str::from_utf8(p).ok()).filter(|p| !p.is_empty()) else {
        return text.to_string();
    };
    let mut t = text.replace(p, HIDDEN);
    let encoded: String = p
        .bytes()
        .map(|b| {
            if b.is_ascii_alphanumeric() || b"-._~".contains(&b) {
                (b as char).to_string()
            } else {
                format!("%{b:02X}")
            }
        })
        .collect();
    if encoded != p {
        t = t.replace(&encoded, HIDDEN);
    }
    t
}

/// A parse failure of the driver, with its cause (`unknown option `sslpassword``), never a value:
/// the one cause that quotes a character of the string ("... but got `x`") is cut there.
fn parse_error(conn: &str, e: postgres::Error) -> Error {
    use std::error::Error as _;
    let cause = e.source().map(|c| c.to_string()).unwrap_or_default();
    let cause = cause.split(" but got `").next().unwrap_or_default();
    let cause = if cause.is_empty() { String::new() } else { format!(": {cause}") };
    Error::Config(format!("{}: {e}{cause}", redact(conn)))
}

/// The settings the string `conn` itself holds (exit 2, redacted, when the driver cannot parse it).
pub fn parse(conn: &str) -> Result<postgres::Config> {
    postgres::Config::from_str(conn).map_err(|e| parse_error(conn, e))
}

/// The connection settings of `conn`, completed as libpq would: the service of `PGSERVICE`
/// (its file: `PGSERVICEFILE`, else `~/.pg_service.conf`, then `PGSYSCONFDIR/pg_service.conf`)
/// fills what the string does not set; then `PGPASSWORD` and `PGUSER` (else `USER`); then, when
/// there is still no password, the password file. Errors are exit 2, naming the string redacted.
pub fn resolve(conn: &str) -> Result<postgres::Config> {
    let mut config = parse(conn)?;
    if let Some(service) = std::env::var("PGSERVICE").ok().filter(|s| !s.is_empty()) {
        apply_service(&mut config, &service)?;
    }
    if config.get_password().is_none() {
        if let Ok(p) = std::env::var("PGPASSWORD") {
            config.password(p);
        }
    }
    if config.get_user().is_none() {
        if let Ok(u) = std::env::var("PGUSER").or_else(|_| std::env::var("USER")) {
            config.user(&u);
        }
    }
    if config.get_password().is_none() {
        if let Some(p) = password_from_file(&config) {
            config.password(p);
        }
    }
    Ok(config)
}

fn home() -> Option<PathBuf> {
    std::env::var_os("HOME").filter(|h| !h.is_empty()).map(PathBuf::from)
}

/// The service `name`'s settings applied where `config` has none (libpq: the string wins).
fn apply_service(config: &mut postgres::Config, name: &str) -> Result<()> {
    let user_file =
        std::env::var_os("PGSERVICEFILE").map(PathBuf::from).or_else(|| home().map(|h| h.join(".pg_service.conf")));
    let sys_file = std::env::var_os("PGSYSCONFDIR").map(|d| PathBuf::from(d).join("pg_service.conf"));
    let bad = |file: &Path, why: String| Error::Config(format!("PGSERVICE {name}: {}: {why}", file.display()));
    for file in [user_file, sys_file].into_iter().flatten() {
        let Ok(text) = std::fs::read_to_string(&file) else { continue };
        let Some(entries) = service_entries(&text, name) else { continue };
        for (key, value) in entries {
            match key.as_str() {
                "host" if config.get_hosts().is_empty() => {
                    for h in value.split(',') {
                        config.host(h);
                    }
                }
                "port" if config.get_ports().is_empty() => {
                    let p: u16 =
                        value.parse().map_err(|_| bad(&file, format!("port `{value}` is not a port number")))?;
                    config.port(p);
                }
                "user" if config.get_user().is_none() => {
                    config.user(&value);
                }
                "dbname" if config.get_dbname().is_none() => {
                    config.dbname(&value);
                }
                "password" if config.get_password().is_none() => {
                    config.password(value);
                }
                "host" | "port" | "user" | "dbname" | "password" => {}
                other => {
                    return Err(bad(
                        &file,
                        format!("key `{other}` is not supported by evergreen (host, port, user, dbname, password are)"),
                    ))
                }
            }
        }
        return Ok(());
    }
    Err(Error::Config(format!("PGSERVICE {name}: no service file defines [{name}]")))
}

/// The `key=value` lines of section `[name]` of a service file (`None` when it has no such section).
fn service_entries(text: &str, name: &str) -> Option<Vec<(String, String)>> {
    let mut inside = false;
    let mut found = false;
    let mut entries = Vec::new();
    for line in text.lines() {
        let line = line.trim();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        if let Some(section) = line.strip_prefix('[').and_then(|l| l.strip_suffix(']')) {
            if inside {
                break;
            }
            inside = section == name;
            found |= inside;
            continue;
        }
        if inside {
            if let Some((k, v)) = line.split_once('=') {
                entries.push((k.trim().to_string(), v.trim().to_string()));
            }
        }
    }
    found.then_some(entries)
}

/// The password file libpq would read: `PGPASSFILE`, else `~/.pgpass`.
fn password_file() -> Option<PathBuf> {
    std::env::var_os("PGPASSFILE")
        .filter(|p| !p.is_empty())
        .map(PathBuf::from)
        .or_else(|| home().map(|h| h.join(".pgpass")))
}

/// The password of the first line of the password file matching `config`'s host, port, database
/// and user (libpq's rules: `*` matches anything, `\:` and `\\` escape, `#` starts a comment line;
/// a file that group or others can read or write is ignored with a warning, as libpq does).
fn password_from_file(config: &postgres::Config) -> Option<String> {
    let file = password_file()?;
    let meta = std::fs::metadata(&file).ok()?;
    if !meta.is_file() {
        tracing::warn!("password file {} is not a plain file; it is not read", file.display());
        return None;
    }
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        if meta.permissions().mode() & 0o077 != 0 {
            tracing::warn!(
                "password file {} has group or world access; permissions should be u=rw (0600) or less; it is not read",
                file.display()
            );
            return None;
        }
    }
    let text = std::fs::read_to_string(&file).ok()?;
    let host = match config.get_hosts().first() {
        Some(postgres::config::Host::Tcp(h)) => h.clone(),
        #[cfg(unix)]
        Some(postgres::config::Host::Unix(p)) => {
            if p == Path::new("/var/run/postgresql") || p == Path::new("/run/postgresql") || p == Path::new("/tmp") {
                "localhost".to_string()
            } else {
                p.display().to_string()
            }
        }
        None => "localhost".to_string(),
    };
    let port = config.get_ports().first().copied().unwrap_or(5432).to_string();
    let user = config.get_user()?.to_string();
    let db = config.get_dbname().map(str::to_string).unwrap_or_else(|| user.clone());
    password_for(&text, [&host, &port, &db, &user])
}

/// The password of the first line of a password file's `text` whose four fields match `want`.
pub fn password_for(text: &str, want: [&str; 4]) -> Option<String> {
    for line in text.lines() {
        let line = line.strip_suffix('\r').unwrap_or(line);
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        let fields = pgpass_fields(line);
        if fields.len() < 5 {
            continue;
        }
        let matches = want.iter().zip(&fields).all(|(w, (value, star))| *star || value == w);
        if matches {
            return Some(fields[4].0.clone());
        }
    }
    None
}

/// A password-file line split at its unescaped `:`; each field unescaped, and whether it is a
/// bare `*` (a wildcard).
fn pgpass_fields(line: &str) -> Vec<(String, bool)> {
    let mut fields = Vec::new();
    let mut cur = String::new();
    let mut raw_star = true;
    let mut chars = line.chars();
    let mut len = 0;
    while let Some(c) = chars.next() {
        match c {
            '\\' => {
                raw_star = false;
                len += 1;
                if let Some(n) = chars.next() {
                    cur.push(n);
                }
            }
            ':' => {
                fields.push((std::mem::take(&mut cur), raw_star && len == 1 && fields.len() < 4));
                raw_star = true;
                len = 0;
            }
            _ => {
                if c != '*' {
                    raw_star = false;
                }
                len += 1;
                cur.push(c);
            }
        }
    }
    fields.push((cur, false));
    // The fifth field is the password: everything up to the next unescaped `:` (libpq).
    fields.truncate(5);
    fields
}

/// Command-line arguments as a manifest may record them: the value of `--publish` and
/// `--postgres` (either spelling, `--flag VALUE` or `--flag=VALUE`) [`redact`]ed.
pub fn redact_arguments(args: &[String]) -> Vec<String> {
    crate::config::redact_flag_values(args, &["--publish", "--postgres"], &redact)
}
