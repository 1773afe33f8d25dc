//! Hints for the fields whose format is known, for the diagnosis of a validation failure.

/// An example GUID in the 8-4-4-4-12 form Rekaz ids use.
const GUID_HINT: &str = "a GUID such as 3fa85f64-5717-4562-b3fc-2c963f66afa6";

/// An example ISO 8601 timestamp, the form the quick start requires.
const TIMESTAMP_HINT: &str = "an ISO 8601 date and time such as 2026-12-05T09:00:00Z";

/// Returns what Rekaz expects in `field`, or `None` when the format is not known.
///
/// `field` is a name as Rekaz reports it: PascalCase (`PriceId`), camelCase (`priceId`),
/// dotted and indexed (`Items[0].PriceId`) or a System.Text.Json path (`$.startAt`). Only the
/// last segment decides.
pub fn hint_for(field: &str) -> Option<&'static str> {
    let segment = last_segment(field);
    let lower = segment.to_ascii_lowercase();

    if field.trim() == "$" {
        return Some("a JSON object; the body is not valid JSON");
    }
    if segment.ends_with("Id") || segment.ends_with("ID") || lower == "id" {
        return Some(GUID_HINT);
    }
    if segment.ends_with("At") || lower.contains("date") || lower.contains("time") {
        return Some(TIMESTAMP_HINT);
    }
    if lower.contains("mobile") || lower.contains("phone") {
        return Some("a mobile number sent as a JSON string of digits without spaces");
    }
    known_name(&lower)
}

fn known_name(lower: &str) -> Option<&'static str> {
    let hint = match lower {
        "email" => "an e-mail address with exactly one @",
        "customertype" => "1 for an individual or 2 for a corporate customer",
        "quantity" | "minquantity" => "a whole number of at least 1",
        "items" => "a non-empty list of items, each with priceId and quantity",
        "discount" => "a number",
        "maxresultcount" => "a whole number; Rekaz caps it at 100",
        "skipcount" => "a whole number of 0 or more",
        "name" => "a non-empty string",
        _ => return None,
    };
    Some(hint)
}

/// Returns the last dotted segment without `[index]` parts: `Items[0].PriceId` -> `PriceId`.
fn last_segment(field: &str) -> &str {
    let last = field.rsplit('.').next().unwrap_or(field).trim();
    last.split('[').next().unwrap_or(last)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn id_fields_want_guids() {
        for field in [
            "PriceId",
            "priceId",
            "Items[0].PriceId",
            "$.customerId",
            "id",
        ] {
            assert_eq!(hint_for(field), Some(GUID_HINT), "{field}");
        }
    }

    #[test]
    fn date_fields_want_iso_8601() {
        for field in ["StartAt", "startAt", "StartDate", "EndDate", "$.startAt"] {
            assert_eq!(hint_for(field), Some(TIMESTAMP_HINT), "{field}");
        }
    }

    #[test]
    fn mobile_number_has_a_hint() {
        let hint = hint_for("CustomerDetails.MobileNumber").unwrap();
        assert!(hint.contains("mobile number"));
    }

    #[test]
    fn indexed_collection_field_is_known() {
        assert_eq!(
            hint_for("Items[0].Quantity"),
            Some("a whole number of at least 1")
        );
    }

    #[test]
    fn json_root_means_invalid_json() {
        assert!(hint_for("$").unwrap().contains("not valid JSON"));
    }

    #[test]
    fn unknown_field_has_no_hint() {
        assert_eq!(hint_for("Notes"), None);
    }
}
