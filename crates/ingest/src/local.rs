//! Turning the paths given to `trailwatch scan` into inputs.
//!
//! A file is taken as given, whatever its name; a folder is walked
//! recursively and contributes the files that look like CloudTrail logs
//! (`.json`, `.gz`), in sorted order so that runs are repeatable; `-` is
//! standard input.

use std::fmt;
use std::fs;
use std::io::Read;
use std::path::{Path, PathBuf};

use crate::error::LocalError;

/// One source of CloudTrail JSON for a local scan.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Input {
    /// A file on disk.
    File(PathBuf),
    /// Standard input, given as `-`.
    Stdin,
}

impl fmt::Display for Input {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Input::File(path) => write!(f, "{}", path.display()),
            Input::Stdin => f.write_str("-"),
        }
    }
}

impl Input {
    /// Opens the input for reading; pass the result to
    /// [`crate::open_records`].
    ///
    /// # Errors
    ///
    /// [`LocalError::Access`] when the file cannot be opened.
    pub fn open(&self) -> Result<Box<dyn Read + Send>, LocalError> {
        match self {
            Input::File(path) => match fs::File::open(path) {
                Ok(file) => Ok(Box::new(file)),
                Err(source) => Err(LocalError::Access {
                    path: path.clone(),
                    source,
                }),
            },
            Input::Stdin => Ok(Box::new(std::io::stdin())),
        }
    }
}

/// Expands paths into inputs, in the order given, each folder's files sorted
/// by path.
///
/// A path that cannot be read yields an error in its place and the rest go
/// on, so one bad argument does not hide the results of the others.
/// Inside folders, hidden entries (names starting with `.`) are skipped and
/// only files ending in `.json` or `.gz` are taken; a file named explicitly is
/// always taken.
///
/// Limitation: symbolic links to folders are not followed while walking, so
/// a link cycle cannot make the walk endless; name the target directly to
/// scan it.
pub fn expand_inputs(paths: &[PathBuf]) -> Vec<Result<Input, LocalError>> {
    let mut inputs = Vec::new();
    for path in paths {
        if path.as_os_str() == "-" {
            inputs.push(Ok(Input::Stdin));
            continue;
        }
        match fs::metadata(path) {
            Ok(meta) if meta.is_dir() => walk(path, &mut inputs),
            Ok(_) => inputs.push(Ok(Input::File(path.clone()))),
            Err(source) => inputs.push(Err(LocalError::Access {
                path: path.clone(),
                source,
            })),
        }
    }
    inputs
}

/// Adds the log files under `folder`, depth first in sorted order.
fn walk(folder: &Path, inputs: &mut Vec<Result<Input, LocalError>>) {
    let entries = match fs::read_dir(folder) {
        Ok(entries) => entries,
        Err(source) => {
            inputs.push(Err(LocalError::ListFolder {
                path: folder.to_path_buf(),
                source,
            }));
            return;
        }
    };
    let mut paths = Vec::new();
    for entry in entries {
        match entry {
            Ok(entry) => paths.push(entry.path()),
            Err(source) => inputs.push(Err(LocalError::ListFolder {
                path: folder.to_path_buf(),
                source,
            })),
        }
    }
    paths.sort();
    for path in paths {
        let Some(name) = path.file_name().and_then(|n| n.to_str()) else {
            continue;
        };
        if name.starts_with('.') {
            continue;
        }
        match fs::symlink_metadata(&path) {
            Ok(meta) if meta.is_dir() => walk(&path, inputs),
            Ok(meta) if meta.is_symlink() && path.is_dir() => {}
            Ok(_) if name.ends_with(".json") || name.ends_with(".gz") => {
                inputs.push(Ok(Input::File(path)));
            }
            Ok(_) => {}
            Err(source) => inputs.push(Err(LocalError::Access { path, source })),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn names(inputs: &[Result<Input, LocalError>], root: &Path) -> Vec<String> {
        inputs
            .iter()
            .map(|input| match input {
                Ok(Input::File(path)) => path.strip_prefix(root).unwrap().display().to_string(),
                Ok(Input::Stdin) => "-".to_owned(),
                Err(error) => format!("error: {error}"),
            })
            .collect()
    }

    #[test]
    fn folders_are_walked_sorted_and_filtered() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path();
        fs::create_dir_all(root.join("b/nested")).unwrap();
        fs::create_dir_all(root.join(".hidden")).unwrap();
        for file in [
            "z.json",
            "a.json.gz",
            "notes.txt",
            "b/nested/c.gz",
            "b/a.json",
            ".hidden/x.json",
            ".dot.json",
        ] {
            fs::write(root.join(file), "{}").unwrap();
        }
        #[cfg(unix)]
        std::os::unix::fs::symlink(root.join("b"), root.join("b/loop")).unwrap();

        let inputs = expand_inputs(&[root.to_path_buf()]);
        assert_eq!(
            names(&inputs, root),
            ["a.json.gz", "b/a.json", "b/nested/c.gz", "z.json"]
        );
    }

    #[test]
    fn explicit_files_stdin_and_missing_paths_keep_their_order() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path();
        fs::write(root.join("notes.txt"), "x").unwrap();
        let inputs = expand_inputs(&[
            root.join("notes.txt"),
            PathBuf::from("-"),
            root.join("missing.json"),
        ]);
        assert_eq!(inputs.len(), 3);
        assert_eq!(
            inputs[0].as_ref().unwrap(),
            &Input::File(root.join("notes.txt"))
        );
        assert_eq!(inputs[1].as_ref().unwrap().to_string(), "-");
        let err = inputs[2].as_ref().unwrap_err();
        assert!(matches!(err, LocalError::Access { path, .. } if path.ends_with("missing.json")));
        assert!(err.to_string().starts_with("cannot read "), "{err}");
        assert!(Input::File(root.join("missing.json")).open().is_err());
        let mut text = String::new();
        Input::File(root.join("notes.txt"))
            .open()
            .unwrap()
            .read_to_string(&mut text)
            .unwrap();
        assert_eq!(text, "x");
    }
}
