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

/// A photo without what could identify its sender (a tip-off's reporter, L5): EXIF (GPS,
/// camera serial, owner), XMP, IPTC and comments are removed from JPEG, PNG and WebP; the
/// picture, its colour profile and the JFIF/Adobe headers stay. A file that does not parse as
/// its container is kept as it came.
pub fn without_metadata(bytes: Vec<u8>) -> Vec<u8> {
    use img_parts::{Bytes, DynImage, ImageEXIF};
    let original = Bytes::from(bytes);
    let Ok(Some(mut image)) = DynImage::from_bytes(original.clone()) else {
        return original.into();
    };
    image.set_exif(None);
    match &mut image {
        DynImage::Jpeg(jpeg) => {
            // APP1 (EXIF, XMP), APP3–APP13 (APP13: IPTC), APP15 and comments; APP0 (JFIF),
            // APP2 (ICC profile) and APP14 (Adobe colour transform) are needed to show it.
            jpeg.segments_mut().retain(|s| {
                let m = s.marker();
                !(m == 0xE1 || (0xE3..=0xED).contains(&m) || m == 0xEF || m == 0xFE)
            });
        }
        DynImage::Png(png) => {
            for kind in [*b"eXIf", *b"tEXt", *b"iTXt", *b"zTXt", *b"tIME"] {
                png.remove_chunks_by_type(kind);
            }
        }
        DynImage::WebP(webp) => webp.remove_chunks_by_id(img_parts::webp::CHUNK_XMP),
    }
    let mut out = Vec::with_capacity(original.len());
    match image.encoder().write_to(&mut out) {
        Ok(_) => out,
        Err(_) => original.into(),
    }
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
    /// Taken on drop: dropping a runtime blocks, which panics inside the server's own runtime
    /// (the last `AppState` is dropped there at shutdown).
    runtime: Option<tokio::runtime::Runtime>,
}

impl Drop for S3Store {
    fn drop(&mut self) {
        if let Some(runtime) = self.runtime.take() {
            runtime.shutdown_background();
        }
    }
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
            runtime: Some(runtime),
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
        let runtime = self
            .runtime
            .as_ref()
            .ok_or_else(|| anyhow::anyhow!("object store shut down"))?;
        runtime.spawn(async move {
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

#[cfg(test)]
mod tests {
    use super::*;

    /// A JPEG segment: marker and length-prefixed contents.
    fn segment(marker: u8, contents: &[u8]) -> Vec<u8> {
        let len = u16::try_from(contents.len() + 2).unwrap().to_be_bytes();
        [&[0xFF, marker], &len[..], contents].concat()
    }

    #[tokio::test]
    async fn an_s3_store_shuts_down_inside_the_servers_runtime() {
        let mut c = crate::config::Config::defaults().attachments;
        c.store = "s3".into();
        c.s3_bucket = "hazards".into();
        c.s3_endpoint = "http://127.0.0.1:9".into();
        let store = S3Store::new(&c).unwrap();
        // Dropping its runtime here blocked, which tokio refuses with a panic.
        drop(store);
    }

    #[test]
    fn a_photo_loses_what_could_name_its_sender() {
        let exif = [&b"Exif\0\0II*\0"[..], b"GPS 31.2N 121.4E SECRET-OWNER"].concat();
        let jfif = b"JFIF\0\x01\x01\0\0\x01\0\x01\0\0";
        let jpeg = [
            &[0xFF, 0xD8][..],
            &segment(0xE0, jfif),
            &segment(0xE1, &exif),
            &segment(0xE2, b"ICC_PROFILE\0\x01\x01colours"),
            &segment(0xED, b"Photoshop 3.0\0IPTC byline SECRET-OWNER"),
            &segment(0xFE, "拍摄者 SECRET-OWNER".as_bytes()),
            &segment(0xDA, &[1, 1, 0, 0, 0x3F, 0]),
            &[0x12, 0x34, 0x56][..],
            &[0xFF, 0xD9],
        ]
        .concat();
        let clean = without_metadata(jpeg.clone());
        let text = String::from_utf8_lossy(&clean);
        assert!(!text.contains("SECRET"), "{text}");
        assert!(
            text.contains("JFIF") && text.contains("ICC_PROFILE"),
            "{text}"
        );
        assert!(
            clean.ends_with(&[0x12, 0x34, 0x56, 0xFF, 0xD9]),
            "the picture stays"
        );
        assert_eq!(sniff_type(&clean, &ALLOWED_TYPES), Some("image/jpeg"));
        // What does not parse stays as it came (it was sniffed as an image already).
        let odd = vec![0xFF, 0xD8, 0xFF, 0xE0, 0, 0];
        assert_eq!(without_metadata(odd.clone()), odd);
    }
}
