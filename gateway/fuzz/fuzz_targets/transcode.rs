//! Fuzz target of the gateway's JSON transcoding: arbitrary method, path, query and body
//! go through the pure binding function ([`ferry_gateway::transcode::rules::Rules::transcode`]),
//! which must answer or refuse, never panic or hang. The same property runs as a bounded
//! proptest in the gateway's unit tests (`arbitrary_requests_never_panic`).

#![no_main]

use std::sync::OnceLock;

use ferry_gateway::transcode::rules::Rules;
use http::Method;
use libfuzzer_sys::fuzz_target;

fn rules() -> &'static Rules {
    static RULES: OnceLock<Rules> = OnceLock::new();
    RULES.get_or_init(|| Rules::ferry().expect("the API's http rules load"))
}

fuzz_target!(|data: &[u8]| {
    // Layout: method selector, then path, query and body separated by 0xFF bytes.
    let Some((&selector, rest)) = data.split_first() else {
        return;
    };
    let method = [
        Method::GET,
        Method::POST,
        Method::PATCH,
        Method::DELETE,
        Method::PUT,
    ][usize::from(selector) % 5]
        .clone();
    let mut parts = rest.splitn(3, |&byte| byte == 0xFF);
    let path = String::from_utf8_lossy(parts.next().unwrap_or_default());
    let query = parts.next().map(String::from_utf8_lossy);
    let body = parts.next().unwrap_or_default();
    let _ = rules().transcode(&method, &path, query.as_deref(), body);
});
