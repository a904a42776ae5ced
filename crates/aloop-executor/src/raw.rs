//! The task cell: one heap allocation holding the header, the caller's metadata, the
//! scheduler, and the future (later its output), plus the functions that drive its state
//! machine.
//!
//! Layout: `RawTask<F, T, S, M>` is `#[repr(C)]` with the [`Header`] (`header.rs`)
//! first, so a pointer to the cell is also a pointer to its header; type-erased handles
//! (`Runnable`, `Waker`, `TaskRef`) hold `NonNull<Header>` and reach the typed code
//! through the header's vtable.
//! The metadata comes right after the header, so its offset depends on `M` alone.
//!
//! Threads: the state word is atomic because wakers may be used anywhere. The stage (the
//! future or its output), the metadata and the awaiter slot are touched only on the owning
//! thread: the future is polled there (`Runnable::run` checks), `Task<T>` / `TaskRef` are
//! `!Send`, and a cell whose last reference goes away elsewhere is sent home to be freed.

use std::any::TypeId;
use std::cell::UnsafeCell;
use std::future::Future;
use std::mem::{ManuallyDrop, MaybeUninit};
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::pin::Pin;
use std::ptr::{addr_of_mut, NonNull};
use std::sync::atomic::Ordering::{AcqRel, Acquire, Release};
use std::task::{Context, Poll, Waker};

use crate::current;
use crate::error::{PanicPayload, TaskError};
use crate::header::{drop_ref, raw_waker, request_cancel, Header, TaskVTable};
use crate::runnable::Runnable;
use crate::schedule::Schedule;
use crate::state::*;
use crate::sync::AtomicUsize;
use crate::thread_id;

/// The metadata of a plain [`spawn_local`](crate::spawn_local) task: the waker of whoever
/// awaits its `Task<T>` handle. Owning thread only. Tasks with caller-defined metadata
/// have no `Task<T>` handle and keep their awaiters themselves, so they do not pay for it.
pub(crate) type Awaiter = UnsafeCell<Option<Waker>>;

/// Whether metadata of type `M` must be dropped on the owning thread. An `Awaiter` holds
/// only a `Waker`, which is `Send`; other metadata may be `!Send`.
fn metadata_is_owner_only<M: 'static>() -> bool {
    std::mem::needs_drop::<M>() && TypeId::of::<M>() != TypeId::of::<Awaiter>()
}

/// What the cell holds besides the header: the future until the task completes, then
/// the output while a handle may still take it, then nothing. Which of them is live is
/// in the state word, not in a tag here: the future while `COMPLETE` is clear, the output
/// while `OUTPUT` is set. A future has no spare bit pattern the compiler could use for a
/// tag, so an enum would add a word to every cell (a trivial facade task would move from
/// glibc's 112-byte chunk to the 128-byte one).
union Stage<F, T> {
    future: ManuallyDrop<F>,
    output: ManuallyDrop<Result<T, TaskError>>,
}

#[repr(C)]
pub(crate) struct RawTask<F, T, S, M> {
    header: Header,
    metadata: M,
    schedule: S,
    stage: UnsafeCell<Stage<F, T>>,
}

/// Where the metadata of type `M` lies in any cell: right after the header (`repr(C)`).
pub(crate) fn metadata_offset<M>() -> usize {
    let header = std::alloc::Layout::new::<Header>();
    match header.extend(std::alloc::Layout::new::<M>()) {
        Ok((_, offset)) => offset,
        // A cell with this metadata could not have been allocated in the first place.
        Err(_) => unreachable!("task metadata layout overflows"),
    }
}

