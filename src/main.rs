// No panics outside tests: a hostile message or a broken configuration
// gets an error, never an abort (constant regexes carry an allow with
// their reason).
#![cfg_attr(
    not(test),
    deny(
        clippy::unwrap_used,
        clippy::expect_used,
        clippy::panic,
        clippy::indexing_slicing
    )
)]
mod demo_server;

fn main() -> std::process::ExitCode {
    // `vanguard demo-server` (hidden): the vulnerable server of `vanguard demo`.
    if std::env::args_os()
        .nth(1)
        .is_some_and(|a| a == "demo-server")
    {
        return demo_server::serve();
    }
    vanguard::cli::main()
}
