//! latencyfs: serves one disk image as `MOUNTPOINT/disk.img` through FUSE and
//! answers every read after a fixed delay, from a pool of threads, so reads
//! in flight overlap as on a disk's queue. A loop device with direct I/O over
//! that file is a block device with the chosen latency, whatever the host
//! caches: what a cold walk costs on a real SSD or disk (bench/slow-disk.sh).
//!
//! Usage: latencyfs IMAGE MOUNTPOINT LATENCY_US THREADS

use std::ffi::OsStr;
use std::os::unix::fs::FileExt;
use std::sync::{Arc, Mutex, mpsc};
use std::time::{Duration, SystemTime};

use fuser::{
    FileAttr, FileType, Filesystem, KernelConfig, MountOption, ReplyAttr, ReplyData, ReplyEntry,
    ReplyOpen, Request,
};

/// FUSE_ASYNC_DIO: direct reads are submitted asynchronously, many at once
/// (without it the kernel sends them one by one).
const FUSE_ASYNC_DIO: u32 = 1 << 15;
const ROOT: u64 = 1;
const IMAGE: u64 = 2;
const TTL: Duration = Duration::from_secs(3600);

/// A read waiting for its delay: offset, length, where the answer goes.
type Job = (u64, u32, ReplyData);

struct Disk {
    size: u64,
    jobs: mpsc::Sender<Job>,
}

fn attr(ino: u64, size: u64) -> FileAttr {
    let t = SystemTime::UNIX_EPOCH;
    let dir = ino == ROOT;
    FileAttr {
        ino,
        size,
        blocks: size / 512,
        atime: t,
        mtime: t,
        ctime: t,
        crtime: t,
        kind: if dir {
            FileType::Directory
        } else {
            FileType::RegularFile
        },
        perm: if dir { 0o755 } else { 0o444 },
        nlink: 1,
        uid: 0,
        gid: 0,
        rdev: 0,
        blksize: 4096,
        flags: 0,
    }
}

impl Filesystem for Disk {
    fn init(&mut self, _: &Request<'_>, config: &mut KernelConfig) -> Result<(), libc::c_int> {
        // A deep queue: up to 256 reads in flight, like an SSD's.
        let _ = config.add_capabilities(FUSE_ASYNC_DIO);
        let _ = config.set_max_background(256);
        let _ = config.set_congestion_threshold(200);
        Ok(())
    }

    fn lookup(&mut self, _: &Request<'_>, parent: u64, name: &OsStr, reply: ReplyEntry) {
        if parent == ROOT && name == "disk.img" {
            reply.entry(&TTL, &attr(IMAGE, self.size), 0);
        } else {
            reply.error(libc::ENOENT);
        }
    }

    fn getattr(&mut self, _: &Request<'_>, ino: u64, _: Option<u64>, reply: ReplyAttr) {
        match ino {
            ROOT | IMAGE => reply.attr(&TTL, &attr(ino, self.size)),
            _ => reply.error(libc::ENOENT),
        }
    }

    fn open(&mut self, _: &Request<'_>, _: u64, _: i32, reply: ReplyOpen) {
        // Never cached by the kernel: every read reaches the delay.
        reply.opened(0, fuser::consts::FOPEN_DIRECT_IO);
    }

    fn read(
        &mut self,
        _: &Request<'_>,
        _: u64,
        _: u64,
        offset: i64,
        size: u32,
        _: i32,
        _: Option<u64>,
        reply: ReplyData,
    ) {
        match u64::try_from(offset) {
            Ok(off) => {
                if let Err(mpsc::SendError((_, _, reply))) = self.jobs.send((off, size, reply)) {
                    reply.error(libc::EIO);
                }
            }
            Err(_) => reply.error(libc::EINVAL),
        }
    }
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let [_, image, mountpoint, latency_us, threads] = args.as_slice() else {
        eprintln!("usage: latencyfs IMAGE MOUNTPOINT LATENCY_US THREADS");
        std::process::exit(2);
    };
    let latency = Duration::from_micros(latency_us.parse().expect("LATENCY_US: a number"));
    let threads: usize = threads.parse().expect("THREADS: a number");
    let file = Arc::new(std::fs::File::open(image).expect("cannot open the image"));
    let size = file.metadata().expect("cannot stat the image").len();
    let (jobs, queue) = mpsc::channel::<Job>();
    let queue = Arc::new(Mutex::new(queue));
    for _ in 0..threads.max(1) {
        let (queue, file) = (queue.clone(), file.clone());
        std::thread::spawn(move || {
            loop {
                let job = queue.lock().map(|q| q.recv());
                let Ok(Ok((off, len, reply))) = job else {
                    return;
                };
                std::thread::sleep(latency);
                let mut buf = vec![0u8; len as usize];
                match file.read_at(&mut buf, off) {
                    Ok(n) => reply.data(&buf[..n]),
                    Err(e) => reply.error(e.raw_os_error().unwrap_or(libc::EIO)),
                }
            }
        });
    }
    let options = [MountOption::RO, MountOption::FSName("latencyfs".into())];
    fuser::mount2(Disk { size, jobs }, mountpoint, &options).expect("cannot mount");
}
