//! Files a user names on the command line. Only regular files are read: a
//! FIFO, a device or a directory is refused up front instead of hanging the
//! command or reading something that is not a document.

use std::fs::File;
use std::path::Path;

use anyhow::{Context, Result, bail};

/// Opens `path` for reading after checking that it is a regular file.
pub(crate) fn open(path: &Path) -> Result<File> {
    let metadata = std::fs::metadata(path).with_context(|| format!("cannot read {}", path.display()))?;
    if !metadata.is_file() {
        bail!("{}: not a regular file; give the path of a file", path.display());
    }
    File::open(path).with_context(|| format!("cannot read {}", path.display()))
}

/// Reads the whole of the regular file `path`.
pub(crate) fn read(path: &Path) -> Result<Vec<u8>> {
    let mut bytes = Vec::new();
    std::io::Read::read_to_end(&mut open(path)?, &mut bytes)
        .with_context(|| format!("cannot read {}", path.display()))?;
    Ok(bytes)
}

/// Reads the regular file `path` as UTF-8 text.
pub(crate) fn read_to_string(path: &Path) -> Result<String> {
    String::from_utf8(read(path)?).map_err(|error| {
        anyhow::anyhow!(
            "{}: not valid UTF-8 (byte offset {}); save the file as UTF-8",
            path.display(),
            error.utf8_error().valid_up_to()
        )
    })
}

/// Reads a `T` from the JSON `text` of `path`; the error names the file,
/// the line and column, and the JSON path of the offending field.
pub(crate) fn parse_json<T: serde::de::DeserializeOwned>(path: &Path, text: &[u8]) -> Result<T> {
    let mut deserializer = serde_json::Deserializer::from_slice(text);
    serde_path_to_error::deserialize(&mut deserializer).map_err(|error| {
        let inner = error.inner();
        anyhow::anyhow!(
            "{}: line {}, column {}: {}: {}",
            path.display(),
            inner.line(),
            inner.column(),
            if error.path().to_string() == "." { "document".to_owned() } else { error.path().to_string() },
            inner
        )
    })
}

/// Reads a `T` from the JSON file `path` (see [`parse_json`]).
pub(crate) fn read_json<T: serde::de::DeserializeOwned>(path: &Path) -> Result<T> {
    parse_json(path, read_to_string(path)?.as_bytes())
}
