//! The database URL, which may hold a password: only [`DatabaseUrl::expose`] gives it
//! whole, for connecting; everything that prints it shows a URL rebuilt from safe parts.

use std::fmt;

/// The database URL. It may hold a password, so it is never printed whole.
#[derive(Clone, PartialEq, Eq)]
pub struct DatabaseUrl(String);

impl DatabaseUrl {
    /// The URL as given, for connecting only.
    pub fn expose(&self) -> &str {
        &self.0
    }

    /// Whether it names a Postgres database.
    pub fn is_postgres(&self) -> bool {
        self.0.starts_with("postgres://") || self.0.starts_with("postgresql://")
    }
}

impl From<&str> for DatabaseUrl {
    fn from(url: &str) -> Self {
        Self(url.to_owned())
    }
}

impl From<String> for DatabaseUrl {
    fn from(url: String) -> Self {
        Self(url)
    }
}

/// Shows `scheme://user@host:port/database?safe-parameters`: no password, and of the query
/// string only parameters that never carry a secret.
impl fmt::Display for DatabaseUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&redact(&self.0))
    }
}

impl fmt::Debug for DatabaseUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "DatabaseUrl({self})")
    }
}

/// Query parameters shown: libpq's connection parameters that are not secrets. Any other
/// (`password`, `sslpassword`, `passfile`, `options`, unknown ones) is left out.
const SAFE_QUERY_KEYS: &[&str] = &[
    "application_name",
    "channel_binding",
    "connect_timeout",
    "dbname",
    "host",
    "hostaddr",
    "keepalives",
    "keepalives_idle",
    "load_balance_hosts",
    "port",
    "sslmode",
    "target_session_attrs",
    "user",
];

/// Shown for what is not a URL: it could be anything, a password included.
const NOT_A_URL: &str = "(not a URL, not shown)";

/// The URL rebuilt from its safe parts.
///
/// A password may hold any character unencoded, `/`, `@` and `?` included, so the
/// credentials are taken to run to the last `@` before the query string, and only the user
/// (up to the first `:`) is kept of them. An `@` after the `?` with none before it may be a
/// password with a `?` in it, or a parameter: nothing but the scheme is shown then.
fn redact(url: &str) -> String {
    if url.starts_with("sqlite:") {
        // A path or `:memory:`; SQLite has no credentials.
        return url.to_owned();
    }
    let Some((scheme, rest)) = url.split_once("://").filter(|(scheme, _)| {
        !scheme.is_empty()
            && scheme
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || "+-.".contains(c))
    }) else {
        return NOT_A_URL.to_owned();
    };
    let (before_query, query) = rest
        .split_once('?')
        .map_or((rest, None), |(before, query)| (before, Some(query)));
    let (user, server) = match before_query.rsplit_once('@') {
        Some((credentials, server)) => (
            credentials
                .split(':')
                .next()
                .filter(|user| !user.is_empty()),
            server,
        ),
        None if query.is_some_and(|query| query.contains('@')) => {
            return format!("{scheme}://***");
        }
        None => (None, before_query),
    };
    let mut shown = format!("{scheme}://");
    if let Some(user) = user {
        shown.push_str(user);
        shown.push('@');
    }
    shown.push_str(server);
    let safe: Vec<&str> = query
        .into_iter()
        .flat_map(|query| query.split('&'))
        .filter(|pair| {
            let key = pair.split_once('=').map_or(*pair, |(key, _)| key);
            SAFE_QUERY_KEYS.contains(&key)
        })
        .collect();
    if !safe.is_empty() {
        shown.push('?');
        shown.push_str(&safe.join("&"));
    }
    shown
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn passwords_never_show() {
        for (url, shown) in [
            (
                "postgres://fleet:s3cret@db.internal:5432/fleet?sslmode=disable",
                "postgres://fleet@db.internal:5432/fleet?sslmode=disable",
            ),
            // A password in the query string.
            (
                "postgres://fleet@db/fleet?password=s3cret",
                "postgres://fleet@db/fleet",
            ),
            (
                "postgresql://fleet@db/fleet?sslmode=require&password=s3cret&application_name=fleetd&sslpassword=s3cret",
                "postgresql://fleet@db/fleet?sslmode=require&application_name=fleetd",
            ),
            // A `/` in the password.
            ("postgres://u:pa/s3cret@h/db", "postgres://u@h/db"),
            // An `@` in the password.
            ("postgres://u:p@s3cret@h/d", "postgres://u@h/d"),
            // A `?` in the password, or an `@` in a parameter: which, cannot be told.
            ("postgres://u:pa?s3cret@h/db", "postgres://***"),
            ("postgres://h/db?password=p@s3cret", "postgres://***"),
            // Only a password, no user.
            ("postgres://:s3cret@h/db", "postgres://h/db"),
            ("mysql://root:s3cret@db/fleet", "mysql://root@db/fleet"),
            // `@` before `://`, and no URL at all.
            ("u:s3cret@host://x", NOT_A_URL),
            ("root:s3cret@db", NOT_A_URL),
            // Nothing to hide.
            ("postgres://db/fleet", "postgres://db/fleet"),
            (
                "postgresql:///fleet?host=/var/run/postgresql",
                "postgresql:///fleet?host=/var/run/postgresql",
            ),
            ("sqlite://fleet.db", "sqlite://fleet.db"),
            ("sqlite::memory:", "sqlite::memory:"),
        ] {
            let url = DatabaseUrl::from(url);
            assert_eq!(url.to_string(), shown, "{}", url.expose());
            assert!(!url.to_string().contains("s3cret"), "{shown}");
            assert!(!format!("{url:?}").contains("s3cret"), "{shown}");
        }
    }
}
