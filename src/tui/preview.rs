//! Previews of the selected file for the detail pane, and line diffs (a
//! modified file against its baseline copy, the whitelist before and after a
//! write). Files are opened through `safe_open` like the hasher opens them,
//! so a fifo or a device is never opened and no atime changes. Every shown
//! line has its control characters made visible.

use std::path::{Path, PathBuf};
use std::sync::mpsc::{self, Sender};

use crate::audit::{Audit, Baseline};
use crate::diff::Change;
use crate::linediff::{DiffLine, diff_lines};
use crate::scan::{Kind, NONE};
use crate::text::escape_bytes;

/// At most this many lines of a text file are shown.
pub const MAX_LINES: usize = 200;
/// At most this many bytes are read for a preview.
const MAX_BYTES: usize = 64 << 10;
/// Binary files show this many bytes as hex.
const HEX_BYTES: usize = 512;

/// What the detail pane shows below the metadata.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Preview {
    /// Nothing to show (directories, links, devices).
    None,
    /// The first lines of a text file, escaped; `true` when cut.
    Text(Vec<String>, bool),
    /// A hex dump of the first bytes of a binary file.
    Hex(Vec<String>),
    /// A modified text file against its baseline copy.
    Diff(Vec<DiffLine>),
    /// Why there is no preview.
    Unavailable(String),
}

/// Reads up to `MAX_BYTES` of the regular file at `path` through
/// [`crate::safe_open::read_head`]: a final symlink is not followed, a fifo
/// or device is never opened, the atime is left alone, and with `expect` the
/// file must still be the (device, inode) the scan saw.
fn read_head(path: &Path, expect: Option<(u64, u64)>) -> std::io::Result<Vec<u8>> {
    crate::safe_open::read_head(path, MAX_BYTES as u64, expect)
}

/// Returns true if and only if `bytes` look like text: no NUL, and mostly valid UTF-8.
pub fn is_text(bytes: &[u8]) -> bool {
    if bytes.contains(&0) {
        return false;
    }
    let bad: usize = bytes.utf8_chunks().map(|c| c.invalid().len()).sum();
    bad * 20 <= bytes.len()
}

/// Splits text into display lines: tabs expanded, control characters escaped.
pub fn lines(bytes: &[u8], max: usize) -> (Vec<String>, bool) {
    let mut out = Vec::new();
    let mut it = bytes.split(|&b| b == b'\n').peekable();
    while let Some(l) = it.next() {
        if it.peek().is_none() && l.is_empty() {
            break; // the final newline does not start a line
        }
        if out.len() == max {
            return (out, true);
        }
        let l = l.strip_suffix(b"\r").unwrap_or(l);
        let mut expanded = Vec::with_capacity(l.len());
        for &b in l {
            if b == b'\t' {
                expanded.extend_from_slice(b"    ");
            } else {
                expanded.push(b);
            }
        }
        out.push(escape_bytes(&expanded));
    }
    (out, bytes.len() >= MAX_BYTES)
}

/// A hex dump: offset, 16 bytes, and the printable ASCII.
pub fn hex(bytes: &[u8]) -> Vec<String> {
    bytes[..bytes.len().min(HEX_BYTES)]
        .chunks(16)
        .enumerate()
        .map(|(row, c)| {
            let hexes: Vec<String> = c.iter().map(|b| format!("{b:02x}")).collect();
            let ascii: String = c
                .iter()
                .map(|&b| {
                    if b.is_ascii_graphic() || b == b' ' {
                        b as char
                    } else {
                        '.'
                    }
                })
                .collect();
            format!("{:06x}  {:<47}  {ascii}", row * 16, hexes.join(" "))
        })
        .collect()
}

