//! The core proxy's contract, observed on the wire: what reaches Rekaz and what comes back.

mod common;

use common::*;

#[test]
fn query_and_path_reach_upstream_verbatim() {
    let upstream = RecordingUpstream::ok();
    let proxy = ProxyProcess::start(&upstream.url());

    let target = "/api//a%2Fb/%2520/c?x=1&x=2&y=%20&x=3";
    let response = raw_get(proxy.address(), target);

    assert_eq!(response.status, 200);
    assert_eq!(upstream.single_request().target, target);
}
