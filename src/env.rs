//! A snapshot of environment variables, passed explicitly so tests never mutate the process
//! environment.

use std::collections::HashMap;
use std::sync::Arc;

/// Environment variables taken once at start; cheap to clone.
#[derive(Clone, Default)]
pub struct EnvVars(Arc<HashMap<String, String>>);

impl EnvVars {
    /// Takes the current process environment, skipping variables that are not valid UTF-8.
    pub fn from_process() -> Self {
        Self(Arc::new(std::env::vars().collect()))
    }

    /// Returns the value of `name`, if set.
    pub fn get(&self, name: &str) -> Option<&str> {
        self.0.get(name).map(String::as_str)
    }

    /// Returns whether `name` is set, even to an empty value.
    pub fn contains(&self, name: &str) -> bool {
        self.0.contains_key(name)
    }

    pub(crate) fn as_map(&self) -> &HashMap<String, String> {
        &self.0
    }
}

impl<K: Into<String>, V: Into<String>> FromIterator<(K, V)> for EnvVars {
    fn from_iter<I: IntoIterator<Item = (K, V)>>(pairs: I) -> Self {
        let map = pairs
            .into_iter()
            .map(|(name, value)| (name.into(), value.into()))
            .collect();
        Self(Arc::new(map))
    }
}

/// Lists variable names only: values may be secrets.
impl std::fmt::Debug for EnvVars {
    fn fmt(&self, formatter: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let mut names: Vec<&String> = self.0.keys().collect();
        names.sort();
        formatter.debug_tuple("EnvVars").field(&names).finish()
    }
}
