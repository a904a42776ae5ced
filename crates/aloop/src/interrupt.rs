//! Ctrl-C in [`aloop::run`](crate::run) and [`Runner::run`](crate::Runner::run), as
//! asyncio 3.11's `Runner` does it: the first SIGINT cancels the main task, so its
//! cleanup (destructors) runs, and the run reports `RunError::Interrupted`; a second
//! SIGINT during that cleanup ends the process as the default action would.
//!
//! Taken over only on the main thread and only while SIGINT has its default
//! disposition (asyncio checks for Python's default handler), and the previous
//! disposition is back when the run ends: the listener is dropped then, and with no
//! listener left `aloop-process` gives SIGINT its old action. A loop with a SIGINT
//! handler of its own (`add_signal_handler`) keeps Ctrl-C for that handler, as in
//! asyncio, where the loop's handler replaces the runner's. Used by `runner.rs`.

use std::cell::{Cell, RefCell};
use std::future::poll_fn;
use std::io;
use std::rc::{Rc, Weak};
use std::task::Poll;

use aloop_executor::TaskRef;
use aloop_process::signum::SIGINT;
use aloop_process::{has_default_disposition, SignalListener};

use crate::loop_state::LoopState;
use crate::task::{spawn_unlisted, AnyTask};

/// The armed Ctrl-C watch of one run.
pub(crate) struct CtrlC {
    listener: Rc<RefCell<Option<SignalListener>>>,
    fired: Rc<Cell<bool>>,
    watch: TaskRef,
}

impl CtrlC {
    /// Arms for a run whose main task is `main`, when this thread and SIGINT's
    /// disposition allow it (see the file's comment); `None` otherwise.
    pub(crate) fn arm(state: &Rc<LoopState>, main: AnyTask) -> Option<CtrlC> {
        if std::thread::current().name() != Some("main")
            || !has_default_disposition(SIGINT).unwrap_or(false)
        {
            return None;
        }
        let listener = SignalListener::with_reactor(SIGINT, state.reactor()).ok()?;
        let listener = Rc::new(RefCell::new(Some(listener)));
        let fired = Rc::new(Cell::new(false));
        let watch = spawn_unlisted(
            state,
            watch(Rc::downgrade(state), listener.clone(), fired.clone(), main),
        )
        .into_raw();
        Some(CtrlC {
            listener,
            fired,
            watch,
        })
    }

    /// Ends the watch and gives SIGINT back its previous disposition; returns whether
    /// a Ctrl-C cancelled the main task.
    pub(crate) fn disarm(self) -> bool {
        drop(self.listener.borrow_mut().take());
        self.watch.abort();
        self.fired.get()
    }
}

async fn watch(
    state: Weak<LoopState>,
    listener: Rc<RefCell<Option<SignalListener>>>,
    fired: Rc<Cell<bool>>,
    main: AnyTask,
) {
    loop {
        let received = poll_fn(|cx| match &*listener.borrow() {
            Some(l) => l.poll_recv(cx),
            None => Poll::Ready(Err(io::ErrorKind::NotConnected.into())),
        })
        .await;
        if received.is_err() {
            return;
        }
        let Some(state) = state.upgrade() else { return };
        if state.has_signal_watch(SIGINT) {
            continue; // the loop's own handler has Ctrl-C
        }
        fired.set(true);
        // No listener left: the next SIGINT gets the default action and ends the
        // process, even if the cleanup hangs.
        drop(listener.borrow_mut().take());
        main.cancel();
        return;
    }
}
