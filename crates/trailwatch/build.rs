//! Embeds the default ruleset (`rules/*.yaml` at the workspace root, without
//! the `*.test.yaml` case files) into the binary, in file-name order.

use std::env;
use std::fs;
use std::path::{Path, PathBuf};

fn main() {
    // Read at run time: the build script's own compile-time value would go
    // stale if the checkout moved.
    let manifest_dir = env::var("CARGO_MANIFEST_DIR").expect("cargo sets CARGO_MANIFEST_DIR");
    let rules_dir = Path::new(&manifest_dir).join("../../rules");
    println!("cargo:rerun-if-changed={}", rules_dir.display());

    let entries = fs::read_dir(&rules_dir).unwrap_or_else(|e| {
        panic!(
            "cannot read the default rules in {}: {e}",
            rules_dir.display()
        )
    });
    let mut files: Vec<PathBuf> = entries.filter_map(|e| e.ok().map(|e| e.path())).collect();
    files.retain(|p| is_rules_file(p));
    files.sort();
    assert!(
        !files.is_empty(),
        "no default rules files in {}",
        rules_dir.display()
    );

    let mut code = String::from("/// The bundled default ruleset: (file name, contents).\n");
    code.push_str("pub static DEFAULT_RULES: &[(&str, &str)] = &[\n");
    for path in &files {
        println!("cargo:rerun-if-changed={}", path.display());
        let name = path
            .file_name()
            .and_then(|n| n.to_str())
            .unwrap_or_default();
        let absolute = fs::canonicalize(path).unwrap_or_else(|_| path.clone());
        code.push_str(&format!(
            "    ({name:?}, include_str!({:?})),\n",
            absolute.display().to_string()
        ));
    }
    code.push_str("];\n");

    let out = PathBuf::from(env::var("OUT_DIR").expect("cargo sets OUT_DIR"));
    fs::write(out.join("default_rules.rs"), code).expect("writing default_rules.rs");
}

fn is_rules_file(path: &Path) -> bool {
    let name = path
        .file_name()
        .and_then(|n| n.to_str())
        .unwrap_or_default();
    (name.ends_with(".yaml") || name.ends_with(".yml")) && !name.contains(".test.")
}
