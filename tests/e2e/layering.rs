//! Which crate may depend on which (`connectors` and `warehouse` never on each other), checked
//! against every crate's Cargo.toml. The rule that every Delta commit is made in
//! `warehouse/src/write/commit.rs` is checked in `warehouse/src/write/tests/commit_rule.rs`.

use std::path::{Path, PathBuf};

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("workspace root")
        .to_path_buf()
}

const CRATES: [&str; 5] = ["connectors", "warehouse", "pipelines", "dashboards", "api"];

/// The workspace crates `krate` names in any dependency table of its Cargo.toml.
fn internal_deps(krate: &str) -> Vec<String> {
    let text = std::fs::read_to_string(root().join(krate).join("Cargo.toml")).expect("Cargo.toml");
    let doc: toml::Table = text.parse().expect("Cargo.toml parses");
    let mut out = Vec::new();
    for section in ["dependencies", "dev-dependencies", "build-dependencies"] {
        if let Some(t) = doc.get(section).and_then(|v| v.as_table()) {
            out.extend(t.keys().filter(|k| CRATES.contains(&k.as_str())).cloned());
        }
    }
    out.sort();
    out.dedup();
    out
}

#[test]
fn crates_depend_only_along_the_allowed_edges() {
    // `api` still reaches `connectors` (the simulators it serves, notifiers it tests) and
    // `warehouse` (the lake handle it opens and queries); ARCHITECTURE.md names both edges.
    let allowed: [(&str, &[&str]); 5] = [
        ("connectors", &[]),
        ("warehouse", &[]),
        ("dashboards", &[]),
        ("pipelines", &["connectors", "warehouse"]),
        (
            "api",
            &["connectors", "dashboards", "pipelines", "warehouse"],
        ),
    ];
    for (krate, ok) in allowed {
        for dep in internal_deps(krate) {
            assert!(
                ok.contains(&dep.as_str()),
                "{krate} depends on {dep}, which the layering forbids (see ARCHITECTURE.md)"
            );
        }
    }
}
