//! The web console `luna run` serves at `/` on the API address: a page to talk to LUNA
//! from a browser (its microphone streamed over `/v1/stream`, typed commands over
//! `/v1/commands`) that shows what was heard, understood and done, with each step's
//! latency. Plain HTML, CSS and JavaScript compiled into the binary: no build step, no
//! CDN, and a Content-Security-Policy that lets the page reach only LUNA's own address.

use actix_web::http::header;
use actix_web::{web, HttpRequest, HttpResponse};

/// The page's files, as served: (path, content type, body).
pub const ASSETS: &[(&str, &str, &str)] = &[
    (
        "/",
        "text/html; charset=utf-8",
        include_str!("console/index.html"),
    ),
    (
        "/console.css",
        "text/css; charset=utf-8",
        include_str!("console/console.css"),
    ),
    (
        "/console.js",
        "text/javascript; charset=utf-8",
        include_str!("console/console.js"),
    ),
    (
        "/worklet.js",
        "text/javascript; charset=utf-8",
        include_str!("console/worklet.js"),
    ),
];

/// Adds the console's routes. They need no token: the page holds no data, and asks for
/// the token before it calls the API.
pub fn routes(cfg: &mut web::ServiceConfig) {
    for &(path, content_type, body) in ASSETS {
        cfg.route(
            path,
            web::get().to(move |req: HttpRequest| async move { serve(&req, content_type, body) }),
        );
    }
}

fn serve(req: &HttpRequest, content_type: &str, body: &'static str) -> HttpResponse {
    HttpResponse::Ok()
        .content_type(content_type)
        .insert_header((header::CONTENT_SECURITY_POLICY, policy(req)))
        .insert_header((header::X_CONTENT_TYPE_OPTIONS, "nosniff"))
        .insert_header((header::REFERRER_POLICY, "no-referrer"))
        .insert_header((header::CACHE_CONTROL, "no-cache"))
        .body(body)
}

/// Only LUNA's own address: scripts, styles and the worklet from it, requests and the
/// WebSocket to it, the reply's audio from memory (`blob:`). Nothing else loads.
fn policy(req: &HttpRequest) -> String {
    let host = req.connection_info().host().to_owned();
    // A Host header with characters that could end the directive gets no socket.
    let connect = if host
        .chars()
        .all(|c| c.is_ascii_alphanumeric() || ".-:[]".contains(c))
    {
        format!("'self' ws://{host} wss://{host}")
    } else {
        "'self'".to_owned()
    };
    format!(
        "default-src 'none'; script-src 'self'; style-src 'self'; connect-src {connect}; \
         media-src blob:; img-src 'self' data:; base-uri 'none'; form-action 'none'; \
         frame-ancestors 'none'"
    )
}

#[cfg(test)]
mod tests {
    use super::ASSETS;

    #[test]
    fn the_console_is_small_and_names_no_other_address() {
        let total: usize = ASSETS.iter().map(|(_, _, body)| body.len()).sum();
        assert!(total <= 100 * 1024, "the console is {total} bytes");
        for (path, _, body) in ASSETS {
            for scheme in ["http://", "https://", "ws://", "wss://", "//cdn"] {
                assert!(!body.contains(scheme), "{path} names {scheme}");
            }
        }
    }

    #[test]
    fn the_page_loads_only_its_own_files() {
        let page = ASSETS[0].2;
        for (path, _, _) in &ASSETS[1..] {
            if *path != "/worklet.js" {
                assert!(page.contains(&path[1..]), "the page does not load {path}");
            }
        }
        assert!(ASSETS[2].2.contains("worklet.js"));
    }
}
