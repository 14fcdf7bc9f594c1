//! Every Delta commit zhongtai makes is made in `write/commit.rs`: no other source file of any
//! workspace crate calls delta-rs's committing operations. Test files are left out: they may
//! commit behind the lake's back to play another process.

use std::path::{Path, PathBuf};

const CRATES: [&str; 5] = ["connectors", "warehouse", "pipelines", "dashboards", "api"];

/// The delta-rs 1.x calls that commit to a table.
const COMMIT_CALLS: [&str; 12] = [
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

fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) {
    for e in std::fs::read_dir(dir).expect("read dir").flatten() {
        let p = e.path();
        let name = p.file_name().and_then(|n| n.to_str()).unwrap_or("");
        if p.is_dir() {
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
    let root = Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("workspace root")
        .to_path_buf();
    let home = root.join("warehouse/src/write/commit.rs");
    let mut files = Vec::new();
    for k in CRATES {
        rust_files(&root.join(k).join("src"), &mut files);
    }
    assert!(
        files.contains(&home),
        "the commit module moved: update this rule and ARCHITECTURE.md"
    );
    let mut found_home = 0;
    for f in files {
        let text = std::fs::read_to_string(&f).expect("source");
        for call in COMMIT_CALLS {
            if text.contains(call) {
                assert_eq!(
                    f,
                    home,
                    "{} makes a Delta commit ({call}); every commit goes through warehouse::write",
                    f.display()
                );
                found_home += 1;
            }
        }
    }
    assert!(
        found_home >= 4,
        "the rule no longer sees the commit module's own calls"
    );
}
