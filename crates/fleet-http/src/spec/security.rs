//! The security scheme as OpenAPI 3 says it (`http`, `bearer`), in place of the Swagger 2
//! approximation paperclip converts (an API key in the `Authorization` header).

use serde_json::{Value, json};

use crate::auth::extract::{SCHEME_DESCRIPTION, SECURITY_SCHEME};

pub(crate) fn bearer_scheme(v3: &mut Value) {
    let Some(components) = v3.get_mut("components").and_then(Value::as_object_mut) else {
        return;
    };
    let schemes = components
        .entry("securitySchemes")
        .or_insert_with(|| json!({}));
    if let Some(schemes) = schemes.as_object_mut() {
        schemes.insert(
            SECURITY_SCHEME.to_owned(),
            json!({
                "type": "http",
                "scheme": "bearer",
                "bearerFormat": "fleet_<key id>_<secret>",
                "description": SCHEME_DESCRIPTION,
            }),
        );
    }
}
