//! Reading a recording back, one line at a time (an hour of polls of a busy server does
//! not fit in memory as parsed documents).
//!
//! A last line that does not parse is what a crash mid-write leaves: it is skipped with a
//! warning. Any other line that does not parse means the file is not a recording, or is
//! damaged: that is an error naming the line. Gzip-compressed recordings are recognised by
//! their first bytes; one cut short by a crash is read up to its last complete line.
use std::collections::BTreeSet;
use std::fs::File;
use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};

use serde::Deserialize;

use super::format::{ACTION, Entry, HEADER, SERVER, SNAPSHOT};

#[derive(Debug, thiserror::Error)]
pub enum ReadError {
    #[error("{}: {source}", .path.display())]
    Io {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("{}:{line}: not a pglocks recording line ({why})", .path.display())]
    Malformed {
        path: PathBuf,
        line: usize,
        why: String,
    },
    #[error("{}: empty, not a pglocks recording", .path.display())]
    Empty { path: PathBuf },
}

#[derive(Deserialize)]
struct Probe {
    format: String,
}

pub struct Reader<R> {
    path: PathBuf,
    input: R,
    line_no: usize,
    /// The next raw line, read ahead so that the last line can be told apart.
    ahead: Option<Vec<u8>>,
    started: bool,
    /// The input ended early (a compressed stream cut short): nothing more to read.
    cut: bool,
    any_line: bool,
    skipped_formats: BTreeSet<String>,
    warnings: Vec<String>,
}

pub type Input = Box<dyn BufRead + Send>;

pub fn open(path: &Path) -> Result<Reader<Input>, ReadError> {
    let io = |source| ReadError::Io {
        path: path.to_path_buf(),
        source,
    };
    let mut file = BufReader::with_capacity(256 * 1024, File::open(path).map_err(io)?);
    let gzip = file.fill_buf().map_err(io)?.starts_with(&[0x1f, 0x8b]);
    let input: Input = if gzip {
        let decoder = flate2::bufread::MultiGzDecoder::new(file);
        Box::new(BufReader::with_capacity(256 * 1024, decoder))
    } else {
        Box::new(file)
    };
    Ok(Reader::new(path, input))
}

impl<R: BufRead> Reader<R> {
    /// `path` only names the input in messages.
    pub fn new(path: &Path, input: R) -> Self {
        Reader {
            path: path.to_path_buf(),
            input,
            line_no: 0,
            ahead: None,
            started: false,
            cut: false,
            any_line: false,
            skipped_formats: BTreeSet::new(),
            warnings: Vec::new(),
        }
    }

    /// What was skipped, in one line each; complete once the reader is exhausted.
    pub fn warnings(&self) -> Vec<String> {
        let mut out = self.warnings.clone();
        for f in &self.skipped_formats {
            out.push(format!(
                "{}: skipped lines of format \"{f}\", written by a newer pglocks",
                self.path.display()
            ));
        }
        out
    }

    fn raw_line(&mut self) -> Result<Option<Vec<u8>>, ReadError> {
        if self.cut {
            return Ok(None);
        }
        let mut buf = Vec::new();
        match self.input.read_until(b'\n', &mut buf) {
            Ok(_) => {}
            // A compressed recording whose writer died: what came before is complete.
            Err(e) if e.kind() == std::io::ErrorKind::UnexpectedEof => {
                self.cut = true;
                self.warnings.push(format!(
                    "{}: the compressed stream ends early (the recording was not closed cleanly)",
                    self.path.display()
                ));
            }
            Err(source) => {
                return Err(ReadError::Io {
                    path: self.path.clone(),
                    source,
                });
            }
        }
        // The writer ends every line with a newline: text after the last one is a line
        // still being written (or torn by a crash), and nothing can follow it. Without this,
        // a file read while it grows could see the rest of that line arrive, and a torn
        // line would look like a damaged one in the middle.
        if !buf.is_empty() && buf.last() != Some(&b'\n') {
            self.cut = true;
        }
        Ok((!buf.is_empty()).then_some(buf))
    }

    fn next_entry(&mut self) -> Result<Option<Entry>, ReadError> {
        if !self.started {
            self.started = true;
            self.ahead = self.raw_line()?;
        }
        loop {
            let Some(line) = self.ahead.take() else {
                if !self.any_line {
                    return Err(ReadError::Empty {
                        path: self.path.clone(),
                    });
                }
                return Ok(None);
            };
            self.line_no += 1;
            self.ahead = self.raw_line()?;
            let is_last = self.ahead.is_none();
            if line.iter().all(u8::is_ascii_whitespace) {
                continue;
            }
            self.any_line = true;
            match self.parse(&line) {
                Ok(Some(entry)) => return Ok(Some(entry)),
                Ok(None) => continue,
                Err(why) if is_last && self.line_no > 1 => {
                    self.warnings.push(format!(
                        "{}:{}: skipped an incomplete last line (the recording stopped while writing it: {why})",
                        self.path.display(),
                        self.line_no
                    ));
                    return Ok(None);
                }
                Err(why) => {
                    return Err(ReadError::Malformed {
                        path: self.path.clone(),
                        line: self.line_no,
                        why,
                    });
                }
            }
        }
    }

