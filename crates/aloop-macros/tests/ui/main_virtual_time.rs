#[aloop::main(virtual_time)]
async fn main() {}
