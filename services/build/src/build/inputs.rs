//! A build's inputs as one fingerprint, for the input cache: a build whose inputs match
//! those of an earlier successful build records that build's image again (a new
//! version, the same digest) instead of running the scripts, so a rebuild of an
//! unchanged commit takes as long as the fetch.
//!
//! The inputs are everything the image depends on that Ferry can pin: the workspace tar
//! (the commit's tree, sub-directory and submodules), the build configuration (scripts,
//! mode, build arguments, plain environment values, resources), the image's target
//! repository, the builder (kind and the builder image's id), the secret environment
//! values (hashed), and the base images (by digest or engine image id). What cannot be
//! pinned leaves no fingerprint, and the build runs: a Dockerfile the build script writes,
//! a `FROM` line with a variable, a base image the engine does not have. Scripts that
//! fetch from the network are not pinned either: `disable_cache` on the build request
//! runs everything again.

use prost::Message as _;
use sha2::{Digest as _, Sha256};

use ferry_proto::ferry::build::v1::BuildConfig;

/// The pinned inputs of a build.
#[derive(Clone, Debug, Default)]
pub struct Inputs<'a> {
    /// The builder kind (`docker`, `kubernetes`).
    pub builder: &'a str,
    /// The builder image's id (or pinned reference).
    pub builder_image: &'a str,
    /// The workspace tar as fetched.
    pub workspace: &'a [u8],
    /// The build configuration.
    pub config: Option<&'a BuildConfig>,
    /// Where the image goes (`registry/repository`).
    pub target: &'a str,
    /// Secret environment values by variable name.
    pub secrets: Vec<(String, Vec<u8>)>,
    /// Base images: reference and pinned id or digest.
    pub bases: Vec<(String, String)>,
}

