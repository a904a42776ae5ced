//! `#[aloop::main]` on a test binary's real `main` (this target has no harness): the
//! program's main thread runs the loop, and a `main` returning `Result` reports an
//! `Err` as Rust's own `main` does (exit code 1, `Error: ...` on stderr), which the
//! binary checks by running itself as a child with `ALOOP_MACROS_FAIL` set.

use std::error::Error;

use aloop::subprocess::Stdio;

#[aloop::main]
async fn main() -> Result<(), Box<dyn Error>> {
    if std::env::var_os("ALOOP_MACROS_FAIL").is_some() {
        let n: u32 = "not a number".parse()?;
        unreachable!("`?` returned early, got {n}");
    }
    let lp = aloop::get_running_loop()?;
    assert!(lp.is_running());

    let exe = std::env::current_exe()?;
    let mut child = aloop::create_subprocess_exec(&exe, [] as [&str; 0])
        .env("ALOOP_MACROS_FAIL", "1")
        .stdout(Stdio::DevNull)
        .stderr(Stdio::Pipe)
        .await?;
    let (_, stderr) = child.communicate(None).await?;
    let code = child.wait().await?;
    let stderr = String::from_utf8_lossy(&stderr);
    assert_eq!(code, 1, "stderr: {stderr}");
    assert!(
        stderr.contains("Error: ParseIntError"),
        "main's Err is reported as Rust reports it: {stderr}"
    );
    println!("test program::main_runs_on_a_loop_and_its_err_exits_1 ... ok");
    println!("\ntest result: ok. 1 passed");
    Ok(())
}
