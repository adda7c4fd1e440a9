//! The zip container of a bundle. Writing uses the zip crate: stored
//! entries, sorted names, fixed timestamps, so the same content gives the
//! same bytes. Reading is a strict parser of our own over bytes already in
//! memory, because a bundle comes from a USB stick anyone could have
//! touched: it accepts only what fieldkit writes (stored entries, no
//! encryption, no data descriptors, no zip64), caps the number and size of
//! entries, and checks every local header against the central directory,
//! every CRC, and every name. Nothing is extracted to disk.

use std::collections::HashSet;
use std::io::Write;

/// At most this many entries in a bundle: what a zip without zip64 can
/// count (a count of 0xFFFF marks zip64, which is refused), so whatever a
/// bundle lists is bounded by it before anything is read.
pub const MAX_ENTRIES: usize = 0xFFFE;
/// At most this many bytes in one entry.
pub const MAX_ENTRY_BYTES: usize = 64 * 1024 * 1024;
/// At most this many bytes in a bundle file.
pub const MAX_BUNDLE_BYTES: u64 = 2 * 1024 * 1024 * 1024;

/// Why an archive cannot be written, or cannot be trusted when read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ArchiveError {
    #[error("cannot write {name}: {why}")]
    Write { name: String, why: String },
    #[error("cannot finish the archive: {0}")]
    Finish(String),
    #[error("the archive is truncated or not a zip file")]
    Truncated,
    #[error("a multi-part archive: bundles are one file")]
    MultiPart,
    #[error("a zip64 archive: fieldkit bundles never need zip64")]
    Zip64,
    #[error("the central directory is not where the archive says")]
    DirectoryMisplaced,
    #[error("the central directory is damaged")]
    DirectoryDamaged,
    #[error("the central directory has bytes it does not account for")]
    DirectoryUnaccounted,
    #[error("an entry name is not UTF-8")]
    NameNotUtf8,
    #[error("{why}: {name:?}")]
    BadName { name: String, why: &'static str },
    #[error("duplicate entry {0}")]
    Duplicate(String),
    #[error("symlink entry {0}")]
    Symlink(String),
    #[error("encrypted entry {0}")]
    Encrypted(String),
    #[error("{0} uses a data descriptor; fieldkit never writes one")]
    DataDescriptor(String),
    #[error("{name} is compressed (method {method}); bundles store entries as they are")]
    Compressed { name: String, method: usize },
    #[error("{name}: stored sizes disagree ({stored} and {size})")]
    SizesDisagree {
        name: String,
        stored: usize,
        size: usize,
    },
    #[error("oversized entry {name} ({size} bytes)")]
    Oversized { name: String, size: usize },
    #[error("{0}: the local header and the central directory disagree")]
    HeadersDisagree(String),
    #[error("{0}: its data runs past the central directory")]
    DataPastDirectory(String),
    #[error("{0}: the data does not match its CRC")]
    Crc(String),
    #[error("entries overlap")]
    Overlap,
    /// Well formed, but not byte for byte as fieldkit writes bundles.
    #[error("the archive is not as fieldkit writes bundles ({0})")]
    NotAsWritten(&'static str),
}

/// An entry's bytes as a writer is given them, or why they cannot be.
pub type Bytes<'a> = Result<std::borrow::Cow<'a, [u8]>, String>;

/// Writes a deterministic zip of `(name, bytes)` entries, sorted by name.
pub fn write<D: AsRef<[u8]>>(entries: &mut [(String, D)]) -> Result<Vec<u8>, ArchiveError> {
    entries.sort_by(|a, b| a.0.cmp(&b.0));
    let entries = &*entries;
    let mut sized: Vec<(String, usize)> = entries
        .iter()
        .map(|(name, data)| (name.clone(), data.as_ref().len()))
        .collect();
    write_each(&mut sized, &mut |i, _| {
        Ok(std::borrow::Cow::Borrowed(entries[i].1.as_ref()))
    })
}

/// Writes a deterministic zip of entries given by name and size, sorted by
/// name (stably), their bytes asked of `data` (with the entry's place in
/// that order, and its name) one at a time as they are written, so that a
/// caller need not hold them all. Bytes of another size than said are
/// refused. The buffer is sized for the whole zip up front (growing it by
/// doubling held up to twice a large bundle's bytes while it was copied).
pub fn write_each<'a>(
    entries: &mut [(String, usize)],
    data: &mut dyn FnMut(usize, &str) -> Bytes<'a>,
) -> Result<Vec<u8>, ArchiveError> {
    entries.sort_by(|a, b| a.0.cmp(&b.0));
    // Per entry: a local header (30 bytes and the name) and a central one
    // (46 and the name); then the end record (22).
    let size = entries.iter().fold(22usize, |n, (name, len)| {
        n.saturating_add(76 + 2 * name.len() + len)
    });
    let mut zip = zip::ZipWriter::new(std::io::Cursor::new(Vec::with_capacity(size)));
    let options = zip::write::SimpleFileOptions::default()
        .compression_method(zip::CompressionMethod::Stored)
        .last_modified_time(zip::DateTime::default())
        // The same bytes on every platform: the zip crate would otherwise
        // mark entries made on Windows as MS-DOS ones.
        .system(zip::System::Unix)
        .unix_permissions(0o644);
    for (i, (name, len)) in entries.iter().enumerate() {
        let cannot = |e: &dyn std::fmt::Display| ArchiveError::Write {
            name: name.clone(),
            why: e.to_string(),
        };
        let bytes = data(i, name).map_err(|e| cannot(&e))?;
        if bytes.len() != *len {
            return Err(cannot(&format!(
                "it is {} bytes, not the {len} said",
                bytes.len()
            )));
        }
        zip.start_file(name.as_str(), options)
            .map_err(|e| cannot(&e))?;
        zip.write_all(&bytes).map_err(|e| cannot(&e))?;
    }
    zip.finish()
        .map(|c| c.into_inner())
        .map_err(|e| ArchiveError::Finish(e.to_string()))
}

