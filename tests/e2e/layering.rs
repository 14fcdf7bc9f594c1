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

/// Every workspace crate and its folder.
const CRATES: [(&str, &str); 6] = [
    ("vocab", "warehouse/vocab"),
    ("connectors", "connectors"),
    ("warehouse", "warehouse"),
    ("pipelines", "pipelines"),
    ("dashboards", "dashboards"),
    ("api", "api"),
];

/// The workspace crates `krate` names in any dependency table of its Cargo.toml.
fn internal_deps(krate: &str) -> Vec<String> {
    let dir = CRATES
        .iter()
        .find(|(name, _)| *name == krate)
        .map_or(krate, |(_, dir)| *dir);
    let text = std::fs::read_to_string(root().join(dir).join("Cargo.toml")).expect("Cargo.toml");
    let doc: toml::Table = text.parse().expect("Cargo.toml parses");
    let mut out = Vec::new();
    for section in ["dependencies", "dev-dependencies", "build-dependencies"] {
        if let Some(t) = doc.get(section).and_then(|v| v.as_table()) {
            out.extend(
                t.keys()
                    .filter(|k| CRATES.iter().any(|(name, _)| name == k))
                    .cloned(),
            );
        }
    }
    out.sort();
    out.dedup();
    out
}

#[test]
fn crates_depend_only_along_the_allowed_edges() {
    // `vocab` is the shared vocabulary under both sides. `api` still reaches `connectors` (the
    // simulators it serves, notifiers it tests) and `warehouse` (the lake handle it opens and
    // queries); ARCHITECTURE.md names both edges.
    let allowed: [(&str, &[&str]); 6] = [
        ("vocab", &[]),
        ("connectors", &["vocab"]),
        ("warehouse", &["vocab"]),
        ("dashboards", &[]),
        ("pipelines", &["connectors", "vocab", "warehouse"]),
        (
            "api",
            &[
                "connectors",
                "dashboards",
                "pipelines",
                "vocab",
                "warehouse",
            ],
        ),
    ];
    assert_eq!(
        internal_deps("connectors"),
        ["vocab"],
        "connectors reads values with the shared vocabulary"
    );
    assert_eq!(
        internal_deps("warehouse"),
        ["vocab"],
        "warehouse stores values with the shared vocabulary"
    );
    for (krate, ok) in allowed {
        for dep in internal_deps(krate) {
            assert!(
                ok.contains(&dep.as_str()),
                "{krate} depends on {dep}, which the layering forbids (see ARCHITECTURE.md)"
            );
        }
    }
}
