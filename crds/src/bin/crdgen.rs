//! Writes the generated CRD files (see `kratos_crds::generate`) into the repository.
//!
//! `cargo run -p kratos-crds --bin crdgen` rewrites them; with `--check` it only reports files
//! that differ and exits with status 1.

use std::path::Path;
use std::process::ExitCode;

fn main() -> ExitCode {
    let check = std::env::args().any(|arg| arg == "--check");
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    let files = match kratos_crds::generate::generated_files() {
        Ok(files) => files,
        Err(error) => {
            eprintln!("crdgen: cannot render the CRDs: {error}");
            return ExitCode::FAILURE;
        }
    };
    let mut stale = 0;
    for file in files {
        let path = root.join(&file.path);
        let current = std::fs::read_to_string(&path).unwrap_or_default();
        if current == file.content {
            continue;
        }
        if check {
            eprintln!("crdgen: {} is out of date", file.path.display());
            stale += 1;
            continue;
        }
        let written = path
            .parent()
            .map_or(Ok(()), std::fs::create_dir_all)
            .and_then(|()| std::fs::write(&path, &file.content));
        if let Err(error) = written {
            eprintln!("crdgen: cannot write {}: {error}", path.display());
            return ExitCode::FAILURE;
        }
        println!("crdgen: wrote {}", file.path.display());
    }
    if stale > 0 {
        eprintln!("crdgen: run `cargo run -p kratos-crds --bin crdgen` and commit the result");
        return ExitCode::FAILURE;
    }
    ExitCode::SUCCESS
}
