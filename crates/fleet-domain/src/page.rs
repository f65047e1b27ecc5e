//! Keyset pagination: a page size and an opaque cursor that stays stable under inserts.

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use chrono::{DateTime, Utc};

use crate::ids::ServerId;

/// The most items one page may hold.
pub const MAX_PAGE_SIZE: u32 = 100;
/// The page size when none is asked for.
pub const DEFAULT_PAGE_SIZE: u32 = 20;
/// The most items an `offset` may skip: a store reads and throws away every skipped row, so
/// deep pages are reached by cursor, which costs the same at any depth.
pub const MAX_OFFSET: u64 = 10_000;

/// Where the next page starts: just after this (created_at, id) in list order.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Cursor {
    /// Creation time of the last item returned.
    pub created_at: DateTime<Utc>,
    /// Id of the last item returned.
    pub id: ServerId,
}

/// The range of creation times a cursor may carry (1970 to the end of 9999, in Unix
/// seconds): every store can compare these, where a far-off instant would fail in SQL.
const EARLIEST_CURSOR: i64 = 0;
const LATEST_CURSOR: i64 = 253_402_300_799;

/// A cursor string that was not made by [`Cursor::encode`].
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("the cursor is not one this service returned")]
pub struct BadCursor;

impl Cursor {
    /// The opaque text handed to clients.
    pub fn encode(&self) -> String {
        let raw = format!("v1|{}|{}", self.created_at.timestamp_micros(), self.id);
        URL_SAFE_NO_PAD.encode(raw)
    }

    /// Reads a cursor from its opaque text.
    pub fn decode(text: &str) -> Result<Self, BadCursor> {
        let bytes = URL_SAFE_NO_PAD.decode(text).map_err(|_| BadCursor)?;
        let raw = String::from_utf8(bytes).map_err(|_| BadCursor)?;
        let mut parts = raw.split('|');
        let (Some("v1"), Some(micros), Some(id), None) =
            (parts.next(), parts.next(), parts.next(), parts.next())
        else {
            return Err(BadCursor);
        };
        let micros: i64 = micros.parse().map_err(|_| BadCursor)?;
        let created_at = DateTime::from_timestamp_micros(micros)
            .filter(|t| (EARLIEST_CURSOR..=LATEST_CURSOR).contains(&t.timestamp()))
            .ok_or(BadCursor)?;
        Ok(Self {
            created_at,
            id: id.parse().map_err(|_| BadCursor)?,
        })
    }
}

/// Where the next page of a server's usage ledger starts: after the record at this
/// position (the store's order of a server's records, oldest first).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LedgerCursor(pub i64);

impl LedgerCursor {
    /// The opaque text handed to clients.
    pub fn encode(&self) -> String {
        URL_SAFE_NO_PAD.encode(format!("l1|{}", self.0))
    }

    /// Reads a cursor from its opaque text.
    pub fn decode(text: &str) -> Result<Self, BadCursor> {
        let bytes = URL_SAFE_NO_PAD.decode(text).map_err(|_| BadCursor)?;
        let raw = String::from_utf8(bytes).map_err(|_| BadCursor)?;
        let position = raw.strip_prefix("l1|").ok_or(BadCursor)?;
        let position: i64 = position.parse().map_err(|_| BadCursor)?;
        (position >= 0).then_some(Self(position)).ok_or(BadCursor)
    }
}

/// Which page to read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PageRequest {
    /// At most this many items (1 to [`MAX_PAGE_SIZE`] for a page a client asks for; a bulk
    /// action reads one more than [`crate::service::MAX_BULK_SERVERS`]).
    pub limit: u32,
    /// Start after this cursor.
    pub after: Option<Cursor>,
    /// Skip this many items first (for clients that page by offset).
    pub offset: u64,
}

impl Default for PageRequest {
    fn default() -> Self {
        Self {
            limit: DEFAULT_PAGE_SIZE,
            after: None,
            offset: 0,
        }
    }
}

/// One page of results.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Page<T> {
    /// The items, in list order.
    pub items: Vec<T>,
    /// Where the next page starts, if there is one.
    pub next: Option<Cursor>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_cursor_survives_its_round_trip() {
        let cursor = Cursor {
            created_at: DateTime::from_timestamp_micros(1_700_000_000_123_456).expect("valid"),
            id: ServerId::random(),
        };
        assert_eq!(Cursor::decode(&cursor.encode()), Ok(cursor));
    }

    #[test]
    fn a_ledger_cursor_survives_its_round_trip_and_refuses_foreign_text() {
        let cursor = LedgerCursor(1_234_567);
        assert_eq!(LedgerCursor::decode(&cursor.encode()), Ok(cursor));
        let server_cursor = Cursor {
            created_at: DateTime::from_timestamp_micros(1_700_000_000_123_456).expect("valid"),
            id: ServerId::random(),
        };
        for text in [
            "",
            "12",
            &server_cursor.encode(),
            &URL_SAFE_NO_PAD.encode("l1|-5"),
            &URL_SAFE_NO_PAD.encode("l1|x"),
            &URL_SAFE_NO_PAD.encode("l1|99999999999999999999"),
        ] {
            assert_eq!(LedgerCursor::decode(text), Err(BadCursor), "{text}");
        }
    }

    #[test]
    fn foreign_text_and_out_of_range_times_are_bad_cursors() {
        let id = ServerId::random();
        let far_past = URL_SAFE_NO_PAD.encode(format!("v1|-3000000000000000000|{id}"));
        let far_future = URL_SAFE_NO_PAD.encode(format!("v1|{}|{id}", 300_000_000_000_000_000i64));
        for text in [
            "",
            "abc",
            "!!!",
            &URL_SAFE_NO_PAD.encode("v1|x|y"),
            &URL_SAFE_NO_PAD.encode("v2|1|2"),
            &far_past,
            &far_future,
        ] {
            assert_eq!(Cursor::decode(text), Err(BadCursor), "{text}");
        }
    }
}
