//! Model binding and validation of JSON request bodies, with ASP.NET Core's messages.
//!
//! Field names are PascalCase property names, dotted and indexed for nested values
//! (`Items[0].PriceId`). JSON property names match them ignoring case, and numbers may arrive
//! as strings, as with ASP.NET Core's web defaults for System.Text.Json.

use serde_json::{Map, Value};
use uuid::Uuid;

use super::errors::ApiError;
use super::timestamp::is_iso8601_timestamp;

/// One validation failure: the field's path and ASP.NET Core's message for it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct FieldError {
    /// PascalCase path such as `MobileNumber` or `Items[0].PriceId`.
    pub(crate) field: String,
    /// Message that names the property and, for conversion failures, echoes the value.
    pub(crate) message: String,
}

impl FieldError {
    /// Returns the path as ABP lists it in `members`: each segment starts in lower case.
    pub(crate) fn member_name(&self) -> String {
        self.field
            .split('.')
            .map(lower_first)
            .collect::<Vec<_>>()
            .join(".")
    }
}

/// All failures found in one request, in the order the fields were checked.
#[derive(Debug, Default)]
pub(crate) struct ValidationErrors(Vec<FieldError>);

impl ValidationErrors {
    /// Records a failure of `field`.
    pub(crate) fn push(&mut self, field: String, message: String) {
        self.0.push(FieldError { field, message });
    }

    /// Iterates over the failures in the order they were recorded.
    pub(crate) fn iter(&self) -> impl Iterator<Item = &FieldError> {
        self.0.iter()
    }

    /// Returns `value` when no failure was recorded, else the 400 error.
    pub(crate) fn into_result<T>(self, value: T) -> Result<T, ApiError> {
        if self.0.is_empty() {
            Ok(value)
        } else {
            Err(ApiError::Validation(self))
        }
    }
}

/// Reads the properties of one JSON object, recording a failure for each invalid one.
pub(crate) struct ObjectReader<'a> {
    object: &'a Map<String, Value>,
    prefix: String,
}

impl<'a> ObjectReader<'a> {
    /// Creates a reader whose field paths start with `prefix`, such as `Items[0].`.
    pub(crate) fn new(object: &'a Map<String, Value>, prefix: String) -> Self {
        Self { object, prefix }
    }

    /// Reads a string that is not blank, as ASP.NET Core binds a `[Required] string`.
    pub(crate) fn required_string(&self, field: &str, errors: &mut ValidationErrors) -> String {
        match self.value(field) {
            None => self.required(field, errors),
            Some(Value::String(text)) if text.trim().is_empty() => self.required(field, errors),
            Some(Value::String(text)) => return text.clone(),
            Some(other) => self.not_valid(field, other, errors),
        }
        String::new()
    }

    /// Reads an optional e-mail address, checked like .NET's `[EmailAddress]`: exactly one `@`,
    /// neither first nor last.
    pub(crate) fn optional_email(
        &self,
        field: &str,
        errors: &mut ValidationErrors,
    ) -> Option<String> {
        match self.value(field)? {
            Value::String(text) if is_email_address(text) => Some(text.clone()),
            Value::String(_) => {
                let message = format!("The {field} field is not a valid e-mail address.");
                errors.push(self.path(field), message);
                None
            }
            other => {
                self.not_valid(field, other, errors);
                None
            }
        }
    }

    /// Reads a required GUID string.
    pub(crate) fn required_guid(&self, field: &str, errors: &mut ValidationErrors) -> Uuid {
        match self.value(field) {
            None => self.required(field, errors),
            Some(value) => match value.as_str().map(Uuid::parse_str) {
                Some(Ok(id)) => return id,
                _ => self.not_valid(field, value, errors),
            },
        }
        Uuid::nil()
    }

    /// Reads a required ISO 8601 timestamp and returns it as sent.
    pub(crate) fn required_timestamp(&self, field: &str, errors: &mut ValidationErrors) -> String {
        match self.value(field) {
            None => self.required(field, errors),
            Some(Value::String(text)) if is_iso8601_timestamp(text) => return text.clone(),
            Some(other) => self.not_valid(field, other, errors),
        }
        String::new()
    }

