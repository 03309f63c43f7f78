//! Charter's benchmark inputs, shared by the `charter-bench` binary and the
//! product: the synthetic decision [`workload`] and the synthetic agent
//! [`portfolio`] that `charter gen portfolio` writes. The benchmarks
//! themselves are the binary's (`cargo run --release -p charter-bench`).

pub mod portfolio;
pub mod workload;
