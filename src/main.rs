fn main() -> std::process::ExitCode {
    vanguard::cli::main()
}
