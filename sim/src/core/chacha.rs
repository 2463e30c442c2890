//! ChaCha8 (Bernstein's ChaCha with 8 rounds, 64-bit block counter and 64-bit stream id — the
//! layout of `rand_chacha::ChaCha8Rng`), one 64-byte block at a time.
//!
//! Why not `ChaCha8Rng` itself: it computes four blocks (32 `u64`s) the first time it is drawn
//! from, and most of the simulation's streams are short — a purchase's details take four to
//! six numbers —, so three quarters of that work was thrown away, once per purchase. This
//! computes a block when it is needed and gives the very same numbers, word for word (a test
//! compares it with `rand_chacha` across block boundaries), so no draw of any run changes.

/// Words of ChaCha's constant, "expand 32-byte k".
const SIGMA: [u32; 4] = [0x6170_7865, 0x3320_646e, 0x7962_2d32, 0x6b20_6574];
/// ChaCha8: four double rounds.
const DOUBLE_ROUNDS: usize = 4;

/// A ChaCha8 keystream read as `u64`s: each is two consecutive 32-bit words, low word first, as
/// `rand_core` assembles them.
#[derive(Clone)]
pub struct ChaCha8 {
    key: [u32; 8],
    stream: u64,
    /// The block the next refill computes.
    block: u64,
    buf: [u64; 8],
    /// Next unread `u64` of `buf`; 8 when it is used up (or never filled).
    pos: u8,
}

impl ChaCha8 {
    /// The keystream of `key` (32 bytes, little-endian words) and stream id `stream`, from its
    /// first word.
    pub fn new(key: &[u8; 32], stream: u64) -> ChaCha8 {
        let mut k = [0u32; 8];
        for (w, bytes) in k.iter_mut().zip(key.chunks_exact(4)) {
            *w = u32::from_le_bytes([bytes[0], bytes[1], bytes[2], bytes[3]]);
        }
        ChaCha8 { key: k, stream, block: 0, buf: [0; 8], pos: 8 }
    }

    #[inline]
    pub fn next_u64(&mut self) -> u64 {
        if self.pos as usize >= self.buf.len() {
            self.refill();
        }
        let v = self.buf[self.pos as usize];
        self.pos += 1;
        v
    }

    fn refill(&mut self) {
        let words = block(&self.key, self.block, self.stream);
        for (i, out) in self.buf.iter_mut().enumerate() {
            *out = words[2 * i] as u64 | (words[2 * i + 1] as u64) << 32;
        }
        self.block = self.block.wrapping_add(1);
        self.pos = 0;
    }
}

/// One block of the keystream: the 16 output words.
#[inline]
fn block(key: &[u32; 8], counter: u64, stream: u64) -> [u32; 16] {
    #[cfg(all(target_arch = "x86_64", target_feature = "sse2"))]
    {
        sse2::block(key, counter, stream)
    }
    #[cfg(not(all(target_arch = "x86_64", target_feature = "sse2")))]
    {
        portable_block(key, counter, stream)
    }
}

/// The block's input: constant, key, counter, stream id.
fn input(key: &[u32; 8], counter: u64, stream: u64) -> [u32; 16] {
    let mut x = [0u32; 16];
    x[..4].copy_from_slice(&SIGMA);
    x[4..12].copy_from_slice(key);
    x[12] = counter as u32;
    x[13] = (counter >> 32) as u32;
    x[14] = stream as u32;
    x[15] = (stream >> 32) as u32;
    x
}

#[inline(always)]
fn quarter(x: &mut [u32; 16], a: usize, b: usize, c: usize, d: usize) {
    x[a] = x[a].wrapping_add(x[b]);
    x[d] = (x[d] ^ x[a]).rotate_left(16);
    x[c] = x[c].wrapping_add(x[d]);
    x[b] = (x[b] ^ x[c]).rotate_left(12);
    x[a] = x[a].wrapping_add(x[b]);
    x[d] = (x[d] ^ x[a]).rotate_left(8);
    x[c] = x[c].wrapping_add(x[d]);
    x[b] = (x[b] ^ x[c]).rotate_left(7);
}

/// The block word by word: the definition, and what other machines run.
#[cfg_attr(all(target_arch = "x86_64", target_feature = "sse2"), allow(dead_code))]
fn portable_block(key: &[u32; 8], counter: u64, stream: u64) -> [u32; 16] {
    let input = input(key, counter, stream);
    let mut x = input;
    for _ in 0..DOUBLE_ROUNDS {
        quarter(&mut x, 0, 4, 8, 12);
        quarter(&mut x, 1, 5, 9, 13);
        quarter(&mut x, 2, 6, 10, 14);
        quarter(&mut x, 3, 7, 11, 15);
        quarter(&mut x, 0, 5, 10, 15);
        quarter(&mut x, 1, 6, 11, 12);
        quarter(&mut x, 2, 7, 8, 13);
        quarter(&mut x, 3, 4, 9, 14);
    }
    for (w, i) in x.iter_mut().zip(input) {
        *w = w.wrapping_add(i);
    }
    x
}

