//! Checks of credential values read from their sources. Problems name the source and what is
//! expected, never the value: a value that fails a check may be a secret read from the wrong
//! place, such as an API secret in the tenant id file.

use super::error::CredentialError;

/// Rejects an API key that Basic authentication could not carry.
pub(super) fn validate_key(key: &str, source: &str) -> Result<(), CredentialError> {
    if key.contains(':') {
        return Err(invalid("API key", source, "contains ':', which Basic authentication uses to separate key and secret; check that key and secret are not joined or swapped"));
    }
    reject_control_characters("API key", key, source)
}

/// Rejects a secret, password or username with a line break or other control character. A tab
/// is accepted like a space: both are legal in the header and the form body, and the start-up
/// warning and the 401 diagnosis name a value that begins or ends with either.
pub(super) fn validate_text(
    what: &'static str,
    value: &str,
    source: &str,
) -> Result<(), CredentialError> {
    reject_control_characters(what, value, source)
}

/// Returns the tenant id without surrounding whitespace, or an error when it is not a GUID. The
/// error gives the value's length but not the value.
pub(super) fn validate_tenant(tenant: &str, source: &str) -> Result<String, CredentialError> {
    let tenant = tenant.trim();
    if uuid::Uuid::try_parse(tenant).is_err() {
        return Err(CredentialError::Invalid {
            what: "tenant id",
            source_name: source.to_owned(),
            problem: format!(
                "expected a GUID like 3a1f3638-e6dc-d864-4aa7-df60cdbb1146, got {} characters \
                 that are not one (not shown, in case they are a secret); copy the tenant id \
                 from the Rekaz dashboard, and check that the tenant id and API key sources \
                 are not swapped",
                tenant.chars().count()
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
    if value
        .chars()
        .any(|character| character.is_control() && character != '\t')
    {
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
    fn secret_with_tab_is_valid() {
        assert!(validate_text("API secret", "abc\t", "env:S").is_ok());
    }

    #[test]
    fn secret_with_other_control_character_is_invalid() {
        assert!(validate_text("API secret", "abc\u{7}", "env:S").is_err());
    }

    #[test]
    fn tenant_error_hides_the_value() {
        let error = validate_tenant("SuperSecretValue987", "env:T")
            .unwrap_err()
            .to_string();
        assert!(!error.contains("SuperSecretValue987"), "{error}");
    }

    #[test]
    fn tenant_error_names_source_shape_and_length() {
        let error = validate_tenant("SuperSecretValue987", "env:T")
            .unwrap_err()
            .to_string();
        assert!(error.contains("env:T"), "{error}");
        assert!(error.contains("a GUID like 3a1f3638-"), "{error}");
        assert!(error.contains("got 19 characters"), "{error}");
    }
}
