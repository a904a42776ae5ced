//! `TaskOptions`: what asyncio's `create_task(coro, *, name=..., eager_start=...)` takes
//! beside the coroutine, for the `create_task_with` functions (the loop's, the running
//! loop's and a `TaskGroup`'s). `spawn.rs` applies them before the task's first step,
//! so an eager task already has its name while it runs inside the call.

/// Options for a new task (asyncio's keyword arguments to `create_task`).
///
/// ```
/// use aloop::TaskOptions;
///
/// aloop::run(async {
///     let options = TaskOptions { name: Some("fetcher".into()), eager_start: Some(true) };
///     let t = aloop::create_task_with(
///         async { aloop::current_task().unwrap().unwrap().get_name() },
///         options,
///     );
///     assert!(t.done()); // it ran inside the call, already named
///     assert_eq!(t.await.unwrap(), "fetcher");
/// });
/// ```
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TaskOptions {
    /// The task's name (`name=`); `None` gives the default `Task-N`. Set before the
    /// task's first step, which matters for an eager one.
    pub name: Option<String>,
    /// `Some(true)`: the first step runs inside the call, as
    /// [`create_eager_task`](crate::create_eager_task); `Some(false)`: it is queued even
    /// under the eager task factory; `None` (the default): the loop's factory decides
    /// (Python 3.14's `eager_start=None`).
    pub eager_start: Option<bool>,
}

impl TaskOptions {
    /// Options with just a name.
    ///
    /// ```
    /// aloop::run(async {
    ///     let t = aloop::create_task_with(async {}, aloop::TaskOptions::named("worker-1"));
    ///     assert_eq!(t.get_name(), "worker-1");
    /// });
    /// ```
    pub fn named(name: impl Into<String>) -> TaskOptions {
        TaskOptions {
            name: Some(name.into()),
            eager_start: None,
        }
    }
}
