//! A minimal Tauri 2 window: one static page, no plugins, no commands. The footprint benchmark
//! (`scripts/bench-footprint.sh`) measures it beside the wallet as the floor a Tauri 2 app
//! cannot go below on the same machine and WebKitGTK.

fn main() {
    tauri::Builder::default()
        // The same mark as the wallet's log line, for the benchmark to read.
        .on_page_load(|_, load| {
            if load.event() == tauri::webview::PageLoadEvent::Finished {
                let unix_ms = std::time::SystemTime::now()
                    .duration_since(std::time::UNIX_EPOCH)
                    .map(|d| d.as_millis())
                    .unwrap_or(0);
                eprintln!("page loaded unix_ms={unix_ms}");
            }
        })
        .run(tauri::generate_context!())
        .expect("the minimal window could not start");
}
