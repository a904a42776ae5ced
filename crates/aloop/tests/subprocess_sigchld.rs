//! The SIGCHLD path (what kernels without pidfds use), forced on this machine with
//! `ALOOP_PROCESS_NO_PIDFD=1`: the same reaping scenario, and waiting and killing.
//! One test, so the variable is set before anything reads it.

mod reaping;

#[test]
fn without_pidfds_children_are_waited_killed_and_reaped_through_sigchld() {
    std::env::set_var("ALOOP_PROCESS_NO_PIDFD", "1");
    aloop::run(async {
        let three = aloop::create_subprocess_shell("sleep 0.05; exit 3")
            .await
            .unwrap();
        assert_eq!(three.wait().await.unwrap(), 3);
        let sleeper = aloop::create_subprocess_exec("sleep", ["30"])
            .await
            .unwrap();
        sleeper.kill().unwrap();
        assert_eq!(sleeper.wait().await.unwrap(), -9);
    });
    reaping::many_children_leave_no_zombie_and_no_descriptor();
}
