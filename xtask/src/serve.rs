//! A small static file server for `dist/`: GET and HEAD, correct MIME types (browsers only
//! stream-compile `.wasm` served as `application/wasm`), the same security headers a real
//! host would send — or none at all (`--no-headers`: what GitHub Pages or an Azure Storage
//! static website sends) — loopback only.

use anyhow::{Context, Result};
use std::io::{BufRead, BufReader, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::path::{Component, Path, PathBuf};
use std::sync::Arc;

/// Serves `dir` on 127.0.0.1:`port` until the process ends; `headers`: the site's security
/// headers, else only `Content-Type` and `Content-Length`.
pub fn serve_forever(dir: &Path, port: u16, headers: bool) -> Result<()> {
    let listener = bind(port)?;
    let addr = listener.local_addr()?;
    let how = if headers {
        ""
    } else {
        " with no security headers"
    };
    println!("rdpfix is served{how} at http://{addr}/  (Ctrl-C stops it)");
    accept_loop(listener, dir.to_path_buf(), headers);
    Ok(())
}

/// Serves `dir` with its headers on an ephemeral loopback port from a background thread.
pub fn spawn(dir: &Path) -> Result<SocketAddr> {
    spawn_with(dir, true)
}

/// [`spawn`], with or without the site's security headers.
pub fn spawn_with(dir: &Path, headers: bool) -> Result<SocketAddr> {
    let listener = bind(0)?;
    let addr = listener.local_addr()?;
    let dir = dir.to_path_buf();
    std::thread::spawn(move || accept_loop(listener, dir, headers));
    Ok(addr)
}

fn bind(port: u16) -> Result<TcpListener> {
    TcpListener::bind(("127.0.0.1", port))
        .with_context(|| format!("cannot listen on 127.0.0.1:{port} (is something else there?)"))
}

fn accept_loop(listener: TcpListener, dir: PathBuf, headers: bool) {
    let site = Arc::new(Site {
        headers: if headers {
            "Cache-Control: no-cache\r\n".to_owned() + &global_headers(&dir)
        } else {
            String::new()
        },
        dir,
    });
    for stream in listener.incoming().flatten() {
        let site = Arc::clone(&site);
        std::thread::spawn(move || {
            let _ = handle(stream, &site);
        });
    }
}

#[derive(Debug)]
struct Site {
    dir: PathBuf,
    /// `Name: value\r\n` lines sent with every answer (none: a host that sends no headers).
    headers: String,
}

fn handle(mut stream: TcpStream, site: &Site) -> std::io::Result<()> {
    let mut reader = BufReader::new(stream.try_clone()?);
    loop {
        let mut request = String::new();
        if reader.read_line(&mut request)? == 0 {
            return Ok(());
        }
        // Skip the headers; nothing in them changes the answer.
        let mut line = String::new();
        while reader.read_line(&mut line)? > 2 {
            line.clear();
        }
        let mut parts = request.split_whitespace();
        let (method, target) = (parts.next().unwrap_or(""), parts.next().unwrap_or("/"));
        let head = method == "HEAD";
        if method != "GET" && !head {
            let r = Reply {
                status: "405 Method Not Allowed",
                mime: "text/plain",
                body: b"",
            };
            respond(&mut stream, site, &r, head)?;
            continue;
        }
        match resolve(&site.dir, target).and_then(|p| std::fs::read(&p).ok().map(|b| (p, b))) {
            Some((path, body)) => {
                let r = Reply {
                    status: "200 OK",
                    mime: mime(&path),
                    body: &body,
                };
                respond(&mut stream, site, &r, head)?;
            }
            None => {
                let r = Reply {
                    status: "404 Not Found",
                    mime: "text/plain",
                    body: b"not found\n",
                };
                respond(&mut stream, site, &r, head)?;
            }
        }
    }
}

/// Maps a request path to a file inside `dir`, refusing anything that climbs out.
fn resolve(dir: &Path, target: &str) -> Option<PathBuf> {
    let path = target.split(['?', '#']).next().unwrap_or("/");
    let mut out = dir.to_path_buf();
    for comp in Path::new(path.trim_start_matches('/')).components() {
        match comp {
            Component::Normal(c) => out.push(c),
            Component::CurDir => {}
            _ => return None,
        }
    }
    if out.is_dir() {
        out.push("index.html");
    }
    out.is_file().then_some(out)
}

fn mime(path: &Path) -> &'static str {
    match path.extension().and_then(|e| e.to_str()).unwrap_or("") {
        "html" => "text/html; charset=utf-8",
        "js" | "mjs" => "text/javascript; charset=utf-8",
        "wasm" => "application/wasm",
        "css" => "text/css; charset=utf-8",
        "json" => "application/json",
        "svg" => "image/svg+xml",
        "png" => "image/png",
        "ico" => "image/x-icon",
        "txt" | "sha256" | "md" => "text/plain; charset=utf-8",
        _ => "application/octet-stream",
    }
}

