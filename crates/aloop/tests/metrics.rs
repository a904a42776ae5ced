//! `lp.metrics()` counts what a known program did.

use std::time::Duration;

#[test]
fn metrics_count_callbacks_steps_iterations_and_the_ready_peak() {
    let lp = aloop::new_event_loop();
    let before = lp.metrics();
    assert_eq!(before, aloop::LoopMetrics::default());
    // 10 callbacks ready together, then 5 tasks of 3 steps each (two yields).
    for _ in 0..10 {
        lp.call_soon(|| ()).unwrap();
    }
    lp.run_until_complete(async {
        let tasks: Vec<_> = (0..5)
            .map(|_| {
                aloop::create_task(async {
                    aloop::sleep(Duration::ZERO).await;
                    aloop::sleep(Duration::ZERO).await;
                })
            })
            .collect();
        for t in tasks {
            t.await.unwrap();
        }
    })
    .unwrap();
    let m = lp.metrics();
    // The main task: one step to spawn and wait, one more per task it awaits that is
    // not done yet, plus the 5 tasks' 3 steps each.
    assert!(m.task_steps >= 16, "{m:?}");
    assert!(m.task_steps <= 21, "{m:?}");
    // The 10 callbacks, plus run_until_complete's own done callback that stops it.
    assert_eq!(m.callbacks_run, 11, "{m:?}");
    assert!(
        m.ready_high_water >= 11,
        "10 callbacks and the main task at once: {m:?}"
    );
    assert!(m.iterations >= 4, "{m:?}");
    // Not in debug mode: no clock is read, so no times.
    assert_eq!(m.callback_time, Duration::ZERO);
    assert_eq!(m.blocked, Duration::ZERO);
    assert_eq!(m.slow_steps, 0);
}

#[test]
fn debug_mode_times_steps_and_counts_slow_ones_and_blocking_is_timed() {
    let lp = aloop::new_event_loop();
    lp.set_debug(true);
    lp.set_slow_callback_duration(Duration::from_millis(20));
    lp.call_soon(|| std::thread::sleep(Duration::from_millis(30)))
        .unwrap();
    lp.run_until_complete(aloop::sleep(Duration::from_millis(30)))
        .unwrap();
    let m = lp.metrics();
    assert_eq!(m.slow_steps, 1, "{m:?}");
    assert!(m.longest_callback >= Duration::from_millis(30), "{m:?}");
    assert!(m.callback_time >= m.longest_callback);
    assert!(m.blocked > Duration::ZERO, "it waited for the timer: {m:?}");
}
