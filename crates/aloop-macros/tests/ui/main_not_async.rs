#[aloop::main]
fn main() {}
