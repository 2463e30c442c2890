//! A hint to the memory system: start loading a value's cache lines now, because it will be
//! read a few events from now. The replay walks per-person state in time order, which is in no
//! order in memory, so nearly every event missed the cache on the state of its person; asking
//! for the state of the person a few events ahead overlaps those misses (`harness/replay.rs`).
//! A hint changes no result: on other architectures it does nothing.

/// Asks for the cache lines of the first 128 bytes of `value` (no more: per-person records are
/// small): two lines, or three when the record straddles them (an 88-byte record 60 bytes into
/// a line ends in the third).
#[inline(always)]
pub fn prefetch<T>(value: &T) {
    #[cfg(target_arch = "x86_64")]
    {
        use std::arch::x86_64::{_mm_prefetch, _MM_HINT_T0};
        let p = value as *const T as *const i8;
        let size = std::mem::size_of::<T>().clamp(1, 128);
        // SAFETY: a prefetch reads nothing the program sees and never faults, whatever the
        // address; SSE, which provides it, is part of every x86_64 processor's baseline.
        unsafe {
            _mm_prefetch::<_MM_HINT_T0>(p);
            if size > 64 {
                _mm_prefetch::<_MM_HINT_T0>(p.wrapping_add(64));
            }
            if (p as usize & 63) + size > 64 {
                _mm_prefetch::<_MM_HINT_T0>(p.wrapping_add(size - 1));
            }
        }
    }
    #[cfg(not(target_arch = "x86_64"))]
    let _ = value;
}

/// Asks for every cache line `value` lies on, up to eight (a record read field by field from
/// all over, such as an `Offer`, a few steps from now).
#[inline(always)]
pub fn prefetch_whole<T>(value: &T) {
    #[cfg(target_arch = "x86_64")]
    {
        use std::arch::x86_64::{_mm_prefetch, _MM_HINT_T0};
        let p = value as *const T as *const i8;
        // A 448-byte record that starts 8 bytes into a line lies on eight lines, not seven.
        let lines = ((p as usize & 63) + std::mem::size_of::<T>()).div_ceil(64).min(8);
        for i in 0..lines {
            // SAFETY: as in `prefetch`: a prefetch never faults and reads nothing the program sees.
            unsafe { _mm_prefetch::<_MM_HINT_T0>(p.wrapping_add(64 * i)) };
        }
    }
    #[cfg(not(target_arch = "x86_64"))]
    let _ = value;
}
