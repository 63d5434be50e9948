//! Headless Chromium for the pages the daemon serves, driven over WebDriver: chromedriver
//! started on a free port of 127.0.0.1, one session through fantoccini, and helpers that read
//! like what a person does (go to a page, wait for something to show, click, type, read).
//!
//! Every wait has a deadline ([`PATIENCE`]): a page that never gets there fails the test with
//! what it was waiting for instead of hanging it. The browser's console is logged at every
//! level, so [`Browser::console_errors`] can tell a test about the page's script errors and
//! failed loads. Dropping the [`Browser`] ends chromedriver and the Chromium it started.
//!
//! ```ignore
//! let Some(b) = Browser::start().await else { return };
//! b.goto(&format!("{}/console", d.url)).await;
//! b.fill("input[name=token]", "x").await;
//! b.click("button[name=redeliver]").await;
//! assert_eq!(b.text("#figure").await, "3");
//! assert_eq!(b.console_errors().await, Vec::<String>::new());
//! ```

use std::io::BufRead;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use fantoccini::elements::Element;
use fantoccini::wd::{Capabilities, WebDriverCompatibleCommand};
use fantoccini::{Client, ClientBuilder, Locator};
use serde_json::{json, Value};

use super::daemon::root;

/// How long any wait lasts before the test fails.
pub const PATIENCE: Duration = Duration::from_secs(10);

/// The page's size (CSS pixels) every session starts with; [`Browser::resize`] changes it.
pub const WINDOW: (u32, u32) = (1280, 900);

/// Names looked for on `PATH` when `CHROMIUM` does not name the browser.
const CHROMIUM_NAMES: &[&str] = &[
    "chromium",
    "chromium-browser",
    "google-chrome",
    "google-chrome-stable",
];

/// Headless Chromium in a WebDriver session of its own.
pub struct Browser {
    client: Client,
    /// What the browser logged as errors so far (the driver hands each entry out once).
    errors: Mutex<Vec<String>>,
    _driver: Driver,
    /// The browser's profile and temporary files, removed after the browser has ended.
    _scratch: tempfile::TempDir,
}

/// chromedriver as a process group of its own, which the Chromium it starts joins: dropping
/// it ends both, whatever state the session is in.
struct Driver(Child);

impl Drop for Driver {
    fn drop(&mut self) {
        // SAFETY: kill(2) with the group of a child this process started and has not reaped.
        unsafe {
            libc::kill(-(self.0.id() as libc::pid_t), libc::SIGKILL);
        }
        let _ = self.0.wait();
    }
}

/// Whether a missing browser fails the test (on CI) instead of skipping it.
fn required() -> bool {
    std::env::var("CI").is_ok_and(|v| !v.is_empty() && v != "0" && v != "false")
}

/// Skips, saying why, or fails the test where a browser is required.
fn missing(why: &str) -> Option<Browser> {
    if required() {
        panic!("CI is set, so the browser tests must run, but: {why}");
    }
    eprintln!("skipped: {why}");
    None
}

/// The program `var` names (a path, or a name looked up on `PATH`), else the first of `names`
/// found on `PATH`.
fn find(var: &str, names: &[&str]) -> Result<PathBuf, String> {
    let on_path = |name: &str| {
        let path = std::env::var_os("PATH")?;
        std::env::split_paths(&path)
            .map(|dir| dir.join(name))
            .find(|p| p.is_file())
    };
    match std::env::var(var) {
        Ok(named) if !named.trim().is_empty() => {
            let found = if named.contains('/') {
                Some(PathBuf::from(&named)).filter(|p| p.is_file())
            } else {
                on_path(&named)
            };
            found.ok_or_else(|| format!("{var}={named} is not a program"))
        }
        _ => names
            .iter()
            .find_map(|n| on_path(n))
            .ok_or_else(|| format!("no {} on PATH", names[0])),
    }
}

