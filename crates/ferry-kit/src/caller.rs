//! Who is calling: the principal the gateway authenticated, for records that say who did
//! what (a revision's creator, a rollout's initiator, a host's `cordoned_by`, a release
//! gate's approver).
//!
//! The gateway removes any `x-ferry-caller` a client sends and sets it to the principal it
//! authenticated (`users/vera`, `serviceAccounts/ci`) before forwarding. The service kit's
//! edge layer reads it into a task-local for the call, so handlers ask [`current`] instead
//! of threading the request's metadata through every function. The header is informational,
//! not a credential: services trust it because only the gateway should reach them (put
//! them on a private network); authorization is the gateway's alone.

use std::future::Future;

/// The header the gateway sets to the authenticated principal.
pub const CALLER_HEADER: &str = "x-ferry-caller";

/// Longest principal accepted from the header; longer values are ignored.
const MAX_LEN: usize = 256;

tokio::task_local! {
    static CALLER: String;
}

/// The principal of the call being served (`users/vera`), or an empty string outside a
/// call, for calls that did not come through an authenticating gateway, and for values
/// that do not look like a principal.
pub fn current() -> String {
    CALLER.try_with(Clone::clone).unwrap_or_default()
}

/// The principal a header value names, if it looks like one: `users/<id>` or
/// `serviceAccounts/<id>` with a printable id of at most 256 bytes in all.
pub fn parse(value: Option<&str>) -> String {
    let Some(value) = value else {
        return String::new();
    };
    let well_formed = value.len() <= MAX_LEN
        && ["users/", "serviceAccounts/"].iter().any(|kind| {
            value.strip_prefix(kind).is_some_and(|id| {
                !id.is_empty() && id.bytes().all(|b| b.is_ascii_graphic() && b != b'/')
            })
        });
    if well_formed {
        value.to_string()
    } else {
        String::new()
    }
}

/// Runs `future` as a call made by `principal` (what the edge layer does per call; tests
/// use it to act as someone).
pub async fn scope<F: Future>(principal: String, future: F) -> F::Output {
    CALLER.scope(principal, future).await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn current_is_the_scoped_principal_and_empty_outside() {
        assert_eq!(current(), "");
        let inside = scope("users/vera".into(), async { current() }).await;
        assert_eq!(inside, "users/vera");
        assert_eq!(current(), "");
    }

    #[test]
    fn only_principals_are_accepted() {
        assert_eq!(parse(Some("users/vera")), "users/vera");
        assert_eq!(
            parse(Some("serviceAccounts/ci-bot")),
            "serviceAccounts/ci-bot"
        );
        for bad in ["", "vera", "users/", "users/a/b", "groups/x", "users/v era"] {
            assert_eq!(parse(Some(bad)), "", "{bad:?}");
        }
        assert_eq!(parse(Some(&format!("users/{}", "a".repeat(300)))), "");
        assert_eq!(parse(None), "");
    }
}
