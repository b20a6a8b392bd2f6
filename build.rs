//! Builds `src/chain/script/shim.cpp`, a thin C ABI over Bitcoin Core's `VerifyScript`.
//!
//! The shim compiles only against Core's headers, taken from the sources that
//! `libbitcoinkernel-sys` vendors; every function it calls is linked from the static
//! `libbitcoinkernel.a` that crate already builds, so no second copy of Core's script code
//! is compiled. `cargo metadata` tells us where that crate's sources are.

use std::path::PathBuf;
use std::process::Command;

const SHIM: &str = "src/chain/script/shim.cpp";
const SYS_CRATE: &str = "libbitcoinkernel-sys";

fn main() {
    println!("cargo:rerun-if-changed={SHIM}");
    println!("cargo:rerun-if-changed=build.rs");

    let core_src = core_source_dir();
    // Tests also run the vectors of exactly the Core version that is linked.
    println!("cargo:rustc-env=WEFT_CORE_SRC={}", core_src.display());
    cc::Build::new()
        .cpp(true)
        .file(SHIM)
        .include(&core_src)
        .flag("-std=c++20")
        // Core's headers are not ours to fix; their warnings would only be noise here.
        .warnings(false)
        .opt_level(2)
        .compile("weft_script_shim");
}

/// The `bitcoin/src` directory of the resolved `libbitcoinkernel-sys` package.
fn core_source_dir() -> PathBuf {
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    let manifest_dir = std::env::var("CARGO_MANIFEST_DIR").expect("cargo sets CARGO_MANIFEST_DIR");
    let target = std::env::var("TARGET").expect("cargo sets TARGET");
    // Offline first: the outer build has fetched every package for this target. Only if
    // that fails (an odd cache) ask the registry.
    let run = |offline: bool| {
        let mut cmd = Command::new(&cargo);
        cmd.args(["metadata", "--format-version", "1", "--filter-platform", &target])
            .arg("--manifest-path")
            .arg(PathBuf::from(&manifest_dir).join("Cargo.toml"));
        if offline {
            cmd.arg("--offline");
        }
        cmd.output().expect("run cargo metadata")
    };
    let mut out = run(true);
    if !out.status.success() {
        out = run(false);
    }
    assert!(
        out.status.success(),
        "cargo metadata failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let meta: serde_json::Value = serde_json::from_slice(&out.stdout).expect("cargo metadata JSON");
    let packages = meta["packages"].as_array().expect("packages array");
    let sys = packages
        .iter()
        .find(|p| p["name"] == SYS_CRATE)
        .unwrap_or_else(|| panic!("{SYS_CRATE} is not in the dependency graph"));
    let manifest = PathBuf::from(sys["manifest_path"].as_str().expect("manifest_path"));
    let src = manifest
        .parent()
        .expect("manifest has a parent")
        .join("bitcoin")
        .join("src");
    assert!(
        src.join("script/interpreter.h").exists(),
        "Core sources not found at {}",
        src.display()
    );
    println!("cargo:rerun-if-changed={}", src.join("script/interpreter.h").display());
    src
}
