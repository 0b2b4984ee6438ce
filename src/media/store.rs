//! Where stored files live: a folder on local disk (the default) or an S3-compatible bucket, both
//! through object_store, so that every other part of Gloss sees one API.

use std::sync::Arc;

use bytes::Bytes;
use object_store::aws::AmazonS3Builder;
use object_store::local::LocalFileSystem;
use object_store::path::Path;
use object_store::{ObjectStore, PutPayload};

use crate::config::{Config, S3Config};

/// The file store.
#[derive(Clone, Debug)]
pub struct Store {
    inner: Arc<dyn ObjectStore>,
    /// Where it is, for logs: a folder or `s3://bucket`.
    pub location: String,
}

/// Why a stored file could not be read or written.
#[derive(Debug)]
pub enum StoreError {
    NotFound,
    Failed(String),
}

impl std::fmt::Display for StoreError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            StoreError::NotFound => f.write_str("no such stored file"),
            StoreError::Failed(e) => f.write_str(e),
        }
    }
}

impl From<object_store::Error> for StoreError {
    fn from(e: object_store::Error) -> Self {
        match e {
            object_store::Error::NotFound { .. } => StoreError::NotFound,
            e => StoreError::Failed(e.to_string()),
        }
    }
}

impl Store {
    /// The store the configuration names: its S3 bucket when one is set, else its media folder
    /// (created if missing).
    pub fn open(config: &Config) -> Result<Store, String> {
        match &config.s3 {
            Some(s3) => Self::s3(s3),
            None => {
                std::fs::create_dir_all(&config.media_dir).map_err(|e| {
                    format!("cannot create the media folder {}: {e}", config.media_dir)
                })?;
                let fs = LocalFileSystem::new_with_prefix(&config.media_dir).map_err(|e| {
                    format!("cannot open the media folder {}: {e}", config.media_dir)
                })?;
                Ok(Store {
                    inner: Arc::new(fs),
                    location: config.media_dir.clone(),
                })
            }
        }
    }

    fn s3(s3: &S3Config) -> Result<Store, String> {
        let mut builder = AmazonS3Builder::from_env()
            .with_bucket_name(&s3.bucket)
            .with_region(&s3.region);
        if let Some(endpoint) = &s3.endpoint {
            builder = builder
                .with_endpoint(endpoint)
                .with_allow_http(endpoint.starts_with("http://"))
                .with_virtual_hosted_style_request(false);
        }
        if let (Some(id), Some(secret)) = (&s3.access_key_id, &s3.secret_access_key) {
            builder = builder
                .with_access_key_id(id)
                .with_secret_access_key(secret);
        }
        let store = builder
            .build()
            .map_err(|e| format!("cannot use the S3 bucket {}: {e}", s3.bucket))?;
        Ok(Store {
            inner: Arc::new(store),
            location: format!("s3://{}", s3.bucket),
        })
    }

    /// Writes a file (replacing one at the same path, which content addressing makes the same bytes).
    pub async fn put(&self, path: &str, bytes: Vec<u8>) -> Result<(), StoreError> {
        self.inner
            .put(&Path::from(path), PutPayload::from(bytes))
            .await?;
        Ok(())
    }

    /// Reads a whole file.
    pub async fn get(&self, path: &str) -> Result<Bytes, StoreError> {
        Ok(self.inner.get(&Path::from(path)).await?.bytes().await?)
    }

    /// Removes a file; removing one that is not there is not an error.
    pub async fn delete(&self, path: &str) -> Result<(), StoreError> {
        match self.inner.delete(&Path::from(path)).await {
            Ok(()) | Err(object_store::Error::NotFound { .. }) => Ok(()),
            Err(e) => Err(e.into()),
        }
    }

    /// Removes files no upload uses any more, logging what fails (a leftover file costs space,
    /// not correctness).
    pub async fn delete_all(&self, paths: &[String]) {
        for path in paths {
            if let Err(e) = self.delete(path).await {
                tracing::warn!(error = %e, path, store = %self.location, "cannot remove a stored file");
            }
        }
    }
}
