//! Where attachment bytes live: behind one trait; a local content-addressed folder by default.

use std::io::Write;
use std::path::PathBuf;

/// A content-addressed blob store: the key of a blob is its SHA-256 (hex).
pub trait BlobStore: Send + Sync {
    /// Stores `bytes` under `sha256` (idempotent: the same content is stored once).
    fn put(&self, sha256: &str, bytes: &[u8]) -> anyhow::Result<()>;
    /// Reads the blob stored under `sha256`.
    fn get(&self, sha256: &str) -> anyhow::Result<Vec<u8>>;
}

/// Blobs as files under `DATA_DIR/attachments/ab/abcdef…`. A file name never becomes a path.
pub struct LocalStore {
    root: PathBuf,
}

impl LocalStore {
    /// A store rooted at `root` (created on first write).
    pub fn new(root: PathBuf) -> Self {
        Self { root }
    }

    fn path(&self, sha256: &str) -> anyhow::Result<PathBuf> {
        anyhow::ensure!(
            sha256.len() == 64 && sha256.bytes().all(|b| b.is_ascii_hexdigit()),
            "not a SHA-256 key"
        );
        Ok(self.root.join(&sha256[..2]).join(sha256))
    }
}

impl BlobStore for LocalStore {
    fn put(&self, sha256: &str, bytes: &[u8]) -> anyhow::Result<()> {
        let path = self.path(sha256)?;
        if path.exists() {
            return Ok(());
        }
        let dir = path.parent().expect("two levels");
        std::fs::create_dir_all(dir)?;
        // Write, flush to disk, then rename: a crash never leaves a half file under the key.
        let tmp = dir.join(format!(".{sha256}.{}", uuid::Uuid::new_v4().simple()));
        let mut file = std::fs::File::create(&tmp)?;
        file.write_all(bytes)?;
        file.sync_all()?;
        std::fs::rename(&tmp, &path)?;
        if let Ok(d) = std::fs::File::open(dir) {
            let _ = d.sync_all();
        }
        Ok(())
    }

    fn get(&self, sha256: &str) -> anyhow::Result<Vec<u8>> {
        Ok(std::fs::read(self.path(sha256)?)?)
    }
}
