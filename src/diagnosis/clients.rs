//! The clients already logged about, so a line meant for a client appears once per client.

use std::collections::HashSet;
use std::net::IpAddr;
use std::sync::{Mutex, PoisonError};

use http::HeaderValue;

use super::mask::truncate;

/// Most clients remembered; past it the set starts empty again.
const MAX_CLIENTS: usize = 1024;

/// Longest User-Agent kept, in characters.
const MAX_USER_AGENT_CHARS: usize = 120;

/// A client as the proxy identifies it: the peer's IP address and its User-Agent.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct ClientIdentity {
    /// The peer address, when the server recorded it.
    pub ip: Option<IpAddr>,
    /// The client's User-Agent, with control characters replaced and cut to 120 characters.
    pub user_agent: String,
}

impl ClientIdentity {
    /// Builds the identity from the peer address and the request's User-Agent header.
    pub fn new(ip: Option<IpAddr>, user_agent: Option<&HeaderValue>) -> Self {
        let user_agent = user_agent
            .map(|value| String::from_utf8_lossy(value.as_bytes()).into_owned())
            .unwrap_or_default()
            .chars()
            .map(|character| {
                if character.is_control() {
                    ' '
                } else {
                    character
                }
            })
            .collect();
        ClientIdentity {
            ip,
            user_agent: truncate(user_agent, MAX_USER_AGENT_CHARS),
        }
    }

    /// Describes the client for a log line: `127.0.0.1 with User-Agent "curl/8.5.0"`.
    pub fn describe(&self) -> String {
        let ip = self
            .ip
            .map_or_else(|| "unknown address".to_owned(), |ip| ip.to_string());
        if self.user_agent.is_empty() {
            return format!("{ip} without a User-Agent");
        }
        format!("{ip} with User-Agent {:?}", self.user_agent)
    }
}

/// Clients that were already logged about.
#[derive(Debug, Default)]
pub struct SeenClients(Mutex<HashSet<ClientIdentity>>);

impl SeenClients {
    /// Records `client`; returns true the first time it is seen.
    ///
    /// NOTE: after [`MAX_CLIENTS`] distinct clients the set is cleared, so a client may be
    /// logged about a second time; this bounds the memory a stream of new clients can take.
    pub fn first_sighting(&self, client: &ClientIdentity) -> bool {
        let mut seen = self.0.lock().unwrap_or_else(PoisonError::into_inner);
        if seen.contains(client) {
            return false;
        }
        if seen.len() >= MAX_CLIENTS {
            seen.clear();
        }
        seen.insert(client.clone());
        true
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn client(ip: &str, agent: &str) -> ClientIdentity {
        ClientIdentity::new(
            ip.parse().ok(),
            Some(&HeaderValue::from_str(agent).unwrap()),
        )
    }

    #[test]
    fn same_client_is_seen_once() {
        let seen = SeenClients::default();
        assert!(seen.first_sighting(&client("127.0.0.1", "curl/8.5.0")));
        assert!(!seen.first_sighting(&client("127.0.0.1", "curl/8.5.0")));
    }

    #[test]
    fn other_user_agent_is_another_client() {
        let seen = SeenClients::default();
        seen.first_sighting(&client("127.0.0.1", "curl/8.5.0"));
        assert!(seen.first_sighting(&client("127.0.0.1", "python-requests/2.32")));
    }

    #[test]
    fn other_address_is_another_client() {
        let seen = SeenClients::default();
        seen.first_sighting(&client("127.0.0.1", "curl/8.5.0"));
        assert!(seen.first_sighting(&client("127.0.0.2", "curl/8.5.0")));
    }

    #[test]
    fn describe_names_address_and_agent() {
        let described = client("127.0.0.1", "curl/8.5.0").describe();
        assert_eq!(described, r#"127.0.0.1 with User-Agent "curl/8.5.0""#);
    }

    #[test]
    fn full_set_starts_again() {
        let seen = SeenClients::default();
        for index in 0..MAX_CLIENTS {
            seen.first_sighting(&client("127.0.0.1", &format!("agent/{index}")));
        }
        assert!(seen.first_sighting(&client("127.0.0.1", "one-more/1")));
        assert!(seen.first_sighting(&client("127.0.0.1", "agent/0")));
    }
}
