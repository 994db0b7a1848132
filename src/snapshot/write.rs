//! Writing scan files: the stream cut into frames and compressed on a pool
//! of one thread per CPU while it is produced.

use super::{CHUNK, LEVEL};

/// A compressed frame and its place in the payload.
type Done = (usize, std::io::Result<Vec<u8>>);

/// Cuts the stream into CHUNK-sized pieces as it comes and compresses each
/// on the current rayon pool (the walk's, during a scan) while the next is
/// filled. Chunk buffers are handed back after compression and reused.
pub(super) struct Frames {
    cur: Vec<u8>,
    raw_len: u64,
    next: usize,
    done_tx: std::sync::mpsc::Sender<Done>,
    done_rx: std::sync::mpsc::Receiver<Done>,
    free_tx: std::sync::mpsc::Sender<Vec<u8>>,
    free_rx: std::sync::mpsc::Receiver<Vec<u8>>,
}

impl Frames {
    pub(super) fn new() -> Frames {
        let (done_tx, done_rx) = std::sync::mpsc::channel();
        let (free_tx, free_rx) = std::sync::mpsc::channel();
        Frames {
            cur: Vec::with_capacity(CHUNK),
            raw_len: 0,
            next: 0,
            done_tx,
            done_rx,
            free_tx,
            free_rx,
        }
    }

    pub(super) fn push(&mut self, mut b: &[u8]) {
        self.raw_len += b.len() as u64;
        while !b.is_empty() {
            let take = (CHUNK - self.cur.len()).min(b.len());
            self.cur.extend_from_slice(&b[..take]);
            b = &b[take..];
            if self.cur.len() == CHUNK {
                self.flush();
            }
        }
    }

    fn flush(&mut self) {
        if self.cur.is_empty() {
            return;
        }
        let spare = self
            .free_rx
            .try_recv()
            .unwrap_or_else(|_| Vec::with_capacity(CHUNK));
        let mut chunk = std::mem::replace(&mut self.cur, spare);
        let (k, done, free) = (self.next, self.done_tx.clone(), self.free_tx.clone());
        self.next += 1;
        let job = move || {
            let z = compress(&chunk);
            chunk.clear();
            let _ = free.send(chunk);
            let _ = done.send((k, z));
        };
        match compression_pool() {
            Some(pool) => pool.spawn(job),
            None => rayon::spawn(job),
        }
    }

    /// Compresses what is left and waits for every frame: the stream's
    /// length and its frames in order.
    pub(super) fn finish(mut self) -> std::io::Result<(u64, Vec<Vec<u8>>)> {
        self.flush();
        let mut frames: Vec<Option<Vec<u8>>> = vec![None; self.next];
        for _ in 0..self.next {
            let on_pool = compression_pool().map_or(rayon::current_thread_index().is_some(), |p| {
                p.current_thread_index().is_some()
            });
            let (k, z) = if on_pool {
                // On a pool thread: help with the compression instead of blocking it.
                loop {
                    if let Ok(d) = self.done_rx.try_recv() {
                        break d;
                    }
                    rayon::yield_now();
                }
            } else {
                self.done_rx.recv().map_err(std::io::Error::other)?
            };
            frames[k] = Some(z?);
        }
        Ok((self.raw_len, frames.into_iter().flatten().collect()))
    }
}

/// The threads that compress frames: one per CPU, whatever the walk's
/// thread count (a zstd context and its tables per thread; the walk's
/// default four threads per CPU would hold four times as many).
fn compression_pool() -> Option<&'static rayon::ThreadPool> {
    static POOL: std::sync::OnceLock<Option<rayon::ThreadPool>> = std::sync::OnceLock::new();
    POOL.get_or_init(|| {
        rayon::ThreadPoolBuilder::new()
            .num_threads(crate::scan::cores())
            .thread_name(|i| format!("darlings-zstd-{i}"))
            .build()
            .ok()
    })
    .as_ref()
}

/// Compresses one frame with this thread's zstd context: reusing it spares
/// allocating (and faulting in) its tables for every frame.
pub(super) fn compress(chunk: &[u8]) -> std::io::Result<Vec<u8>> {
    thread_local! {
        static CTX: std::cell::RefCell<Option<zstd::bulk::Compressor<'static>>> =
            const { std::cell::RefCell::new(None) };
    }
    CTX.with_borrow_mut(|ctx| {
        let c = match ctx {
            Some(c) => c,
            None => ctx.insert(zstd::bulk::Compressor::new(LEVEL)?),
        };
        c.compress(chunk)
    })
}
