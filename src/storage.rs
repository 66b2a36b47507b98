//! Where attachment bytes live: behind one trait; a local content-addressed folder by default.

use std::io::Write;
use std::path::PathBuf;

/// Types of attachment accepted, decided from the bytes, never from the name or the declared type.
pub const ALLOWED_TYPES: [&str; 4] = ["image/jpeg", "image/png", "image/webp", "application/pdf"];

/// The media type of `bytes` when it is one of `allowed` (sniffed from the content).
pub fn sniff_type(bytes: &[u8], allowed: &[&'static str]) -> Option<&'static str> {
    infer::get(bytes)
        .map(|t| t.mime_type())
        .and_then(|m| allowed.iter().find(|a| **a == m).copied())
}

/// The last component of a client's file name, without control characters; never a path.
pub fn clean_file_name(raw: Option<&str>) -> String {
    let raw = raw.unwrap_or("");
    let last = raw.rsplit(['/', '\\']).next().unwrap_or("");
    let cleaned: String = last
        .chars()
        .filter(|c| !c.is_control())
        .collect::<String>()
        .trim()
        .trim_start_matches('.')
        .chars()
        .take(200)
        .collect();
    if cleaned.is_empty() {
        "file".into()
    } else {
        cleaned
    }
}

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

/// Blobs in an S3-compatible object store (several instances share it), through `object_store`.
///
/// The trait is called from blocking threads; the store's async client runs on a small runtime
/// of its own, and the caller waits for the answer on a channel.
pub struct S3Store {
    store: std::sync::Arc<object_store::aws::AmazonS3>,
    prefix: String,
    runtime: tokio::runtime::Runtime,
}

impl S3Store {
    /// A store from `[attachments]`.
    pub fn new(config: &crate::config::AttachmentsConfig) -> anyhow::Result<Self> {
        let mut builder = object_store::aws::AmazonS3Builder::new()
            .with_bucket_name(&config.s3_bucket)
            .with_region(&config.s3_region)
            .with_allow_http(config.s3_endpoint.starts_with("http://"));
        if !config.s3_endpoint.is_empty() {
            builder = builder.with_endpoint(&config.s3_endpoint);
        }
        if !config.s3_access_key_id.is_empty() {
            builder = builder
                .with_access_key_id(&config.s3_access_key_id)
                .with_secret_access_key(&config.s3_secret_access_key);
        }
        let store = builder
            .build()
            .map_err(|e| anyhow::anyhow!("config error: attachments.s3_*: {e}"))?;
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(1)
            .thread_name("object-store")
            .enable_all()
            .build()?;
        Ok(Self {
            store: std::sync::Arc::new(store),
            prefix: config.s3_prefix.trim_matches('/').to_string(),
            runtime,
        })
    }

    fn path(&self, sha256: &str) -> anyhow::Result<object_store::path::Path> {
        anyhow::ensure!(
            sha256.len() == 64 && sha256.bytes().all(|b| b.is_ascii_hexdigit()),
            "not a SHA-256 key"
        );
        let key = if self.prefix.is_empty() {
            format!("{}/{sha256}", &sha256[..2])
        } else {
            format!("{}/{}/{sha256}", self.prefix, &sha256[..2])
        };
        Ok(object_store::path::Path::from(key))
    }

    /// Runs `fut` on the store's runtime and waits for it from this (blocking) thread.
    fn wait<T: Send + 'static>(
        &self,
        fut: impl std::future::Future<Output = anyhow::Result<T>> + Send + 'static,
    ) -> anyhow::Result<T> {
        let (tx, rx) = std::sync::mpsc::channel();
        self.runtime.spawn(async move {
            let _ = tx.send(fut.await);
        });
        rx.recv()
            .map_err(|_| anyhow::anyhow!("object store task ended"))?
    }
}

impl BlobStore for S3Store {
    fn put(&self, sha256: &str, bytes: &[u8]) -> anyhow::Result<()> {
        use object_store::ObjectStore;
        let (store, path) = (self.store.clone(), self.path(sha256)?);
        let payload = object_store::PutPayload::from(bytes.to_vec());
        self.wait(async move {
            store.put(&path, payload).await?;
            Ok(())
        })
    }

    fn get(&self, sha256: &str) -> anyhow::Result<Vec<u8>> {
        use object_store::ObjectStore;
        let (store, path) = (self.store.clone(), self.path(sha256)?);
        self.wait(async move { Ok(store.get(&path).await?.bytes().await?.to_vec()) })
    }
}
