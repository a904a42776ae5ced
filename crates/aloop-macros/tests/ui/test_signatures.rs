#[aloop::test]
fn not_async() {}

#[aloop::test]
async fn with_arguments(n: u32, s: &str) {}

#[aloop::test]
async fn generic<T: Default>() {}

#[aloop::test]
async unsafe fn unsafe_test() {}

#[aloop::test]
async extern "C" fn extern_test() {}

#[aloop::test]
const async fn const_test() {}

#[aloop::test]
#[test]
async fn second_test_attribute() {}

fn main() {}
