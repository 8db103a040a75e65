fn main() -> std::process::ExitCode {
    kratos::cli::main()
}
