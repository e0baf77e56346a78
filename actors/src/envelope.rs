use std::fmt;
use std::time::Instant;

use uuid::Uuid;

/// Identifies one command from the moment it enters LUNA (an utterance, a text or an
/// API request) to its history row. Time-ordered (UUIDv7), so ids sort by entry time.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Debug)]
pub struct CorrelationId(Uuid);

impl CorrelationId {
    /// Mints a new id; call this only where a command enters the system.
    pub fn mint() -> Self {
        Self(Uuid::now_v7())
    }

    pub fn as_uuid(&self) -> Uuid {
        self.0
    }
}

impl fmt::Display for CorrelationId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.fmt(f)
    }
}

impl std::str::FromStr for CorrelationId {
    type Err = uuid::Error;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Uuid::parse_str(s).map(Self)
    }
}

/// The propagation fields (W3C `traceparent`, `tracestate`) of the command's root span,
/// carried across actors and threads so each stage's span nests under the same trace.
/// Empty when tracing export is off.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct TraceContext {
    pub fields: Vec<(String, String)>,
}

impl TraceContext {
    pub fn get(&self, key: &str) -> Option<&str> {
        self.fields
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(key))
            .map(|(_, v)| v.as_str())
    }

    pub fn set(&mut self, key: &str, value: String) {
        match self
            .fields
            .iter_mut()
            .find(|(k, _)| k.eq_ignore_ascii_case(key))
        {
            Some(slot) => slot.1 = value,
            None => self.fields.push((key.to_owned(), value)),
        }
    }
}

/// A stage message: the payload plus everything that must survive every hop.
#[derive(Clone, Debug)]
pub struct Envelope<T> {
    pub correlation_id: CorrelationId,
    pub trace: TraceContext,
    /// When the command entered LUNA (utterance cut, text received).
    pub t_entered: Instant,
    /// Capture time of the last speech frame, for `speech_end_to_action`; `None` for text.
    pub t_speech_end: Option<Instant>,
    /// The command's root span: a stage handling this message works inside it, so
    /// its spans nest under the command's trace whatever thread it runs on.
    pub span: tracing::Span,
    pub payload: T,
}

impl<T> Envelope<T> {
    /// A new command entering the system: mints its correlation id.
    pub fn entering(payload: T) -> Self {
        Self {
            correlation_id: CorrelationId::mint(),
            trace: TraceContext::default(),
            t_entered: Instant::now(),
            t_speech_end: None,
            span: tracing::Span::none(),
            payload,
        }
    }

    /// Makes `span` the command's root span for this and every later hop.
    pub fn in_span(mut self, span: tracing::Span) -> Self {
        self.span = span;
        self
    }

    pub fn with_speech_end(mut self, t: Instant) -> Self {
        self.t_speech_end = Some(t);
        self
    }

    /// The next hop's message for the same command: same id, context and timestamps.
    pub fn carry<U>(&self, payload: U) -> Envelope<U> {
        Envelope {
            correlation_id: self.correlation_id,
            trace: self.trace.clone(),
            t_entered: self.t_entered,
            t_speech_end: self.t_speech_end,
            span: self.span.clone(),
            payload,
        }
    }

    pub fn map<U>(self, f: impl FnOnce(T) -> U) -> Envelope<U> {
        Envelope {
            correlation_id: self.correlation_id,
            trace: self.trace,
            t_entered: self.t_entered,
            t_speech_end: self.t_speech_end,
            span: self.span,
            payload: f(self.payload),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn carry_and_map_keep_identity() {
        let mut first = Envelope::entering("text");
        first.trace.set("traceparent", "00-abc-def-01".into());
        let second = first.carry(42usize);
        let third = second.clone().map(|n| n * 2);
        assert_eq!(first.correlation_id, second.correlation_id);
        assert_eq!(second.correlation_id, third.correlation_id);
        assert_eq!(third.trace.get("TRACEPARENT"), Some("00-abc-def-01"));
        assert_eq!(third.payload, 84);
    }

    #[test]
    fn ids_are_unique_and_round_trip() {
        let a = CorrelationId::mint();
        let b = CorrelationId::mint();
        assert_ne!(a, b);
        assert!(a < b, "UUIDv7 ids sort by mint time");
        assert_eq!(a.to_string().parse::<CorrelationId>().unwrap(), a);
    }
}
