#[aloop::main]
struct Config;

fn main() {}