impl<F, T, S, M> RawTask<F, T, S, M>
where
    F: Future<Output = T> + 'static,
    T: 'static,
    S: Schedule,
    M: 'static,
{
    const VTABLE: TaskVTable = TaskVTable {
        schedule: Self::schedule,
        run: Self::run,
        abort: Self::abort,
        take_output: Self::take_output,
        drop_output: Self::drop_output,
        dealloc: Self::dealloc,
        metadata: Self::metadata,
    };

    /// Allocates a task in state `state` (flags and references for the handles the caller
    /// is about to create). `make` builds the future from a pointer to the metadata, which
    /// stays valid for as long as the future exists: the cell drops the future first.
    pub(crate) fn allocate<Mk>(metadata: M, make: Mk, schedule: S, state: usize) -> NonNull<Header>
    where
        Mk: FnOnce(NonNull<M>) -> F,
    {
        let raw: *mut Self = Box::into_raw(Box::new(MaybeUninit::<Self>::uninit())).cast();
        // SAFETY: `raw` is a fresh allocation with the layout of `Self`; fields are written
        // through raw pointers, never read before they are written.
        let meta = unsafe {
            addr_of_mut!((*raw).header).write(Header {
                state: AtomicUsize::new(state),
                vtable: &Self::VTABLE,
                owner: thread_id::current(),
            });
            addr_of_mut!((*raw).metadata).write(metadata);
            addr_of_mut!((*raw).schedule).write(schedule);
            NonNull::new_unchecked(addr_of_mut!((*raw).metadata))
        };
        // If `make` panics, drop what was written and free the memory.
        struct Unwind<F, T, S, M>(*mut RawTask<F, T, S, M>);
        impl<F, T, S, M> Drop for Unwind<F, T, S, M> {
            fn drop(&mut self) {
                // SAFETY: metadata and scheduler were written and are dropped once; the
                // memory came from `Box<MaybeUninit<_>>`, which frees without dropping.
                unsafe {
                    std::ptr::drop_in_place(addr_of_mut!((*self.0).metadata));
                    std::ptr::drop_in_place(addr_of_mut!((*self.0).schedule));
                    drop(Box::from_raw(
                        self.0.cast::<MaybeUninit<RawTask<F, T, S, M>>>(),
                    ));
                }
            }
        }
        let unwind = Unwind(raw);
        let future = make(meta);
        std::mem::forget(unwind);
        // SAFETY: as above; after this write every field is initialized.
        unsafe {
            addr_of_mut!((*raw).stage).write(UnsafeCell::new(Stage {
                future: ManuallyDrop::new(future),
            }));
            NonNull::new_unchecked(raw).cast()
        }
    }

    /// # Safety
    /// `ptr` points to a live `RawTask<F, T, S>`.
    unsafe fn cell<'a>(ptr: NonNull<Header>) -> &'a Self {
        // SAFETY: the caller guarantees the cell is live; the header is its first field
        // (`repr(C)`), so the cast recovers the full cell.
        unsafe { ptr.cast::<Self>().as_ref() }
    }

    unsafe fn schedule(ptr: NonNull<Header>) {
        // SAFETY: scheduling is only requested by holders of a reference.
        let cell = unsafe { Self::cell(ptr) };
        // SAFETY: the caller transferred one reference to this runnable.
        let runnable = unsafe { Runnable::from_raw(ptr) };
        cell.schedule.schedule(runnable);
    }

    /// Runs one step of the task, consuming the reference of the `Runnable` that called it.
    /// Returns `true` if the task was queued again (it woke itself while running).
    unsafe fn run(ptr: NonNull<Header>) -> bool {
        // SAFETY: the runnable owns a reference, so the cell is live.
        let cell = unsafe { Self::cell(ptr) };
        let header = &cell.header;
        let mut state = header.state.load(Acquire);
        loop {
            if state & COMPLETE != 0 {
                // Aborted while queued: nothing left to run.
                // SAFETY: we give up the runnable's reference exactly once.
                unsafe { drop_ref(ptr) };
                return false;
            }
            if state & CANCEL_REQUESTED != 0 {
                let next = (state & !SCHEDULED) | RUNNING;
                match header
                    .state
                    .compare_exchange_weak(state, next, AcqRel, Acquire)
                {
                    Ok(_) => {
                        // SAFETY: we are on the owning thread (checked by Runnable::run),
                        // RUNNING excludes every other access to the stage, and the
                        // future is live (not COMPLETE).
                        let result = match unsafe { cell.drop_future() } {
                            Ok(()) => Err(TaskError::Cancelled),
                            Err(panic) => Err(TaskError::Panicked(panic)),
                        };
                        // SAFETY: as above; `finish` consumes the runnable's reference.
                        unsafe { cell.finish(ptr, result) };
                        return false;
                    }
                    Err(actual) => state = actual,
                }
                continue;
            }
            let next = (state & !SCHEDULED) | RUNNING;
            match header
                .state
                .compare_exchange_weak(state, next, AcqRel, Acquire)
            {
                Ok(_) => break,
                Err(actual) => state = actual,
            }
        }

        // The waker borrows the runnable's reference; a clone made by the future takes
        // its own. ManuallyDrop keeps us from releasing a reference we did not take.
        // SAFETY: the vtable's functions uphold RawWaker's contract (see below).
        let waker = ManuallyDrop::new(unsafe { Waker::from_raw(raw_waker(ptr)) });
        let mut cx = Context::from_waker(&waker);
        // SAFETY: owning thread and RUNNING: nobody else touches the stage. RUNNING was
        // set from a word without COMPLETE, so the stage holds the future.
        let future: &mut F = unsafe { &mut (*cell.stage.get()).future };
        // SAFETY: the future lives in the heap cell and is never moved until dropped.
        let future = unsafe { Pin::new_unchecked(future) };
        let entered = current::enter(ptr.cast());
        let polled = catch_unwind(AssertUnwindSafe(|| future.poll(&mut cx)));
        drop(entered);

        match polled {
            Ok(Poll::Ready(output)) => {
                // SAFETY: owning thread, RUNNING held, the future is live (it was just
                // polled); `finish` consumes our reference.
                unsafe {
                    let _ = cell.drop_future();
                    cell.finish(ptr, Ok(output));
                }
                false
            }
            Err(payload) => {
                // SAFETY: as above.
                unsafe {
                    let _ = cell.drop_future();
                    cell.finish(ptr, Err(TaskError::Panicked(PanicPayload::new(payload))));
                }
                false
            }
            Ok(Poll::Pending) => {
                let mut state = header.state.load(Acquire);
                loop {
                    let next = state & !RUNNING;
                    match header
                        .state
                        .compare_exchange_weak(state, next, AcqRel, Acquire)
                    {
                        Ok(_) => break,
                        Err(actual) => state = actual,
                    }
                }
                if state & SCHEDULED != 0 {
                    // Woken (or cancelled) during the poll: queue again, handing our
                    // reference to the new runnable.
                    // SAFETY: we own the reference being transferred.
                    unsafe { (header.vtable.schedule)(ptr) };
                    true
                } else {
                    // SAFETY: we release the runnable's reference exactly once.
                    unsafe { drop_ref(ptr) };
                    false
                }
            }
        }
    }

    /// Drops the future in place, catching a panic from its destructor. Afterwards the
    /// stage holds nothing until `finish` stores the output.
    ///
    /// # Safety
    /// Owning thread, no poll in progress, and the future is live: `COMPLETE` is clear
    /// and no other call has dropped it (each caller marks the task complete right
    /// after, in `finish`, or already did, in `dealloc`).
    unsafe fn drop_future(&self) -> Result<(), PanicPayload> {
        // The future is pinned: it must be dropped where it lies, never moved out first
        // (a self-borrowing async block would read freed memory in its destructor).
        // SAFETY: guaranteed by the caller.
        let future: *mut F = unsafe { &mut *(*self.stage.get()).future };
        // The future's destructor may ask which task it belongs to (`current_metadata`).
        let entered = current::enter(NonNull::from(&self.header).cast());
        // SAFETY: the future is live and is dropped exactly once, here.
        let dropped = catch_unwind(AssertUnwindSafe(|| unsafe {
            std::ptr::drop_in_place(future)
        }));
        drop(entered);
        dropped.map_err(PanicPayload::new)
    }

    /// Stores the outcome (or drops it, if no handle can read it), marks the task
    /// complete, wakes the awaiter and releases one reference.
    ///
    /// # Safety
    /// Owning thread; the future has been dropped; the caller owns one reference.
    unsafe fn finish(&self, ptr: NonNull<Header>, result: Result<T, TaskError>) {
        let mut done = COMPLETE;
        if matches!(result, Err(TaskError::Cancelled)) {
            done |= CANCELLED;
        }
        let mut state = self.header.state.load(Acquire);
        // Only the handle's drop clears HANDLE, and the handle lives on this thread: the
        // bit cannot change before the exchange below.
        let kept = state & HANDLE != 0;
        let unread = if kept {
            // SAFETY: owning thread; the future is gone, so the stage is free.
            unsafe { (*self.stage.get()).output = ManuallyDrop::new(result) };
            done |= OUTPUT;
            None
        } else {
            Some(result)
        };
        // A wake that arrived during the final poll set SCHEDULED without creating a
        // runnable; clear it with RUNNING so the word reads as a finished task.
        loop {
            let next = (state | done) & !(SCHEDULED | RUNNING);
            match self
                .header
                .state
                .compare_exchange_weak(state, next, AcqRel, Acquire)
            {
                Ok(_) => break,
                Err(actual) => state = actual,
            }
        }
        // Nobody can read the output: drop it here, on the owning thread (with a guard
        // only when dropping can run code).
        if let Some(result) = unread {
            if result.is_err() || std::mem::needs_drop::<T>() {
                drop_quietly(result);
            }
        }
        if TypeId::of::<M>() == TypeId::of::<Awaiter>() {
            let slot = (&self.metadata as *const M).cast::<Awaiter>();
            // SAFETY: `M` is `Awaiter` (checked above); the owning thread owns the slot.
            let awaiter = unsafe { (*(*slot).get()).take() };
            if let Some(waker) = awaiter {
                waker.wake();
            }
        }
        // SAFETY: the caller's reference is released exactly once.
        unsafe { drop_ref(ptr) };
    }

    unsafe fn abort(ptr: NonNull<Header>) {
        // SAFETY: callers hold a reference.
        let cell = unsafe { Self::cell(ptr) };
        let state = cell.header.state.load(Acquire);
        if state & COMPLETE != 0 {
            return;
        }
        if state & RUNNING != 0 {
            // Aborting itself from inside its own poll: the next step drops it.
            request_cancel(ptr);
            return;
        }
        // Keep the cell alive across `finish`, which releases one reference.
        cell.header.state.fetch_add(REF_ONE, AcqRel);
        // SAFETY: owning thread (TaskRef is !Send), not RUNNING, and the future is live
        // (not COMPLETE).
        let result = match unsafe { cell.drop_future() } {
            Ok(()) => Err(TaskError::Cancelled),
            Err(panic) => Err(TaskError::Panicked(panic)),
        };
        // SAFETY: owning thread; we took the reference `finish` releases.
        unsafe { cell.finish(ptr, result) };
    }

    /// Moves the output out of the stage and clears `OUTPUT`, if it is there.
    ///
    /// # Safety
    /// Owning thread; the cell is live.
    unsafe fn remove_output(&self) -> Option<Result<T, TaskError>> {
        if self.header.state.load(Acquire) & OUTPUT == 0 {
            return None;
        }
        // SAFETY: OUTPUT says the stage holds the output; it is read once, as the bit is
        // cleared next (only the owning thread sets or clears it).
        let output = unsafe { ManuallyDrop::take(&mut (*self.stage.get()).output) };
        self.header.state.fetch_and(!OUTPUT, AcqRel);
        Some(output)
    }

    unsafe fn take_output(ptr: NonNull<Header>, out: *mut ()) {
        // SAFETY: the handle holding `ptr` keeps the cell alive; owning thread.
        let cell = unsafe { Self::cell(ptr) };
        // SAFETY: the caller passes a `*mut Option<Result<T, TaskError>>`.
        let out = unsafe { &mut *out.cast::<Option<Result<T, TaskError>>>() };
        // SAFETY: owning thread.
        if let Some(output) = unsafe { cell.remove_output() } {
            *out = Some(output);
        }
    }

    unsafe fn drop_output(ptr: NonNull<Header>) {
        // SAFETY: the handle keeps the cell alive and runs on the owning thread.
        let cell = unsafe { Self::cell(ptr) };
        // SAFETY: as above.
        drop_quietly(unsafe { cell.remove_output() });
    }

    unsafe fn dealloc(ptr: NonNull<Header>) {
        // SAFETY: no reference and no handle remain, so we own the cell.
        let cell = unsafe { Self::cell(ptr) };
        let header = &cell.header;
        // No reference exists, so nothing else reads or writes the word now.
        let state = header.state.load(Acquire);
        let pending = state & COMPLETE == 0;
        // The handle drops the output before it lets go of the cell, so none is left
        // here; should one be, it is the owner's to drop, like the future.
        let owner_only = pending || state & OUTPUT != 0 || metadata_is_owner_only::<M>();
        if header.owner != thread_id::current() && owner_only {
            // A pending future and the metadata may be !Send, and the future is pinned:
            // neither may be dropped here. Send the cell home as a runnable that cancels
            // what is left and then frees it. (This happens when the last waker of a
            // finished or unreachable task is dropped on another thread.)
            if state & ORPHANED != 0 {
                // The trip home already failed (the scheduler is gone): leaking the cell
                // is the only sound choice left.
                return;
            }
            // No reference exists, so nothing else reads or writes the word now.
            header.state.store(
                (state & !REF_MASK) | ORPHANED | SCHEDULED | CANCEL_REQUESTED | REF_ONE,
                Release,
            );
            // SAFETY: the new runnable gets the reference stored above.
            unsafe { (header.vtable.schedule)(ptr) };
            return;
        }
        if pending {
            // An unreachable task dropped on its owner thread. Its future's destructor
            // may clone or drop this task's wakers: hold a reference across it, and mark
            // the task complete first so that such a waker schedules nothing.
            header
                .state
                .store(state | COMPLETE | CANCELLED | REF_ONE, Release);
            // SAFETY: owning thread, no poll in progress (nothing can run the task), and
            // the future is live (the word had no COMPLETE).
            let _ = unsafe { cell.drop_future() };
            // SAFETY: releases the reference taken above; frees the cell unless the
            // destructor kept a waker, whose drop frees it later.
            unsafe { drop_ref(ptr) };
            return;
        }
        // SAFETY: owning thread (or nothing owner-only is left), and the cell is ours.
        drop_quietly(unsafe { cell.remove_output() });
        // SAFETY: the pointer came from `allocate`, whose memory is a `Box<Self>` once
        // initialized, and is freed once. Dropping it drops the metadata; the stage is a
        // union, dropped by nobody, and empty now: the future and the output are gone.
        drop(unsafe { Box::from_raw(ptr.cast::<Self>().as_ptr()) });
    }

    unsafe fn metadata(ptr: NonNull<Header>) -> NonNull<()> {
        // SAFETY: callers hold a reference, so the cell is live.
        let cell = unsafe { Self::cell(ptr) };
        NonNull::from(&cell.metadata).cast()
    }
}

/// Drops a value whose destructor may panic, on a path that must not unwind (the output of
/// a task nobody awaits). A panicking destructor there is ignored, as `std` does for
/// thread-local destructors.
fn drop_quietly<V>(value: V) {
    let _ = catch_unwind(AssertUnwindSafe(move || drop(value)));
}
