// The counter-based generator, the sampler's permutations and index draws, and gather_rows.
#include <algorithm>
#include <cstdint>
#include <cstring>
#include <string>
#include <vector>

#include "check.hpp"
#include "support.hpp"

namespace {

// SplitMix64 as a sequential generator: the state advances by the golden gamma and each output
// is the mix of the state.
struct SplitMix64 {
  std::uint64_t state;
  std::uint64_t next() { return losskit_test::splitmix64_mix(state += losskit_test::kGoldenGamma); }
};

LOSSKIT_TEST(random_u64_is_splitmix64_at_a_position) {
  // The first output of SplitMix64 seeded with 0, as published with the reference code.
  CHECK(losskit::random_u64(0, 0) == 0xE220A8397B1DCDAFull);
  for (std::uint64_t key : {std::uint64_t(0), std::uint64_t(42), ~std::uint64_t(0)}) {
    SplitMix64 seq{key};
    for (std::uint64_t i = 0; i < 1000; ++i) CHECK(losskit::random_u64(key, i) == seq.next());
  }
  // Streams are separated: different epochs, different keys.
  CHECK(losskit::stream_key(1, 0) != losskit::stream_key(1, 1));
  CHECK(losskit::stream_key(1, 0) != losskit::stream_key(2, 0));
  CHECK(losskit::stream_key(7, 3) == losskit::stream_key(7, 3));
}

LOSSKIT_TEST(random_below_is_the_multiply_shift_of_the_stream) {
  for (std::uint64_t range : {std::uint64_t(1), std::uint64_t(2), std::uint64_t(1000003),
                              std::uint64_t(1) << 40, ~std::uint64_t(0)}) {
    for (std::uint64_t i = 0; i < 200; ++i) {
      const std::uint64_t r = losskit::random_below(9, i, range);
      CHECK(r < range);
      // floor(u * range / 2^64) from the 64x64 -> 128-bit product written as four 32-bit parts
      const std::uint64_t u = losskit::random_u64(9, i);
      const std::uint64_t ul = u & 0xFFFFFFFFu, uh = u >> 32, rl = range & 0xFFFFFFFFu, rh = range >> 32;
      const std::uint64_t mid = (ul * rl >> 32) + (uh * rl & 0xFFFFFFFFu) + (ul * rh & 0xFFFFFFFFu);
      const std::uint64_t high = uh * rh + (uh * rl >> 32) + (ul * rh >> 32) + (mid >> 32);
      CHECK(r == high);
    }
  }
  // Uniform enough to cover a small range evenly: 6000 draws in [0, 6), each face 1000 +- 150.
  std::vector<int> counts(6, 0);
  for (std::uint64_t i = 0; i < 6000; ++i) ++counts[losskit::random_below(123, i, 6)];
  for (int c : counts) CHECK(c > 850 && c < 1150);
}

LOSSKIT_TEST(random_permutation_is_documented_fisher_yates) {
  for (std::size_t n : {std::size_t(0), std::size_t(1), std::size_t(2), std::size_t(1000)}) {
    std::vector<std::int64_t> got(n), again(n), other(n), expected(n);
    losskit::random_permutation(5, 3, got.data(), n);
    losskit::random_permutation(5, 3, again.data(), n);
    losskit::random_permutation(5, 4, other.data(), n);
    const std::uint64_t key = losskit::stream_key(5, 3);
    for (std::size_t i = 0; i < n; ++i) expected[i] = std::int64_t(i);
    for (std::size_t i = n; i-- > 1;) std::swap(expected[i], expected[losskit::random_below(key, i, i + 1)]);
    CHECK(got == expected);
    CHECK(got == again);
    if (n > 2) CHECK(got != other);
    std::vector<std::int64_t> sorted = got;
    std::sort(sorted.begin(), sorted.end());
    for (std::size_t i = 0; i < n; ++i) CHECK(sorted[i] == std::int64_t(i));
  }
}

LOSSKIT_TEST(random_indices_draw_with_replacement) {
  const std::size_t count = 5000;
  const std::uint64_t range = 37;
  std::vector<std::int64_t> got(count);
  losskit::random_indices(11, 2, range, got.data(), count);
  const std::uint64_t key = losskit::stream_key(11, 2);
  for (std::size_t i = 0; i < count; ++i) {
    CHECK(got[i] == std::int64_t(losskit::random_below(key, i, range)));
    CHECK(got[i] >= 0 && got[i] < std::int64_t(range));
  }
  // Ranges past 2^63 are int64-representable only below 2^63; the generator itself is 64-bit.
  losskit::random_indices(11, 2, std::uint64_t(1) << 62, got.data(), 10);
  for (std::size_t i = 0; i < 10; ++i) CHECK(got[i] >= 0);
}

template <class Row> void check_gather(std::size_t rows, std::size_t count) {
  std::vector<Row> X(rows);
  for (std::size_t r = 0; r < rows; ++r)
    for (std::size_t k = 0; k < sizeof(Row); ++k) reinterpret_cast<unsigned char*>(&X[r])[k] = std::uint8_t(r * 131 + k);
  losskit_test::Lcg rng(rows + count);
  std::vector<std::int64_t> idx(count);
  for (auto& i : idx) i = rng.below(std::int64_t(rows));
  losskit_test::for_each_thread_count(3, [&](int threads) {
    const losskit_test::Scope scope("gather of " + std::to_string(sizeof(Row)) + "-byte rows, " +
                                    std::to_string(count) + " indices, " + std::to_string(threads) + " threads");
    std::vector<Row> out(count);
    CHECK(losskit::gather_rows(X.data(), rows, sizeof(Row), idx.data(), count, out.data()) == count);
    for (std::size_t i = 0; i < count; ++i)
      CHECK(std::memcmp(&out[i], &X[std::size_t(idx[i])], sizeof(Row)) == 0);
    // Bad indices (negative, == rows, huge): the first position is returned, its row is left
    // alone, every valid row is still copied.
    std::vector<std::int64_t> bad = idx;
    const std::size_t first = count / 3, second = count - 1;
    bad[first] = -1;
    bad[second] = std::int64_t(rows);
    if (count > 10) bad[first + 5] = INT64_MAX;
    std::vector<Row> out2(count);
    std::memset(out2.data(), 0xAB, count * sizeof(Row));
    CHECK(losskit::gather_rows(X.data(), rows, sizeof(Row), bad.data(), count, out2.data()) == first);
    for (std::size_t i = 0; i < count; ++i) {
      const bool invalid = bad[i] < 0 || bad[i] >= std::int64_t(rows);
      if (invalid) {
        const unsigned char* p = reinterpret_cast<const unsigned char*>(&out2[i]);
        CHECK(p[0] == 0xAB && p[sizeof(Row) - 1] == 0xAB);
      } else {
        CHECK(std::memcmp(&out2[i], &X[std::size_t(bad[i])], sizeof(Row)) == 0);
      }
    }
  });
}

struct Bytes3 {
  unsigned char b[3];
};
struct Bytes64 {
  unsigned char b[64];
};
struct Bytes100 {
  unsigned char b[100];
};

LOSSKIT_TEST(gather_rows_copies_rows_and_reports_bad_indices) {
  losskit_test::for_each_isa([](losskit::Isa) {
    check_gather<Bytes3>(50, 7);
    check_gather<Bytes64>(1000, 3001);   // 32-byte moves; threads above the size threshold
    check_gather<Bytes100>(500, 5000);   // memcpy rows
    check_gather<double>(100000, 40000);
  });
  std::int64_t idx = 0;
  CHECK(losskit::gather_rows(nullptr, 0, 8, &idx, 1, nullptr) == 0);  // no rows: index 0 is bad
  CHECK(losskit::gather_rows(nullptr, 0, 8, nullptr, 0, nullptr) == 0);  // nothing to do
}

}  // namespace
