//! Checks of credential values read from their sources. Problems name the source, never the
//! value, except the tenant id, which is not secret.

use super::error::CredentialError;

/// Rejects an API key that Basic authentication could not carry.
pub(super) fn validate_key(key: &str, source: &str) -> Result<(), CredentialError> {
    if key.contains(':') {
        return Err(invalid("API key", source, "contains ':', which Basic authentication uses to separate key and secret; check that key and secret are not joined or swapped"));
    }
    reject_control_characters("API key", key, source)
}

/// Rejects a secret, password or username with a line break or other control character.
pub(super) fn validate_text(
    what: &'static str,
    value: &str,
    source: &str,
) -> Result<(), CredentialError> {
    reject_control_characters(what, value, source)
}

/// Returns the tenant id without surrounding whitespace, or an error when it is not a GUID.
pub(super) fn validate_tenant(tenant: &str, source: &str) -> Result<String, CredentialError> {
    let tenant = tenant.trim();
    if uuid::Uuid::try_parse(tenant).is_err() {
        return Err(CredentialError::Invalid {
            what: "tenant id",
            source_name: source.to_owned(),
            problem: format!(
                "{tenant:?} is not a GUID; copy the tenant id (like \
                 3a1f3638-e6dc-d864-4aa7-df60cdbb1146) from the Rekaz dashboard"
            ),
        });
    }
    Ok(tenant.to_owned())
}

fn reject_control_characters(
    what: &'static str,
    value: &str,
    source: &str,
) -> Result<(), CredentialError> {
    if value.chars().any(char::is_control) {
        return Err(invalid(
            what,
            source,
            "contains a control character such as a line break inside the value; store the value alone on one line",
        ));
    }
    Ok(())
}

/// Builds a [`CredentialError::Invalid`].
pub(super) fn invalid(what: &'static str, source: &str, problem: &str) -> CredentialError {
    CredentialError::Invalid {
        what,
        source_name: source.to_owned(),
        problem: problem.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn key_with_colon_is_invalid() {
        assert!(validate_key("abc:def", "env:K").is_err());
    }

    #[test]
    fn secret_with_line_break_is_invalid() {
        assert!(validate_text("API secret", "abc\ndef", "env:S").is_err());
    }

    #[test]
    fn tenant_is_trimmed() {
        let tenant = validate_tenant(" 3a1f3638-e6dc-d864-4aa7-df60cdbb1146 ", "env:T").unwrap();
        assert_eq!(tenant, "3a1f3638-e6dc-d864-4aa7-df60cdbb1146");
    }

    #[test]
    fn tenant_error_shows_the_value() {
        let error = validate_tenant("acme", "env:T").unwrap_err().to_string();
        assert!(error.contains("\"acme\" is not a GUID"), "{error}");
    }
}
