//! TLS at the front door: `FERRY_TLS_CERT` and `FERRY_TLS_KEY` (PEM paths, both or
//! neither) make the gateway serve TLS with rustls. Without them it serves plaintext,
//! which is allowed only on a loopback listen address (local development): anywhere
//! else the gateway refuses to start ([`preflight`], exit
//! [`ferry_kit::config::EXIT_INVALID_CONFIG`]).
//!
//! gRPC, gRPC-Web and JSON are all served over TLS; the TLS handshake offers HTTP/2 only
//! (ALPN `h2`), so JSON clients over TLS use HTTP/2 (`curl` does by default), and
//! HTTP/1.1 over TLS only works for clients that send no ALPN.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::path::PathBuf;

use ferry_kit::config::ServiceConfig;
use tonic::transport::{Identity, ServerTlsConfig};

/// The certificate chain and private key files the gateway serves TLS with.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TlsFiles {
    /// The certificate chain (PEM).
    pub cert: PathBuf,
    /// The private key (PEM).
    pub key: PathBuf,
}

/// The TLS files of `env`: `None` when neither variable is set; an error naming the
/// missing one when only one is.
pub fn from_env(env: &HashMap<String, String>) -> Result<Option<TlsFiles>, String> {
    let get = |name: &str| {
        env.get(name)
            .filter(|value| !value.trim().is_empty())
            .map(PathBuf::from)
    };
    match (get("FERRY_TLS_CERT"), get("FERRY_TLS_KEY")) {
        (None, None) => Ok(None),
        (Some(cert), Some(key)) => Ok(Some(TlsFiles { cert, key })),
        (Some(_), None) => Err("FERRY_TLS_CERT is set but FERRY_TLS_KEY is not".into()),
        (None, Some(_)) => Err("FERRY_TLS_KEY is set but FERRY_TLS_CERT is not".into()),
    }
}

/// Plaintext is allowed only on a loopback address.
pub fn check_listen(listen: SocketAddr, tls: Option<&TlsFiles>) -> Result<(), String> {
    if tls.is_none() && !listen.ip().is_loopback() {
        return Err(format!(
            "refusing to serve plaintext on {listen}, which is not a loopback address: \
             set FERRY_TLS_CERT and FERRY_TLS_KEY (PEM files), or listen on 127.0.0.1 \
             for local development"
        ));
    }
    Ok(())
}

/// The server's TLS settings from `files` (read now: a missing or malformed file is an
/// error naming it).
pub fn server_config(files: &TlsFiles) -> Result<ServerTlsConfig, String> {
    let read = |path: &PathBuf, what: &str| {
        std::fs::read(path)
            .map_err(|error| format!("cannot read {what} {}: {error}", path.display()))
    };
    let cert = read(&files.cert, "the TLS certificate (FERRY_TLS_CERT)")?;
    let key = read(&files.key, "the TLS key (FERRY_TLS_KEY)")?;
    let config = ServerTlsConfig::new().identity(Identity::from_pem(cert, key));
    // Building a server checks the PEM files (the certificate and key parse and match).
    tonic::transport::Server::builder()
        .tls_config(config.clone())
        .map_err(|error| {
            format!(
                "invalid TLS certificate {} or key {}: {error}",
                files.cert.display(),
                files.key.display()
            )
        })?;
    Ok(config)
}

/// Checks the TLS settings before the gateway starts: an error is a configuration
/// error (the binary exits with [`ferry_kit::config::EXIT_INVALID_CONFIG`]). Settings
/// the kit rejects itself (bad arguments) pass here, for the kit to report.
pub fn preflight<I, T>(args: I, env: &HashMap<String, String>) -> Result<(), String>
where
    I: IntoIterator<Item = T>,
    T: Into<std::ffi::OsString> + Clone,
{
    let tls = from_env(env)?;
    let Ok(config) = ServiceConfig::load(args, env) else {
        return Ok(());
    };
    check_listen(config.listen, tls.as_ref())?;
    if let Some(files) = &tls {
        server_config(files)?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn env(pairs: &[(&str, &str)]) -> HashMap<String, String> {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    #[test]
    fn both_files_or_neither() {
        assert_eq!(from_env(&env(&[])), Ok(None));
        let both = from_env(&env(&[
            ("FERRY_TLS_CERT", "c.pem"),
            ("FERRY_TLS_KEY", "k.pem"),
        ]));
        assert_eq!(
            both,
            Ok(Some(TlsFiles {
                cert: "c.pem".into(),
                key: "k.pem".into()
            }))
        );
        let error = from_env(&env(&[("FERRY_TLS_CERT", "c.pem")])).unwrap_err();
        assert!(error.contains("FERRY_TLS_KEY"), "{error}");
    }

    #[test]
    fn plaintext_only_on_loopback() {
        let files = TlsFiles {
            cert: "c".into(),
            key: "k".into(),
        };
        assert!(check_listen("127.0.0.1:7000".parse().unwrap(), None).is_ok());
        assert!(check_listen("[::1]:7000".parse().unwrap(), None).is_ok());
        let error = check_listen("0.0.0.0:7000".parse().unwrap(), None).unwrap_err();
        assert!(error.contains("FERRY_TLS_CERT"), "{error}");
        assert!(check_listen("10.1.2.3:7000".parse().unwrap(), None).is_err());
        assert!(check_listen("0.0.0.0:7000".parse().unwrap(), Some(&files)).is_ok());
    }

    #[test]
    fn unreadable_or_malformed_files_are_named() {
        let dir = tempfile::tempdir().unwrap();
        let missing = TlsFiles {
            cert: dir.path().join("none.pem"),
            key: dir.path().join("none.key"),
        };
        let error = server_config(&missing).unwrap_err();
        assert!(error.contains("none.pem"), "{error}");
        let cert = dir.path().join("cert.pem");
        let key = dir.path().join("key.pem");
        std::fs::write(&cert, "not a certificate").unwrap();
        std::fs::write(&key, "not a key").unwrap();
        let error = server_config(&TlsFiles { cert, key }).unwrap_err();
        assert!(error.contains("invalid TLS certificate"), "{error}");
    }
}
