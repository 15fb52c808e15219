//! What a drop on the drop zone holds: files, and the files of dropped folders. A folder is
//! walked through the drop's directory entries (`webkitGetAsEntry`, the only way a page
//! sees a dropped folder's content), its files named by their path in it
//! (`rdpfix-logs/System.evtx`) and read like a multi-file drop; an archive beside other
//! files there is left out ([`analyzer::input::folder_reads`]: `fixer collect` writes its
//! zip beside the logs it holds).

use crate::bridge::Item;
use analyzer::input::{MAX_FOLDER_FILES, folder_reads};
use js_sys::{Array, Function, Promise};
use wasm_bindgen::JsCast;
use wasm_bindgen::prelude::*;
use wasm_bindgen_futures::JsFuture;
use web_sys::{
    DataTransfer, File, FileSystemDirectoryEntry, FileSystemDirectoryReader, FileSystemEntry,
    FileSystemFileEntry,
};

/// What was dropped, taken while the drop event runs (the browser empties the data
/// afterwards): directory entries when the browser gives them, else the plain file list.
#[derive(Debug)]
pub enum Dropped {
    Entries(Vec<FileSystemEntry>),
    Files(Vec<Item>),
}

impl Dropped {
    pub fn take(data: &DataTransfer) -> Dropped {
        let items = data.items();
        let entries: Vec<FileSystemEntry> = (0..items.length())
            .filter_map(|i| items.get(i))
            .filter(|item| item.kind() == "file")
            .filter_map(|item| item.webkit_get_as_entry().ok().flatten())
            .collect();
        if entries.iter().any(FileSystemEntry::is_directory) {
            return Dropped::Entries(entries);
        }
        let files = data.files();
        Dropped::Files(
            (0..files.as_ref().map_or(0, web_sys::FileList::length))
                .filter_map(|i| files.as_ref().and_then(|f| f.get(i)))
                .map(file_item)
                .collect(),
        )
    }

    /// The items to analyse: folders walked.
    pub async fn items(self) -> Result<Vec<Item>, String> {
        let entries = match self {
            Dropped::Files(items) => return Ok(items),
            Dropped::Entries(entries) => entries,
        };
        let mut out = Vec::new();
        for entry in entries {
            if entry.is_directory() {
                out.extend(folder(entry.unchecked_into()).await?);
            } else if entry.is_file() {
                out.push(file_item(file(entry.unchecked_ref()).await?));
            }
        }
        Ok(out)
    }
}

pub fn file_item(file: File) -> Item {
    Item::Blob {
        name: file.name(),
        blob: file.into(),
    }
}

/// Every file under `root`, sorted by path, as items (archives beside other files left out).
async fn folder(root: FileSystemDirectoryEntry) -> Result<Vec<Item>, String> {
    let top = root.name();
    let mut files: Vec<(String, File)> = Vec::new();
    let mut folders = vec![root];
    while let Some(dir) = folders.pop() {
        let reader = dir.create_reader();
        // `readEntries` answers in batches until it answers with none.
        loop {
            let batch = entries(&reader).await?;
            if batch.length() == 0 {
                break;
            }
            for entry in batch.iter() {
                let entry: FileSystemEntry = entry.unchecked_into();
                if entry.is_directory() {
                    folders.push(entry.unchecked_into());
                } else if entry.is_file() {
                    if files.len() == MAX_FOLDER_FILES {
                        return Err(format!(
                            "the folder {top} holds more than {MAX_FOLDER_FILES} files; drop the \
                             folder of logs itself (fixer collect's), or the log files"
                        ));
                    }
                    let path = entry.full_path().trim_start_matches('/').to_owned();
                    files.push((path, file(entry.unchecked_ref()).await?));
                }
            }
        }
    }
    if files.is_empty() {
        return Err(format!("the folder {top} holds no files"));
    }
    files.sort_by(|a, b| a.0.cmp(&b.0));
    let names: Vec<&str> = files.iter().map(|(path, _)| path.as_str()).collect();
    let reads = folder_reads(&names);
    Ok(files
        .into_iter()
        .zip(reads)
        .map(|((name, file), read)| {
            if read {
                Item::Blob {
                    name,
                    blob: file.into(),
                }
            } else {
                Item::LeftOut {
                    name,
                    bytes: file.size(),
                }
            }
        })
        .collect())
}

/// One batch of a folder's entries.
async fn entries(reader: &FileSystemDirectoryReader) -> Result<Array, String> {
    let answer = callback(|ok, fail| reader.read_entries_with_callback_and_callback(ok, fail))
        .await
        .map_err(|e| format!("a dropped folder could not be listed: {}", describe(&e)))?;
    Ok(answer.unchecked_into())
}

/// The file behind a file entry.
async fn file(entry: &FileSystemFileEntry) -> Result<File, String> {
    let answer = callback(|ok, fail| {
        entry.file_with_callback_and_callback(ok, fail);
        Ok(())
    })
    .await
    .map_err(|e| {
        format!(
            "{} in a dropped folder could not be read: {}",
            entry.name(),
            describe(&e)
        )
    })?;
    Ok(answer.unchecked_into())
}

/// The answer of a callback-style API (`start(success, failure)`) as a future.
async fn callback(
    start: impl FnOnce(&Function, &Function) -> Result<(), JsValue>,
) -> Result<JsValue, JsValue> {
    let mut start = Some(start);
    let mut started = Ok(());
    let promise = Promise::new(&mut |resolve, reject| {
        if let Some(start) = start.take() {
            started = start(&resolve, &reject);
        }
    });
    started?;
    JsFuture::from(promise).await
}

fn describe(e: &JsValue) -> String {
    crate::keys::describe(e)
}
