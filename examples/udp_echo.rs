//! A UDP echo server and client in one program, with `create_datagram_endpoint` and
//! `DatagramProtocol` (the asyncio documentation's "UDP Echo Server/Client", in one
//! loop): the server sends every datagram back where it came from; the client sends
//! a few messages, prints each echo, and closes after the last one; `connection_lost`
//! tells `main` it is done, through a `Promise` (asyncio's `on_con_lost` future).
//!
//! Run: `cargo run --example udp_echo [-- MESSAGE...]`.

use std::io;

use aloop::{DatagramAddr, DatagramOptions, DatagramProtocol, DatagramTransport, Promise};

struct EchoServer {
    transport: Option<DatagramTransport>,
}

impl DatagramProtocol for EchoServer {
    fn connection_made(&mut self, transport: DatagramTransport) {
        println!("server: listening on {}", transport.sockname().unwrap());
        self.transport = Some(transport);
    }

    fn datagram_received(&mut self, data: &[u8], addr: DatagramAddr) {
        println!(
            "server: received {:?} from {addr}, sending it back",
            String::from_utf8_lossy(data)
        );
        if let Err(e) = self.transport.as_ref().unwrap().sendto(data, Some(addr)) {
            println!("server: could not reply: {e}");
        }
    }
}

struct EchoClient {
    messages: Vec<String>,
    echoed: usize,
    transport: Option<DatagramTransport>,
    on_con_lost: Promise<()>,
}

impl DatagramProtocol for EchoClient {
    fn connection_made(&mut self, transport: DatagramTransport) {
        println!("client: connected to {}", transport.peername().unwrap());
        for message in &self.messages {
            println!("client: sending {message:?}");
            // Connected: `None` sends to the peer.
            transport.sendto(message.as_bytes(), None).unwrap();
        }
        self.transport = Some(transport);
    }

    fn datagram_received(&mut self, data: &[u8], _addr: DatagramAddr) {
        println!("client: echo {:?}", String::from_utf8_lossy(data));
        self.echoed += 1;
        if self.echoed == self.messages.len() {
            println!("client: every message came back, closing");
            self.transport.as_ref().unwrap().close();
        }
    }

    fn error_received(&mut self, error: io::Error) {
        println!("client: error received: {error}");
    }

    fn connection_lost(&mut self, _error: Option<io::Error>) {
        println!("client: connection lost");
        let _ = self.on_con_lost.set_result(());
    }
}

fn main() {
    let mut messages: Vec<String> = std::env::args().skip(1).collect();
    if messages.is_empty() {
        messages = ["Hello World!", "datagrams, asyncio-shaped", "bye"]
            .map(String::from)
            .to_vec();
    }
    aloop::run(async move {
        let lp = aloop::get_running_loop().unwrap();
        let (server, _) = match lp
            .create_datagram_endpoint(
                || EchoServer { transport: None },
                Some(("127.0.0.1", 0)),
                None,
                DatagramOptions::default(),
            )
            .await
        {
            Ok(pair) => pair,
            Err(e) => return eprintln!("udp_echo: server: {e}"),
        };
        let port = server.sockname().unwrap().as_inet().unwrap().port();

        let on_con_lost = lp.create_future::<()>();
        let lost = on_con_lost.clone();
        let client = lp.create_datagram_endpoint(
            move || EchoClient {
                messages,
                echoed: 0,
                transport: None,
                on_con_lost: lost,
            },
            None,
            Some(("127.0.0.1", port)),
            DatagramOptions::default(),
        );
        let (client, _) = match client.await {
            Ok(pair) => pair,
            Err(e) => return eprintln!("udp_echo: client: {e}"),
        };
        // Wait until the client protocol says it is done (asyncio: `await on_con_lost`).
        let _ = on_con_lost.await;
        assert!(client.is_closing());
        server.close();
        println!("server: closed");
    });
}
