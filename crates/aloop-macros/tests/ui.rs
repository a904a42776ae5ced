//! Misuse of `#[aloop::main]` / `#[aloop::test]` is a compile error at the token at
//! fault: each file in `ui/` is compiled and its errors compared with the `.stderr`
//! file beside it (pinned to the toolchain CI runs; regenerate with
//! `TRYBUILD=overwrite cargo test -p aloop-macros --test ui` after a rustc upgrade
//! changes the layout of messages, and review the diff).

#[test]
fn misuse_is_a_compile_error() {
    let t = trybuild::TestCases::new();
    t.compile_fail("tests/ui/*.rs");
}
