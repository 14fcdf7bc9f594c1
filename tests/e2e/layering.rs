//! The house rules that keep the crates simple, checked against the source tree:
//! - which crate may depend on which (`connectors` and `warehouse` never on each other);
//! - every Delta commit is made in one module, `warehouse/src/write/commit.rs`.

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

fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) {
    for e in std::fs::read_dir(dir).expect("read dir").flatten() {
        let p = e.path();
        let name = p.file_name().and_then(|n| n.to_str()).unwrap_or("");
        if p.is_dir() {
            // Tests may commit behind the lake's back to play another process.
            if name != "target" && name != "tests" {
                rust_files(&p, out);
            }
        } else if name.ends_with(".rs") && name != "tests.rs" && !name.starts_with("tests_") {
            out.push(p);
        }
    }
}

#[test]
fn every_delta_commit_is_made_in_the_warehouse_commit_module() {
    // The calls that commit to a Delta table, in delta-rs 1.x.
    let commit_calls = [
        "flush_and_commit(",
        ".merge(source",
        "when_matched_update",
        "when_not_matched_insert",
        "when_not_matched_by_source_delete",
        ".with_save_mode(",
        "CommitBuilder",
        "DeltaOps",
        ".optimize()",
        ".vacuum()",
        "t.delete()",
        "write_deltalake",
    ];
    let home = root().join("warehouse/src/write/commit.rs");
    let mut files = Vec::new();
    for k in CRATES {
        rust_files(&root().join(k).join("src"), &mut files);
    }
    assert!(
        files.contains(&home),
        "the commit module moved: update this rule and ARCHITECTURE.md"
    );
    let mut found_home = 0;
    for f in files {
        let text = std::fs::read_to_string(&f).expect("source");
        for call in commit_calls {
            if text.contains(call) {
                if f == home {
                    found_home += 1;
                } else {
                    panic!(
                        "{} makes a Delta commit ({call}); every commit goes through warehouse::write",
                        f.display()
                    );
                }
            }
        }
    }
    assert!(
        found_home >= 4,
        "the rule no longer sees the commit module's own calls"
    );
}
