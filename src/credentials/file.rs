//! Reading of `file:` sources: regular files only, and no more bytes than a credential needs,
//! so a path to a device, a named pipe or a large file fails at once instead of blocking or
//! filling memory.

use std::fs::{File, Metadata};
use std::io::Read;
use std::path::Path;

use super::error::CredentialError;

/// Largest secret file read, as for a command's output; a credential is far smaller.
pub const MAX_FILE_BYTES: usize = 64 * 1024;

/// Reads the bytes of the regular file at `path`, following symlinks.
///
/// Fails when `path` names anything but a regular file, or when the file holds more than
/// [`MAX_FILE_BYTES`] bytes.
pub(super) fn read_secret_file(path: &Path) -> Result<Vec<u8>, CredentialError> {
    let unreadable = |error: std::io::Error| CredentialError::FileUnreadable {
        path: path.to_path_buf(),
        reason: error.to_string(),
    };
    // Checked before opening, because opening a named pipe waits for a writer.
    ensure_regular(path, &std::fs::metadata(path).map_err(unreadable)?)?;
    let file = open_without_blocking(path).map_err(unreadable)?;
    // The path may have been replaced between the check and the open.
    ensure_regular(path, &file.metadata().map_err(unreadable)?)?;

    let mut content = Vec::new();
    file.take(MAX_FILE_BYTES as u64 + 1)
        .read_to_end(&mut content)
        .map_err(unreadable)?;
    if content.len() > MAX_FILE_BYTES {
        return Err(CredentialError::FileTooLarge {
            path: path.to_path_buf(),
            limit: MAX_FILE_BYTES,
        });
    }
    Ok(content)
}

fn ensure_regular(path: &Path, metadata: &Metadata) -> Result<(), CredentialError> {
    if metadata.is_file() {
        return Ok(());
    }
    Err(CredentialError::FileNotRegular {
        path: path.to_path_buf(),
        kind: describe_kind(metadata),
    })
}

#[cfg(unix)]
fn describe_kind(metadata: &Metadata) -> &'static str {
    use std::os::unix::fs::FileTypeExt;

    let kind = metadata.file_type();
    if kind.is_dir() {
        "a directory"
    } else if kind.is_fifo() {
        "a named pipe (FIFO)"
    } else if kind.is_char_device() {
        "a character device"
    } else if kind.is_block_device() {
        "a block device"
    } else if kind.is_socket() {
        "a socket"
    } else {
        "not a regular file"
    }
}

#[cfg(not(unix))]
fn describe_kind(metadata: &Metadata) -> &'static str {
    if metadata.is_dir() {
        "a directory"
    } else {
        "not a regular file"
    }
}

/// Opens `path` for reading. On Unix the open does not wait, even if the path became a named
/// pipe after it was checked; reads from a regular file are not affected.
#[cfg(unix)]
fn open_without_blocking(path: &Path) -> std::io::Result<File> {
    use std::os::unix::fs::OpenOptionsExt;

    std::fs::OpenOptions::new()
        .read(true)
        .custom_flags(libc::O_NONBLOCK)
        .open(path)
}

#[cfg(not(unix))]
fn open_without_blocking(path: &Path) -> std::io::Result<File> {
    File::open(path)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn small_file_is_read() {
        let directory = tempfile::tempdir().unwrap();
        let path = directory.path().join("secret");
        std::fs::write(&path, "value").unwrap();
        assert_eq!(read_secret_file(&path).unwrap(), b"value");
    }

    #[test]
    fn file_at_limit_is_read() {
        let directory = tempfile::tempdir().unwrap();
        let path = directory.path().join("secret");
        std::fs::write(&path, vec![b'a'; MAX_FILE_BYTES]).unwrap();
        assert_eq!(read_secret_file(&path).unwrap().len(), MAX_FILE_BYTES);
    }

    #[test]
    fn file_over_limit_is_rejected() {
        let directory = tempfile::tempdir().unwrap();
        let path = directory.path().join("secret");
        std::fs::write(&path, vec![b'a'; MAX_FILE_BYTES + 1]).unwrap();
        let error = read_secret_file(&path).unwrap_err();
        assert!(
            matches!(error, CredentialError::FileTooLarge { .. }),
            "{error}"
        );
    }

    #[test]
    fn directory_is_rejected() {
        let directory = tempfile::tempdir().unwrap();
        let error = read_secret_file(directory.path()).unwrap_err().to_string();
        assert!(error.contains("is a directory"), "{error}");
    }

    #[cfg(unix)]
    #[test]
    fn character_device_is_rejected() {
        let error = read_secret_file(Path::new("/dev/zero"))
            .unwrap_err()
            .to_string();
        assert!(error.contains("a character device"), "{error}");
    }

    #[cfg(unix)]
    #[test]
    fn symlink_to_regular_file_is_read() {
        let directory = tempfile::tempdir().unwrap();
        let target = directory.path().join("target");
        std::fs::write(&target, "value").unwrap();
        let link = directory.path().join("link");
        std::os::unix::fs::symlink(&target, &link).unwrap();
        assert_eq!(read_secret_file(&link).unwrap(), b"value");
    }
}
