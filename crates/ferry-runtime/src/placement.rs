//! Choosing a host for an instance, for runtimes that place instances themselves
//! (Docker). Pure: plain data in, a decision out.

use crate::{HostState, HostStatus, Placement};

/// Why no host fits.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct NoHost(pub String);

/// Picks the host for an instance: a ready host in the asked region and zone, not in
/// `avoid_hosts` if another fits, with the fewest instances (ties by name, so the choice
/// is stable).
pub fn choose_host<'a>(
    hosts: &'a [HostStatus],
    placement: &Placement,
) -> Result<&'a HostStatus, NoHost> {
    let fits = |host: &&HostStatus| {
        host.state == HostState::Ready
            && placement
                .region
                .as_ref()
                .is_none_or(|region| &host.region == region)
            && placement
                .zone
                .as_ref()
                .is_none_or(|zone| &host.zone == zone)
    };
    let candidates: Vec<&HostStatus> = hosts.iter().filter(fits).collect();
    let preferred: Vec<&HostStatus> = candidates
        .iter()
        .copied()
        .filter(|host| !placement.avoid_hosts.contains(&host.name))
        .collect();
    let pool = if preferred.is_empty() {
        &candidates
    } else {
        &preferred
    };
    pool.iter()
        .min_by(|a, b| a.instance_count.cmp(&b.instance_count).then_with(|| a.name.cmp(&b.name)))
        .copied()
        .ok_or_else(|| {
            let ready = hosts.iter().filter(|host| host.state == HostState::Ready).count();
            NoHost(match (&placement.region, &placement.zone) {
                (None, _) => format!("none of the {} hosts is ready", hosts.len()),
                (Some(region), None) => {
                    format!("no ready host in region {region} ({ready} ready hosts elsewhere)")
                }
                (Some(region), Some(zone)) => format!(
                    "no ready host in zone {zone} of region {region} ({ready} ready hosts elsewhere)"
                ),
            })
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn host(name: &str, region: &str, zone: &str, count: u32, state: HostState) -> HostStatus {
        HostStatus {
            name: name.into(),
            region: region.into(),
            zone: zone.into(),
            instance_count: count,
            state,
            ..Default::default()
        }
    }

    fn placement(region: Option<&str>, zone: Option<&str>, avoid: &[&str]) -> Placement {
        Placement {
            region: region.map(str::to_string),
            zone: zone.map(str::to_string),
            avoid_hosts: avoid.iter().map(|s| s.to_string()).collect(),
        }
    }

    #[test]
    fn least_loaded_ready_host_in_the_zone_wins() {
        let hosts = vec![
            host("a", "eu", "eu-1", 0, HostState::Unreachable),
            host("b", "eu", "eu-1", 3, HostState::Ready),
            host("c", "eu", "eu-1", 1, HostState::Ready),
            host("d", "eu", "eu-2", 0, HostState::Ready),
        ];
        assert_eq!(
            choose_host(&hosts, &placement(Some("eu"), Some("eu-1"), &[]))
                .unwrap()
                .name,
            "c"
        );
        assert_eq!(
            choose_host(&hosts, &placement(Some("eu"), None, &[]))
                .unwrap()
                .name,
            "d"
        );
        assert_eq!(
            choose_host(&hosts, &placement(None, None, &["d"]))
                .unwrap()
                .name,
            "c"
        );
        // Avoided hosts are used when nothing else fits.
        assert_eq!(
            choose_host(&hosts, &placement(Some("eu"), Some("eu-2"), &["d"]))
                .unwrap()
                .name,
            "d"
        );
    }

    #[test]
    fn no_host_says_why() {
        let hosts = vec![host("a", "eu", "eu-1", 0, HostState::Ready)];
        let error = choose_host(&hosts, &placement(Some("us"), None, &[])).unwrap_err();
        assert_eq!(
            error.0,
            "no ready host in region us (1 ready hosts elsewhere)"
        );
        let error = choose_host(&[], &placement(None, None, &[])).unwrap_err();
        assert_eq!(error.0, "none of the 0 hosts is ready");
    }
}
