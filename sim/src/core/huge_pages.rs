//! Large arrays read at random positions (the batch matcher's card index and enrollments) on
//! 2 MiB pages where the system allows it: a random read of a 4 KiB-paged array of tens of
//! megabytes misses the TLB as well as the cache, and the page walk is a second dependent miss.
//!
//! Linux only, and only a hint (`madvise(MADV_HUGEPAGE)`, honoured when transparent huge pages
//! are `always` or `madvise`): contents and results never depend on it.

/// The size of a huge page on x86-64 and most aarch64 Linux systems.
const HUGE: usize = 2 << 20;

/// A copy of `src` in memory advised for huge pages before it is first written (the kernel
/// backs the advised range with huge pages as it faults it in). Small arrays are copied plainly.
pub fn copy_of<T: Copy>(src: &[T]) -> Vec<T> {
    let mut v = Vec::with_capacity(src.len());
    advise(v.as_ptr() as usize, std::mem::size_of_val(src));
    v.extend_from_slice(src);
    v
}

/// Advises the 2 MiB-aligned pages inside `[start, start + len)`; nothing if there are none.
fn advise(start: usize, len: usize) {
    let (first, end) = (start.next_multiple_of(HUGE), (start + len) / HUGE * HUGE);
    if end <= first {
        return;
    }
    #[cfg(target_os = "linux")]
    // SAFETY: `[first, end)` lies inside an allocation this function's caller owns; the advice
    // changes how the kernel backs those pages, never their contents or their validity.
    unsafe {
        libc::madvise(first as *mut libc::c_void, end - first, libc::MADV_HUGEPAGE);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_copy_holds_the_same_values_large_or_small() {
        let small: Vec<u32> = (0..100).collect();
        assert_eq!(copy_of(&small), small);
        let large: Vec<u64> = (0..(3 * HUGE / 8) as u64).map(|i| i.wrapping_mul(0x9e37_79b9)).collect();
        assert_eq!(copy_of(&large), large);
    }
}
