//! The echo server written as a `Protocol` (asyncio's `loop.create_server` with a
//! protocol class), with a client that is a protocol too: callbacks instead of
//! `await`s, and the transport to write back.
//!
//! Run: `cargo run --release --example protocol_echo`

use std::cell::RefCell;
use std::io;
use std::rc::Rc;

use aloop::{Protocol, Transport};

/// Server side: echoes every byte back; logs the connection's life.
#[derive(Default)]
struct EchoServer {
    transport: Option<Transport>,
}

impl Protocol for EchoServer {
    fn connection_made(&mut self, transport: Transport) {
        println!("server: connection from {:?}", transport.peername());
        self.transport = Some(transport);
    }

    fn data_received(&mut self, data: &[u8]) {
        println!(
            "server: {} bytes: {:?}",
            data.len(),
            String::from_utf8_lossy(data)
        );
        if let Some(t) = &self.transport {
            let _ = t.write(data);
        }
    }

    fn eof_received(&mut self) -> bool {
        println!("server: end of stream; closing");
        false // close our side too
    }

    fn connection_lost(&mut self, error: Option<io::Error>) {
        println!("server: connection lost ({error:?})");
    }
}

/// Client side: sends its message, collects the echo, and says when it is done.
struct EchoClient {
    message: &'static str,
    echoed: Vec<u8>,
    done: Rc<aloop::Event>,
}

impl Protocol for EchoClient {
    fn connection_made(&mut self, transport: Transport) {
        transport.write(self.message.as_bytes()).unwrap();
        println!("client: sent {:?}", self.message);
        transport.write_eof().unwrap(); // we are done sending; the echo still comes
    }

    fn data_received(&mut self, data: &[u8]) {
        self.echoed.extend_from_slice(data);
    }

    fn connection_lost(&mut self, error: Option<io::Error>) {
        println!(
            "client: got back {:?}, connection lost ({error:?})",
            String::from_utf8_lossy(&self.echoed)
        );
        self.done.set();
    }
}

fn main() {
    aloop::run(async {
        let lp = aloop::get_running_loop().unwrap();
        let server = lp
            .create_server(EchoServer::default, "127.0.0.1", 0, Default::default())
            .await
            .expect("listen");
        let port = server.sockets()[0].port();
        println!("serving on 127.0.0.1:{port}");

        let done = Rc::new(aloop::Event::new());
        let client_done = done.clone();
        let (_transport, client): (Transport, Rc<RefCell<EchoClient>>) = lp
            .create_connection(
                move || EchoClient {
                    message: "Hello, protocols!",
                    echoed: Vec::new(),
                    done: client_done,
                },
                "127.0.0.1",
                port,
            )
            .await
            .expect("connect");
        done.wait().await;
        assert_eq!(client.borrow().echoed, b"Hello, protocols!");
        server.close();
        server.wait_closed().await;
        println!("server closed");
    });
}