/// The block with the state's four rows in four SSE2 registers (the four quarter rounds of a
/// column or diagonal round at once), as `rand_chacha` does four blocks at a time: about three
/// times faster than word by word. SSE2 is part of every x86-64 CPU.
#[cfg(all(target_arch = "x86_64", target_feature = "sse2"))]
mod sse2 {
    use std::arch::x86_64::*;

    #[inline(always)]
    fn rotl<const L: i32, const R: i32>(x: __m128i) -> __m128i {
        // SAFETY: SSE2 is enabled for this target (the module's cfg).
        unsafe { _mm_or_si128(_mm_slli_epi32::<L>(x), _mm_srli_epi32::<R>(x)) }
    }

    #[inline(always)]
    fn round(a: &mut __m128i, b: &mut __m128i, c: &mut __m128i, d: &mut __m128i) {
        // SAFETY: SSE2 is enabled for this target (the module's cfg).
        unsafe {
            *a = _mm_add_epi32(*a, *b);
            *d = rotl::<16, 16>(_mm_xor_si128(*d, *a));
            *c = _mm_add_epi32(*c, *d);
            *b = rotl::<12, 20>(_mm_xor_si128(*b, *c));
            *a = _mm_add_epi32(*a, *b);
            *d = rotl::<8, 24>(_mm_xor_si128(*d, *a));
            *c = _mm_add_epi32(*c, *d);
            *b = rotl::<7, 25>(_mm_xor_si128(*b, *c));
        }
    }

    #[inline]
    pub(super) fn block(key: &[u32; 8], counter: u64, stream: u64) -> [u32; 16] {
        let input = super::input(key, counter, stream);
        let mut out = [0u32; 16];
        // SAFETY: SSE2 is enabled for this target (the module's cfg); the loads and stores are
        // unaligned ones of 16 bytes within `input` and `out`, 64 bytes each.
        unsafe {
            let p = input.as_ptr() as *const __m128i;
            let (a0, b0, c0, d0) =
                (_mm_loadu_si128(p), _mm_loadu_si128(p.add(1)), _mm_loadu_si128(p.add(2)), _mm_loadu_si128(p.add(3)));
            let (mut a, mut b, mut c, mut d) = (a0, b0, c0, d0);
            for _ in 0..super::DOUBLE_ROUNDS {
                round(&mut a, &mut b, &mut c, &mut d);
                // Diagonals into columns: row b by one lane, c by two, d by three.
                b = _mm_shuffle_epi32::<0x39>(b);
                c = _mm_shuffle_epi32::<0x4e>(c);
                d = _mm_shuffle_epi32::<0x93>(d);
                round(&mut a, &mut b, &mut c, &mut d);
                b = _mm_shuffle_epi32::<0x93>(b);
                c = _mm_shuffle_epi32::<0x4e>(c);
                d = _mm_shuffle_epi32::<0x39>(d);
            }
            let q = out.as_mut_ptr() as *mut __m128i;
            _mm_storeu_si128(q, _mm_add_epi32(a, a0));
            _mm_storeu_si128(q.add(1), _mm_add_epi32(b, b0));
            _mm_storeu_si128(q.add(2), _mm_add_epi32(c, c0));
            _mm_storeu_si128(q.add(3), _mm_add_epi32(d, d0));
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand_chacha::rand_core::{Rng as _, SeedableRng};

    #[test]
    fn gives_rand_chachas_numbers_across_block_boundaries() {
        for seed in 0u64..8 {
            let mut key = [0u8; 32];
            for (i, b) in key.iter_mut().enumerate() {
                *b = (seed.wrapping_mul(0x9e37_79b9_7f4a_7c15) >> (i % 8 * 8)) as u8 ^ i as u8;
            }
            for stream in [0, 1, 7, u32::MAX as u64 + 3, u64::MAX] {
                let mut theirs = rand_chacha::ChaCha8Rng::from_seed(key);
                theirs.set_stream(stream);
                let mut mine = ChaCha8::new(&key, stream);
                // 70 words: past their four-block buffer and past several of our blocks.
                for i in 0..70 {
                    assert_eq!(mine.next_u64(), theirs.next_u64(), "seed {seed}, stream {stream}, word {i}");
                }
            }
        }
    }

    #[test]
    fn the_vector_block_equals_the_word_by_word_one() {
        let key = [1, 2, 3, 0xdead_beef, 5, u32::MAX, 7, 8];
        for (counter, stream) in [(0, 0), (1, 9), (u64::MAX, 1 << 40), (12_345, u64::MAX)] {
            assert_eq!(block(&key, counter, stream), portable_block(&key, counter, stream));
        }
    }

    #[test]
    fn zero_key_gives_the_published_chacha8_keystream() {
        // All-zero key, IV and counter, 8 rounds: the first bytes of the keystream published in
        // draft-strombergson-chacha-test-vectors (TC1):
        // 3e00ef2f895f40d67f5bb8e81f09a5a12c840ec3ce9a7f3b181be188ef711a1e...
        let mut z = ChaCha8::new(&[0; 32], 0);
        let first = z.next_u64();
        assert_eq!(first.to_le_bytes(), [0x3e, 0x00, 0xef, 0x2f, 0x89, 0x5f, 0x40, 0xd6]);
    }
}