/// Starts chromedriver on a free port of 127.0.0.1 and returns it with its address once it
/// answers `/status` as ready.
async fn start_driver(program: &Path, tmp: &Path) -> (Driver, String) {
    use std::os::unix::process::CommandExt;
    let mut child = Command::new(program)
        .args(["--port=0", "--allowed-ips=127.0.0.1"])
        // What it and the browser make in a temporary directory goes with the test's.
        .env("TMPDIR", tmp)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .process_group(0)
        .spawn()
        .unwrap_or_else(|e| panic!("start {}: {e}", program.display()));
    // With port 0 it takes a free port and says which: "... started successfully on port N."
    let out = std::io::BufReader::new(child.stdout.take().unwrap());
    let driver = Driver(child);
    let (tx, rx) = tokio::sync::oneshot::channel();
    std::thread::spawn(move || {
        let mut said = Vec::new();
        let mut lines = out.lines().map_while(Result::ok);
        for line in lines.by_ref() {
            let port = line
                .rsplit_once(" on port ")
                .filter(|_| line.contains("started successfully"))
                .and_then(|(_, p)| p.trim_end_matches('.').parse::<u16>().ok());
            if let Some(port) = port {
                let _ = tx.send(Ok(port));
                // Keep reading, so that its output never fills the pipe.
                lines.for_each(drop);
                return;
            }
            said.push(line);
        }
        let _ = tx.send(Err(said.join("\n")));
    });
    let port = match tokio::time::timeout(PATIENCE, rx).await {
        Ok(Ok(Ok(port))) => port,
        Ok(Ok(Err(said))) => panic!("chromedriver ended before listening; it said:\n{said}"),
        Ok(Err(_)) => panic!("chromedriver's output could not be read"),
        Err(_) => panic!("chromedriver did not listen within {PATIENCE:?}"),
    };
    let url = format!("http://127.0.0.1:{port}");
    let http = reqwest::Client::builder()
        .timeout(Duration::from_secs(2))
        .build()
        .unwrap();
    let deadline = Instant::now() + PATIENCE;
    loop {
        let answer = match http.get(format!("{url}/status")).send().await {
            Ok(r) => r.json::<Value>().await.map_err(|e| e.to_string()),
            Err(e) => Err(e.to_string()),
        };
        match answer {
            Ok(status) if status["value"]["ready"] == true => return (driver, url),
            answer if Instant::now() > deadline => {
                panic!("chromedriver at {url} was not ready within {PATIENCE:?}: {answer:?}")
            }
            _ => tokio::time::sleep(Duration::from_millis(20)).await,
        }
    }
}

/// chromedriver's browser log: `POST /session/{id}/se/log {"type": "browser"}` returns the
/// entries logged since the last call.
#[derive(Debug)]
struct BrowserLog;

impl WebDriverCompatibleCommand for BrowserLog {
    fn endpoint(
        &self,
        base_url: &url::Url,
        session_id: Option<&str>,
    ) -> Result<url::Url, url::ParseError> {
        base_url.join(&format!(
            "session/{}/se/log",
            session_id.unwrap_or_default()
        ))
    }

    fn method_and_body(&self, _: &url::Url) -> (http::Method, Option<String>) {
        (
            http::Method::POST,
            Some(json!({ "type": "browser" }).to_string()),
        )
    }
}

/// `value` as a JavaScript literal.
fn js(value: &str) -> String {
    Value::from(value).to_string()
}

impl Browser {
    /// Starts chromedriver and a headless Chromium session. The programs are `CHROMEDRIVER`
    /// and `CHROMIUM` when set, else `chromedriver` and `chromium` (or Chrome) on `PATH`.
    /// Without them it says why and returns `None`; with `CI` set it fails the test instead.
    /// A browser that is there but does not start always fails the test.
    pub async fn start() -> Option<Browser> {
        let program = match find("CHROMEDRIVER", &["chromedriver"]) {
            Ok(p) => p,
            Err(why) => return missing(&format!("{why} (apt-get install chromium-driver)")),
        };
        let chromium = match find("CHROMIUM", CHROMIUM_NAMES) {
            Ok(p) => p,
            Err(why) => return missing(&format!("{why} (apt-get install chromium)")),
        };
        let scratch = tempfile::tempdir().unwrap();
        let profile = scratch.path().join("profile");
        let (driver, url) = start_driver(&program, scratch.path()).await;
        let (width, height) = WINDOW;
        let capabilities: Capabilities = serde_json::from_value(json!({
            "browserName": "chrome",
            "goog:chromeOptions": {
                "binary": chromium,
                "args": [
                    "--headless=new",
                    "--no-sandbox",
                    "--disable-gpu",
                    "--no-first-run",
                    "--lang=en",
                    format!("--window-size={width},{height}"),
                    format!("--user-data-dir={}", profile.display()),
                ],
            },
            // Every console line is kept, so that errors can be read back.
            "goog:loggingPrefs": { "browser": "ALL" },
            "timeouts": { "implicit": 0, "pageLoad": 30_000, "script": 30_000 },
        }))
        .unwrap();
        let client = ClientBuilder::new(hyper_util::client::legacy::connect::HttpConnector::new())
            .capabilities(capabilities)
            .connect(&url)
            .await
            .unwrap_or_else(|e| panic!("a session of {} through {url}: {e}", chromium.display()));
        let browser = Browser {
            client,
            errors: Mutex::new(Vec::new()),
            _driver: driver,
            _scratch: scratch,
        };
        browser.resize(width, height).await;
        Some(browser)
    }

