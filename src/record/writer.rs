//! Appending to a recording from a thread of its own, so that a slow disk never delays a
//! poll: the poll loop hands each analysis to the writer and moves on.
//!
//! The hand-over is a rendezvous: a poll is accepted only when the writer is idle, that
//! is, when every line before it is written and synced. A kill (SIGKILL, the OOM killer,
//! a power cut) therefore loses at most the one line being written, and the reader skips
//! such a torn last line. A poll that finds the writer still busy waits briefly for it;
//! if the disk is slower than that, the poll is dropped and counted (never queued), and
//! the closing message says how many.
//! A FILE named `*.gz` is gzip-compressed, flushed to a byte boundary after every line so
//! that everything up to the last complete line can be decompressed after a crash.
use std::fs::File;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::mpsc::{Receiver, SyncSender, TrySendError, sync_channel};
use std::thread::JoinHandle;

use flate2::Compression;
use flate2::write::GzEncoder;
use serde::Serialize;

use super::format::{ActionLine, Header};
use crate::analysis::Analysis;
use crate::output::WriteError;

/// Nothing waits in memory for the disk: a queue is what a kill would lose.
const QUEUE: usize = 0;

/// How long a poll waits for the writer to finish the line before it (a write and an
/// fdatasync: milliseconds on a healthy disk, and an action line may have just gone
/// first). Past this the poll is dropped and counted rather than the poll loop held up.
const HANDOFF_WAIT: std::time::Duration = std::time::Duration::from_millis(100);

enum Item {
    /// A poll, and with several servers the name of the one it is from.
    Snapshot(Box<Analysis>, Option<Arc<str>>),
    Action(ActionLine),
    /// Any other line kind, already encoded (a `pglocks.guard/1` line).
    Line(Vec<u8>),
    Close,
}

/// What the writer did, for the closing message.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Summary {
    pub snapshots: u64,
    pub actions: u64,
    pub bytes: u64,
    /// Polls not recorded because the writer fell behind.
    pub dropped: u64,
    /// Time the writer thread spent encoding, writing and syncing lines.
    pub busy: std::time::Duration,
    /// Why writing stopped early, if it did.
    pub error: Option<String>,
}

/// Owns the recording file's writer thread. Dropping it (or `finish`) writes what is
/// queued and closes the file.
pub struct Recorder {
    path: PathBuf,
    tx: SyncSender<Item>,
    dropped: Arc<AtomicU64>,
    thread: Option<JoinHandle<Summary>>,
}

/// The sending end, cheap to clone into the poller.
#[derive(Clone)]
pub struct RecordSink {
    tx: SyncSender<Item>,
    dropped: Arc<AtomicU64>,
    /// With several servers, the one whose polls and actions go through this sink.
    server: Option<Arc<str>>,
}

