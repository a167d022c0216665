//! A one-request fake LOMS on 127.0.0.1 for the CLI tests. Shared by loms-health and
//! loms-stats (`#[path]`); no sleeps, no network beyond loopback.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::thread::{self, JoinHandle};

/// Serve one request with `status` (e.g. `"200 OK"`) and `body`; the handle yields the
/// request line (`GET /health HTTP/1.1`).
pub(crate) fn serve(status: &str, body: &str) -> (String, JoinHandle<String>) {
    let response = format!(
        "HTTP/1.1 {status}\r\nContent-Type: application/json\r\n\
         Content-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    );
    one_connection(move |mut stream, request_line| {
        stream.write_all(response.as_bytes()).unwrap();
        request_line
    })
}

/// Accept one request and never answer; returns once the client gives up and closes.
pub(crate) fn hang() -> (String, JoinHandle<String>) {
    one_connection(|mut stream, request_line| {
        let mut buf = [0u8; 256];
        while matches!(stream.read(&mut buf), Ok(n) if n > 0) {}
        request_line
    })
}

/// A URL where nothing listens: bind a port, then free it.
pub(crate) fn dead_url() -> String {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    drop(listener);
    url
}

fn one_connection(
    answer: impl FnOnce(TcpStream, String) -> String + Send + 'static,
) -> (String, JoinHandle<String>) {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    let handle = thread::spawn(move || {
        let (stream, _) = listener.accept().unwrap();
        let mut reader = BufReader::new(stream.try_clone().unwrap());
        let mut request_line = String::new();
        reader.read_line(&mut request_line).unwrap();
        let mut header = String::new();
        while reader.read_line(&mut header).unwrap() > 2 {
            header.clear();
        }
        answer(stream, request_line.trim_end().to_owned())
    });
    (url, handle)
}