/// The preview of a file on the host at `path`; with `baseline`, the diff
/// against the baseline copy when both are text.
pub fn load(path: &Path, expect: Option<(u64, u64)>, baseline: Option<&Path>) -> Preview {
    let bytes = match read_head(path, expect) {
        Ok(b) => b,
        Err(e) => return Preview::Unavailable(format!("cannot read: {e}")),
    };
    if let Some(bp) = baseline
        && let Ok(old) = read_head(bp, None)
        && is_text(&bytes)
        && is_text(&old)
    {
        let (a, _) = lines(&old, 2000);
        let (b, _) = lines(&bytes, 2000);
        return Preview::Diff(diff_lines(&a, &b, 3));
    }
    if bytes.is_empty() {
        Preview::Text(vec!["(empty file)".into()], false)
    } else if is_text(&bytes) {
        let (l, cut) = lines(&bytes, MAX_LINES);
        Preview::Text(l, cut)
    } else {
        Preview::Hex(hex(&bytes))
    }
}

/// A preview to read: what the detail pane of one pair needs from disk.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PreviewJob {
    /// The pair it is for.
    pub pair: u32,
    /// The file on the host with the (device, inode) the scan saw; `None`
    /// when there is nothing to read (directories, links, removed paths).
    pub file: Option<(PathBuf, (u64, u64))>,
    /// The baseline's copy, for the diff of a modified file.
    pub baseline: Option<PathBuf>,
}

impl PreviewJob {
    /// The job for pair `i` of the audit.
    pub fn for_pair(a: &Audit, i: usize) -> PreviewJob {
        let p = a.merge().pairs()[i];
        let mut job = PreviewJob {
            pair: i as u32,
            file: None,
            baseline: None,
        };
        if p.cur == NONE || a.cur().entries[p.cur as usize].kind != Kind::File {
            return job;
        }
        let c = p.cur as usize;
        job.baseline = match (a.baseline(), a.base()) {
            (Baseline::Directory(_), Some(b))
                if p.base != NONE
                    && a.change(i).0 == Change::Modified
                    && b.entries[p.base as usize].kind == Kind::File =>
            {
                Some(b.host_path(p.base as usize))
            }
            _ => None,
        };
        let e = &a.cur().entries[c];
        job.file = Some((a.cur().host_path(c), (a.cur().dev(c), e.ino)));
        job
    }

    /// Reads it.
    pub fn run(&self) -> Preview {
        match &self.file {
            None => Preview::None,
            Some((path, id)) => load(path, Some(*id), self.baseline.as_deref()),
        }
    }
}

/// Starts the thread that reads previews, so a slow disk, a large file or
/// a hung network mount never holds up a key: it reads the latest job
/// (older ones queued behind it are dropped) and hands the preview to
/// `results`. It ends when the runtime drops its end of the job channel, or
/// when `results` returns false.
pub fn reader(
    mut results: impl FnMut(u32, Preview) -> bool + Send + 'static,
) -> Sender<PreviewJob> {
    let (tx, rx) = mpsc::channel::<PreviewJob>();
    // Without a thread (spawning failed) the job receiver is dropped, sends
    // fail, and the runtime reads the preview itself.
    let _ = std::thread::Builder::new()
        .name("darlings-preview".into())
        .spawn(move || {
            while let Ok(mut job) = rx.recv() {
                while let Ok(newer) = rx.try_recv() {
                    job = newer;
                }
                if !results(job.pair, job.run()) {
                    break;
                }
            }
        });
    tx
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn control_characters_are_made_visible_and_binary_is_hex() {
        let (l, cut) = lines(b"ok\x1b[31mred\n\tx\n", 10);
        assert_eq!(l, ["ok\\e[31mred", "    x"]);
        assert!(!cut);
        assert!(!is_text(b"\x7fELF\0\0"));
        assert!(hex(b"\x7fELF\0")[0].starts_with("000000  7f 45 4c 46 00"));
    }

    #[test]
    fn fifos_are_never_opened_for_reading() {
        let dir = tempfile::tempdir().unwrap();
        let fifo = dir.path().join("p");
        rustix::fs::mknodat(
            rustix::fs::CWD,
            &fifo,
            rustix::fs::FileType::Fifo,
            rustix::fs::Mode::from_raw_mode(0o600),
            0,
        )
        .unwrap();
        assert!(matches!(load(&fifo, None, None), Preview::Unavailable(_)));
        std::os::unix::fs::symlink("/etc/hostname", dir.path().join("l")).unwrap();
        assert!(matches!(
            load(&dir.path().join("l"), None, None),
            Preview::Unavailable(_)
        ));
    }
}
