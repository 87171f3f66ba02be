// Instruction-set selection (once, from the CPU and LOSSKIT_ISA) and the thread setting.
#include <algorithm>
#include <atomic>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <stdexcept>
#include <string>

#include "dispatch.hpp"

#ifdef _OPENMP
#include <omp.h>
#endif

namespace losskit {
namespace {

const KernelTable* table_of(Isa isa) {
  switch (isa) {
#if defined(LOSSKIT_HAVE_AVX512)
    case Isa::avx512: return &avx512::kernel_table();
#endif
#if defined(LOSSKIT_HAVE_AVX2)
    case Isa::avx2: return &avx2::kernel_table();
#endif
    case Isa::sse2: return &sse2::kernel_table();
    default: return nullptr;
  }
}

bool cpu_supports(Isa isa) {
#if defined(__x86_64__) || defined(__i386__)
  __builtin_cpu_init();
  switch (isa) {
    case Isa::sse2: return true;
    case Isa::avx2:
      return __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma") &&
             __builtin_cpu_supports("bmi2");
    case Isa::avx512:
      return __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512dq") &&
             __builtin_cpu_supports("avx512bw") && __builtin_cpu_supports("avx512vl") &&
             __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma") &&
             __builtin_cpu_supports("bmi2");
  }
  return false;
#else
  return isa == Isa::sse2;  // the portable baseline build
#endif
}

Isa best_isa() {
  for (Isa isa : {Isa::avx512, Isa::avx2})
    if (isa_available(isa)) return isa;
  return Isa::sse2;
}

// LOSSKIT_ISA=sse2|avx2|avx512 forces a level (for tests and benchmarks); a level this build or
// CPU lacks is reported once on stderr and the best available one is used.
Isa initial_isa() {
  const char* env = std::getenv("LOSSKIT_ISA");
  if (env && *env) {
    for (Isa isa : {Isa::sse2, Isa::avx2, Isa::avx512}) {
      if (std::strcmp(env, isa_name(isa)) == 0) {
        if (isa_available(isa)) return isa;
        std::fprintf(stderr, "losskit: LOSSKIT_ISA=%s is not available on this CPU/build\n", env);
        return best_isa();
      }
    }
    std::fprintf(stderr, "losskit: unknown LOSSKIT_ISA=%s (sse2, avx2, avx512)\n", env);
  }
  return best_isa();
}

// Read once: both the table and the ISA name start from it (a second read would repeat the
// warning above).
Isa start_isa() {
  static const Isa isa = initial_isa();
  return isa;
}

int initial_threads() {
#ifdef _OPENMP
  return std::min(omp_get_max_threads(), kMaxThreads);
#else
  return 1;
#endif
}

std::atomic<const KernelTable*>& active_table() {
  static std::atomic<const KernelTable*> table{table_of(start_isa())};
  return table;
}
std::atomic<Isa>& active_isa() {
  static std::atomic<Isa> isa{start_isa()};
  return isa;
}
std::atomic<int>& num_threads() {
  static std::atomic<int> n{initial_threads()};
  return n;
}
// ScopedNumThreads's count for this thread; 0: none.
thread_local int thread_num_threads = 0;

void check_num_threads(int n) {
  if (n < 1 || n > kMaxThreads)
    throw std::invalid_argument("num_threads must be in [1, " + std::to_string(kMaxThreads) +
                                "], got " + std::to_string(n));
}

}  // namespace

const char* isa_name(Isa isa) {
  switch (isa) {
    case Isa::sse2: return "sse2";
    case Isa::avx2: return "avx2";
    case Isa::avx512: return "avx512";
  }
  return "unknown";
}

bool isa_available(Isa isa) { return table_of(isa) != nullptr && cpu_supports(isa); }

Isa get_isa() { return active_isa().load(std::memory_order_relaxed); }

void set_isa(Isa isa) {
  if (!isa_available(isa))
    throw std::invalid_argument(std::string("isa '") + isa_name(isa) +
                                "' is not available on this CPU/build");
  active_isa().store(isa);
  active_table().store(table_of(isa));
}

const KernelTable& kernels() { return *active_table().load(std::memory_order_relaxed); }

int get_num_threads() {
  return thread_num_threads ? thread_num_threads : num_threads().load(std::memory_order_relaxed);
}

void set_num_threads(int n) {
  check_num_threads(n);
  num_threads().store(n);
}

ScopedNumThreads::ScopedNumThreads(int n) : previous_(thread_num_threads) {
  check_num_threads(n);
  thread_num_threads = n;
}
ScopedNumThreads::~ScopedNumThreads() { thread_num_threads = previous_; }

}  // namespace losskit
