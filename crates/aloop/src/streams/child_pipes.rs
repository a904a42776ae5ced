//! A child process's pipes as streams: its stdin a [`StreamWriter`], its stdout and
//! stderr [`StreamReader`]s, over the same read and write paths as sockets
//! (`raw_stream.rs`). Used by `subprocess/`.

use std::cell::RefCell;
use std::rc::Rc;

use aloop_process::{ChildStderr, ChildStdin, ChildStdout};

use super::raw_stream::{ChildPipe, RawStream};
use super::reader::StreamReader;
use super::writer::StreamWriter;
use crate::event_loop::LoopRef;

pub(crate) fn stdin_writer(pipe: ChildStdin, lp: &LoopRef) -> StreamWriter {
    let transport = Rc::new(RawStream::child(ChildPipe::Stdin(RefCell::new(Some(pipe)))));
    StreamWriter::new(transport, Rc::downgrade(&lp.state))
}

pub(crate) fn stdout_reader(pipe: ChildStdout, limit: usize) -> StreamReader {
    StreamReader::from_transport(Rc::new(RawStream::child(ChildPipe::Stdout(pipe))), limit)
}

pub(crate) fn stderr_reader(pipe: ChildStderr, limit: usize) -> StreamReader {
    StreamReader::from_transport(Rc::new(RawStream::child(ChildPipe::Stderr(pipe))), limit)
}
