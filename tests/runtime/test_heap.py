"""release_free_memory gives the heap's free holes back to the OS (glibc Linux, where CI runs)."""

import gc
import sys

import psutil
import pytest

from llmrl.runtime.heap import release_free_memory


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="malloc_trim is glibc's")
def test_free_holes_in_the_heap_are_returned():
    process = psutil.Process()
    blocks = [bytearray(60_000) for _ in range(3000)]  # ~180 MB in heap chunks (below the mmap threshold)
    survivors = blocks[::50]  # live chunks all along the heap, so freeing the rest leaves holes
    del blocks
    gc.collect()
    before = process.memory_info().rss
    assert release_free_memory()
    released = before - process.memory_info().rss
    assert released > 100 * 2**20, f"only {released / 2**20:.0f} MB returned"
    assert len(survivors) == 60
