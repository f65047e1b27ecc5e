//! HTTP/1.1 chunked transfer coding, decoded as the bytes arrive: how fleetd sends an event
//! stream's body.

use anyhow::{Context, Result, ensure};

/// The longest chunk-size line accepted (hex digits and extensions).
const MAX_SIZE_LINE: usize = 1024;

/// Where the decoder is in the body.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
enum State {
    /// Before a chunk-size line.
    #[default]
    Size,
    /// Inside a chunk, with this many bytes of it to come.
    Data(usize),
    /// After a chunk's bytes, before its CRLF.
    DataEnd,
    /// After the last (empty) chunk.
    Ended,
}

/// A chunked body being decoded.
#[derive(Debug, Default)]
pub struct Chunked {
    state: State,
}

impl Chunked {
    /// Decodes what it can of `raw` onto the end of `out` and removes what it consumed from
    /// `raw` (an incomplete size line or CRLF stays for the next call); `true` once the
    /// last chunk has come.
    pub fn decode(&mut self, raw: &mut Vec<u8>, out: &mut Vec<u8>) -> Result<bool> {
        let mut at = 0;
        loop {
            match self.state {
                State::Size => {
                    let Some(end) = memchr::memmem::find(&raw[at..], b"\r\n") else {
                        ensure!(
                            raw.len() - at <= MAX_SIZE_LINE,
                            "a chunk-size line longer than {MAX_SIZE_LINE} bytes"
                        );
                        break;
                    };
                    let line = &raw[at..at + end];
                    let digits = line.split(|b| *b == b';').next().unwrap_or_default();
                    let size = std::str::from_utf8(digits)
                        .ok()
                        .and_then(|digits| usize::from_str_radix(digits.trim(), 16).ok())
                        .with_context(|| {
                            format!("a bad chunk size: {:?}", String::from_utf8_lossy(line))
                        })?;
                    at += end + 2;
                    self.state = if size == 0 {
                        State::Ended
                    } else {
                        State::Data(size)
                    };
                }
                State::Data(left) => {
                    let take = left.min(raw.len() - at);
                    if take == 0 {
                        break;
                    }
                    out.extend_from_slice(&raw[at..at + take]);
                    at += take;
                    self.state = if take == left {
                        State::DataEnd
                    } else {
                        State::Data(left - take)
                    };
                }
                State::DataEnd => {
                    if raw.len() - at < 2 {
                        break;
                    }
                    ensure!(&raw[at..at + 2] == b"\r\n", "a chunk not ended by CRLF");
                    at += 2;
                    self.state = State::Size;
                }
                State::Ended => break,
            }
        }
        raw.drain(..at);
        Ok(self.state == State::Ended)
    }
}

#[cfg(test)]
mod tests {
    use super::Chunked;

    const BODY: &[u8] = b"5\r\nhello\r\n7;ext=1\r\n, world\r\n0\r\n\r\n";

    #[test]
    fn a_body_split_anywhere_decodes_to_the_same_bytes() {
        for split in 0..=BODY.len() {
            let mut chunked = Chunked::default();
            let mut raw = BODY[..split].to_vec();
            let mut out = Vec::new();
            let early = chunked.decode(&mut raw, &mut out).expect("valid so far");
            raw.extend_from_slice(&BODY[split..]);
            let ended = chunked.decode(&mut raw, &mut out).expect("valid");
            assert_eq!(out, b"hello, world", "split at {split}");
            assert!(ended, "split at {split}");
            assert!(!early || split >= BODY.len() - 2, "ended early at {split}");
        }
    }

    #[test]
    fn garbage_is_refused() {
        let mut out = Vec::new();
        assert!(
            Chunked::default()
                .decode(&mut b"zz\r\nhello".to_vec(), &mut out)
                .is_err()
        );
        assert!(
            Chunked::default()
                .decode(&mut b"2\r\nhiXX".to_vec(), &mut out)
                .is_err()
        );
    }
}