impl Recorder {
    /// Creates FILE (never over an existing one) and writes the header line before
    /// returning, so a bad path fails at once, not in the background.
    pub fn create(path: &Path, header: &Header) -> Result<Recorder, WriteError> {
        let io = |source| WriteError::Io {
            path: path.to_path_buf(),
            source,
        };
        let file = create_new(path)?;
        let mut out = if path.extension().is_some_and(|e| e == "gz") {
            Output::Gzip(GzEncoder::new(file, Compression::fast()))
        } else {
            Output::Plain(file)
        };
        let mut first = serde_json::to_vec(header).map_err(|e| io(e.into()))?;
        first.push(b'\n');
        out.line(&first).map_err(io)?;
        let (tx, rx) = sync_channel(QUEUE);
        let first_bytes = first.len() as u64;
        let thread = std::thread::Builder::new()
            .name("pglocks-record".into())
            .spawn(move || write_loop(out, rx, first_bytes))
            .map_err(io)?;
        Ok(Recorder {
            path: path.to_path_buf(),
            tx,
            dropped: Arc::new(AtomicU64::new(0)),
            thread: Some(thread),
        })
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    pub fn sink(&self) -> RecordSink {
        RecordSink {
            tx: self.tx.clone(),
            dropped: self.dropped.clone(),
            server: None,
        }
    }

    /// Writes everything queued so far, closes the file and says what was written.
    /// Blocks until the disk has it; call it from a blocking context.
    pub fn finish(mut self) -> Summary {
        self.close()
    }

    fn close(&mut self) -> Summary {
        let Some(thread) = self.thread.take() else {
            return Summary::default();
        };
        // Queued after everything sent so far, so all of it is written first.
        let _ = self.tx.send(Item::Close);
        let mut summary = thread.join().unwrap_or_else(|_| Summary {
            error: Some("the recording thread stopped unexpectedly".into()),
            ..Summary::default()
        });
        summary.dropped = self.dropped.load(Ordering::Relaxed);
        summary
    }
}

impl Drop for Recorder {
    fn drop(&mut self) {
        let summary = self.close();
        // The TUI has restored the terminal by now (the recorder outlives its guard).
        if let Some(e) = summary.error {
            eprintln!("pglocks: recording {}: {e}", self.path.display());
        }
        if summary.dropped > 0 {
            eprintln!(
                "pglocks: recording {}: {} polls not recorded (the disk fell behind)",
                self.path.display(),
                summary.dropped
            );
        }
    }
}

impl RecordSink {
    /// The same file, for one server of several: its polls' lines carry `server_name`
    /// and its actions' lines `server`.
    pub fn for_server(&self, name: &str) -> RecordSink {
        RecordSink {
            server: Some(name.into()),
            ..self.clone()
        }
    }

    /// Hands a copy of the analysis to the writer once it has finished the line before,
    /// waiting at most HANDOFF_WAIT for that.
    pub fn snapshot(&self, analysis: &Analysis) {
        self.send(Item::Snapshot(
            Box::new(analysis.clone()),
            self.server.clone(),
        ));
    }

    /// An action is never dropped: this waits for the line being written, if any.
    pub fn action(&self, mut line: ActionLine) {
        if line.server.is_none() {
            line.server = self.server.as_deref().map(str::to_string);
        }
        // Err: the writer stopped after an error; it reports that itself when closed.
        let _ = self.tx.send(Item::Action(line));
    }

    /// Like `line`, but never dropped: waits for the line being written, if any. Blocks;
    /// call it from a blocking context.
    pub fn line_always<T: Serialize>(&self, value: &T) {
        let mut buf = Vec::new();
        if encode(&mut buf, value).is_ok() {
            let _ = self.tx.send(Item::Line(buf));
        }
    }

    /// A line of another kind; it must serialise to one JSON object with a `format` field.
    pub fn line<T: Serialize>(&self, value: &T) {
        let mut buf = Vec::new();
        if encode(&mut buf, value).is_ok() {
            self.send(Item::Line(buf));
        }
    }

    /// Polls not recorded so far because the writer was still busy with the previous one.
    pub fn dropped(&self) -> u64 {
        self.dropped.load(Ordering::Relaxed)
    }

    fn send(&self, mut item: Item) {
        let deadline = std::time::Instant::now() + HANDOFF_WAIT;
        loop {
            match self.tx.try_send(item) {
                Ok(()) => return,
                Err(TrySendError::Full(back)) if std::time::Instant::now() < deadline => {
                    item = back;
                    std::thread::sleep(std::time::Duration::from_millis(1));
                }
                Err(TrySendError::Full(_)) => {
                    self.dropped.fetch_add(1, Ordering::Relaxed);
                    return;
                }
                // The writer stopped after an error; it reports that itself when closed.
                Err(TrySendError::Disconnected(_)) => return,
            }
        }
    }
}

fn create_new(path: &Path) -> Result<File, WriteError> {
    let dir = match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
        _ => PathBuf::from("."),
    };
    if !dir.is_dir() {
        return Err(WriteError::NoDirectory(dir));
    }
    // The atomic never-overwrite check (O_CREAT | O_EXCL), mode 0600.
    let file = crate::output::create_private(path).map_err(|source| {
        if source.kind() == std::io::ErrorKind::AlreadyExists {
            WriteError::Exists(path.to_path_buf())
        } else {
            WriteError::Io {
                path: path.to_path_buf(),
                source,
            }
        }
    })?;
    // Syncing the file's data does not make its name durable: after a crash the lines
    // would be on disk with no directory entry pointing at them.
    File::open(&dir)
        .and_then(|d| d.sync_all())
        .map_err(|source| WriteError::Io {
            path: dir.clone(),
            source,
        })?;
    Ok(file)
}

