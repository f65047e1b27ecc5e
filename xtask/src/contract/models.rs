//! One model per named type: every model openapi-python-client generates must be one of
//! the document's `components/schemas`. A model named after the path to a nested property
//! (`ServerListItemsItemBilling`) means a type the spec inlines instead of referencing.

use std::collections::BTreeSet;
use std::path::Path;

use anyhow::{Context, Result, bail};

/// Fails naming the models in `models` (the generated package's folder) that are not a
/// named type of the document `spec`.
pub fn check(spec: &Path, models: &Path) -> Result<()> {
    let document: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(spec).with_context(|| format!("reading {}", spec.display()))?,
    )
    .with_context(|| format!("{} is not JSON", spec.display()))?;
    let mut generated = Vec::new();
    for entry in
        std::fs::read_dir(models).with_context(|| format!("listing {}", models.display()))?
    {
        let name = entry?.file_name().to_string_lossy().into_owned();
        if let Some(module) = name.strip_suffix(".py").filter(|m| *m != "__init__") {
            generated.push(module.to_owned());
        }
    }
    let unnamed = unnamed_models(&document, &generated);
    if !unnamed.is_empty() {
        bail!(
            "the Python client has {} model(s) for types the spec does not name (inline \
             schemas where a $ref to a component belongs): {}",
            unnamed.len(),
            unnamed.join(", ")
        );
    }
    Ok(())
}

/// The generated model modules that no component of `document` accounts for, sorted.
fn unnamed_models(document: &serde_json::Value, generated: &[String]) -> Vec<String> {
    let named: BTreeSet<String> = document["components"]["schemas"]
        .as_object()
        .into_iter()
        .flatten()
        .map(|(name, _)| module_name(name))
        .collect();
    let mut unnamed: Vec<String> = generated
        .iter()
        .filter(|module| !named.contains(*module))
        .cloned()
        .collect();
    unnamed.sort();
    unnamed
}

/// The module openapi-python-client writes a component's model to: `ServerState` →
/// `server_state`.
fn module_name(component: &str) -> String {
    let mut module = String::new();
    let mut previous: Option<char> = None;
    for c in component.chars() {
        if c.is_ascii_uppercase()
            && previous.is_some_and(|p| p.is_ascii_lowercase() || p.is_ascii_digit())
        {
            module.push('_');
        }
        module.push(c.to_ascii_lowercase());
        previous = Some(c);
    }
    module
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn models_of_inline_types_are_named_and_components_are_not() {
        let document = serde_json::json!({
            "components": {"schemas": {"Server": {}, "ServerState": {}, "ApiKey": {}}}
        });
        let generated = [
            "server",
            "server_state",
            "api_key",
            "server_list_items_item_billing",
            "list_servers_state",
        ]
        .map(str::to_owned);
        assert_eq!(
            unnamed_models(&document, &generated),
            ["list_servers_state", "server_list_items_item_billing"]
        );
    }
}
