//! One client connection, written as an asyncio user writes a server: read what the
//! socket has, answer every whole request in it (`write` each reply, then `drain`,
//! which waits only while the send queue is above its high-water mark), until the
//! client leaves, QUITs or sends something that is not RESP. Nothing here batches or
//! times writes: the runtime coalesces the replies of one read into one send (see
//! `StreamWriter`). Requests are taken out by `querybuf.rs` and run by `commands/`.

use std::rc::Rc;

use aloop::{StreamReader, StreamWriter};

use crate::client::Client;
use crate::commands;
use crate::querybuf::{Next, QueryBuffer};
use crate::reply;
use crate::server::Server;

/// `start_server`'s callback: serves one client until it is done.
pub async fn serve(reader: StreamReader, writer: StreamWriter, server: Rc<Server>) {
    let mut buf = QueryBuffer::new(server.config.max_query_buffer);
    let mut client = Client::new(server, writer);
    let mut out = Vec::new();
    'connection: loop {
        match buf.fill(&reader).await {
            Ok(0) | Err(_) => break,
            Ok(_) => {}
        }
        loop {
            let used = match buf.next() {
                Next::Command(cmd, used) => {
                    // `*0` and blank lines are skipped without a reply, as redis does.
                    if !cmd.args.is_empty() {
                        commands::execute(&cmd.args, &mut client, &mut out);
                    }
                    used
                }
                Next::NeedMore => break,
                Next::Malformed(e) => {
                    reply::error(&mut out, &format!("Protocol error: {e}"));
                    let _ = client.send(&out);
                    break 'connection;
                }
                Next::TooBig => {
                    let limit = buf.limit();
                    let message = format!(
                        "Protocol error: request larger than the query buffer limit of {limit} bytes (--max-query-buffer)"
                    );
                    reply::error(&mut out, &message);
                    let _ = client.send(&out);
                    break 'connection;
                }
            };
            buf.consume(used);
            if client.send(&out).is_err() || client.wants_to_quit() {
                break 'connection;
            }
            out.clear();
            // Returns at once unless the send queue is above its high-water mark (a
            // client pipelining more than it reads): then waits for it to go down.
            if client.drain().await.is_err() {
                break 'connection;
            }
        }
    }
    client.finish().await;
}
