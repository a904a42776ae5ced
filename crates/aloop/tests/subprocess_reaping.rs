//! No zombie, no leaked descriptor: the pidfd path. A file of its own (one process,
//! one test) because it counts `/proc/self/fd` and this process's children.

mod reaping;

#[test]
fn many_children_leave_no_zombie_and_no_descriptor() {
    reaping::many_children_leave_no_zombie_and_no_descriptor();
}