    /// The entry, None for a line of a newer format, or why the line is not a recording's.
    fn parse(&mut self, line: &[u8]) -> Result<Option<Entry>, String> {
        let probe: Probe = serde_json::from_slice(line).map_err(|e| short(&e))?;
        let entry = match probe.format.as_str() {
            HEADER => Entry::Header(serde_json::from_slice(line).map_err(|e| short(&e))?),
            SNAPSHOT => Entry::Snapshot(Box::new(
                serde_json::from_slice(line).map_err(|e| short(&e))?,
            )),
            ACTION => Entry::Action(serde_json::from_slice(line).map_err(|e| short(&e))?),
            SERVER => Entry::Server(serde_json::from_slice(line).map_err(|e| short(&e))?),
            super::guard::GUARD => {
                Entry::Guard(serde_json::from_slice(line).map_err(|e| short(&e))?)
            }
            other if other.starts_with("pglocks.") => {
                self.skipped_formats.insert(other.to_string());
                return Ok(None);
            }
            other => return Err(format!("unknown format \"{}\"", short_text(other))),
        };
        Ok(Some(entry))
    }
}

impl<R: BufRead> Iterator for Reader<R> {
    type Item = Result<Entry, ReadError>;

    fn next(&mut self) -> Option<Self::Item> {
        self.next_entry().transpose()
    }
}

fn short(e: &serde_json::Error) -> String {
    short_text(&e.to_string())
}

fn short_text(s: &str) -> String {
    crate::humanize::truncate(&s.replace('\n', " "), 120)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn read(text: &str) -> (Result<Vec<Entry>, String>, Vec<String>) {
        let mut r = Reader::new(Path::new("rec.jsonl"), text.as_bytes());
        let entries: Result<Vec<Entry>, ReadError> = r.by_ref().collect();
        (entries.map_err(|e| e.to_string()), r.warnings())
    }

    const HEADER_LINE: &str = r#"{"format":"pglocks.recording/1","started_at":"2026-01-01T00:00:00Z","pglocks":"0.1.0","target":"t","interval_ms":1000}"#;
    const ACTION_LINE: &str = r#"{"format":"pglocks.action/1","at":"2026-01-01T00:00:01Z","action":"terminate","pid":7,"result":"terminated","outcome":"terminated"}"#;

    #[test]
    fn a_torn_last_line_is_skipped_with_a_warning() {
        let text = format!("{HEADER_LINE}\n{ACTION_LINE}\n{{\"format\":\"pglocks.snap");
        let (entries, warnings) = read(&text);
        let entries = entries.unwrap();
        assert_eq!(entries.len(), 2);
        assert!(matches!(entries[1], Entry::Action(ref a) if a.action.pid == 7));
        assert_eq!(warnings.len(), 1, "{warnings:?}");
        assert!(warnings[0].starts_with("rec.jsonl:3: skipped an incomplete last line"));
    }

    #[test]
    fn a_damaged_middle_line_is_an_error() {
        let text = format!("{HEADER_LINE}\nnot json\n{ACTION_LINE}\n");
        let (entries, _) = read(&text);
        let err = entries.unwrap_err();
        assert!(
            err.starts_with("rec.jsonl:2: not a pglocks recording line ("),
            "{err}"
        );
        assert!(!err.contains('\n'));
    }

    #[test]
    fn other_files_are_rejected() {
        assert_eq!(
            read("").0.unwrap_err(),
            "rec.jsonl: empty, not a pglocks recording"
        );
        // A pretty-printed snapshot is JSON, but not a recording.
        let err = read("{\n  \"format\": \"pglocks.snapshot/1\"\n}\n")
            .0
            .unwrap_err();
        assert!(
            err.starts_with("rec.jsonl:1: not a pglocks recording line"),
            "{err}"
        );
        let err = read("{\"format\":\"other/1\"}\n{}\n").0.unwrap_err();
        assert!(err.contains("unknown format \"other/1\""), "{err}");
        // One line that does not parse is no torn recording, it is not a recording.
        assert!(read("garbage").0.is_err());
    }

    #[test]
    fn newer_line_formats_are_skipped_with_a_warning() {
        let text = format!(
            "{HEADER_LINE}\n{{\"format\":\"pglocks.annotation/1\",\"x\":1}}\n{ACTION_LINE}\n"
        );
        let (entries, warnings) = read(&text);
        assert_eq!(entries.unwrap().len(), 2);
        assert_eq!(warnings.len(), 1);
        assert!(warnings[0].contains("pglocks.annotation/1"));
    }
}
