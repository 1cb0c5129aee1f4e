//! Tauri commands: thin adapters (read state or call the core, map to DTOs).

use tauri::State;

use super::dto::{AppInfo, IncomingRequest};
use crate::state::AppState;

/// Version, data directory, log folder and development mode.
#[tauri::command]
pub fn app_info(state: State<'_, AppState>) -> AppInfo {
    state.app_info()
}

/// The links received so far in this run, oldest first (the UI may start after the first one).
#[tauri::command]
pub fn incoming_requests(state: State<'_, AppState>) -> Vec<IncomingRequest> {
    state.incoming()
}
