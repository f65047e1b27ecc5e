//! For tests of the crates that log through fleet-ops' request scope: a logger that keeps
//! every line in memory, with its key-value pairs, so a test can check what was (and what
//! was never) written. Behind the `testing` feature; never in a service build.

use std::sync::{Arc, Mutex};

use slog::Drain;

/// A logger that keeps every line, at every level, as `LEVEL message key=value …`.
pub fn memory_logger() -> (slog::Logger, Arc<Mutex<Vec<String>>>) {
    let lines = Arc::new(Mutex::new(Vec::new()));
    let drain = MemoryDrain(lines.clone()).fuse();
    (slog::Logger::root(drain, slog::o!()), lines)
}

struct MemoryDrain(Arc<Mutex<Vec<String>>>);

impl Drain for MemoryDrain {
    type Ok = ();
    type Err = slog::Never;

    fn log(
        &self,
        record: &slog::Record<'_>,
        values: &slog::OwnedKVList,
    ) -> Result<(), slog::Never> {
        let mut line = Line(format!(
            "{} {}",
            record.level().as_short_str(),
            record.msg()
        ));
        let _ = slog::KV::serialize(&record.kv(), record, &mut line);
        let _ = slog::KV::serialize(values, record, &mut line);
        if let Ok(mut lines) = self.0.lock() {
            lines.push(line.0);
        }
        Ok(())
    }
}

struct Line(String);

impl slog::Serializer for Line {
    fn emit_arguments(&mut self, key: slog::Key, value: &std::fmt::Arguments<'_>) -> slog::Result {
        self.0.push_str(&format!(" {key}={value}"));
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lines_keep_their_level_message_and_pairs() {
        let (logger, lines) = memory_logger();
        slog::debug!(logger.new(slog::o!("scope" => "x")), "hello"; "n" => 3);
        let lines = lines.lock().expect("the lines").clone();
        assert_eq!(lines, ["DEBG hello n=3 scope=x"]);
    }
}
