//! Removal of the proxy's secret values from texts that came from elsewhere, such as Rekaz's
//! error messages, before those texts are logged or returned.
//!
//! An upstream may echo what it was sent: an `error_description` that quotes the form body, or
//! a 400 body that repeats the `Authorization` header. The proxy has the exact values, so it
//! replaces each of them, in every encoding it sent them in, with [`REDACTED`].

use std::fmt;
use std::sync::Arc;

use arc_swap::ArcSwap;
use base64::engine::general_purpose::STANDARD;
use base64::Engine;
use percent_encoding::{utf8_percent_encode, NON_ALPHANUMERIC};
use secrecy::{ExposeSecret, SecretString};

/// Replacement for a secret value found in a text.
pub const REDACTED: &str = "[redacted]";

/// Secret values, each in the forms it is sent in, to remove from texts.
#[derive(Clone, Default)]
pub struct Redactor {
    /// Distinct, non-empty forms, longest first, so a value is replaced before any shorter
    /// value it contains.
    forms: Vec<SecretString>,
}

impl Redactor {
    /// Creates a redactor that removes nothing.
    pub fn new() -> Self {
        Self::default()
    }

    /// Creates a redactor for Basic mode: the API secret, `base64(key:secret)` with and without
    /// `Basic `, and `base64(secret:key)`, which the probe for swapped values sends.
    pub(super) fn for_api_key(key: &str, secret: &str) -> Self {
        let mut redactor = Redactor::new();
        redactor.add_value(secret);
        for pair in [format!("{key}:{secret}"), format!("{secret}:{key}")] {
            let pair = SecretString::from(pair);
            let encoded = SecretString::from(STANDARD.encode(pair.expose_secret()));
            redactor.add_form(SecretString::from(format!(
                "Basic {}",
                encoded.expose_secret()
            )));
            redactor.add_value(encoded.expose_secret());
        }
        redactor
    }

    /// Adds `value` as it is and in the two encodings a form body or URL gives it:
    /// `application/x-www-form-urlencoded` (space as `+`) and percent-encoding.
    pub fn add_value(&mut self, value: &str) {
        let form_encoded: String = url::form_urlencoded::byte_serialize(value.as_bytes()).collect();
        let percent_encoded = utf8_percent_encode(value, NON_ALPHANUMERIC).to_string();
        for form in [value.to_owned(), form_encoded, percent_encoded] {
            self.add_form(SecretString::from(form));
        }
    }

    /// Adds `value` only as it is, for values with one form, such as a whole header value.
    pub fn add_exact(&mut self, value: &str) {
        self.add_form(SecretString::from(value.to_owned()));
    }

    /// Adds every form of `other`.
    pub fn extend(&mut self, other: &Redactor) {
        for form in &other.forms {
            self.add_form(form.clone());
        }
    }

    /// Returns whether no value is known.
    pub fn is_empty(&self) -> bool {
        self.forms.is_empty()
    }

    /// Returns `text` with every known form replaced by [`REDACTED`]. The text is scanned once
    /// from the start, so a replacement is never searched again.
    pub fn redact(&self, text: &str) -> String {
        if !self.contains_secret(text) {
            return text.to_owned();
        }
        let mut redacted = String::with_capacity(text.len());
        let mut rest = text;
        while let Some(character) = rest.chars().next() {
            match self.form_at_start(rest) {
                Some(length) => {
                    redacted.push_str(REDACTED);
                    rest = &rest[length..];
                }
                None => {
                    redacted.push(character);
                    rest = &rest[character.len_utf8()..];
                }
            }
        }
        redacted
    }

    /// Returns whether `text` contains any known form.
    pub fn contains_secret(&self, text: &str) -> bool {
        self.forms
            .iter()
            .any(|form| text.contains(form.expose_secret()))
    }

    /// Returns the length of the longest form that `text` starts with.
    fn form_at_start(&self, text: &str) -> Option<usize> {
        self.forms
            .iter()
            .map(|form| form.expose_secret())
            .find(|form| text.starts_with(form))
            .map(str::len)
    }

    fn add_form(&mut self, form: SecretString) {
        let text = form.expose_secret();
        if text.is_empty() || self.forms.iter().any(|known| known.expose_secret() == text) {
            return;
        }
        let position = self
            .forms
            .iter()
            .position(|known| known.expose_secret().len() < text.len())
            .unwrap_or(self.forms.len());
        self.forms.insert(position, form);
    }
}

/// Never prints a value, only how many forms are known.
impl fmt::Debug for Redactor {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        formatter
            .debug_struct("Redactor")
            .field("forms", &self.forms.len())
            .finish()
    }
}

/// The access and refresh tokens issued lately, shared by the token manager, which replaces
/// them, and every set of credentials of one store, which redacts them.
#[derive(Debug, Default)]
pub struct IssuedTokens(ArcSwap<Redactor>);

impl IssuedTokens {
    /// Replaces the known tokens with those in `tokens`.
    pub fn replace(&self, tokens: Redactor) {
        self.0.store(Arc::new(tokens));
    }

    /// Returns the known tokens.
    pub fn current(&self) -> Arc<Redactor> {
        self.0.load_full()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn redactor(values: &[&str]) -> Redactor {
        let mut redactor = Redactor::new();
        for value in values {
            redactor.add_value(value);
        }
        redactor
    }

    #[test]
    fn plain_value_is_replaced() {
        let redacted = redactor(&["hunter2-secret"]).redact("the secret hunter2-secret is wrong");
        assert_eq!(redacted, "the secret [redacted] is wrong");
    }

    #[test]
    fn form_encoded_value_is_replaced() {
        let redacted = redactor(&["pass word&1"]).redact("password=pass+word%261&scope=x");
        assert_eq!(redacted, "password=[redacted]&scope=x");
    }

    #[test]
    fn percent_encoded_value_is_replaced() {
        let redacted = redactor(&["pass word&1"]).redact("password=pass%20word%261");
        assert_eq!(redacted, "password=[redacted]");
    }

    #[test]
    fn longer_value_is_replaced_whole() {
        let mut redactor = redactor(&["secret"]);
        redactor.add_exact("Basic secret-and-more");
        assert_eq!(redactor.redact("Basic secret-and-more!"), "[redacted]!");
    }

    #[test]
    fn replacement_is_not_searched_again() {
        assert_eq!(redactor(&["act"]).redact("act"), "[redacted]");
    }

    #[test]
    fn text_without_secret_is_unchanged() {
        let text = "Invalid username or password!";
        assert_eq!(redactor(&["hunter2-secret"]).redact(text), text);
    }

    #[test]
    fn multibyte_text_is_kept() {
        let redacted = redactor(&["sec"]).redact("«sec» مستخدم");
        assert_eq!(redacted, "«[redacted]» مستخدم");
    }

    #[test]
    fn debug_shows_no_value() {
        let printed = format!("{:?}", redactor(&["hunter2-secret"]));
        assert!(!printed.contains("hunter2"), "{printed}");
    }
}
