//! The `ferry-forward` binary: `ferry-forward <config file>`.
//!
//! Reads the file every [`ferry_forward::POLL`] and applies it when its content changed
//! (the content, not the modification time: Docker's archive upload sets whole-second
//! times, so two uploads within a second would look alike). A missing file is an empty
//! configuration; an invalid one is reported on stderr and the previous one kept. Ports
//! that could not be bound are retried at every poll.

use std::net::{IpAddr, Ipv4Addr};
use std::process::ExitCode;

use ferry_forward::{Config, Forwarder, POLL, parse};

fn main() -> ExitCode {
    let mut args = std::env::args().skip(1);
    let (Some(path), None) = (args.next(), args.next()) else {
        eprintln!("usage: ferry-forward <config file>");
        return ExitCode::from(64);
    };
    let mut forwarder = Forwarder::new(IpAddr::V4(Ipv4Addr::UNSPECIFIED));
    let mut last_text: Option<String> = None;
    let mut config = Config::new();
    let mut failed_binds = false;
    eprintln!("ferry-forward: reading {path}");
    loop {
        let text = match std::fs::read_to_string(&path) {
            Ok(text) => text,
            Err(error) if error.kind() == std::io::ErrorKind::NotFound => String::new(),
            Err(error) => {
                eprintln!("ferry-forward: cannot read {path}: {error}");
                std::thread::sleep(POLL);
                continue;
            }
        };
        let changed = last_text.as_deref() != Some(text.as_str());
        if changed {
            match parse(&text) {
                Ok(parsed) => {
                    config = parsed;
                    eprintln!(
                        "ferry-forward: applying {} rule(s): {}",
                        config.len(),
                        text.trim().replace('\n', "; ")
                    );
                }
                Err(error) => {
                    eprintln!("ferry-forward: {path}: {error}; keeping the previous configuration");
                }
            }
            last_text = Some(text);
        }
        if changed || failed_binds {
            let errors = forwarder.apply(&config);
            for error in &errors {
                eprintln!("ferry-forward: {error}; retrying");
            }
            failed_binds = !errors.is_empty();
        }
        std::thread::sleep(POLL);
    }
}
