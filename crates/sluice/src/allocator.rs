//! The process's memory allocator: mimalloc, called for the alignments it gives by itself.
//!
//! The engine builds a batch's documents and frees them together, thousands of small blocks at a
//! time; glibc's allocator serves most of those past its per-thread cache, through its general
//! bins. mimalloc's free lists per page take a fraction of the instructions (see
//! `scripts/bench-instructions.sh`). The `mimalloc` crate's own `GlobalAlloc` asks for every block
//! through `mi_malloc_aligned`, which takes a slower path; plain `mi_malloc` already aligns to
//! 16 bytes, so only larger alignments go the aligned way.

// A global allocator is unsafe by definition (`GlobalAlloc`); every block below says why it holds.
#![allow(unsafe_code)]

use std::alloc::{GlobalAlloc, Layout};
use std::ffi::c_void;

use libmimalloc_sys as mi;

/// What `mi_malloc` guarantees for every block (`MI_MAX_ALIGN_SIZE`).
const NATURAL_ALIGN: usize = 16;

/// mimalloc as the global allocator.
pub struct MiMalloc;

// SAFETY: each method forwards to the mimalloc function with the same contract; a block is freed
// by `mi_free` whichever of them allocated it.
unsafe impl GlobalAlloc for MiMalloc {
    #[inline]
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        if layout.align() <= NATURAL_ALIGN {
            // SAFETY: the caller's layout has a non-zero size; mi_malloc aligns to NATURAL_ALIGN.
            unsafe { mi::mi_malloc(layout.size()) as *mut u8 }
        } else {
            // SAFETY: the layout's alignment is a power of two, as mi_malloc_aligned requires.
            unsafe { mi::mi_malloc_aligned(layout.size(), layout.align()) as *mut u8 }
        }
    }

    #[inline]
    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        if layout.align() <= NATURAL_ALIGN {
            // SAFETY: as `alloc`, zeroed.
            unsafe { mi::mi_zalloc(layout.size()) as *mut u8 }
        } else {
            // SAFETY: as `alloc`, zeroed.
            unsafe { mi::mi_zalloc_aligned(layout.size(), layout.align()) as *mut u8 }
        }
    }

    #[inline]
    unsafe fn dealloc(&self, ptr: *mut u8, _layout: Layout) {
        // SAFETY: `ptr` came from one of the mimalloc calls above (GlobalAlloc's contract), and
        // mi_free frees a block of any of them.
        unsafe { mi::mi_free(ptr as *mut c_void) }
    }

    #[inline]
    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        if layout.align() <= NATURAL_ALIGN {
            // SAFETY: `ptr` is a live mimalloc block of `layout`; its alignment stays natural.
            unsafe { mi::mi_realloc(ptr as *mut c_void, new_size) as *mut u8 }
        } else {
            // SAFETY: `ptr` is a live mimalloc block allocated with this alignment.
            unsafe { mi::mi_realloc_aligned(ptr as *mut c_void, new_size, layout.align()) as *mut u8 }
        }
    }
}

#[global_allocator]
static ALLOCATOR: MiMalloc = MiMalloc;
