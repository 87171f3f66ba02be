// Index arithmetic past 2^31 elements (and 2^33 bytes) without the memory it would take:
// arrays of any length are made of one 4 MiB tile of physical memory mapped again and again
// (every element equal), so each sum below counts every element exactly once or fails; and
// gather reads rows beyond 4 GiB of a sparse mapping in which only those rows are ever touched.
// Where the address space is refused (mmap fails) the cases are skipped.
#include <sys/mman.h>
#include <unistd.h>

#include <cstdint>
#include <cstring>
#include <string>
#include <vector>

#include "check.hpp"
#include "support.hpp"

namespace {

constexpr std::size_t kTile = std::size_t(4) << 20;

// `count` elements of T, all equal to `value`, in 4 MiB tiles that share one physical tile.
template <class T> class TiledArray {
 public:
  TiledArray(std::size_t count, T value) {
    bytes_ = (count * sizeof(T) + kTile - 1) / kTile * kTile;
    const int fd = memfd_create("losskit-tile", 0);
    if (fd < 0) throw losskit_test::Skipped{"memfd_create failed"};
    if (ftruncate(fd, off_t(kTile)) != 0) {
      close(fd);
      throw losskit_test::Skipped{"ftruncate failed"};
    }
    // Reserve the address range, then map the tile over it piece by piece.
    void* base = mmap(nullptr, bytes_, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
    if (base == MAP_FAILED) {
      close(fd);
      throw losskit_test::Skipped{"the address space for a tiled array was refused"};
    }
    base_ = static_cast<char*>(base);
    void* tile = mmap(nullptr, kTile, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
    if (tile != MAP_FAILED) {
      for (std::size_t i = 0; i < kTile / sizeof(T); ++i) static_cast<T*>(tile)[i] = value;
      munmap(tile, kTile);
    }
    bool mapped = tile != MAP_FAILED;
    for (std::size_t off = 0; mapped && off < bytes_; off += kTile)
      mapped = mmap(base_ + off, kTile, PROT_READ, MAP_SHARED | MAP_FIXED, fd, 0) != MAP_FAILED;
    close(fd);
    if (!mapped) {
      munmap(base_, bytes_);
      throw losskit_test::Skipped{"mapping the tiles failed (vm.max_map_count?)"};
    }
  }
  ~TiledArray() { munmap(base_, bytes_); }
  TiledArray(const TiledArray&) = delete;
  TiledArray& operator=(const TiledArray&) = delete;
  const T* data() const { return reinterpret_cast<const T*>(base_); }

 private:
  char* base_ = nullptr;
  std::size_t bytes_ = 0;
};

// More elements than an int32 index can hold, and not a multiple of the block size or lanes.
constexpr std::size_t kHuge = (std::size_t(1) << 31) + 4099;

LOSSKIT_TEST(elementwise_sum_over_more_than_2_31_elements) {
  const TiledArray<float> x(kHuge, 3.0f), y(kHuge, 1.0f);
  losskit::ElementwiseCall<float> call;
  call.input = x.data();
  call.target = y.data();
  call.size = kHuge;
  call.reduction = losskit::Reduction::sum;
  // (3 - 1)^2 = 4 per element; the float64 block sums of integers are exact.
  CHECK(losskit::evaluate(losskit::ElementwiseLoss::mse, losskit::LossParams{}, call).value == 4.0 * double(kHuge));
  call.reduction = losskit::Reduction::mean;
  call.sample_weight = y.data();
  CHECK(losskit::evaluate(losskit::ElementwiseLoss::mse, losskit::LossParams{}, call).value == 4.0);
}

LOSSKIT_TEST(norms_and_penalty_over_more_than_2_31_elements) {
  const TiledArray<float> x(kHuge, -3.0f);
  const float* arrays[] = {x.data(), x.data()};
  const std::size_t sizes[] = {kHuge, 5};
  CHECK(losskit::total_norm(losskit::NormType::l1, arrays, sizes, 2) == 3.0 * double(kHuge + 5));
  CHECK(losskit::total_norm(losskit::NormType::inf, arrays, sizes, 1) == 3.0);
  const double value = losskit::penalty_value_and_grad({0.5, 2.0}, x.data(), nullptr, kHuge, true);
  CHECK(value == 0.5 * 3.0 * double(kHuge) + 2.0 / 2 * 9.0 * double(kHuge));
}

LOSSKIT_TEST(rowwise_offsets_past_2_31_elements) {
  // rows * classes > 2^31 with classes not a power of two: row r starts at r * classes.
  const std::size_t classes = 1031, rows = (std::size_t(1) << 31) / classes + 3;
  const TiledArray<float> x(rows * classes, 0.25f);
  std::vector<std::int64_t> labels(rows, 1030);
  losskit::RowwiseCall<float> call = losskit_test::labelled_rows(x.data(), rows, classes, labels.data());
  call.reduction = losskit::Reduction::sum;
  // nll: -x[r, y] per row; multiclass_hinge: (classes - 1) * margin per row (equal scores).
  CHECK(losskit::evaluate(losskit::RowwiseLoss::nll, losskit::LossParams{}, call).value == -0.25 * double(rows));
  losskit::LossParams hinge;
  hinge.values[0] = 1.0;
  CHECK(losskit::evaluate(losskit::RowwiseLoss::multiclass_hinge, hinge, call).value ==
        double(classes - 1) * double(rows));
}

LOSSKIT_TEST(gather_rows_beyond_4_gib) {
  // 4400 rows of 1 MiB + 32 bytes: rows from 4096 on start past 2^32 bytes. Only the rows
  // written here (and those read by gather) are ever backed by memory.
  for (std::size_t row_bytes : {(std::size_t(1) << 20) + 32, (std::size_t(1) << 20) + 4}) {
    const std::size_t rows = 4400, bytes = rows * row_bytes;
    void* p = mmap(nullptr, bytes, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
    if (p == MAP_FAILED) throw losskit_test::Skipped{"the address space for a sparse table was refused"};
    unsigned char* X = static_cast<unsigned char*>(p);
    const std::int64_t picks[] = {4399, 4100, 3, 4097, 4100};
    for (std::int64_t r : picks)
      for (std::size_t k = 0; k < row_bytes; k += 997) X[std::size_t(r) * row_bytes + k] = std::uint8_t(r + k);
    const std::size_t count = sizeof(picks) / sizeof(picks[0]);
    std::vector<unsigned char> out(count * row_bytes);
    CHECK(losskit::gather_rows(X, rows, row_bytes, picks, count, out.data()) == count);
    for (std::size_t i = 0; i < count; ++i)
      CHECK(std::memcmp(out.data() + i * row_bytes, X + std::size_t(picks[i]) * row_bytes, row_bytes) == 0);
    const std::int64_t past_end[] = {4399, std::int64_t(rows)};
    CHECK(losskit::gather_rows(X, rows, row_bytes, past_end, 2, out.data()) == 1);
    munmap(p, bytes);
  }
}

LOSSKIT_TEST(generator_counters_past_2_32) {
  // random_u64(key, i) = mix(key + (i + 1) * golden) for any 64-bit counter.
  for (std::uint64_t i : {std::uint64_t(1) << 32, (std::uint64_t(1) << 40) + 7, ~std::uint64_t(0)})
    CHECK(losskit::random_u64(77, i) == losskit_test::splitmix64_mix(77 + (i + 1) * losskit_test::kGoldenGamma));
  const std::uint64_t range = (std::uint64_t(1) << 33) + 1;
  std::int64_t draws[64];
  losskit::random_indices(3, 1, range, draws, 64);
  bool above_2_32 = false;
  for (std::int64_t d : draws) {
    CHECK(d >= 0 && std::uint64_t(d) < range);
    above_2_32 = above_2_32 || d > (std::int64_t(1) << 32);
  }
  CHECK(above_2_32);  // about half of them are
}

}  // namespace
