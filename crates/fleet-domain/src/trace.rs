//! Where in a distributed trace a change was made: the W3C trace context of the request
//! (or worker pass) that caused it. Events keep it, so a reader of an event can find the
//! trace of the request behind it, and a webhook delivery of the event continues that
//! trace.

use std::fmt;

use crate::ports::BadRow;

/// A W3C trace id and the id of the span that caused a change; neither is ever zero.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct TraceContext {
    trace_id: u128,
    span_id: u64,
}

impl TraceContext {
    /// The context of span `span_id` in trace `trace_id`; `None` when either is zero (the
    /// W3C's "invalid" ids).
    pub fn new(trace_id: u128, span_id: u64) -> Option<Self> {
        (trace_id != 0 && span_id != 0).then_some(Self { trace_id, span_id })
    }

    /// Reads the lower-case hex forms [`TraceContext::trace_id_hex`] and
    /// [`TraceContext::span_id_hex`] write; `None` for anything else.
    pub fn parse(trace_id: &str, span_id: &str) -> Option<Self> {
        let hex = |text: &str, len: usize| {
            (text.len() == len
                && text
                    .bytes()
                    .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b)))
            .then_some(())
        };
        hex(trace_id, 32)?;
        hex(span_id, 16)?;
        Self::new(
            u128::from_str_radix(trace_id, 16).ok()?,
            u64::from_str_radix(span_id, 16).ok()?,
        )
    }

    /// The context a store kept as its two hex columns: both absent is none, anything else
    /// that [`TraceContext::parse`] cannot read is a corrupt row.
    pub fn from_stored(
        trace_id: Option<&str>,
        span_id: Option<&str>,
    ) -> Result<Option<Self>, BadRow> {
        match (trace_id, span_id) {
            (None, None) => Ok(None),
            (Some(trace), Some(span)) => Self::parse(trace, span)
                .map(Some)
                .ok_or_else(|| BadRow::new("events.trace_id", format!("{trace}/{span}"))),
            (trace, span) => Err(BadRow::new(
                "events.trace_id",
                format!("{trace:?}/{span:?}"),
            )),
        }
    }

    /// Reads a W3C `traceparent` header value of version `00` (what [`fmt::Display`]
    /// writes); `None` for anything else.
    pub fn from_traceparent(header: &str) -> Option<Self> {
        let mut parts = header.split('-');
        let (version, trace_id, span_id, flags) =
            (parts.next()?, parts.next()?, parts.next()?, parts.next()?);
        if version != "00" || flags.len() != 2 || parts.next().is_some() {
            return None;
        }
        Self::parse(trace_id, span_id)
    }

    /// The trace id.
    pub fn trace_id(&self) -> u128 {
        self.trace_id
    }

    /// The span id.
    pub fn span_id(&self) -> u64 {
        self.span_id
    }

    /// The trace id as 32 lower-case hex digits, as W3C `traceparent` and OTLP show it.
    pub fn trace_id_hex(&self) -> String {
        format!("{:032x}", self.trace_id)
    }

    /// The span id as 16 lower-case hex digits.
    pub fn span_id_hex(&self) -> String {
        format!("{:016x}", self.span_id)
    }
}

impl fmt::Display for TraceContext {
    /// The W3C `traceparent` form, sampled: `00-<trace id>-<span id>-01`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "00-{:032x}-{:016x}-01", self.trace_id, self.span_id)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hex_forms_round_trip_and_zero_ids_are_none() {
        let context = TraceContext::new(0x4bf92f3577b34da6a3ce929d0e0e4736, 0x00f067aa0ba902b7)
            .expect("valid");
        assert_eq!(context.trace_id_hex(), "4bf92f3577b34da6a3ce929d0e0e4736");
        assert_eq!(context.span_id_hex(), "00f067aa0ba902b7");
        assert_eq!(
            context.to_string(),
            "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"
        );
        assert_eq!(
            TraceContext::parse(&context.trace_id_hex(), &context.span_id_hex()),
            Some(context)
        );
        assert_eq!(TraceContext::new(0, 1), None);
        assert_eq!(TraceContext::new(1, 0), None);
    }

    #[test]
    fn parse_takes_only_lower_case_hex_of_the_right_length() {
        let span = "00f067aa0ba902b7";
        for bad in [
            "4BF92F3577B34DA6A3CE929D0E0E4736",
            "4bf92f3577b34da6a3ce929d0e0e473",
            "+bf92f3577b34da6a3ce929d0e0e4736",
            "00000000000000000000000000000000",
        ] {
            assert_eq!(TraceContext::parse(bad, span), None, "{bad}");
        }
        assert_eq!(
            TraceContext::parse("4bf92f3577b34da6a3ce929d0e0e4736", "0000000000000000"),
            None
        );
    }
}
