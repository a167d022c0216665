//! The HTTP/1.1 side: one thread per connection, one request per connection
//! (`Connection: close`), faults and latency applied around the routing.

use crate::state::State;
use crate::{Fault, Seen, debug, lock, market, private};
use std::collections::{HashMap, VecDeque};
use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::thread;

/// Largest request body read (a place-order body is a few hundred bytes).
const MAX_BODY_BYTES: usize = 1024 * 1024;

/// Accept connections until `stop` is set (then one more connection wakes the loop).
pub(crate) fn serve(listener: TcpListener, state: Arc<Mutex<State>>, stop: Arc<AtomicBool>) {
    for conn in listener.incoming() {
        if stop.load(Ordering::SeqCst) {
            break;
        }
        let Ok(conn) = conn else { continue };
        let st = state.clone();
        thread::spawn(move || handle(conn, &st));
    }
}

fn read_request(stream: &TcpStream) -> Option<Seen> {
    let mut reader = BufReader::new(stream.try_clone().ok()?);
    let mut line = String::new();
    reader.read_line(&mut line).ok()?;
    let mut parts = line.split_whitespace();
    let method = parts.next()?.to_string();
    let target = parts.next()?.to_string();
    let mut headers = HashMap::new();
    loop {
        let mut h = String::new();
        if reader.read_line(&mut h).ok()? == 0 {
            return None;
        }
        let h = h.trim_end();
        if h.is_empty() {
            break;
        }
        if let Some((k, v)) = h.split_once(':') {
            headers.insert(k.trim().to_ascii_lowercase(), v.trim().to_string());
        }
    }
    let len: usize = headers
        .get("content-length")
        .and_then(|v| v.parse().ok())
        .unwrap_or(0);
    if len > MAX_BODY_BYTES {
        return None;
    }
    let mut body = vec![0; len];
    reader.read_exact(&mut body).ok()?;
    let (path, query) = match target.split_once('?') {
        Some((p, q)) => (p.to_string(), q.to_string()),
        None => (target, String::new()),
    };
    Some(Seen {
        method,
        path,
        query,
        body: String::from_utf8_lossy(&body).into_owned(),
        headers,
        received_us: crate::unix_us(),
        answered_us: None,
    })
}

fn handle(mut stream: TcpStream, state: &Mutex<State>) {
    let Some(req) = read_request(&stream) else {
        return;
    };
    if debug::is_debug(&req.path) {
        let (status, body) = debug::route(&req, &mut lock(state));
        respond(&mut stream, status, &body);
        return;
    }
    let public = market::is_public(&req.path);
    let (fault, latency, at) = {
        let mut s = lock(state);
        let at = s.seen.len();
        s.seen.push(req.clone());
        let fault = s.faults.get_mut(&req.path).and_then(VecDeque::pop_front);
        (fault, if public { None } else { Some(s.latency) }, at)
    };
    let (status, body) = match &fault {
        Some(Fault::Reply(status, body)) => (*status, body.clone()),
        _ => {
            let mut s = lock(state);
            if public {
                market::route(&req, &s)
            } else {
                private::route(&req, &mut s)
            }
        }
    };
    match fault {
        Some(Fault::DropAfterApply) => return,
        Some(Fault::Delay(d)) => thread::sleep(d),
        _ => {}
    }
    if let Some(latency) = latency.filter(|d| !d.is_zero()) {
        thread::sleep(latency);
    }
    respond(&mut stream, status, &body);
    if let Some(seen) = lock(state).seen.get_mut(at) {
        seen.answered_us = Some(crate::unix_us());
    }
}

fn respond(stream: &mut TcpStream, status: u16, body: &str) {
    let _ = write!(
        stream,
        "HTTP/1.1 {status} {}\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
        reason(status),
        body.len()
    );
}

fn reason(status: u16) -> &'static str {
    match status {
        200 => "OK",
        400 => "Bad Request",
        404 => "Not Found",
        405 => "Method Not Allowed",
        429 => "Too Many Requests",
        500..=599 => "Server Error",
        _ => "Status",
    }
}
