//! Removal of the proxy's secrets from what Rekaz sent, before a diagnosis reads it, and from
//! the finished diagnosis, before it is logged.

use http::{HeaderMap, HeaderValue};

use super::emit::Diagnosis;
use crate::credentials::{Redactor, REDACTED};

/// Returns `headers` with the values of `redactor` removed from every header value.
pub fn redact_headers(headers: &HeaderMap, redactor: &Redactor) -> HeaderMap {
    if redactor.is_empty() {
        return headers.clone();
    }
    let mut redacted = HeaderMap::with_capacity(headers.len());
    for (name, value) in headers {
        redacted.append(name, redact_header_value(value, redactor));
    }
    redacted
}

fn redact_header_value(value: &HeaderValue, redactor: &Redactor) -> HeaderValue {
    let text = String::from_utf8_lossy(value.as_bytes());
    if !redactor.contains_secret(&text) {
        return value.clone();
    }
    HeaderValue::from_str(&redactor.redact(&text))
        .unwrap_or_else(|_| HeaderValue::from_static(REDACTED))
}

/// Removes the values of `redactor` from every text of `diagnosis`.
pub fn redact_diagnosis(diagnosis: &mut Diagnosis, redactor: &Redactor) {
    if redactor.is_empty() {
        return;
    }
    let texts = [
        Some(&mut diagnosis.summary),
        Some(&mut diagnosis.hint),
        diagnosis.detail.as_mut(),
        diagnosis.trace_id.as_mut(),
        diagnosis.retry_after.as_mut(),
    ];
    for text in texts.into_iter().flatten() {
        *text = redactor.redact(text);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::diagnosis::Cause;

    fn redactor() -> Redactor {
        let mut redactor = Redactor::new();
        redactor.add_value("hunter2-secret");
        redactor
    }

    #[test]
    fn header_with_secret_is_redacted() {
        let mut headers = HeaderMap::new();
        headers.insert("location", HeaderValue::from_static("/x/hunter2-secret"));
        let redacted = redact_headers(&headers, &redactor());
        assert_eq!(redacted["location"], "/x/[redacted]");
    }

    #[test]
    fn repeated_headers_are_kept() {
        let mut headers = HeaderMap::new();
        headers.append("www-authenticate", HeaderValue::from_static("Bearer"));
        headers.append("www-authenticate", HeaderValue::from_static("Basic"));
        let redacted = redact_headers(&headers, &redactor());
        assert_eq!(redacted.get_all("www-authenticate").iter().count(), 2);
    }

    #[test]
    fn diagnosis_texts_are_redacted() {
        let mut diagnosis = Diagnosis::new(
            Cause::RequestRejected,
            "summary hunter2-secret",
            "hint hunter2-secret",
        )
        .with_detail(Some("detail hunter2-secret".to_owned()));
        redact_diagnosis(&mut diagnosis, &redactor());
        assert_eq!(diagnosis.summary, "summary [redacted]");
        assert_eq!(diagnosis.hint, "hint [redacted]");
        assert_eq!(diagnosis.detail.as_deref(), Some("detail [redacted]"));
    }
}
