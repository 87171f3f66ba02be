// Helpers shared by the C++ tests: reproducible data, and running a check on every available
// instruction set or thread count (restoring the previous setting).
#pragma once

#include <cmath>
#include <cstdint>
#include <cstring>
#include <string>
#include <vector>

#include <losskit/losskit.hpp>

namespace losskit_test {

// Test data from a 64-bit LCG (Knuth's MMIX constants): the same numbers on every platform.
class Lcg {
 public:
  explicit Lcg(std::uint64_t seed) : state_(seed) {}
  double uniform(double lo, double hi) {
    state_ = state_ * 6364136223846793005ull + 1442695040888963407ull;
    return lo + (hi - lo) * double(state_ >> 11) * 0x1.0p-53;
  }
  std::int64_t below(std::int64_t n) { return std::int64_t(uniform(0, double(n))); }

 private:
  std::uint64_t state_;
};

// A value of d from rng: uniform over a bounded interval, within 3 of its one finite end, and
// in (-3, 3) for an interval unbounded both ways (so test data of a loss over the reals stays
// where its terms are of moderate size). An open end is never drawn.
inline double draw(const losskit::Interval& d, Lcg& rng) {
  const bool low = std::isfinite(d.low), high = std::isfinite(d.high);
  for (;;) {
    const double v = low && high ? rng.uniform(d.low, d.high)
                     : low       ? d.low + rng.uniform(0, 3)
                     : high      ? d.high - rng.uniform(0, 3)
                                 : rng.uniform(-3, 3);
    if (d.contains(v)) return v;
  }
}

// The kernel parameters of a definition (the real, integer, boolean and choice ones, in the
// order LossParams holds them) at their defaults.
inline std::vector<double> default_params(const losskit::LossInfo& info) {
  std::vector<double> values;
  for (int i = 0; i < info.num_params; ++i)
    if (info.params[i].kind != losskit::ParamKind::class_weight &&
        info.params[i].kind != losskit::ParamKind::ignore_index)
      values.push_back(info.params[i].default_value);
  return values;
}

// Where each of those lies in LossInfo::params.
inline std::vector<int> kernel_param_indices(const losskit::LossInfo& info) {
  std::vector<int> indices;
  for (int i = 0; i < info.num_params; ++i)
    if (info.params[i].kind != losskit::ParamKind::class_weight &&
        info.params[i].kind != losskit::ParamKind::ignore_index)
      indices.push_back(i);
  return indices;
}

// SplitMix64's output function (Steele, Lea & Flood 2014), written here independently of the
// library's to check its generator.
inline std::uint64_t splitmix64_mix(std::uint64_t z) {
  z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
  z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
  return z ^ (z >> 31);
}
inline constexpr std::uint64_t kGoldenGamma = 0x9E3779B97F4A7C15ull;

inline const losskit::Isa kAllIsas[] = {losskit::Isa::sse2, losskit::Isa::avx2, losskit::Isa::avx512};

// fn() once per instruction set this build and CPU provide.
template <class Fn> void for_each_isa(const Fn& fn) {
  const losskit::Isa previous = losskit::get_isa();
  for (losskit::Isa isa : kAllIsas) {
    if (!losskit::isa_available(isa)) continue;
    losskit::set_isa(isa);
    fn(isa);
  }
  losskit::set_isa(previous);
}

// fn(threads) for threads = 1 .. max_threads.
template <class Fn> void for_each_thread_count(int max_threads, const Fn& fn) {
  const int previous = losskit::get_num_threads();
  for (int t = 1; t <= max_threads; ++t) {
    losskit::set_num_threads(t);
    fn(t);
  }
  losskit::set_num_threads(previous);
}

template <class T> bool same_bytes(const std::vector<T>& a, const std::vector<T>& b) {
  // (memcmp must not see the null data() of an empty vector, even for 0 bytes)
  return a.size() == b.size() && (a.empty() || std::memcmp(a.data(), b.data(), a.size() * sizeof(T)) == 0);
}

// A test's tolerances, |a - b| <= atol + rtol * max(|a|, |b|), for float and for double.
struct Tolerance {
  double rtol, atol;
};
template <class T> constexpr Tolerance for_type(Tolerance f32, Tolerance f64) {
  return sizeof(T) == 4 ? f32 : f64;
}

// A row-wise call over C-contiguous (rows, classes) scores with one label per row; the other
// fields keep RowwiseCall's defaults.
template <class T>
losskit::RowwiseCall<T> labelled_rows(const T* x, std::size_t rows, std::size_t classes,
                                      const std::int64_t* labels) {
  losskit::RowwiseCall<T> call;
  call.input = x;
  call.rows = rows;
  call.classes = classes;
  call.labels = labels;
  return call;
}

// Valid arguments of any row-wise loss over (rows, classes), by its definition: scores, the
// target its RowTarget names (labels, label lists ended by -1, 0/1 values, signs +-1) and the
// row operands of arity-3 losses. call() points a RowwiseCall at them.
template <class T> struct RowArguments {
  std::vector<T> x, target, second, third;
  std::vector<std::int64_t> labels;
  RowArguments(const losskit::LossInfo& info, std::size_t rows, std::size_t classes, Lcg& rng)
      : x(rows * classes) {
    for (auto& v : x) v = T(rng.uniform(-3, 3));
    const int operands = info.operands[0] ? 1 + (std::string(info.operands).find(',') != std::string::npos) : 0;
    if (operands >= 1) second = near(rng, 0.7);
    if (operands >= 2) third = near(rng, 2.0);
    switch (info.row_target) {
      case losskit::RowTarget::labels:
        for (std::size_t r = 0; r < rows; ++r) labels.push_back(rng.below(std::int64_t(classes)));
        break;
      case losskit::RowTarget::label_lists:
        labels.assign(rows * classes, -1);
        for (std::size_t r = 0; r < rows; ++r) {
          const std::size_t count = std::size_t(rng.below(std::int64_t(classes) + 1));
          for (std::size_t j = 0; j < count; ++j) labels[r * classes + j] = std::int64_t((r + 3 * j) % classes);
        }
        break;
      case losskit::RowTarget::values:
        for (std::size_t i = 0; i < rows * classes; ++i) target.push_back(rng.uniform(0, 1) < 0.4 ? T(1) : T(0));
        break;
      case losskit::RowTarget::signs:
        for (std::size_t r = 0; r < rows; ++r) target.push_back(rng.uniform(0, 1) < 0.5 ? T(1) : T(-1));
        break;
      case losskit::RowTarget::none: break;
    }
  }
  std::vector<T> near(Lcg& rng, double spread) const {
    std::vector<T> out(x.size());
    for (std::size_t i = 0; i < x.size(); ++i) out[i] = T(double(x[i]) + rng.uniform(-spread, spread));
    return out;
  }
  losskit::RowwiseCall<T> call(std::size_t rows, std::size_t classes) const {
    losskit::RowwiseCall<T> c;
    c.input = x.data();
    c.rows = rows;
    c.classes = classes;
    c.labels = labels.empty() ? nullptr : labels.data();
    c.target = target.empty() ? nullptr : target.data();
    c.second = second.empty() ? nullptr : second.data();
    c.third = third.empty() ? nullptr : third.data();
    return c;
  }
};

template <class T> const char* dtype_name() { return sizeof(T) == 4 ? "float32" : "float64"; }

}  // namespace losskit_test
