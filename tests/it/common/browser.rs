//! A real browser: Debian's `chromium`, headless, driven through `chromedriver` (WebDriver) with
//! fantoccini. `.ci/run` installs both; elsewhere, without them, browser tests say so and pass
//! only when `CI` is unset.

use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use fantoccini::{Client, ClientBuilder, Locator};
use serde_json::json;

pub struct Browser {
    pub client: Client,
    driver: Child,
    /// Where screenshots go: target/tmp/screenshots (kept as test artifacts).
    shots: PathBuf,
    name: String,
    count: usize,
}

fn tool(name: &str) -> Option<PathBuf> {
    ["/usr/bin", "/usr/local/bin", "/usr/lib/chromium"]
        .iter()
        .map(|d| PathBuf::from(d).join(name))
        .find(|p| p.exists())
}

impl Browser {
    /// A headless Chromium of `width` × `height` CSS pixels; `None` (after a note) when
    /// Chromium or ChromeDriver is missing outside CI.
    pub async fn start(name: &str, width: u32, height: u32) -> Option<Self> {
        let (Some(driver_bin), Some(chromium)) = (tool("chromedriver"), tool("chromium")) else {
            assert!(
                std::env::var_os("CI").is_none(),
                "chromium and chromedriver are required in CI (.ci/run installs them)"
            );
            eprintln!("chromium/chromedriver not installed: browser test {name} not run");
            return None;
        };
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let driver = Command::new(driver_bin)
            .arg(format!("--port={port}"))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("start chromedriver");
        let caps = json!({
            "goog:chromeOptions": {
                "binary": chromium,
                "args": ["--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                         "--lang=zh-CN", format!("--window-size={width},{height}")]
            }
        });
        let caps = caps.as_object().unwrap().clone();
        let started = Instant::now();
        let client = loop {
            let connector = hyper_util::client::legacy::connect::HttpConnector::new();
            match ClientBuilder::new(connector)
                .capabilities(caps.clone())
                .connect(&format!("http://127.0.0.1:{port}"))
                .await
            {
                Ok(c) => break c,
                Err(e) if started.elapsed() < Duration::from_secs(30) => {
                    let _ = e;
                    tokio::time::sleep(Duration::from_millis(200)).await;
                }
                Err(e) => panic!("chromedriver session: {e}"),
            }
        };
        let shots = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("screenshots");
        std::fs::create_dir_all(&shots).unwrap();
        Some(Browser {
            client,
            driver,
            shots,
            name: name.to_string(),
            count: 0,
        })
    }

    /// Saves a screenshot named after the test and `what`.
    pub async fn shot(&mut self, what: &str) {
        self.count += 1;
        let png = self.client.screenshot().await.expect("screenshot");
        let path = self
            .shots
            .join(format!("{}-{:02}-{what}.png", self.name, self.count));
        std::fs::write(&path, png).unwrap();
    }

    pub async fn goto(&self, url: &str) {
        self.client.goto(url).await.expect("navigate");
    }

    /// The element, waiting (up to 10 s) for it to appear after a navigation.
    async fn find(&self, css: &str) -> fantoccini::elements::Element {
        self.client
            .wait()
            .at_most(Duration::from_secs(10))
            .for_element(Locator::Css(css))
            .await
            .unwrap_or_else(|e| panic!("{css}: {e}"))
    }

    pub async fn fill(&self, css: &str, text: &str) {
        let el = self.find(css).await;
        el.clear().await.unwrap();
        el.send_keys(text).await.unwrap();
    }

    pub async fn select(&self, css: &str, value: &str) {
        self.find(css).await.select_by_value(value).await.unwrap();
    }

    /// Clicks, and when the click submits a form, lets the next page load.
    pub async fn click(&self, css: &str) {
        let el = self.find(css).await;
        if el.prop("type").await.ok().flatten().as_deref() == Some("submit") {
            // The old document stays "complete" until the answer replaces it: mark it, so
            // that `settle` waits for the new one.
            self.client
                .execute("window.__hlOld = true; return true;", vec![])
                .await
                .unwrap();
        }
        el.click().await.unwrap();
        self.settle().await;
    }

    /// Waits (at most 10 s) until the document has loaded and is not one a submitting click
    /// marked as about to be replaced.
    pub async fn settle(&self) {
        for _ in 0..200 {
            let ready = self
                .client
                .execute(
                    "return window.__hlOld === true ? 'replacing' : document.readyState",
                    vec![],
                )
                .await
                .ok()
                .and_then(|v| v.as_str().map(str::to_string));
            if ready.as_deref() == Some("complete") {
                return;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    /// The text of an element, retrying while a navigation replaces the page.
    pub async fn text(&self, css: &str) -> String {
        for _ in 0..50 {
            if let Ok(t) = self.find(css).await.text().await {
                return t;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        panic!("{css}: no stable text")
    }

    pub async fn value(&self, css: &str) -> String {
        self.find(css)
            .await
            .prop("value")
            .await
            .unwrap()
            .unwrap_or_default()
    }

    pub async fn body(&self) -> String {
        self.text("body").await
    }

    pub async fn login(&self, base: &str, username: &str) {
        self.goto(&format!("{base}/login")).await;
        self.fill("#username", username).await;
        self.fill("#password", super::PASSWORD).await;
        self.click("form button[type=submit]").await;
    }

    /// Opens the `<details>` whose summary reads `title`.
    pub async fn open(&self, title: &str) {
        self.find("summary").await;
        self.client
            .find(Locator::XPath(&format!("//summary[text()='{title}']")))
            .await
            .unwrap_or_else(|e| panic!("summary {title}: {e}"))
            .click()
            .await
            .unwrap();
    }

    pub async fn close(mut self) {
        let _ = self.client.clone().close().await;
        let _ = self.driver.kill();
        let _ = self.driver.wait();
    }
}
