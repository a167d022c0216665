//! Fake LOMS servers on 127.0.0.1 for the tests of LOMS's HTTP clients (loms-health,
//! loms-stats): canned answers, routes answered in order, a silent server, a dead port.
//! A dev-dependency only; no network beyond loopback.

use std::io::{BufRead, BufReader, ErrorKind, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::thread::{self, JoinHandle};
use std::time::{Duration, Instant};

/// Serve one request with `status` (e.g. `"200 OK"`) and `body`; the handle yields the
/// request line (`GET /health HTTP/1.1`).
pub fn serve(status: &str, body: &str) -> (String, JoinHandle<String>) {
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

/// Serve one request per route, `(path, status, body)`: each request gets the first
/// route not used yet whose path matches (query ignored, trailing `/` ignored), so a path
/// listed twice answers its two requests in order; other requests get 404. Stops once every route was asked for, or after 10 s without a new connection,
/// and yields the request lines in arrival order.
pub fn serve_routes(routes: &[(&str, &str, &str)]) -> (String, JoinHandle<Vec<String>>) {
    let routes: Vec<(String, String)> = routes
        .iter()
        .map(|(path, status, body)| {
            let response = format!(
                "HTTP/1.1 {status}\r\nContent-Type: application/json\r\n\
                 Content-Length: {}\r\nConnection: close\r\n\r\n{body}",
                body.len()
            );
            (path.trim_end_matches('/').to_owned(), response)
        })
        .collect();
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    listener.set_nonblocking(true).unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    let handle = thread::spawn(move || {
        let mut seen = Vec::new();
        let mut used = vec![false; routes.len()];
        let mut idle_since = Instant::now();
        while seen.len() < routes.len() && idle_since.elapsed() < Duration::from_secs(10) {
            let stream = match listener.accept() {
                Ok((stream, _)) => stream,
                Err(e) if e.kind() == ErrorKind::WouldBlock => {
                    thread::sleep(Duration::from_millis(2));
                    continue;
                }
                Err(e) => panic!("accept: {e}"),
            };
            stream.set_nonblocking(false).unwrap();
            let request_line = read_head(&stream);
            let path = request_line.split(' ').nth(1).unwrap_or("");
            let path = path.split('?').next().unwrap_or("").trim_end_matches('/');
            let not_found = "HTTP/1.1 404 Not Found\r\nContent-Length: 2\r\n\
                             Connection: close\r\n\r\n{}"
                .to_owned();
            let route = (0..routes.len()).find(|&i| !used[i] && routes[i].0 == path);
            let response = route.map_or(not_found, |i| {
                used[i] = true;
                routes[i].1.clone()
            });
            (&stream).write_all(response.as_bytes()).unwrap();
            seen.push(request_line);
            idle_since = Instant::now();
        }
        seen
    });
    (url, handle)
}

/// Read a request's head; returns its request line without the line end.
fn read_head(stream: &TcpStream) -> String {
    let mut reader = BufReader::new(stream);
    let mut request_line = String::new();
    reader.read_line(&mut request_line).unwrap();
    let mut header = String::new();
    while reader.read_line(&mut header).unwrap() > 2 {
        header.clear();
    }
    request_line.trim_end().to_owned()
}

/// Accept one request and never answer; returns once the client gives up and closes.
pub fn hang() -> (String, JoinHandle<String>) {
    one_connection(|mut stream, request_line| {
        let mut buf = [0u8; 256];
        while matches!(stream.read(&mut buf), Ok(n) if n > 0) {}
        request_line
    })
}

/// A URL where nothing listens: bind a port, then free it.
pub fn dead_url() -> String {
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
        let request_line = read_head(&stream);
        answer(stream, request_line)
    });
    (url, handle)
}
