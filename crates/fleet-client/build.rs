//! Generates the client from the committed OpenAPI document on every change to it, so the
//! client can never drift from the document (nor the document from the code: fleet-http's
//! tests compare it with what the handlers generate).

use std::path::Path;

use progenitor::{GenerationSettings, Generator, HooksMode, InterfaceStyle, TagStyle};

const DOCUMENT: &str = "../../docs/openapi.json";

fn main() {
    println!("cargo:rerun-if-changed={DOCUMENT}");
    let text =
        std::fs::read_to_string(DOCUMENT).unwrap_or_else(|e| panic!("cannot read {DOCUMENT}: {e}"));
    let mut document: serde_json::Value =
        serde_json::from_str(&text).unwrap_or_else(|e| panic!("{DOCUMENT} is not JSON: {e}"));
    merge_patches_as_json(&mut document);
    let spec = serde_json::from_value(document)
        .unwrap_or_else(|e| panic!("{DOCUMENT} is not an OpenAPI 3.0 document: {e}"));
    let mut settings = GenerationSettings::new();
    settings
        .with_interface(InterfaceStyle::Builder)
        .with_tag(TagStyle::Merged)
        // `timeouts.rs` gives each operation its own timeout.
        .with_hooks(HooksMode::Expected)
        .with_derive("PartialEq");
    let tokens = Generator::new(&settings)
        .generate_tokens(&spec)
        .unwrap_or_else(|e| panic!("progenitor cannot generate a client from {DOCUMENT}: {e}"));
    let file = syn::parse2(tokens).unwrap_or_else(|e| panic!("generated code does not parse: {e}"));
    let out_dir = std::env::var("OUT_DIR").unwrap_or_else(|e| panic!("OUT_DIR: {e}"));
    let target = Path::new(&out_dir).join("fleet_api.rs");
    std::fs::write(&target, prettyplease::unparse(&file))
        .unwrap_or_else(|e| panic!("cannot write {}: {e}", target.display()));
}

/// progenitor 0.15 generates request bodies of `application/json` only (it refuses any
/// other media type), and a JSON merge patch (RFC 7396, `application/merge-patch+json`) is
/// JSON: the client sends such a body as `application/json`, which fleet takes alike.
fn merge_patches_as_json(document: &mut serde_json::Value) {
    let contents = document
        .get_mut("paths")
        .and_then(serde_json::Value::as_object_mut)
        .into_iter()
        .flat_map(|paths| paths.values_mut())
        .filter_map(serde_json::Value::as_object_mut)
        .flat_map(|operations| operations.values_mut())
        .filter_map(|operation| operation.pointer_mut("/requestBody/content"))
        .filter_map(serde_json::Value::as_object_mut);
    for content in contents {
        if let Some(media) = content.remove("application/merge-patch+json") {
            content.insert("application/json".to_owned(), media);
        }
    }
}
