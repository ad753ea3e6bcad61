//! `lxu`: LXC-style unprivileged system containers (see the library, [`lxu`]).

// musl builds (what ./x installs where it can) use dlmalloc: see lxu_sys::alloc.
#[cfg(target_env = "musl")]
#[global_allocator]
static ALLOC: lxu_sys::alloc::Allocator = lxu_sys::alloc::Allocator;

fn main() {
    lxu::main()
}
