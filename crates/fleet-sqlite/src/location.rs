//! Where the embedded database lives, and how a database URL names it.

use std::path::PathBuf;

/// Where a [`crate::SqliteStore`] keeps its data.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SqliteLocation {
    /// A database file, created if missing.
    File(PathBuf),
    /// A throwaway database in memory, gone when the store is dropped.
    Memory,
}

/// A database URL that does not name an embedded database.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error(
    "'{url}' is not an SQLite database URL: {problem}; use sqlite://PATH, sqlite:PATH or sqlite::memory:"
)]
pub struct LocationError {
    url: String,
    problem: &'static str,
}

impl SqliteLocation {
    /// Reads `sqlite://PATH`, `sqlite:PATH` or `sqlite::memory:`.
    ///
    /// `sqlite:///var/lib/fleet.db` is the absolute path `/var/lib/fleet.db`;
    /// `sqlite://fleet.db` and `sqlite:fleet.db` are relative to the working directory.
    pub fn parse(url: &str) -> Result<SqliteLocation, LocationError> {
        let fail = |problem| LocationError {
            url: url.to_owned(),
            problem,
        };
        let rest = url
            .strip_prefix("sqlite:")
            .ok_or_else(|| fail("it does not start with 'sqlite:'"))?;
        let path = rest.strip_prefix("//").unwrap_or(rest);
        if path == ":memory:" {
            return Ok(SqliteLocation::Memory);
        }
        if path.is_empty() {
            return Err(fail("the path is empty"));
        }
        if path.contains('?') {
            return Err(fail("query parameters are not supported"));
        }
        Ok(SqliteLocation::File(PathBuf::from(path)))
    }
}

impl std::fmt::Display for SqliteLocation {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            SqliteLocation::File(path) => write!(f, "{}", path.display()),
            SqliteLocation::Memory => f.write_str(":memory:"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn file(path: &str) -> SqliteLocation {
        SqliteLocation::File(PathBuf::from(path))
    }

    #[test]
    fn urls_name_files_relative_or_absolute() {
        assert_eq!(
            SqliteLocation::parse("sqlite://fleet.db"),
            Ok(file("fleet.db"))
        );
        assert_eq!(
            SqliteLocation::parse("sqlite:fleet.db"),
            Ok(file("fleet.db"))
        );
        assert_eq!(
            SqliteLocation::parse("sqlite://./data/fleet.db"),
            Ok(file("./data/fleet.db"))
        );
        assert_eq!(
            SqliteLocation::parse("sqlite:///var/lib/fleet.db"),
            Ok(file("/var/lib/fleet.db"))
        );
    }

    #[test]
    fn memory_urls_name_memory() {
        assert_eq!(
            SqliteLocation::parse("sqlite::memory:"),
            Ok(SqliteLocation::Memory)
        );
        assert_eq!(
            SqliteLocation::parse("sqlite://:memory:"),
            Ok(SqliteLocation::Memory)
        );
    }

    #[test]
    fn other_urls_are_refused_with_the_accepted_forms() {
        for url in [
            "postgres://localhost/fleet",
            "fleet.db",
            "sqlite:",
            "sqlite://",
            "sqlite://f.db?mode=rwc",
        ] {
            let err = SqliteLocation::parse(url).expect_err(url);
            let text = err.to_string();
            assert!(text.contains(url), "{text}");
            assert!(text.contains("sqlite::memory:"), "{text}");
        }
    }
}