/// One entry of an archive, its data borrowed from the archive's bytes.
#[derive(Debug)]
pub struct Entry<'a> {
    pub name: String,
    pub data: &'a [u8],
}

fn u16_at(b: &[u8], at: usize) -> Option<u16> {
    Some(u16::from_le_bytes(b.get(at..at + 2)?.try_into().ok()?))
}

fn u32_at(b: &[u8], at: usize) -> Option<u32> {
    Some(u32::from_le_bytes(b.get(at..at + 4)?.try_into().ok()?))
}

const EOCD: u32 = 0x0605_4b50;
const CENTRAL: u32 = 0x0201_4b50;
const LOCAL: u32 = 0x0403_4b50;

/// Why a name cannot be in a bundle, if it cannot.
pub fn bad_name(name: &str) -> Option<&'static str> {
    if name.starts_with('/')
        || name.contains('\\')
        || name.split('/').any(|p| p == ".." || p == ".")
        || name.as_bytes().get(1) == Some(&b':')
    {
        return Some("path outside the archive");
    }
    if name.is_empty() || name.ends_with('/') || name.contains("//") || name.contains('\0') {
        return Some("not a file name");
    }
    None
}

/// Reads every entry, or says why the archive cannot be trusted. Beyond
/// the structure, every header field must be what fieldkit writes (see
/// [`write`]), entries must be sorted and back to back: so a change to
/// any byte of a bundle, even in fields nothing else reads (timestamps,
/// attributes, padding), is refused, and nothing is copied to check it.
pub fn read(bytes: &[u8]) -> Result<Vec<Entry<'_>>, ArchiveError> {
    read_inner(bytes, true)
}

/// Reads the entries with every check but the canonical form: for bytes
/// already read by [`read`] (the caller compares hashes).
pub fn read_verified(bytes: &[u8]) -> Result<Vec<Entry<'_>>, ArchiveError> {
    read_inner(bytes, false)
}

/// What fieldkit's writer puts in the fields the reader does not need.
const VERSION_NEEDED: usize = 10;
const MADE_BY: usize = 0x030a;
const DOS_DATE: usize = 0x0021; // 1980-01-01
const EXTERNAL: u32 = 0o100644 << 16;