    /// The WebDriver client, for what the helpers here do not do.
    pub fn client(&self) -> &Client {
        &self.client
    }

    /// Loads `url` and returns once the page has loaded.
    pub async fn goto(&self, url: &str) {
        self.client
            .goto(url)
            .await
            .unwrap_or_else(|e| panic!("open {url}: {e}"));
    }

    /// Reloads the page and returns once it has loaded again.
    pub async fn reload(&self) {
        self.client.refresh().await.expect("reload the page");
    }

    /// Sizes the window so that the page gets `width` × `height` CSS pixels (what a
    /// screenshot shows): the window is first set to that size, then grown by what its frame
    /// takes.
    pub async fn resize(&self, width: u32, height: u32) {
        let set = |w: u32, h: u32| async move {
            self.client
                .set_window_size(w, h)
                .await
                .unwrap_or_else(|e| panic!("resize the window to {w} × {h}: {e}"));
        };
        set(width, height).await;
        let inner = self.eval("[window.innerWidth, window.innerHeight]").await;
        let (w, h) = (inner[0].as_u64().unwrap(), inner[1].as_u64().unwrap());
        if (w, h) != (u64::from(width), u64::from(height)) {
            let grow = |want: u32, got: u64| (2 * u64::from(want)).saturating_sub(got) as u32;
            set(grow(width, w), grow(height, h)).await;
        }
    }

    /// Waits until an element matches `css` and returns the first one.
    pub async fn wait_for(&self, css: &str) -> Element {
        match self
            .client
            .wait()
            .at_most(PATIENCE)
            .every(Duration::from_millis(20))
            .for_element(Locator::Css(css))
            .await
        {
            Ok(e) => e,
            Err(fantoccini::error::CmdError::WaitTimeout) => {
                panic!("nothing on the page matched `{css}` within {PATIENCE:?}")
            }
            Err(e) => panic!("waiting for `{css}`: {e}"),
        }
    }

    /// Waits until the text of an element matching `css` is `text`.
    pub async fn wait_text(&self, css: &str, text: &str) {
        let css_js = js(css);
        let text_js = js(text);
        let found = self
            .poll(&format!(
                "Array.from(document.querySelectorAll({css_js})).some(e => e.textContent === {text_js})"
            ))
            .await;
        if found.is_null() {
            let now = self.texts(css).await;
            panic!("no `{css}` read {text:?} within {PATIENCE:?}; they read {now:?}");
        }
    }

    /// Waits until the JavaScript expression `expr` is truthy in the page and returns its
    /// value. The page checks it every 20 ms, so one call waits for it.
    pub async fn until(&self, expr: &str) -> Value {
        let v = self.poll(expr).await;
        assert!(
            !v.is_null(),
            "the page never got to `{expr}` within {PATIENCE:?}"
        );
        v
    }

    /// `expr`'s value once it is truthy, or `null` after [`PATIENCE`].
    async fn poll(&self, expr: &str) -> Value {
        let script = format!(
            "const done = arguments[arguments.length - 1]; const t0 = Date.now(); \
             (function check() {{ \
               let v; try {{ v = ({expr}); }} catch (e) {{ v = null; }} \
               if (v) done(v); \
               else if (Date.now() - t0 > {ms}) done(null); \
               else setTimeout(check, 20); \
             }})();",
            ms = PATIENCE.as_millis()
        );
        self.client
            .execute_async(&script, vec![])
            .await
            .unwrap_or_else(|e| panic!("waiting for `{expr}`: {e}"))
    }

