//! Any bytes from a Wyoming peer: events or a clear error, never a panic, a hang or an
//! allocation the input does not pay for; and what was read writes back to the same
//! events.
#![no_main]

use libfuzzer_sys::fuzz_target;
use luna::wyoming::{decode, encode, Limits};

fuzz_target!(|data: &[u8]| {
    let limits = Limits {
        header: 4096,
        data: 4096,
        payload: 65536,
    };
    if let Ok(events) = decode(data, &limits) {
        // (Not the data itself: serde_json's float parsing may move a number by an ulp.)
        let again: Vec<u8> = events.iter().flat_map(encode).collect();
        let again = decode(&again, &Limits::default()).unwrap();
        assert_eq!(again.len(), events.len());
        for (a, b) in again.iter().zip(&events) {
            assert_eq!(
                (&a.kind, &a.payload, a.data.len()),
                (&b.kind, &b.payload, b.data.len())
            );
        }
    }
});
