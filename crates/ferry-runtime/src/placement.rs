//! Choosing a host for an instance, for runtimes that place instances themselves
//! (Docker). Pure: plain data in, a decision out.

use crate::{HostState, HostStatus, Placement};

/// Why no host fits.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct NoHost(pub String);

/// Picks the host for an instance: a ready host in the asked region and zone, never one
/// of `excluded_hosts` (cordoned), not in `avoid_hosts` if another fits, with the fewest
/// instances (ties by name, so the choice is stable).
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
    let fitting: Vec<&HostStatus> = hosts.iter().filter(fits).collect();
    let candidates: Vec<&HostStatus> = fitting
        .iter()
        .copied()
        .filter(|host| !placement.excluded_hosts.contains(&host.name))
        .collect();
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
            if !fitting.is_empty() {
                let names: Vec<&str> = fitting.iter().map(|host| host.name.as_str()).collect();
                return NoHost(format!(
                    "every ready host that fits is excluded (cordoned): {}",
                    names.join(", ")
                ));
            }
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
            excluded_hosts: Vec::new(),
        }
    }

    fn excluding(placement: Placement, excluded: &[&str]) -> Placement {
        Placement {
            excluded_hosts: excluded.iter().map(|s| s.to_string()).collect(),
            ..placement
        }
    }

    #[test]
    fn excluded_hosts_are_never_chosen() {
        let hosts = vec![
            host("a", "eu", "eu-1", 0, HostState::Ready),
            host("b", "eu", "eu-1", 5, HostState::Ready),
            host("c", "eu", "eu-2", 0, HostState::Ready),
        ];
        // The least loaded host is excluded: the next one in the zone wins.
        assert_eq!(
            choose_host(
                &hosts,
                &excluding(placement(Some("eu"), Some("eu-1"), &[]), &["a"])
            )
            .unwrap()
            .name,
            "b"
        );
        // Unlike an avoided host, an excluded one is not a fallback.
        let error = choose_host(
            &hosts,
            &excluding(placement(Some("eu"), Some("eu-2"), &["c"]), &["c"]),
        )
        .unwrap_err();
        assert_eq!(
            error.0,
            "every ready host that fits is excluded (cordoned): c"
        );
        let error = choose_host(
            &hosts,
            &excluding(placement(None, None, &[]), &["a", "b", "c"]),
        )
        .unwrap_err();
        assert_eq!(
            error.0,
            "every ready host that fits is excluded (cordoned): a, b, c"
        );
        // Excluding a host that does not fit changes nothing.
        assert_eq!(
            choose_host(&hosts, &excluding(placement(None, None, &["a"]), &["x"]))
                .unwrap()
                .name,
            "c"
        );
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
