//! The open-file limit and how many client connections fit in it.

use rustix::process::{getrlimit, setrlimit, Resource, Rlimit};

/// Descriptors kept free for everything but client connections and their connections to Rekaz:
/// the runtime, both listeners, admin and metrics requests, secret files and their watches,
/// credential commands, and log output. An estimate with room to spare: an idle proxy holds about
/// 15 descriptors.
const RESERVED_DESCRIPTORS: u64 = 64;

/// Raises the soft open-file limit to the hard limit, so the proxy can hold as many
/// connections as the system allows.
pub fn raise_open_file_limit() {
    let limit = getrlimit(Resource::Nofile);
    if limit.current != limit.maximum {
        let raised = Rlimit {
            current: limit.maximum,
            maximum: limit.maximum,
        };
        match setrlimit(Resource::Nofile, raised) {
            Ok(()) => tracing::debug!(
                from = limit.current,
                to = limit.maximum,
                "raised the open-file limit"
            ),
            Err(error) => tracing::debug!(%error, "cannot raise the open-file limit"),
        }
    }
}

/// Returns how many client connections to serve at once: `max_connections`, lowered with a
/// warning when the open-file limit cannot hold one descriptor for each plus
/// [`RESERVED_DESCRIPTORS`], so the admin listener keeps descriptors to serve probes.
///
/// A connection with a request in flight also holds one to Rekaz, so a limit below two per
/// connection gets a warning but no lower cap: idle keep-alive connections, the common case for
/// a sidecar, hold one descriptor each, and a request that finds no descriptor fails alone with
/// 502 while accepting backs off.
pub fn connection_capacity(max_connections: usize) -> usize {
    let Some(open_files) = getrlimit(Resource::Nofile).current else {
        return max_connections;
    };
    let available =
        usize::try_from(open_files.saturating_sub(RESERVED_DESCRIPTORS)).unwrap_or(usize::MAX);
    let fitting = available.max(1);
    if fitting < max_connections {
        tracing::warn!(
            max_connections,
            open_file_limit = open_files,
            serving = fitting,
            "the open-file limit (ulimit -n) holds fewer connections than limits.max_connections, \
             so the proxy serves at most {fitting} client connections at once; raise the limit, \
             or lower limits.max_connections to silence this warning"
        );
        return fitting;
    }
    if available / 2 < max_connections {
        tracing::warn!(
            max_connections,
            open_file_limit = open_files,
            "the open-file limit (ulimit -n) cannot hold a connection to Rekaz for every client \
             connection at once; under full load some requests may fail with 502 \"too many open \
             files\"; raise the limit, or lower limits.max_connections"
        );
    }
    max_connections
}
