//! The labelled line format of the brain's evaluation sets (`src/brain/corpus/`), shared
//! by the tests that read them.

use std::collections::BTreeMap;

use serde::Deserialize;
use serde_json::Value;

/// One line: what was said and the intents it means, in spoken order.
#[derive(Deserialize)]
pub struct Labelled {
    pub text: String,
    pub intents: Vec<Expected>,
}

#[derive(Deserialize)]
pub struct Expected {
    pub intent: String,
    #[serde(default)]
    pub slots: BTreeMap<String, Value>,
}