/// The fingerprint of `inputs` (hex SHA-256 over length-prefixed fields; secret values
/// enter only as their own hashes).
pub fn fingerprint(inputs: &Inputs<'_>) -> String {
    let mut hasher = Sha256::new();
    let mut field = |bytes: &[u8]| {
        hasher.update((bytes.len() as u64).to_be_bytes());
        hasher.update(bytes);
    };
    field(b"ferry-build-inputs/v1");
    field(inputs.builder.as_bytes());
    field(inputs.builder_image.as_bytes());
    field(&Sha256::digest(inputs.workspace));
    field(
        &inputs
            .config
            .map(|config| config.encode_to_vec())
            .unwrap_or_default(),
    );
    field(inputs.target.as_bytes());
    let mut secrets: Vec<&(String, Vec<u8>)> = inputs.secrets.iter().collect();
    secrets.sort();
    field(&(secrets.len() as u64).to_be_bytes());
    for (name, value) in secrets {
        field(name.as_bytes());
        field(&Sha256::digest(value));
    }
    let mut bases: Vec<&(String, String)> = inputs.bases.iter().collect();
    bases.sort();
    field(&(bases.len() as u64).to_be_bytes());
    for (reference, pinned) in bases {
        field(reference.as_bytes());
        field(pinned.as_bytes());
    }
    hasher
        .finalize()
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// The images a Dockerfile builds from (`FROM` lines, without `scratch` and without
/// earlier stages named `AS`), or `None` when one cannot be known before the build (a
/// variable in a `FROM` line).
pub fn dockerfile_bases(dockerfile: &str) -> Option<Vec<String>> {
    let mut stages: Vec<String> = Vec::new();
    let mut bases = Vec::new();
    for line in dockerfile.lines().map(str::trim) {
        if line.len() < 5 || !line[..5].eq_ignore_ascii_case("from ") {
            continue;
        }
        let words: Vec<&str> = line[5..]
            .split_whitespace()
            .filter(|word| !word.starts_with("--"))
            .collect();
        let Some(image) = words.first() else {
            continue;
        };
        if image.contains('$') {
            return None;
        }
        let lower = image.to_ascii_lowercase();
        if lower != "scratch" && !stages.contains(&lower) && !bases.contains(&image.to_string()) {
            bases.push(image.to_string());
        }
        if let [_, keyword, stage, ..] = words.as_slice()
            && keyword.eq_ignore_ascii_case("as")
        {
            stages.push(stage.to_ascii_lowercase());
        }
    }
    Some(bases)
}

#[cfg(test)]
mod tests {
    use super::*;
    use ferry_proto::ferry::build::v1::TestConfig;

    fn base_inputs<'a>(config: &'a BuildConfig, workspace: &'a [u8]) -> Inputs<'a> {
        Inputs {
            builder: "docker",
            builder_image: "sha256:b1",
            workspace,
            config: Some(config),
            target: "127.0.0.1:5000/applications/web",
            secrets: vec![("TOKEN".into(), b"s3cret".to_vec())],
            bases: vec![("busybox:1".into(), "sha256:aa".into())],
        }
    }

    #[test]
    fn equal_inputs_give_equal_fingerprints_and_any_change_another() {
        let config = BuildConfig {
            build_script: "make".into(),
            test: Some(TestConfig {
                script: "make test".into(),
                ..Default::default()
            }),
            ..Default::default()
        };
        let workspace = b"tar bytes".to_vec();
        let reference = fingerprint(&base_inputs(&config, &workspace));
        assert_eq!(reference.len(), 64);
        assert_eq!(fingerprint(&base_inputs(&config, &workspace)), reference);
        // Order of secrets and bases does not matter.
        let mut reordered = base_inputs(&config, &workspace);
        reordered.secrets.push(("A".into(), b"1".to_vec()));
        reordered
            .bases
            .push(("alpine:3".into(), "sha256:bb".into()));
        let mut other_order = base_inputs(&config, &workspace);
        other_order.secrets.insert(0, ("A".into(), b"1".to_vec()));
        other_order
            .bases
            .insert(0, ("alpine:3".into(), "sha256:bb".into()));
        assert_eq!(fingerprint(&reordered), fingerprint(&other_order));

        let changed_config = BuildConfig {
            build_script: "make all".into(),
            ..config.clone()
        };
        let other_workspace = b"tar bytes!".to_vec();
        let mut variants = vec![
            fingerprint(&base_inputs(&changed_config, &workspace)),
            fingerprint(&base_inputs(&config, &other_workspace)),
        ];
        let mut inputs = base_inputs(&config, &workspace);
        inputs.builder = "kubernetes";
        variants.push(fingerprint(&inputs));
        let mut inputs = base_inputs(&config, &workspace);
        inputs.builder_image = "sha256:b2";
        variants.push(fingerprint(&inputs));
        let mut inputs = base_inputs(&config, &workspace);
        inputs.target = "127.0.0.1:5000/applications/api";
        variants.push(fingerprint(&inputs));
        let mut inputs = base_inputs(&config, &workspace);
        inputs.secrets[0].1 = b"rotated".to_vec();
        variants.push(fingerprint(&inputs));
        let mut inputs = base_inputs(&config, &workspace);
        inputs.bases[0].1 = "sha256:ab".into();
        variants.push(fingerprint(&inputs));
        for (index, variant) in variants.iter().enumerate() {
            assert_ne!(
                variant, &reference,
                "variant {index} must change the fingerprint"
            );
        }
        let distinct: std::collections::HashSet<&String> = variants.iter().collect();
        assert_eq!(distinct.len(), variants.len());
    }

    #[test]
    fn the_secret_value_itself_is_not_in_the_fingerprint_input_order() {
        // Two secrets whose values swap between names give different fingerprints.
        let config = BuildConfig::default();
        let mut a = base_inputs(&config, b"");
        a.secrets = vec![("A".into(), b"1".to_vec()), ("B".into(), b"2".to_vec())];
        let mut b = base_inputs(&config, b"");
        b.secrets = vec![("A".into(), b"2".to_vec()), ("B".into(), b"1".to_vec())];
        assert_ne!(fingerprint(&a), fingerprint(&b));
    }

    #[test]
    fn dockerfile_bases_skip_stages_and_scratch_and_refuse_variables() {
        let dockerfile = "FROM --platform=linux/amd64 golang:1.22 AS build\nRUN go build\n\
                          FROM build AS test\nFROM scratch\nfrom 127.0.0.1:5000/base/busybox:1\n\
                          COPY --from=build /app /app\nFROM golang:1.22\nFROM test\n";
        assert_eq!(
            dockerfile_bases(dockerfile),
            Some(vec![
                "golang:1.22".to_string(),
                "127.0.0.1:5000/base/busybox:1".to_string()
            ])
        );
        assert_eq!(dockerfile_bases("ARG BASE\nFROM $BASE\n"), None);
        assert_eq!(
            dockerfile_bases("FROM ${REGISTRY}/busybox:1 AS run\n"),
            None
        );
        assert_eq!(dockerfile_bases("RUN true\n"), Some(Vec::new()));
    }
}
