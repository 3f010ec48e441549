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
