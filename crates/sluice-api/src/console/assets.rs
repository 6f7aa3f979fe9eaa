//! The console's files, embedded in the binary at build time: a fresh clone builds without
//! Node, and the server loads nothing from elsewhere.

/// `(path under /console/, content type, bytes)`.
const FILES: &[(&str, &str, &[u8])] = &[
    ("index.html", "text/html; charset=utf-8", include_bytes!("../../console/index.html")),
    ("console.css", "text/css; charset=utf-8", include_bytes!("../../console/console.css")),
    ("favicon.svg", "image/svg+xml", include_bytes!("../../console/favicon.svg")),
    ("js/main.js", JS, include_bytes!("../../console/js/main.js")),
    ("js/api.js", JS, include_bytes!("../../console/js/api.js")),
    ("js/dom.js", JS, include_bytes!("../../console/js/dom.js")),
    ("js/chart.js", JS, include_bytes!("../../console/js/chart.js")),
    ("js/pipeline_editor.js", JS, include_bytes!("../../console/js/pipeline_editor.js")),
    ("js/signin.js", JS, include_bytes!("../../console/js/signin.js")),
    ("js/workspaces.js", JS, include_bytes!("../../console/js/workspaces.js")),
    ("js/workspace.js", JS, include_bytes!("../../console/js/workspace.js")),
    ("js/processor.js", JS, include_bytes!("../../console/js/processor.js")),
];

const JS: &str = "text/javascript; charset=utf-8";

/// The content type and bytes of the file at `path`, if the console has one.
pub fn find(path: &str) -> Option<(&'static str, &'static [u8])> {
    FILES.iter().find(|(p, _, _)| *p == path).map(|(_, t, b)| (*t, *b))
}

#[cfg(test)]
mod tests {
    #[test]
    fn every_file_of_the_console_folder_is_embedded() {
        let manifest = std::env::var_os("CARGO_MANIFEST_DIR").unwrap_or_else(|| env!("CARGO_MANIFEST_DIR").into());
        let dir = std::path::PathBuf::from(manifest).join("console");
        let mut on_disk = Vec::new();
        for sub in ["", "js"] {
            for e in std::fs::read_dir(dir.join(sub)).unwrap() {
                let e = e.unwrap();
                if e.file_type().unwrap().is_file() {
                    let name = e.file_name().to_string_lossy().into_owned();
                    on_disk.push(if sub.is_empty() { name } else { format!("{}/{}", sub, name) });
                }
            }
        }
        on_disk.sort();
        let mut embedded: Vec<String> = super::FILES.iter().map(|f| f.0.to_string()).collect();
        embedded.sort();
        assert_eq!(on_disk, embedded);
    }
}
