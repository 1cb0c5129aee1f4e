//! Files that hold secrets (private keys, vault backups): created new, readable by the owner
//! only.

use std::fs::{File, OpenOptions};
use std::path::Path;

/// Creates `path` for writing, refusing to overwrite an existing file; on Unix with mode 0600
/// from the start, so the content is never readable by others, not even briefly.
pub fn create_owner_only(path: &Path) -> std::io::Result<File> {
    let mut opts = OpenOptions::new();
    opts.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt as _;
        opts.mode(0o600);
    }
    opts.open(path)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn creates_new_owner_only_and_never_overwrites() {
        let p = std::env::temp_dir().join(format!("owner-only-{}", crate::random::random_token()));
        create_owner_only(&p).unwrap();
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt as _;
            let mode = std::fs::metadata(&p).unwrap().permissions().mode();
            assert_eq!(mode & 0o777, 0o600);
        }
        assert_eq!(
            create_owner_only(&p).unwrap_err().kind(),
            std::io::ErrorKind::AlreadyExists
        );
        std::fs::remove_file(&p).unwrap();
    }
}
