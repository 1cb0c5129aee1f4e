//! The discovery file of multi-user hosts holds the API key: another user on the host must
//! not be able to read it, nor plant a file or directory the wallet then writes through.

use std::os::unix::fs::{MetadataExt, PermissionsExt};

use wallet_api::discovery::{self, DiscoveryError, DIR_NAME, FILE_NAME};

/// Stops another user from reading the key: the directory is created 0700 and the file 0600.
#[test]
fn the_discovery_file_is_private_to_the_user() {
    let run = tempfile::tempdir().unwrap();
    let path = run.path().join(DIR_NAME).join(FILE_NAME);
    discovery::write(&path, "http://127.0.0.1:40123", "k3y").unwrap();
    let dir = std::fs::metadata(path.parent().unwrap()).unwrap();
    assert_eq!(dir.mode() & 0o777, 0o700);
    let file = std::fs::metadata(&path).unwrap();
    assert_eq!(file.mode() & 0o777, 0o600);
    let v: serde_json::Value = serde_json::from_slice(&std::fs::read(&path).unwrap()).unwrap();
    assert_eq!(v["url"], "http://127.0.0.1:40123");
    assert_eq!(v["api_key"], "k3y");
    // written again (restart): still private, new content
    discovery::write(&path, "http://127.0.0.1:40124", "k3y2").unwrap();
    assert_eq!(std::fs::metadata(&path).unwrap().mode() & 0o777, 0o600);
    discovery::remove(&path);
    assert!(!path.exists());
}

/// Stops a directory that others can open, or a planted link in place of the file, from being
/// used: the key would be readable by, or written to, someone else.
#[test]
fn a_directory_or_file_others_control_is_refused() {
    let run = tempfile::tempdir().unwrap();
    let dir = run.path().join(DIR_NAME);
    std::fs::create_dir(&dir).unwrap();
    std::fs::set_permissions(&dir, std::fs::Permissions::from_mode(0o777)).unwrap();
    let path = dir.join(FILE_NAME);
    assert!(matches!(
        discovery::write(&path, "http://127.0.0.1:1", "k"),
        Err(DiscoveryError::NotPrivate(_))
    ));
    std::fs::set_permissions(&dir, std::fs::Permissions::from_mode(0o700)).unwrap();
    let elsewhere = run.path().join("elsewhere.json");
    std::fs::write(&elsewhere, "").unwrap();
    std::os::unix::fs::symlink(&elsewhere, &path).unwrap();
    assert!(matches!(
        discovery::write(&path, "http://127.0.0.1:1", "k"),
        Err(DiscoveryError::NotPrivate(_))
    ));
    assert_eq!(std::fs::read(&elsewhere).unwrap(), b"");
    // owned by another user (only root can set that up)
    std::fs::remove_file(&path).unwrap();
    if std::fs::metadata(run.path()).unwrap().uid() == 0 {
        std::fs::write(&path, "{}").unwrap();
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o600)).unwrap();
        std::os::unix::fs::chown(&path, Some(65534), Some(65534)).unwrap();
        assert!(matches!(
            discovery::write(&path, "http://127.0.0.1:1", "k"),
            Err(DiscoveryError::NotPrivate(_))
        ));
    }
}
