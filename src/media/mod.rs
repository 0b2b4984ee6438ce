//! Images: what an upload becomes (`image`) and where the results are kept (`store`). Shared by
//! attachments and avatars.

pub mod db;
pub mod image;
pub mod store;
pub mod upload;

/// The sha256 of some bytes, in hex: the address of a stored file.
pub fn content_hash(bytes: &[u8]) -> String {
    use sha2::{Digest, Sha256};
    let digest = Sha256::digest(bytes);
    let mut out = String::with_capacity(64);
    for b in digest {
        out.push_str(&format!("{b:02x}"));
    }
    out
}