fn read_inner(bytes: &[u8], canonical: bool) -> Result<Vec<Entry<'_>>, ArchiveError> {
    let truncated = || ArchiveError::Truncated;
    if bytes.len() < 22 {
        return Err(truncated());
    }
    // The end record: its comment must reach exactly to the end.
    let lowest = bytes.len().saturating_sub(22 + 65_535);
    let eocd = (lowest..=bytes.len() - 22)
        .rev()
        .find(|&i| {
            u32_at(bytes, i) == Some(EOCD)
                && u16_at(bytes, i + 20).map(usize::from) == Some(bytes.len() - i - 22)
        })
        .ok_or_else(truncated)?;
    let disk = u16_at(bytes, eocd + 4).ok_or_else(truncated)?;
    let cd_disk = u16_at(bytes, eocd + 6).ok_or_else(truncated)?;
    let on_disk = u16_at(bytes, eocd + 8).ok_or_else(truncated)?;
    let total = u16_at(bytes, eocd + 10).ok_or_else(truncated)?;
    let cd_size = u32_at(bytes, eocd + 12).ok_or_else(truncated)? as usize;
    let cd_offset = u32_at(bytes, eocd + 16).ok_or_else(truncated)? as usize;
    if disk != 0 || cd_disk != 0 || on_disk != total {
        return Err(ArchiveError::MultiPart);
    }
    if total == 0xFFFF || cd_size == 0xFFFF_FFFF || cd_offset == 0xFFFF_FFFF {
        return Err(ArchiveError::Zip64);
    }
    if cd_offset.checked_add(cd_size) != Some(eocd) {
        return Err(ArchiveError::DirectoryMisplaced);
    }

    let mut entries = Vec::new();
    let mut names = HashSet::new();
    let mut at = cd_offset;
    let mut data_ends: Vec<(usize, usize)> = Vec::new();
    for _ in 0..total {
        let field = |off: usize| {
            u16_at(bytes, at + off)
                .map(usize::from)
                .ok_or_else(truncated)
        };
        if u32_at(bytes, at) != Some(CENTRAL) {
            return Err(ArchiveError::DirectoryDamaged);
        }
        let made_by = field(4)?;
        let flags = field(8)?;
        let method = field(10)?;
        let crc = u32_at(bytes, at + 16).ok_or_else(truncated)?;
        let csize = u32_at(bytes, at + 20).ok_or_else(truncated)? as usize;
        let size = u32_at(bytes, at + 24).ok_or_else(truncated)? as usize;
        let name_len = field(28)?;
        let extra_len = field(30)?;
        let comment_len = field(32)?;
        let external = u32_at(bytes, at + 38).ok_or_else(truncated)?;
        let local = u32_at(bytes, at + 42).ok_or_else(truncated)? as usize;
        let fixed = [field(6)?, field(12)?, field(14)?, field(34)?, field(36)?];

        let name_bytes = bytes
            .get(at + 46..at + 46 + name_len)
            .ok_or_else(truncated)?;
        at += 46 + name_len + extra_len + comment_len;
        if at > eocd {
            return Err(ArchiveError::DirectoryDamaged);
        }
        let name = std::str::from_utf8(name_bytes)
            .map_err(|_| ArchiveError::NameNotUtf8)?
            .to_string();
        if let Some(why) = bad_name(&name) {
            return Err(ArchiveError::BadName { name, why });
        }
        if !names.insert(name.clone()) {
            return Err(ArchiveError::Duplicate(name));
        }
        if made_by >> 8 == 3 && (external >> 16) & 0o170000 == 0o120000 {
            return Err(ArchiveError::Symlink(name));
        }
        if flags & 0x0001 != 0 {
            return Err(ArchiveError::Encrypted(name));
        }
        if flags & 0x0008 != 0 {
            return Err(ArchiveError::DataDescriptor(name));
        }
        if method != 0 {
            return Err(ArchiveError::Compressed { name, method });
        }
        if csize != size {
            return Err(ArchiveError::SizesDisagree {
                name,
                stored: csize,
                size,
            });
        }
        if size > MAX_ENTRY_BYTES {
            return Err(ArchiveError::Oversized { name, size });
        }
        if canonical
            && (made_by != MADE_BY
                || fixed != [VERSION_NEEDED, 0, DOS_DATE, 0, 0]
                || extra_len != 0
                || comment_len != 0
                || external != EXTERNAL)
        {
            return Err(ArchiveError::NotAsWritten("a central directory field"));
        }
        // The local header must say the same as the central directory.
        let disagree = || ArchiveError::HeadersDisagree(name.clone());
        if u32_at(bytes, local) != Some(LOCAL) {
            return Err(disagree());
        }
        let lfield = |off: usize| {
            u16_at(bytes, local + off)
                .map(usize::from)
                .ok_or_else(truncated)
        };
        let l_name_len = lfield(26)?;
        let l_extra_len = lfield(28)?;
        if canonical
            && (lfield(4)? != VERSION_NEEDED
                || lfield(10)? != 0
                || lfield(12)? != DOS_DATE
                || l_extra_len != 0)
        {
            return Err(ArchiveError::NotAsWritten("a local header field"));
        }
        if lfield(6)? != flags
            || lfield(8)? != method
            || u32_at(bytes, local + 14) != Some(crc)
            || u32_at(bytes, local + 18).map(|v| v as usize) != Some(csize)
            || u32_at(bytes, local + 22).map(|v| v as usize) != Some(size)
            || bytes.get(local + 30..local + 30 + l_name_len) != Some(name_bytes)
        {
            return Err(disagree());
        }
        let start = local + 30 + l_name_len + l_extra_len;
        let end = start.checked_add(size).ok_or_else(truncated)?;
        if end > cd_offset {
            return Err(ArchiveError::DataPastDirectory(name));
        }
        data_ends.push((local, end));
        let data = &bytes[start..end];
        if crc32fast::hash(data) != crc {
            return Err(ArchiveError::Crc(name));
        }
        entries.push(Entry { name, data });
    }
    if at != eocd {
        return Err(ArchiveError::DirectoryUnaccounted);
    }
    // Entries may not overlap (a zip bomb trick).
    data_ends.sort();
    if data_ends.windows(2).any(|w| w[1].0 < w[0].1) {
        return Err(ArchiveError::Overlap);
    }
    if canonical {
        // Back to back from the first byte to the central directory, in
        // name order, no comment.
        let mut expect = 0;
        for (start, end) in &data_ends {
            if *start != expect {
                return Err(ArchiveError::NotAsWritten("a gap"));
            }
            expect = *end;
        }
        if expect != cd_offset
            || entries.windows(2).any(|w| w[0].name >= w[1].name)
            || data_ends.len() != entries.len()
            || eocd + 22 != bytes.len()
        {
            return Err(ArchiveError::NotAsWritten("order or layout"));
        }
        let offsets_in_order = {
            let mut last = None;
            let mut ok = true;
            let mut at = cd_offset;
            for _ in 0..entries.len() {
                let off = u32_at(bytes, at + 42).unwrap_or(0) as usize;
                if last.is_some_and(|l| off <= l) {
                    ok = false;
                }
                last = Some(off);
                at += 46 + u16_at(bytes, at + 28).map(usize::from).unwrap_or(0);
            }
            ok
        };
        if !offsets_in_order {
            return Err(ArchiveError::NotAsWritten("order"));
        }
    }
    Ok(entries)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample() -> Vec<u8> {
        write(&mut [
            ("b.txt".into(), b"second".to_vec()),
            ("a.txt".into(), b"first".to_vec()),
        ])
        .unwrap()
    }

    #[test]
    fn round_trip_sorted_and_deterministic() {
        let bytes = sample();
        assert_eq!(bytes, sample(), "same content, same bytes");
        let entries = read(&bytes).unwrap();
        let names: Vec<&str> = entries.iter().map(|e| e.name.as_str()).collect();
        assert_eq!(names, ["a.txt", "b.txt"]);
        assert_eq!(entries[1].data, b"second");
    }

    #[test]
    fn names_outside_the_archive_are_refused() {
        for name in ["../x", "/etc/passwd", "a\\b", "C:/x", "a/../../b", "./a"] {
            assert_eq!(bad_name(name), Some("path outside the archive"), "{name}");
        }
        assert_eq!(bad_name("records/x.age"), None);
    }

    #[test]
    fn truncation_and_garbage_are_refused() {
        let bytes = sample();
        for cut in [0, 10, bytes.len() / 2, bytes.len() - 1] {
            assert!(read(&bytes[..cut]).is_err(), "cut at {cut}");
        }
        assert!(read(b"PK\x05\x06 not really").is_err());
    }
}
