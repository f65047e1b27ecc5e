//! `--record FILE`: every answer of a run as JSON lines, so two runs compare byte for byte
//! (`cmp`): the step, the request, the status and the body (JSON with its members sorted,
//! or the text when it is not JSON).

use std::fs::File;
use std::io::{BufWriter, Write};
use std::path::Path;

use serde_json::{Value, json};

/// Where the answers go; nowhere without `--record`.
pub struct Recorder(Option<BufWriter<File>>);

impl Recorder {
    /// Records into a new file at `path` (replacing one there), or nowhere.
    pub fn create(path: Option<&Path>) -> Result<Recorder, String> {
        let file = path
            .map(|path| {
                File::create(path)
                    .map(BufWriter::new)
                    .map_err(|e| format!("cannot write {}: {e}", path.display()))
            })
            .transpose()?;
        Ok(Recorder(file))
    }

    /// Whether answers are kept.
    pub fn is_recording(&self) -> bool {
        self.0.is_some()
    }

    /// Keeps one answer: `step` is the step's number, or `events` for the final log.
    pub fn answer(&mut self, step: Value, method: &str, path: &str, answer: &Answer) {
        let Some(out) = &mut self.0 else { return };
        let line = json!({
            "step": step,
            "method": method,
            "path": path,
            "status": answer.status,
            "body": answer.body,
        });
        // A failed write shows when the file is flushed at the end.
        let _ = writeln!(out, "{line}");
    }

    /// Writes out what is buffered.
    pub fn finish(self) -> Result<(), String> {
        match self.0 {
            Some(mut out) => out
                .flush()
                .map_err(|e| format!("cannot write the record: {e}")),
            None => Ok(()),
        }
    }
}

/// An answer of the service.
#[derive(Debug, Clone)]
pub struct Answer {
    /// Its status.
    pub status: u16,
    /// Its body: JSON, or the text as a JSON string when it is not JSON (or nothing).
    pub body: Value,
}

impl Answer {
    /// The answer of `status` with the body `text`.
    pub fn new(status: u16, text: &str) -> Answer {
        let body = serde_json::from_str(text).unwrap_or_else(|_| Value::String(text.to_owned()));
        Answer { status, body }
    }
}