enum Output {
    Plain(File),
    Gzip(GzEncoder<File>),
}

impl Output {
    /// Writes one complete line and makes it durable before returning.
    fn line(&mut self, bytes: &[u8]) -> std::io::Result<()> {
        match self {
            Output::Plain(f) => {
                f.write_all(bytes)?;
                f.sync_data()
            }
            Output::Gzip(z) => {
                z.write_all(bytes)?;
                // A sync flush ends the line on a byte boundary: decodable without the rest.
                z.flush()?;
                z.get_ref().sync_data()
            }
        }
    }

    fn close(self) -> std::io::Result<()> {
        match self {
            Output::Plain(f) => f.sync_all(),
            Output::Gzip(z) => z.finish()?.sync_all(),
        }
    }
}

fn write_loop(mut out: Output, rx: Receiver<Item>, header_bytes: u64) -> Summary {
    let mut summary = Summary {
        bytes: header_bytes,
        ..Summary::default()
    };
    let mut line = Vec::with_capacity(64 * 1024);
    // Ends on Close, or when every sender is gone.
    for item in rx {
        let started = std::time::Instant::now();
        line.clear();
        let encoded = match &item {
            Item::Snapshot(a, server) => {
                let mut doc = crate::report::json::document(a, &[]);
                doc.server_name = server.as_deref().map(str::to_string);
                encode(&mut line, &doc)
            }
            Item::Action(act) => encode(&mut line, act),
            Item::Line(bytes) => {
                line.extend_from_slice(bytes);
                Ok(())
            }
            Item::Close => break,
        };
        let written = encoded
            .map_err(|e| e.to_string())
            .and_then(|()| out.line(&line).map_err(|e| e.to_string()));
        if let Err(e) = written {
            summary.error = Some(e);
            return summary;
        }
        summary.bytes += line.len() as u64;
        summary.busy += started.elapsed();
        match item {
            Item::Snapshot(..) => summary.snapshots += 1,
            Item::Action(_) | Item::Line(_) => summary.actions += 1,
            Item::Close => {}
        }
    }
    if let Err(e) = out.close() {
        summary.error = Some(e.to_string());
    }
    summary
}

