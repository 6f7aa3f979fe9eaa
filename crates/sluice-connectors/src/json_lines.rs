//! JSON lines (one Extended JSON document per line) in and out: files, stdin/stdout, memory.

use std::io::{BufRead, Seek, SeekFrom, Write};

use sluice_engine::{Sink, SinkError, Source, SourceError, SourceRecord, SourceStatus};
use sluice_mql::json::{parse_document_bytes, write_document, JsonMode};
use sluice_mql::{Document, Value};

use crate::line_split::read_line;

/// Reads one document per line; blank lines are skipped, undecodable lines become malformed
/// records (they go to the DLQ). Position: the byte offset of the next line.
pub struct JsonLinesSource<R> {
    name: String,
    reader: R,
    offset: u64,
    line: Vec<u8>,
}

impl<R: BufRead + Seek + Send> JsonLinesSource<R> {
    /// A source over a reader positioned at its start.
    pub fn new(name: &str, reader: R) -> JsonLinesSource<R> {
        JsonLinesSource { name: name.to_string(), reader, offset: 0, line: Vec::with_capacity(256) }
    }

    fn err(&self, message: String) -> SourceError {
        SourceError::external(&self.name, message)
    }
}

impl<R: BufRead + Seek + Send> Source for JsonLinesSource<R> {
    fn name(&self) -> &str {
        &self.name
    }

    fn poll(&mut self, max: usize, out: &mut Vec<SourceRecord>) -> Result<SourceStatus, SourceError> {
        let mut n = 0;
        while n < max {
            self.line.clear();
            let read = read_line(&mut self.reader, &mut self.line).map_err(|e| self.err(e.to_string()))?;
            if read == 0 {
                return Ok(SourceStatus::End);
            }
            self.offset += read as u64;
            let text = self.line.trim_ascii();
            if text.is_empty() {
                continue;
            }
            n += 1;
            out.push(match parse_document_bytes(text) {
                Ok(doc) => SourceRecord::Doc(doc, text.len()),
                Err(e) => {
                    SourceRecord::Malformed { raw: text.to_vec(), error: format!("invalid JSON: {}", e), meta: None }
                }
            });
        }
        Ok(SourceStatus::Ready)
    }

    fn position(&self) -> Value {
        Value::Int64(self.offset as i64)
    }

    fn seek(&mut self, position: &Value) -> Result<(), SourceError> {
        let off = position
            .as_exact_i64()
            .filter(|o| *o >= 0)
            .ok_or_else(|| self.err(format!("invalid position {:?}", position)))?;
        self.reader.seek(SeekFrom::Start(off as u64)).map_err(|e| self.err(e.to_string()))?;
        self.offset = off as u64;
        Ok(())
    }
}

/// Writes one document per line.
pub struct JsonLinesSink<W> {
    name: String,
    writer: W,
    mode: JsonMode,
    buf: String,
}

impl<W: Write + Send> JsonLinesSink<W> {
    /// A sink writing relaxed or canonical Extended JSON.
    pub fn new(name: &str, writer: W, mode: JsonMode) -> JsonLinesSink<W> {
        JsonLinesSink { name: name.to_string(), writer, mode, buf: String::with_capacity(4096) }
    }
}

impl<W: Write + Send> Sink for JsonLinesSink<W> {
    fn name(&self) -> &str {
        &self.name
    }

    fn write(&mut self, docs: &[Document]) -> Result<(), SinkError> {
        self.buf.clear();
        for d in docs {
            write_document(&mut self.buf, d, self.mode);
            self.buf.push('\n');
        }
        self.writer.write_all(self.buf.as_bytes()).map_err(|e| SinkError::external(&self.name, e.to_string()))
    }

    fn flush(&mut self) -> Result<(), SinkError> {
        self.writer.flush().map_err(|e| SinkError::external(&self.name, e.to_string()))
    }
}
