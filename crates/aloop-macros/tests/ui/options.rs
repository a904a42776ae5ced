#[aloop::test(debg)]
async fn unknown_option() {}

#[aloop::test(debug = "yes")]
async fn not_a_bool() {}

#[aloop::test(debug(true))]
async fn list_form() {}

#[aloop::test(debug, debug = false)]
async fn given_twice() {}

#[aloop::test(crate = aloop)]
async fn crate_without_quotes() {}

#[aloop::test(crate = "no such path!")]
async fn crate_not_a_path() {}

#[aloop::main(virtual_time, debug = 1)]
async fn main_options() {}

fn main() {}
