//! The committed OpenAPI document (`live/openapi.json`), read as JSON, and what it says a route
//! answers.

use serde_json::Value;
use std::path::PathBuf;

pub fn committed_path() -> PathBuf {
    super::root().join("live").join("openapi.json")
}

/// The document `offersim_live` generates, as JSON.
pub fn generated() -> Value {
    serde_json::from_str(offersim_live::serve::openapi_json()).expect("the generated document is JSON")
}

/// The methods an OpenAPI path item can hold, as they are keys in it.
pub const METHODS: [&str; 8] = ["get", "put", "post", "delete", "options", "head", "patch", "trace"];

/// The document's path template that `path` (no query) is an instance of: `{x}` stands for any
/// one non-empty segment.
pub fn template<'a>(doc: &'a Value, path: &str) -> Option<&'a str> {
    let want: Vec<&str> = path.split('/').collect();
    doc["paths"].as_object()?.keys().map(String::as_str).find(|t| {
        let have: Vec<&str> = t.split('/').collect();
        have.len() == want.len()
            && have.iter().zip(&want).all(|(h, w)| h == w || (h.starts_with('{') && h.ends_with('}') && !w.is_empty()))
    })
}

/// The statuses the document lists for `method` on `path` (a concrete path, no query), or `None`
/// when it has no such operation.
pub fn statuses(doc: &Value, method: &str, path: &str) -> Option<Vec<u16>> {
    let op = doc["paths"][template(doc, path)?][method.to_ascii_lowercase()].as_object()?;
    let responses = op.get("responses")?.as_object()?;
    Some(responses.keys().filter_map(|k| k.parse().ok()).collect())
}