/// The headers the Azure Static Web Apps config shipped with the site sends with every
/// answer (`globalHeaders`: the CSP, cross-origin isolation, …), so the local server and
/// the real host stay one definition. Without the config: `nosniff` alone.
fn global_headers(dir: &Path) -> String {
    let Some(headers) = site_headers(dir) else {
        return "X-Content-Type-Options: nosniff\r\n".to_owned();
    };
    headers
        .iter()
        .map(|(name, value)| format!("{name}: {value}\r\n"))
        .collect()
}

/// `globalHeaders` of `dir/staticwebapp.config.json`, in its order: the site's header set,
/// which the nginx and Caddy snippets in `docs/hosting/` repeat (checked below).
pub fn site_headers(dir: &Path) -> Option<Vec<(String, String)>> {
    let text = std::fs::read_to_string(dir.join("staticwebapp.config.json")).ok()?;
    let config = serde_json::from_str::<serde_json::Value>(&text).ok()?;
    let headers = config.get("globalHeaders")?.as_object()?;
    Some(
        headers
            .iter()
            .filter_map(|(name, value)| Some((name.clone(), value.as_str()?.to_owned())))
            .collect(),
    )
}

#[derive(Debug)]
struct Reply<'a> {
    status: &'a str,
    mime: &'a str,
    body: &'a [u8],
}

fn respond(stream: &mut TcpStream, site: &Site, r: &Reply<'_>, head: bool) -> std::io::Result<()> {
    write!(
        stream,
        "HTTP/1.1 {}\r\nContent-Type: {}\r\nContent-Length: {}\r\n{}\r\n",
        r.status,
        r.mime,
        r.body.len(),
        site.headers
    )?;
    if !head {
        stream.write_all(r.body)?;
    }
    stream.flush()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn root() -> PathBuf {
        crate::shell::repo_root()
    }

    /// `Name "value"` pairs of the lines of `text` that start with `prefix` (after spaces).
    fn quoted(text: &str, prefix: &str) -> Vec<(String, String)> {
        text.lines()
            .filter_map(|l| l.trim().strip_prefix(prefix))
            .filter_map(|rest| {
                let (name, value) = rest.trim().split_once(' ')?;
                let value = value.trim().trim_end_matches(" always;");
                let value = value.strip_prefix('"')?.strip_suffix('"')?;
                Some((name.to_owned(), value.to_owned()))
            })
            .collect()
    }

    fn sorted(mut v: Vec<(String, String)>) -> Vec<(String, String)> {
        v.sort();
        v
    }

    /// The nginx and Caddy recipes send exactly the site's headers (one source of truth:
    /// staticwebapp.config.json).
    #[test]
    fn hosting_snippets_send_the_site_headers() {
        let expected = sorted(site_headers(&root().join("static")).unwrap());
        assert_eq!(expected.len(), 6, "{expected:?}");
        let nginx = std::fs::read_to_string(root().join("docs/hosting/nginx.conf")).unwrap();
        assert_eq!(
            sorted(quoted(&nginx, "add_header ")),
            expected,
            "nginx.conf"
        );
        let caddy = std::fs::read_to_string(root().join("docs/hosting/Caddyfile")).unwrap();
        let block = caddy
            .split_once("header {")
            .and_then(|(_, rest)| rest.split_once('}'))
            .unwrap()
            .0;
        let caddy_headers: Vec<_> = block
            .lines()
            .filter(|l| !l.trim().is_empty())
            .map(|l| {
                let (name, value) = l.trim().split_once(' ').unwrap();
                (name.to_owned(), value.trim_matches('"').to_owned())
            })
            .collect();
        assert_eq!(sorted(caddy_headers), expected, "Caddyfile");
    }
}