fn encode<T: Serialize>(buf: &mut Vec<u8>, value: &T) -> serde_json::Result<()> {
    serde_json::to_writer(&mut *buf, value)?;
    buf.push(b'\n');
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::analysis::{Options, analyze};
    use crate::model::{ActionRecord, ServerInfo, Session, Snapshot};
    use crate::record::format::Entry;
    use crate::record::reader;

    fn analysis(pid: i32) -> Analysis {
        let snap = Snapshot {
            taken_at: chrono::DateTime::UNIX_EPOCH + chrono::Duration::seconds(pid.into()),
            server: ServerInfo {
                version: "15.18".into(),
                version_num: 150018,
                max_connections: 100,
                query_size: None,
            },
            sessions: vec![Session {
                pid,
                query: Some("select 1".into()),
                ..Default::default()
            }],
            replication: None,
        };
        analyze(snap, &Options::default())
    }

    fn record(path: &Path) -> Summary {
        let header = Header::new("t".into(), std::time::Duration::from_secs(1), None, false);
        let recorder = Recorder::create(path, &header).unwrap();
        let sink = recorder.sink();
        for pid in 1..=3 {
            sink.snapshot(&analysis(pid));
        }
        let action = ActionRecord {
            at: chrono::DateTime::UNIX_EPOCH,
            action: "cancel".into(),
            pid: 2,
            result: "cancel sent; session now idle".into(),
        };
        sink.action(ActionLine::new(action, None));
        recorder.finish()
    }

    fn read(path: &Path) -> (Vec<Entry>, Vec<String>) {
        let mut r = reader::open(path).unwrap();
        let entries = r.by_ref().map(|e| e.unwrap()).collect();
        (entries, r.warnings())
    }

    #[test]
    fn plain_and_gzip_recordings_read_back_the_same() {
        let dir = tempfile::tempdir().unwrap();
        for name in ["r.jsonl", "r.jsonl.gz"] {
            let path = dir.path().join(name);
            let summary = record(&path);
            assert_eq!((summary.snapshots, summary.actions), (3, 1), "{name}");
            assert_eq!(summary.error, None);
            let (entries, warnings) = read(&path);
            assert!(warnings.is_empty(), "{warnings:?}");
            assert_eq!(entries.len(), 5, "{name}: header, 3 polls, 1 action");
            assert!(matches!(entries[4], Entry::Action(ref a) if a.action.pid == 2));
            let bytes = std::fs::read(&path).unwrap();
            assert_eq!(bytes.starts_with(&[0x1f, 0x8b]), name.ends_with(".gz"));
            assert!(matches!(
                Recorder::create(
                    &path,
                    &Header::new("t".into(), std::time::Duration::ZERO, None, false)
                ),
                Err(WriteError::Exists(_))
            ));
        }
    }

    /// Issue 13.6: with a 64-poll queue a kill lost up to a minute of polls. Whenever a
    /// poll is accepted, every poll accepted before it must already be in the file, which
    /// is all a SIGKILL leaves.
    #[test]
    fn an_accepted_poll_means_every_earlier_one_is_on_disk() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("r.jsonl");
        let header = Header::new("t".into(), std::time::Duration::from_secs(1), None, false);
        let recorder = Recorder::create(&path, &header).unwrap();
        let sink = recorder.sink();
        let a = analysis(1);
        let mut accepted = 0u64;
        let mut sent = 0u64;
        while accepted < 30 {
            sink.snapshot(&a);
            sent += 1;
            let now_accepted = sent - sink.dropped();
            if now_accepted > accepted {
                accepted = now_accepted;
                let on_disk = std::fs::read_to_string(&path).unwrap().lines().count() as u64 - 1;
                assert!(
                    on_disk + 1 >= accepted,
                    "{accepted} polls accepted, only {on_disk} in the file"
                );
            }
        }
        assert_eq!(recorder.finish().snapshots, accepted);
    }

    #[test]
    fn a_gzip_recording_cut_short_reads_up_to_its_last_complete_line() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("r.jsonl.gz");
        record(&path);
        let bytes = std::fs::read(&path).unwrap();
        // Without the trailer (what a killed writer leaves), every flushed line is intact.
        let cut = dir.path().join("cut.jsonl.gz");
        std::fs::write(&cut, &bytes[..bytes.len() - 10]).unwrap();
        let (entries, warnings) = read(&cut);
        assert_eq!(entries.len(), 5);
        assert_eq!(warnings.len(), 1, "{warnings:?}");
        assert!(warnings[0].contains("ends early"), "{warnings:?}");
        // Cut inside the last line: that line is skipped, the ones before it stay.
        let torn = dir.path().join("torn.jsonl.gz");
        std::fs::write(&torn, &bytes[..bytes.len() - 40]).unwrap();
        let (entries, warnings) = read(&torn);
        assert!((3..5).contains(&entries.len()), "{}", entries.len());
        assert!(!warnings.is_empty());
    }
}
