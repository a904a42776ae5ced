//! Child processes, asyncio style: pipes that are ordinary streams, return codes, and
//! `communicate`.
//!
//! 1. Feeds lines to a real `sort` through its stdin and reads the sorted lines back
//!    with `lines()`.
//! 2. Runs `sh -c 'exit 3'` and a `sleep` killed by SIGKILL, and prints their return
//!    codes (3 and -9, as asyncio's `returncode`).
//! 3. `communicate` with 10 MiB in each direction through `cat`.
//!
//! Run: `cargo run --release --example subprocess`

use aloop::subprocess::Stdio;

async fn sort_lines() -> std::io::Result<()> {
    let sort = aloop::create_subprocess_exec("sort", [] as [&str; 0])
        .stdin(Stdio::Pipe)
        .stdout(Stdio::Pipe)
        .await?;
    let stdin = sort.stdin.as_ref().expect("stdin is a pipe");
    for fruit in ["pear", "apple", "fig", "banana", "cherry"] {
        stdin.write(fruit.as_bytes())?;
        stdin.write(b"\n")?;
    }
    stdin.drain().await?;
    stdin.close(); // sort sorts once its input ends
    let mut lines = sort.stdout.as_ref().expect("stdout is a pipe").lines();
    print!("sorted:");
    while let Some(line) = lines.next_line().await {
        print!(" {}", String::from_utf8_lossy(&line?).trim_end());
    }
    println!();
    println!("sort exited with {}", sort.wait().await?);
    Ok(())
}

async fn return_codes() -> std::io::Result<()> {
    let three = aloop::create_subprocess_exec("sh", ["-c", "exit 3"]).await?;
    println!("sh -c 'exit 3' -> returncode {}", three.wait().await?);

    let sleeper = aloop::create_subprocess_exec("sleep", ["30"]).await?;
    sleeper.kill()?;
    println!("sleep 30, killed -> returncode {}", sleeper.wait().await?);
    Ok(())
}

async fn communicate_big() -> std::io::Result<()> {
    const SIZE: usize = 10 << 20;
    let input: Vec<u8> = (0..SIZE).map(|i| (i % 251) as u8).collect();
    let mut cat = aloop::create_subprocess_exec("cat", [] as [&str; 0])
        .stdin(Stdio::Pipe)
        .stdout(Stdio::Pipe)
        .await?;
    let (out, _) = cat.communicate(Some(&input)).await?;
    println!(
        "communicate: sent {} MiB, got {} MiB back, identical: {}, returncode {:?}",
        input.len() >> 20,
        out.len() >> 20,
        out == input,
        cat.returncode()
    );
    Ok(())
}

fn main() {
    aloop::run(async {
        for (what, result) in [
            ("sort", sort_lines().await),
            ("return codes", return_codes().await),
            ("communicate", communicate_big().await),
        ] {
            if let Err(e) = result {
                eprintln!("subprocess example, {what}: {e}");
            }
        }
    });
}
