//! Media type checks shared by the diagnosis and the sandbox.

use http::HeaderValue;

/// Returns whether a `Content-Type` value names a media type ASP.NET Core's JSON input formatter
/// reads, as Rekaz's does: `application/json`, `text/json` or `application/*+json`, with any
/// parameters such as `charset`.
pub fn is_json(content_type: &HeaderValue) -> bool {
    let Ok(value) = content_type.to_str() else {
        return false;
    };
    let media_type = value
        .split(';')
        .next()
        .unwrap_or_default()
        .trim()
        .to_ascii_lowercase();
    media_type == "application/json"
        || media_type == "text/json"
        || (media_type.starts_with("application/") && media_type.ends_with("+json"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn json_media_types_are_recognised() {
        for value in [
            "application/json",
            "Application/JSON; charset=utf-8",
            "text/json",
            "application/problem+json",
        ] {
            assert!(is_json(&HeaderValue::from_static(value)), "{value}");
        }
    }

    #[test]
    fn other_media_types_are_not_json() {
        for value in [
            "text/plain",
            "application/x-www-form-urlencoded",
            "text/json+x",
            "",
        ] {
            assert!(!is_json(&HeaderValue::from_static(value)), "{value}");
        }
    }
}