    /// Clicks the first element matching `css`, once there is one.
    pub async fn click(&self, css: &str) {
        self.wait_for(css)
            .await
            .click()
            .await
            .unwrap_or_else(|e| panic!("click `{css}`: {e}"));
    }

    /// Clicks the element matching `css` whose text is `text` (a button by its label), once
    /// there is one.
    pub async fn click_text(&self, css: &str, text: &str) {
        self.wait_text(css, text).await;
        for e in self.client.find_all(Locator::Css(css)).await.unwrap() {
            if e.prop("textContent").await.unwrap().as_deref() == Some(text) {
                return e
                    .click()
                    .await
                    .unwrap_or_else(|err| panic!("click `{css}` {text:?}: {err}"));
            }
        }
        panic!("`{css}` {text:?} went away before it was clicked");
    }

    /// Types `text` into the field matching `css` (emptied first), key by key.
    pub async fn fill(&self, css: &str, text: &str) {
        let field = self.wait_for(css).await;
        field
            .clear()
            .await
            .unwrap_or_else(|e| panic!("clear `{css}`: {e}"));
        field
            .send_keys(text)
            .await
            .unwrap_or_else(|e| panic!("type into `{css}`: {e}"));
    }

    /// The text (`textContent`) of the first element matching `css`, once there is one.
    pub async fn text(&self, css: &str) -> String {
        let e = self.wait_for(css).await;
        e.prop("textContent")
            .await
            .unwrap_or_else(|err| panic!("read `{css}`: {err}"))
            .unwrap_or_default()
    }

    /// The texts of every element matching `css` now, in document order (none: empty).
    pub async fn texts(&self, css: &str) -> Vec<String> {
        let v = self
            .eval(&format!(
                "Array.from(document.querySelectorAll({})).map(e => e.textContent)",
                js(css)
            ))
            .await;
        serde_json::from_value(v).unwrap()
    }

    /// How many elements match `css` now.
    pub async fn count(&self, css: &str) -> usize {
        let v = self
            .eval(&format!("document.querySelectorAll({}).length", js(css)))
            .await;
        v.as_u64().unwrap() as usize
    }

    /// Runs `script` (a function body: `return` gives its value) in the page with `args` as
    /// `arguments`, and returns its value.
    pub async fn execute(&self, script: &str, args: Vec<Value>) -> Value {
        self.client
            .execute(script, args)
            .await
            .unwrap_or_else(|e| panic!("run `{script}`: {e}"))
    }

    /// The value of the JavaScript expression `expr` in the page.
    pub async fn eval(&self, expr: &str) -> Value {
        self.execute(&format!("return ({expr});"), vec![]).await
    }

    /// Saves a PNG of the window as `target/screenshots/<name>.png` and returns its path.
    pub async fn screenshot(&self, name: &str) -> PathBuf {
        let png = self.client.screenshot().await.expect("a screenshot");
        let dir = root().join("target/screenshots");
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join(format!("{name}.png"));
        std::fs::write(&path, png).unwrap();
        path
    }

    /// Every error the browser logged since the session started, as it wrote them: the pages'
    /// uncaught exceptions, `console.error` lines and failed loads (but the browser's own
    /// request for `/favicon.ico`).
    pub async fn console_errors(&self) -> Vec<String> {
        let entries = self
            .client
            .issue_cmd(BrowserLog)
            .await
            .expect("the browser's log");
        let mut errors = self.errors.lock().unwrap();
        for entry in entries.as_array().into_iter().flatten() {
            let message = entry["message"].as_str().unwrap_or_default();
            // The browser asks for /favicon.ico on its own; no page asked for it.
            let icon = message.contains("/favicon.ico - Failed to load resource");
            if entry["level"] == "SEVERE" && !icon {
                errors.push(message.to_string());
            }
        }
        errors.clone()
    }

    /// Ends the session (Chromium quits), then chromedriver.
    pub async fn close(self) {
        let _ = self.client.clone().close().await;
    }
}
