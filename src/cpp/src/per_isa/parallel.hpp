// Threads in one place: OpenMP only above a size threshold, a static schedule over work items
// whose results never depend on which thread ran them, and the fixed blocks every reduction
// is cut into.
#pragma once

#include <cstddef>
#include <vector>

#include "losskit/core.hpp"

#ifdef _OPENMP
#include <omp.h>
#endif

namespace losskit::LOSSKIT_ISA {

// Elements below which a streaming kernel (a few flops per element, memory bound) stays on one
// thread: forking a team costs a few microseconds, about what one core needs for this many
// elements. Tuned with `losskit bench` (its thread-scaling table) on a 2-core AMD Zen 4.
inline constexpr std::size_t kParallelMinStreaming = std::size_t(1) << 16;

inline int threads_for(std::size_t n, std::size_t parallel_min) {
#ifdef _OPENMP
  if (n < parallel_min) return 1;
  return get_num_threads();
#else
  (void)n;
  (void)parallel_min;
  return 1;
#endif
}

// fn(i) for i in [0, count) on `threads` threads, contiguous chunks per thread. fn must not
// throw: exceptions cannot leave an OpenMP region.
template <class Fn> void parallel_for(int threads, std::size_t count, const Fn& fn) noexcept {
#ifdef _OPENMP
#pragma omp parallel for num_threads(threads) schedule(static)
  for (std::ptrdiff_t i = 0; i < std::ptrdiff_t(count); ++i) fn(std::size_t(i));
#else
  (void)threads;
  for (std::size_t i = 0; i < count; ++i) fn(i);
#endif
}

// Elements per block: a multiple of every lane count; small enough to balance two threads at
// the parallel threshold, large enough that the per-block bookkeeping is negligible.
inline constexpr std::size_t kBlock = 2048;

// Runs block(begin, end) over [0, n) in pieces of block_size (on `threads` threads) and folds
// the block results with combine(total, block_result) in block order: the same bits for any
// thread count.
template <class Result, class Block, class Combine>
Result combine_blocks(const Block& block, std::size_t n, std::size_t block_size, int threads,
                      const Combine& combine) {
  const std::size_t nblocks = (n + block_size - 1) / block_size;
  auto range = [&](std::size_t b) {
    return block(b * block_size, b + 1 == nblocks ? n : (b + 1) * block_size);
  };
  Result total{};
  if (threads > 1 && nblocks > 1) {
    std::vector<Result> parts(nblocks);
    parallel_for(threads, nblocks, [&](std::size_t b) { parts[b] = range(b); });
    for (const Result& r : parts) total = combine(total, r);
  } else {
    for (std::size_t b = 0; b < nblocks; ++b) total = combine(total, range(b));
  }
  return total;
}

}  // namespace losskit::LOSSKIT_ISA
