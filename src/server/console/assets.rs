//! The console's static files, embedded in the binary: its own stylesheet and script, and the
//! vendored htmx and uPlot, whose licences sit beside
//! them in `assets/vendor/`. Each is served gzip-compressed when the browser accepts it
//! (compressed once, on first use) and cached for a year: their URLs carry the frontdesk
//! version, so a new release is fetched afresh.

use std::io::Write;
use std::sync::OnceLock;

use axum::extract::Path;
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};

/// One embedded file.
pub struct Asset {
    /// Its name under `/console/assets/`.
    pub name: &'static str,
    /// `Content-Type`.
    pub content_type: &'static str,
    /// The bytes.
    pub bytes: &'static [u8],
}

macro_rules! asset {
    ($name:literal, $path:literal, $type:expr) => {
        Asset {
            name: $name,
            content_type: $type,
            bytes: include_bytes!(concat!("assets/", $path)),
        }
    };
}

const JS: &str = "text/javascript; charset=utf-8";
const CSS: &str = "text/css; charset=utf-8";
const TEXT: &str = "text/plain; charset=utf-8";

/// Every file the console serves.
pub static ASSETS: &[Asset] = &[
    asset!("console.css", "console.css", CSS),
    asset!("console.js", "console.js", JS),
    asset!("htmx.min.js", "vendor/htmx-2.0.11.min.js", JS),
    asset!("uPlot.iife.min.js", "vendor/uPlot-1.6.32.iife.min.js", JS),
    asset!("uPlot.min.css", "vendor/uPlot-1.6.32.min.css", CSS),
    asset!("htmx.LICENSE", "vendor/htmx.LICENSE", TEXT),
    asset!("uPlot.LICENSE", "vendor/uPlot.LICENSE", TEXT),
];

fn gzipped(i: usize) -> &'static [u8] {
    static ZIPPED: OnceLock<Vec<Vec<u8>>> = OnceLock::new();
    &ZIPPED.get_or_init(|| {
        ASSETS
            .iter()
            .map(|a| {
                let mut z = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::best());
                z.write_all(a.bytes).expect("writing to memory");
                z.finish().expect("writing to memory")
            })
            .collect()
    })[i]
}

/// Whether the request accepts gzip.
pub fn accepts_gzip(headers: &HeaderMap) -> bool {
    headers
        .get(header::ACCEPT_ENCODING)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| {
            v.split(',').any(|e| {
                let mut parts = e.split(';');
                let name = parts.next().unwrap_or("").trim();
                let refused = parts.any(|p| matches!(p.trim(), "q=0" | "q=0.0" | "q=0.00"));
                name.eq_ignore_ascii_case("gzip") && !refused
            })
        })
}

/// `GET /console/assets/{name}`.
pub async fn serve(Path(name): Path<String>, headers: HeaderMap) -> Response {
    let Some(i) = ASSETS.iter().position(|a| a.name == name) else {
        return (StatusCode::NOT_FOUND, "no such file").into_response();
    };
    let a = &ASSETS[i];
    let mut out = HeaderMap::new();
    out.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static(a.content_type),
    );
    out.insert(
        header::CACHE_CONTROL,
        HeaderValue::from_static("public, max-age=31536000, immutable"),
    );
    out.insert(header::VARY, HeaderValue::from_static("accept-encoding"));
    if accepts_gzip(&headers) {
        out.insert(header::CONTENT_ENCODING, HeaderValue::from_static("gzip"));
        (out, gzipped(i)).into_response()
    } else {
        (out, a.bytes).into_response()
    }
}

#[cfg(test)]
/// The compressed size of everything a first visit loads (the scripts and stylesheets).
pub fn first_load_gzipped() -> usize {
    ASSETS
        .iter()
        .enumerate()
        .filter(|(_, a)| !a.name.ends_with(".LICENSE"))
        .map(|(i, _)| gzipped(i).len())
        .sum()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn everything_a_first_visit_loads_is_small() {
        // The pages themselves are a few KB more; the budget for all is 300 KB compressed.
        let total = first_load_gzipped();
        assert!(total < 200 * 1024, "{total} bytes compressed");
    }

    #[test]
    fn gzip_is_chosen_only_when_accepted() {
        let mut h = HeaderMap::new();
        assert!(!accepts_gzip(&h));
        h.insert(
            header::ACCEPT_ENCODING,
            HeaderValue::from_static("br, GZip"),
        );
        assert!(accepts_gzip(&h));
        h.insert(
            header::ACCEPT_ENCODING,
            HeaderValue::from_static("gzip;q=0, br"),
        );
        assert!(!accepts_gzip(&h));
    }
}
