"""The HTTP/1.1 "hello" server of `servers.sh` in Python: an asyncio `Protocol` on
uvloop, the request parsed by httptools (llhttp, the parser uvicorn uses), the way a
fast asyncio server is written. The same answers as `http.rs`: keep-alive, `GET /`
gets the 13-byte hello, another path 404, another method 405 and close, HTTP/1.0 or
`Connection: close` closes after the response, a parse error 400 and close.

    python3 http_uvloop.py [--port P] [--secs N]

Prints `port <N>` once it listens; exits after N seconds (default 300) whatever
happens. Needs `pip install uvloop httptools`.
"""

import argparse
import asyncio
import sys

import httptools
import uvloop

OK = b"HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: 13\r\n\r\nHello, World!"
OK_CLOSE = (b"HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: 13\r\n"
            b"Connection: close\r\n\r\nHello, World!")
NOT_FOUND = b"HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\n\r\n"
NOT_FOUND_CLOSE = b"HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"
NOT_ALLOWED = (b"HTTP/1.1 405 Method Not Allowed\r\nAllow: GET\r\nContent-Length: 0\r\n"
               b"Connection: close\r\n\r\n")
BAD_REQUEST = b"HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"


class Hello(asyncio.Protocol):
    def connection_made(self, transport):
        self.transport = transport
        self.parser = httptools.HttpRequestParser(self)
        self.url = b""
        self.closing = False

    def on_url(self, url):
        self.url += url

    def on_message_complete(self):
        if self.closing:
            return
        url, self.url = self.url, b""
        if self.parser.get_method() != b"GET":
            self.transport.write(NOT_ALLOWED)
            self.close()
            return
        keep_alive = self.parser.should_keep_alive()
        found = url == b"/"
        if keep_alive:
            self.transport.write(OK if found else NOT_FOUND)
        else:
            self.transport.write(OK_CLOSE if found else NOT_FOUND_CLOSE)
            self.close()

    def data_received(self, data):
        if self.closing:
            return
        try:
            self.parser.feed_data(data)
        except httptools.HttpParserError:
            self.transport.write(BAD_REQUEST)
            self.close()

    def close(self):
        self.closing = True
        self.transport.close()


async def main(port, secs):
    loop = asyncio.get_running_loop()
    server = await loop.create_server(Hello, "127.0.0.1", port, backlog=1024)
    print(f"port {server.sockets[0].getsockname()[1]}", flush=True)
    await asyncio.sleep(secs)
    print(f"http_uvloop: time limit of {secs} s reached, exiting", file=sys.stderr)


if __name__ == "__main__":
    args = argparse.ArgumentParser()
    args.add_argument("--port", type=int, default=0)
    args.add_argument("--secs", type=int, default=300)
    a = args.parse_args()
    uvloop.run(main(a.port, a.secs))
