//! Paging of list endpoints with ABP's `skipCount` and `maxResultCount`.

use serde::Serialize;

use super::urlencoded::Pairs;
use super::validation::ValidationErrors;

/// Page size when the request gives no `maxResultCount`, as ABP's `PagedResultRequestDto`.
const DEFAULT_MAX_RESULT_COUNT: usize = 10;

/// Largest page Rekaz returns. Larger requests are capped without an error.
const MAX_MAX_RESULT_COUNT: usize = 100;

/// The requested window of a list.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct PageRequest {
    skip_count: usize,
    max_result_count: usize,
}

/// ABP's `PagedResultDto`: one page of items and the number of items in the whole list.
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct PagedResult<T> {
    items: Vec<T>,
    total_count: usize,
}

impl PageRequest {
    /// Reads `skipCount` (default 0) and `maxResultCount` (default 10, capped at 100) from the
    /// query. Records a failure in `errors` when a value is not an integer, `skipCount` is
    /// negative or `maxResultCount` is below 1, and uses the default for that value.
    pub(crate) fn from_query(query: &Pairs, errors: &mut ValidationErrors) -> Self {
        let skip_count = read_count(query, "SkipCount", 0, errors).unwrap_or(0);
        let max_result_count = read_count(query, "MaxResultCount", 1, errors)
            .unwrap_or(DEFAULT_MAX_RESULT_COUNT)
            .min(MAX_MAX_RESULT_COUNT);

        Self {
            skip_count,
            max_result_count,
        }
    }

    /// Copies the requested page out of `all`.
    pub(crate) fn apply<T: Clone>(self, all: &[T]) -> PagedResult<T> {
        let items = all
            .iter()
            .skip(self.skip_count)
            .take(self.max_result_count)
            .cloned()
            .collect();

        PagedResult {
            items,
            total_count: all.len(),
        }
    }
}

/// Reads a count parameter that must be at least `min`. Returns `None` when it is absent,
/// empty or invalid.
fn read_count(
    query: &Pairs,
    field: &str,
    min: i32,
    errors: &mut ValidationErrors,
) -> Option<usize> {
    let text = query
        .get_ignore_case(field)
        .filter(|text| !text.is_empty())?;

    let Ok(number) = text.parse::<i32>() else {
        let message = format!("The value '{text}' is not valid for {field}.");
        errors.push(field.to_owned(), message);
        return None;
    };
    if number < min {
        let message = format!("The field {field} must be between {min} and {}.", i32::MAX);
        errors.push(field.to_owned(), message);
        return None;
    }
    usize::try_from(number).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn page_request(query: &str) -> PageRequest {
        PageRequest::from_query(&Pairs::parse(query), &mut ValidationErrors::default())
    }

    #[test]
    fn page_defaults_to_ten_items() {
        let page = page_request("").apply(&[0; 25]);
        assert_eq!(page.items.len(), 10);
    }

    #[test]
    fn page_caps_max_result_count() {
        let page = page_request("maxResultCount=1000").apply(&[0; 250]);
        assert_eq!(page.items.len(), 100);
    }

    #[test]
    fn page_skips_requested_items() {
        let page = page_request("skipCount=3&maxResultCount=2").apply(&[0, 1, 2, 3, 4, 5]);
        assert_eq!(page.items, vec![3, 4]);
    }
}
