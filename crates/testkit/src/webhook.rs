//! A minimal HTTP receiver on 127.0.0.1 that stands in for a Falco webhook
//! backend: it answers with a status the test chooses and records the body
//! of every request it accepted.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{Ipv4Addr, SocketAddr, TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, AtomicU16, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// What the receiver shares with its accept thread.
#[derive(Default)]
struct State {
    status: AtomicU16,
    refused: AtomicUsize,
    accepted: Mutex<Vec<String>>,
    stop: AtomicBool,
}

/// A webhook receiver; stops accepting when dropped.
pub struct WebhookServer {
    addr: SocketAddr,
    state: Arc<State>,
}

impl WebhookServer {
    /// Starts the receiver answering 200.
    pub fn start() -> WebhookServer {
        let listener = TcpListener::bind(SocketAddr::from((Ipv4Addr::LOCALHOST, 0)))
            .expect("binding a loopback port");
        let addr = listener.local_addr().expect("bound socket has an address");
        let state = Arc::new(State::default());
        state.status.store(200, Ordering::SeqCst);
        let shared = Arc::clone(&state);
        std::thread::spawn(move || {
            for stream in listener.incoming() {
                if shared.stop.load(Ordering::SeqCst) {
                    return;
                }
                let Ok(stream) = stream else { continue };
                let shared = Arc::clone(&shared);
                std::thread::spawn(move || serve(stream, &shared));
            }
        });
        WebhookServer { addr, state }
    }

    /// The URL to configure as `webhook:URL`.
    pub fn url(&self) -> String {
        format!("http://{}/", self.addr)
    }

    /// Answers every following request with `status`; bodies are recorded
    /// only for 2xx answers.
    pub fn respond_with(&self, status: u16) {
        self.state.status.store(status, Ordering::SeqCst);
    }

    /// Bodies of the requests answered with 2xx, in arrival order.
    pub fn accepted(&self) -> Vec<String> {
        self.state
            .accepted
            .lock()
            .expect("receiver lock is never poisoned")
            .clone()
    }

    /// Requests answered with a non-2xx status.
    pub fn refused(&self) -> usize {
        self.state.refused.load(Ordering::SeqCst)
    }
}

impl Drop for WebhookServer {
    fn drop(&mut self) {
        self.state.stop.store(true, Ordering::SeqCst);
        // Wakes the accept loop so it sees the flag.
        let _ = TcpStream::connect_timeout(&self.addr, Duration::from_millis(200));
    }
}

fn serve(stream: TcpStream, state: &State) {
    let _ = stream.set_read_timeout(Some(Duration::from_secs(10)));
    let mut reader = BufReader::new(match stream.try_clone() {
        Ok(s) => s,
        Err(_) => return,
    });
    let mut writer = stream;
    loop {
        let mut length = 0usize;
        let mut line = String::new();
        if reader.read_line(&mut line).unwrap_or(0) == 0 {
            return;
        }
        loop {
            line.clear();
            if reader.read_line(&mut line).unwrap_or(0) == 0 {
                return;
            }
            let header = line.trim_end();
            if header.is_empty() {
                break;
            }
            if let Some((name, value)) = header.split_once(':')
                && name.eq_ignore_ascii_case("content-length")
            {
                length = value.trim().parse().unwrap_or(0);
            }
        }
        let mut body = vec![0u8; length];
        if reader.read_exact(&mut body).is_err() {
            return;
        }
        let status = state.status.load(Ordering::SeqCst);
        if (200..300).contains(&status) {
            let text = String::from_utf8_lossy(&body).into_owned();
            state
                .accepted
                .lock()
                .expect("receiver lock is never poisoned")
                .push(text);
        } else {
            state.refused.fetch_add(1, Ordering::SeqCst);
        }
        let response = format!("HTTP/1.1 {status} X\r\nContent-Length: 0\r\n\r\n");
        if writer.write_all(response.as_bytes()).is_err() {
            return;
        }
    }
}
