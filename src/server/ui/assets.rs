//! The dashboard's page, script and style, embedded in the binary: nothing
//! is loaded from anywhere else (the CSP says so too).

pub const INDEX_HTML: &str = include_str!("static/index.html");
pub const LOGIN_HTML: &str = include_str!("static/login.html");
pub const APP_JS: &str = include_str!("static/app.js");
pub const APP_CSS: &str = include_str!("static/app.css");
