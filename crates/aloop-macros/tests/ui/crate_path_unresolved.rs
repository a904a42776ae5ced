#[aloop::main(crate = "not_aloop")]
async fn wrong_crate_path() {}

fn main() {
    wrong_crate_path();
}
