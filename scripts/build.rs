//! Build script: hands the linker the order in which to lay out vanguard's
//! functions (`scripts/symbol-order.txt`, made by `scripts/symbol-order.py`).
//!
//! The functions a session runs then sit together, so the kernel's 64 KiB
//! fault-around maps that block instead of most of the 9.7 MB of text
//! (docs/ARCHITECTURE.md, "Code layout"). The order changes where code lies,
//! never what it does; a name the linker does not find is skipped.
//!
//! Only where the option is known to be understood: release builds for
//! x86_64-unknown-linux-gnu, whose default linker is rust-lld since rustc
//! 1.90, and no linker chosen by the user in the environment or RUSTFLAGS.
//! A linker set in a Cargo config file (`[target.…] linker`) is not visible
//! here: with one that is not lld, build with `VANGUARD_SYMBOL_ORDER=0`,
//! which turns the order off.

use std::env;
use std::path::Path;

fn main() {
    println!("cargo:rerun-if-changed=scripts/symbol-order.txt");
    println!("cargo:rerun-if-env-changed=VANGUARD_SYMBOL_ORDER");
    // What decides whether the option is understood; a change must redo
    // the decision, not reuse the last one.
    for var in [
        "CARGO_TARGET_X86_64_UNKNOWN_LINUX_GNU_LINKER",
        "CARGO_ENCODED_RUSTFLAGS",
        "RUSTFLAGS",
        "CARGO_BUILD_RUSTFLAGS",
    ] {
        println!("cargo:rerun-if-env-changed={var}");
    }
    let var = |k: &str| env::var(k).unwrap_or_default();
    if var("VANGUARD_SYMBOL_ORDER") == "0" || var("PROFILE") != "release" {
        return;
    }
    if let Some(why) = unsupported(&var) {
        println!("cargo:warning=vanguard: default code layout, {why}");
        return;
    }
    let order = Path::new(&var("CARGO_MANIFEST_DIR"))
        .join("scripts")
        .join("symbol-order.txt");
    if order.to_string_lossy().contains(',') {
        // `-Wl,` splits at commas.
        println!("cargo:warning=vanguard: default code layout, a comma in the path");
    } else if order.is_file() {
        println!(
            "cargo:rustc-link-arg-bins=-Wl,--symbol-ordering-file={}",
            order.display()
        );
        println!("cargo:rustc-link-arg-bins=-Wl,--no-warn-symbol-ordering");
    }
}

/// Why the linker may not understand `--symbol-ordering-file`, if it may not.
fn unsupported(var: &dyn Fn(&str) -> String) -> Option<String> {
    let target = var("TARGET");
    if target != "x86_64-unknown-linux-gnu" {
        return Some(format!(
            "target {target} (rust-lld is known only on x86_64-unknown-linux-gnu)"
        ));
    }
    if !var("CARGO_TARGET_X86_64_UNKNOWN_LINUX_GNU_LINKER").is_empty() {
        return Some("a linker is chosen (CARGO_TARGET_..._LINKER)".into());
    }
    let flags = var("CARGO_ENCODED_RUSTFLAGS");
    if ["linker", "fuse-ld", "link-self-contained"]
        .iter()
        .any(|f| flags.contains(f))
    {
        return Some("RUSTFLAGS choose the linker".into());
    }
    // rust-version (1.95) is past 1.90, where rust-lld became the default
    // linker of this target.
    None
}
