//! One error type for every user-facing failure. Each variant knows its one-line message and its
//! process exit code, so `main` only prints and exits.

use std::path::PathBuf;

/// Exit codes (documented in docs/cli.md, stable for schedulers):
/// 0 success, 1 internal error, 2 bad arguments or config, 3 input not found or unreadable,
/// 4 input data does not fit the contract, 5 output could not be written.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// A flag, environment variable or config-file value is invalid.
    #[error("config error: {0}")]
    Config(String),

    /// No Parquet or CSV file matches an `--input` path.
    #[error("input error: {path}: no Parquet file matches (and no CSV or TSV file)")]
    NoInput { path: String },

    /// A file could not be opened or is not valid Parquet.
    #[error("input error: {file}: cannot read Parquet ({reason})")]
    Unreadable { file: PathBuf, reason: String },

    /// A CSV or TSV file could not be read, decompressed or parsed.
    #[error("input error: {file}: cannot read CSV ({reason})")]
    UnreadableCsv { file: PathBuf, reason: String },

    /// A file of another kind (a spreadsheet, JSON) named as input: what it is and how to convert it.
    #[error("input error: {file}: {reason}")]
    NotADump { file: PathBuf, reason: String },

    /// A required column is absent.
    #[error("input error: {file}: column `{column}` ({role}) not found; expected a column of {expected}, found columns: {found}")]
    MissingColumn { file: PathBuf, column: String, role: &'static str, expected: &'static str, found: String },

    /// A column exists but its type does not fit its role, or its values do not.
    #[error("input error: {file}: column `{column}` ({role}): expected {expected}, found {found}")]
    BadColumn { file: PathBuf, column: String, role: &'static str, expected: String, found: String },

    /// Files of one dump disagree on a column's type.
    #[error("input error: {file}: column `{column}` ({role}) is {found}, but {other_file} has {expected}; all files of one dump must agree")]
    SchemaMismatch {
        file: PathBuf,
        other_file: PathBuf,
        column: String,
        role: &'static str,
        expected: String,
        found: String,
    },

    /// The amount expression cannot be parsed or used.
    #[error("input error: {file}: amount expression `{expr}`: {reason}")]
    BadAmountExpr { file: PathBuf, expr: String, reason: String },

    /// The `--where` (or a `--group`) predicate cannot be parsed, names a missing column or is not
    /// boolean. `flag` names the option: `--where` or `--group NAME`.
    #[error("input error: {file}: {flag} `{expr}`: {reason}")]
    BadFilter { file: PathBuf, flag: String, expr: String, reason: String },

    /// An `--exclude-items` id that the item column cannot hold.
    #[error("input error: {file}: `{id}` is not an id of the {role} column `{column}` ({expected})")]
    BadExcludedItem { file: PathBuf, id: String, role: &'static str, column: String, expected: &'static str },

    /// Nothing is left to compute on.
    #[error("input error: {what}: {reason}")]
    Empty { what: String, reason: String },

    /// PostgreSQL refused or lost the load (`publish`); nothing of it is committed.
    #[error("output error: PostgreSQL: {}", crate::error::postgres_message(.0))]
    Postgres(#[from] postgres::Error),

    /// The output folder cannot be written.
    #[error("output error: {path}: {reason}")]
    Output { path: PathBuf, reason: String },

    /// Another run holds the output's lock (see `output::RunLock`).
    #[error("output error: another evergreen run (pid {pid}) is writing {}", path.display())]
    Locked { path: PathBuf, pid: String },

    /// The data cannot support a model fit (too few repeat buyers, every purchase on one day).
    #[error("model error: {model}: {reason}")]
    Fit { model: &'static str, reason: String },

    /// An analyst's SQL query failed.
    #[error("query error: {file}: {reason}")]
    Query { file: PathBuf, reason: String },

    /// A failure inside the engine that the input checks did not foresee.
    #[error("internal error: {0}")]
    Internal(String),
}

impl Error {
    /// The process exit code for this error (see the type's doc comment).
    pub fn exit_code(&self) -> i32 {
        match self {
            Error::Internal(_) => 1,
            Error::Config(_) => 2,
            Error::NoInput { .. } | Error::Unreadable { .. } | Error::UnreadableCsv { .. } | Error::NotADump { .. } => 3,
            Error::MissingColumn { .. }
            | Error::BadColumn { .. }
            | Error::SchemaMismatch { .. }
            | Error::BadAmountExpr { .. }
            | Error::BadFilter { .. }
            | Error::BadExcludedItem { .. }
            | Error::Empty { .. }
            | Error::Fit { .. }
            | Error::Query { .. } => 4,
            Error::Output { .. } | Error::Locked { .. } | Error::Postgres(_) => 5,
        }
    }
}

impl From<polars::error::PolarsError> for Error {
    fn from(e: polars::error::PolarsError) -> Self {
        Error::Internal(one_line(&e.to_string()))
    }
}

/// A PostgreSQL error as one line: a server's refusal as its SQLSTATE code and message (with its
/// detail and hint, when it gives them), e.g. `28P01 password authentication failed for user "x"`;
/// a driver failure as its kind and cause (`error connecting to server: Connection refused`).
pub fn postgres_message(e: &postgres::Error) -> String {
    if let Some(db) = e.as_db_error() {
        let mut m = format!("{} {}", db.code().code(), db.message());
        if let Some(d) = db.detail() {
            m.push_str(&format!(" ({d})"));
        }
        if let Some(h) = db.hint() {
            m.push_str(&format!(" (hint: {h})"));
        }
        return one_line(&m);
    }
    let mut m = e.to_string();
    let mut cause = std::error::Error::source(e);
    while let Some(c) = cause {
        m.push_str(&format!(": {c}"));
        cause = c.source();
    }
    one_line(&m)
}

/// Collapse a multi-line message (Polars errors carry hints on extra lines) into one line.
pub fn one_line(s: &str) -> String {
    s.split_whitespace().collect::<Vec<_>>().join(" ")
}

pub type Result<T> = std::result::Result<T, Error>;

/// Test hook of the crash tests: `EVERGREEN_TEST_CRASH_AT=<step>` aborts the process at that step
/// (of the commit, or of the partitioned engine), as a kill would (no destructor runs).
pub fn crash_point(step: &str) {
    if std::env::var("EVERGREEN_TEST_CRASH_AT").is_ok_and(|v| v == step) {
        std::process::abort();
    }
}

/// Test hook: `EVERGREEN_TEST_PAUSE_AT=<step>:<ms>` sleeps at that step, so a test can act on the
/// run from outside (truncate an input, send a signal) at a known instant.
pub fn pause_point(step: &str) {
    if let Ok(v) = std::env::var("EVERGREEN_TEST_PAUSE_AT") {
        if let Some(ms) = v.strip_prefix(step).and_then(|r| r.strip_prefix(':')).and_then(|m| m.parse().ok()) {
            std::thread::sleep(std::time::Duration::from_millis(ms));
        }
    }
}
