//! Compiles every `.proto` under `proto/ferry` once, into `OUT_DIR`, together with one
//! file descriptor set (imports included) for gRPC reflection and transcoding.

use std::path::{Path, PathBuf};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let manifest_dir = PathBuf::from(std::env::var("CARGO_MANIFEST_DIR")?);
    let repo_root = manifest_dir.join("../..").canonicalize()?;
    let proto_root = repo_root.join("proto");
    let googleapis = std::env::var_os("FERRY_GOOGLEAPIS_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| repo_root.join(".deps/googleapis"));
    if !googleapis.join("google/rpc/status.proto").exists() {
        return Err(format!(
            "google's standard protos are missing from {}: run deploy/dev/fetch-protos.sh \
             (or point FERRY_GOOGLEAPIS_DIR at a folder holding google/api and google/rpc)",
            googleapis.display()
        )
        .into());
    }

    let mut protos = Vec::new();
    collect_protos(&proto_root.join("ferry"), &mut protos)?;
    protos.sort();

    let mut includes = vec![proto_root.clone(), googleapis.clone()];
    // Debian's protoc finds the well-known types itself, but say where they are anyway.
    let system_include = Path::new("/usr/include");
    if system_include.join("google/protobuf/any.proto").exists() {
        includes.push(system_include.to_path_buf());
    }

    let out_dir = PathBuf::from(std::env::var("OUT_DIR")?);
    tonic_prost_build::configure()
        .file_descriptor_set_path(out_dir.join("ferry_descriptor.bin"))
        // google.rpc (Status, ErrorInfo, BadRequest, …) comes from tonic-types, so that
        // error details built by the services and the generated messages are one type.
        .extern_path(".google.rpc", "::tonic_types::pb")
        // Methods a service does not implement yet answer UNIMPLEMENTED; the service kit
        // adds the ErrorInfo (reason NOT_IMPLEMENTED) on the way out.
        .generate_default_stubs(true)
        .include_file("ferry_includes.rs")
        .compile_protos(&protos, &includes)?;

    println!("cargo:rerun-if-changed={}", proto_root.display());
    println!("cargo:rerun-if-env-changed=FERRY_GOOGLEAPIS_DIR");
    Ok(())
}

fn collect_protos(dir: &Path, out: &mut Vec<PathBuf>) -> std::io::Result<()> {
    for entry in std::fs::read_dir(dir)? {
        let path = entry?.path();
        if path.is_dir() {
            println!("cargo:rerun-if-changed={}", path.display());
            collect_protos(&path, out)?;
        } else if path.extension().is_some_and(|ext| ext == "proto") {
            println!("cargo:rerun-if-changed={}", path.display());
            out.push(path);
        }
    }
    Ok(())
}
