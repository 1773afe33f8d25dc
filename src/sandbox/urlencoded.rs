//! Decoding of `application/x-www-form-urlencoded` text, used for query strings and the token
//! endpoint's form body.

use percent_encoding::percent_decode_str;

/// Decoded name and value pairs in their original order.
pub(crate) struct Pairs(Vec<(String, String)>);

impl Pairs {
    /// Decodes `text`. `+` is a space, invalid UTF-8 is replaced, and empty pieces are skipped.
    pub(crate) fn parse(text: &str) -> Self {
        let pairs = text
            .split('&')
            .filter(|piece| !piece.is_empty())
            .map(|piece| {
                let (name, value) = piece.split_once('=').unwrap_or((piece, ""));
                (decode(name), decode(value))
            })
            .collect();
        Self(pairs)
    }

    /// Returns the first value of `name`, matched exactly.
    pub(crate) fn get(&self, name: &str) -> Option<&str> {
        self.0
            .iter()
            .find(|(candidate, _)| candidate == name)
            .map(|(_, value)| value.as_str())
    }

    /// Returns the first value of `name`, matched ignoring ASCII case as ASP.NET Core binds
    /// query parameters.
    pub(crate) fn get_ignore_case(&self, name: &str) -> Option<&str> {
        self.0
            .iter()
            .find(|(candidate, _)| candidate.eq_ignore_ascii_case(name))
            .map(|(_, value)| value.as_str())
    }
}

/// Decodes one form-encoded name or value.
fn decode(text: &str) -> String {
    let spaced = text.replace('+', " ");
    percent_decode_str(&spaced).decode_utf8_lossy().into_owned()
}

#[cfg(test)]
mod tests {
    use super::Pairs;

    #[test]
    fn parse_decodes_plus_and_percent() {
        let pairs = Pairs::parse("scope=Platform+offline_access&password=a%26b%3D");
        assert_eq!(pairs.get("scope"), Some("Platform offline_access"));
        assert_eq!(pairs.get("password"), Some("a&b="));
    }

    #[test]
    fn get_ignore_case_matches_any_case() {
        let pairs = Pairs::parse("MaxResultCount=5");
        assert_eq!(pairs.get_ignore_case("maxResultCount"), Some("5"));
    }
}