    /// Reads a 32-bit integer in `min..=max`, as ASP.NET Core binds a `[Range] int`. A missing
    /// value is 0, so it fails a range that excludes 0.
    pub(crate) fn int_in_range(
        &self,
        field: &str,
        (min, max): (i32, i32),
        errors: &mut ValidationErrors,
    ) -> i32 {
        let number = match self.value(field) {
            None => 0,
            Some(value) => match as_i32(value) {
                Some(number) => number,
                None => {
                    self.not_valid(field, value, errors);
                    return 0;
                }
            },
        };

        if !(min..=max).contains(&number) {
            let message = format!("The field {field} must be between {min} and {max}.");
            errors.push(self.path(field), message);
        }
        number
    }

    /// Reads a decimal number. A missing value is 0.
    pub(crate) fn number(&self, field: &str, errors: &mut ValidationErrors) -> f64 {
        let Some(value) = self.value(field) else {
            return 0.0;
        };
        let number = match value {
            Value::Number(number) => number.as_f64(),
            Value::String(text) => text.parse::<f64>().ok().filter(|number| number.is_finite()),
            _ => None,
        };

        number.unwrap_or_else(|| {
            self.not_valid(field, value, errors);
            0.0
        })
    }

    /// Reads an array with at least one element, as ASP.NET Core binds a `[Required, MinLength(1)]`
    /// list.
    pub(crate) fn required_array(&self, field: &str, errors: &mut ValidationErrors) -> &'a [Value] {
        match self.value(field) {
            None => self.required(field, errors),
            Some(Value::Array(items)) if items.is_empty() => {
                let message = format!(
                    "The field {field} must be a string or array type with a minimum length of '1'."
                );
                errors.push(self.path(field), message);
            }
            Some(Value::Array(items)) => return items,
            Some(other) => self.not_valid(field, other, errors),
        }
        &[]
    }

    /// Finds the property whose name equals `field` ignoring case. JSON `null` counts as missing.
    fn value(&self, field: &str) -> Option<&'a Value> {
        self.object
            .iter()
            .find(|(name, _)| name.eq_ignore_ascii_case(field))
            .map(|(_, value)| value)
            .filter(|value| !value.is_null())
    }

    /// Returns the full path of `field`.
    fn path(&self, field: &str) -> String {
        format!("{}{field}", self.prefix)
    }

    /// Records ASP.NET Core's message for a missing required value.
    fn required(&self, field: &str, errors: &mut ValidationErrors) {
        errors.push(self.path(field), format!("The {field} field is required."));
    }

    /// Records ASP.NET Core's message for a value that does not convert, echoing the value.
    fn not_valid(&self, field: &str, value: &Value, errors: &mut ValidationErrors) {
        let raw = match value {
            Value::String(text) => text.clone(),
            other => other.to_string(),
        };
        errors.push(
            self.path(field),
            format!("The value '{raw}' is not valid for {field}."),
        );
    }
}

/// Parses the `{id}` segment of a path as a GUID.
///
/// # Errors
///
/// Returns a 400 naming `id`, as ASP.NET Core's binding of a `Guid id` parameter does.
pub(crate) fn parse_path_id(text: &str) -> Result<Uuid, ApiError> {
    Uuid::parse_str(text).map_err(|_| {
        let mut errors = ValidationErrors::default();
        errors.push("id".to_owned(), format!("The value '{text}' is not valid."));
        ApiError::Validation(errors)
    })
}

/// Converts a JSON number, or a string holding one, to a 32-bit integer.
fn as_i32(value: &Value) -> Option<i32> {
    match value {
        Value::Number(number) => number
            .as_i64()
            .and_then(|number| i32::try_from(number).ok()),
        Value::String(text) => text.parse().ok(),
        _ => None,
    }
}

/// Returns true when `text` passes .NET's `EmailAddressAttribute`.
fn is_email_address(text: &str) -> bool {
    let mut at_signs = text.match_indices('@');
    match (at_signs.next(), at_signs.next()) {
        (Some((index, _)), None) => index > 0 && index + 1 < text.len(),
        _ => false,
    }
}

/// Lower-cases the first character, as ABP's `ToCamelCase` does.
fn lower_first(segment: &str) -> String {
    let mut characters = segment.chars();
    match characters.next() {
        Some(first) => first.to_lowercase().chain(characters).collect(),
        None => String::new(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn member_name_lowers_each_segment() {
        let error = FieldError {
            field: "Items[0].PriceId".to_owned(),
            message: String::new(),
        };
        assert_eq!(error.member_name(), "items[0].priceId");
    }

    #[test]
    fn email_needs_one_inner_at_sign() {
        assert!(is_email_address("a@b"));
        assert!(!is_email_address("@b"));
        assert!(!is_email_address("a@"));
        assert!(!is_email_address("a@b@c"));
        assert!(!is_email_address("ab"));
    }
}
