// The generic loop for row-wise losses (definitions/multiclass.hpp, definitions/embedding.hpp):
// target and weight checks, the reduction's denominator, blocks of rows, threads, and
// (N, C, d1, ...) scores.
//
// Determinism as in elementwise.hpp: the rows are cut into blocks whose size depends only on
// the number of classes (and positions); each block sums its rows in order, the blocks are
// added in order.
#pragma once

#include <algorithm>
#include <limits>
#include <vector>

#include "drivers/elementwise.hpp"
#include "losskit/definitions/all.hpp"

namespace losskit::LOSSKIT_ISA {

// About this many elements per block of rows (at least one row).
inline constexpr std::size_t kRowBlockElements = 8192;
// Row-wise kernels compute an exp or more per element: worth a second thread sooner.
inline constexpr std::size_t kParallelMinRowwise = std::size_t(1) << 14;

// Checks the targets and sample weights of every row before anything is written, and sums
// the mean's denominator (sum of s_i, or of s_i w[y_i] for label-weighted means, over the
// rows and positions not ignored).
template <class R, class T>
ElementwiseResult check_rows(const RowwiseCall<T>& c, double& denominator) {
  const std::size_t N = c.rows, C = c.classes, P = c.positions;
  constexpr RowTarget kTarget = R::kInfo.row_target;
  for (std::size_t r = 0; r < N; ++r) {
    const T s = c.sample_weight ? c.sample_weight[r] : T(1);
    if (s < 0) return {0, BadArgument::sample_weight, r};
    if constexpr (kTarget == RowTarget::labels) {
      if (!c.labels) {  // probabilities
        denominator += double(s) * double(P);
        continue;
      }
      for (std::size_t j = 0; j < P; ++j) {
        const std::int64_t y = c.labels[r * P + j];
        if (R::kHonoursIgnoreIndex && y == c.ignore_index) continue;
        if (y < 0 || std::uint64_t(y) >= C) return {0, BadArgument::target, r * P + j};
        denominator += R::kLabelWeightedMean && c.class_weight
                           ? double(s) * double(c.class_weight[y]) : double(s);
      }
      continue;
    } else if constexpr (kTarget == RowTarget::label_lists) {
      for (std::size_t j = 0; j < C; ++j) {
        const std::int64_t y = c.labels[r * C + j];
        if (y < 0) break;  // the end of the row's list
        if (std::uint64_t(y) >= C) return {0, BadArgument::target, r * C + j};
      }
    } else if constexpr (kTarget == RowTarget::signs) {
      const T y = c.target[r];
      if (!(y == T(1) || y == T(-1))) return {0, BadArgument::target, r};
    }
    denominator += double(s);
  }
  return {0, BadArgument::none, 0};
}

// (N, C, P) scores, P = d1 * d2 * ... positions per sample: the class axis has stride P. A
// tile of a sample's positions is transposed into contiguous rows (in a buffer of ~8192
// elements, never a copy of the whole input), the definition runs on those rows, and the
// gradient (and curvature) tile is transposed back. A tile never spans two samples, so its
// rows share one sample weight.
template <class R, class T>
double spatial_blocks(const LossParams& params, const RowwiseCall<T>& c, double scale) {
  const std::size_t N = c.rows, C = c.classes, P = c.positions;
  const std::size_t tile = C >= kRowBlockElements ? 1 : std::min(P, kRowBlockElements / C);
  const std::size_t tiles = (P + tile - 1) / tile;
  auto block = [&](std::size_t b0, std::size_t b1) {
    std::vector<T> x(tile * C), t(c.target ? tile * C : 0), g(c.grad_out ? tile * C : 0),
        h(c.hess_out ? tile * C : 0), w(c.sample_weight ? tile : 0);
    // rows[j * C + k] = strided[(n C + k) P + j0 + j], and back.
    const auto gather = [&](const T* strided, std::vector<T>& rows, std::size_t n,
                            std::size_t j0, std::size_t m) {
      for (std::size_t k = 0; k < C; ++k) {
        const T* from = strided + (n * C + k) * P + j0;
        for (std::size_t j = 0; j < m; ++j) rows[j * C + k] = from[j];
      }
    };
    const auto scatter = [&](const std::vector<T>& rows, T* strided, std::size_t n,
                             std::size_t j0, std::size_t m) {
      for (std::size_t k = 0; k < C; ++k) {
        T* to = strided + (n * C + k) * P + j0;
        for (std::size_t j = 0; j < m; ++j) to[j] = rows[j * C + k];
      }
    };
    BlockSummary out;
    for (std::size_t b = b0; b < b1; ++b) {
      const std::size_t n = b / tiles, j0 = b % tiles * tile, m = std::min(tile, P - j0);
      RowwiseCall<T> part = c;
      part.rows = m;
      part.positions = 1;
      gather(c.input, x, n, j0, m);
      part.input = x.data();
      if (c.target) {
        gather(c.target, t, n, j0, m);
        part.target = t.data();
      }
      if (c.labels) part.labels = c.labels + n * P + j0;
      if (c.sample_weight) {
        std::fill(w.begin(), w.begin() + m, c.sample_weight[n]);
        part.sample_weight = w.data();
      }
      if (c.value_out) part.value_out = c.value_out + n * P + j0;
      part.grad_out = c.grad_out ? g.data() : nullptr;
      part.hess_out = c.hess_out ? h.data() : nullptr;
      const R rows_loss(params, part);
      out.sum += rows_loss.rows(0, m, scale);
      if (c.grad_out) scatter(g, c.grad_out, n, j0, m);
      if (c.hess_out) scatter(h, c.hess_out, n, j0, m);
    }
    return out;
  };
  return run_blocks(block, N * tiles, 1, threads_for(N * C * P, kParallelMinRowwise)).sum;
}

template <template <class> class Rows, class T>
ElementwiseResult evaluate_rowwise(const LossParams& params, const RowwiseCall<T>& c) {
  using R = Rows<T>;
  ElementwiseResult result{0, BadArgument::none, 0};
  const std::size_t N = c.rows, C = c.classes;

  double denominator = 0;
  const ElementwiseResult checked = check_rows<R>(c, denominator);
  if (checked.bad_argument != BadArgument::none) return checked;

  const double scale = c.reduction == Reduction::mean ? 1 / denominator : 1;
  if (!c.compute_value && !c.grad_out) {  // a call for the denominator alone
    result.value = denominator;
    return result;
  }
  double sum = 0;
  if constexpr (R::kInfo.spatial) {  // (only these are compiled with the tiles)
    if (c.positions != 1) sum = spatial_blocks<R>(params, c, scale);
  }
  if (c.positions == 1) {
    const R rows_loss(params, c);
    const std::size_t rows_per_block =
        C == 0 || C >= kRowBlockElements ? 1 : kRowBlockElements / C;
    auto block = [&](std::size_t r0, std::size_t r1) {
      // A local copy (the call included, by value): the gradient stores may alias anything
      // reachable from elsewhere, which would force reloads of every pointer per vector.
      const R local = rows_loss;
      // The scale stays in double: a row's factor k s w_y is formed in double and rounded
      // once (1 / denominator would overflow T for tiny weights, and lose bits for huge ones).
      BlockSummary out;
      out.sum = local.rows(r0, r1, scale);
      return out;
    };
    sum = run_blocks(block, N, rows_per_block, threads_for(N * C, kParallelMinRowwise)).sum;
  }
  if (c.compute_value && c.reduction != Reduction::none)
    // A mean over no weight is 0/0 = NaN (PyTorch's), even where label smoothing adds terms
    // of classes whose weight is not that of the labels: sum / 0 would be inf.
    result.value = c.reduction != Reduction::mean ? sum
                   : denominator == 0             ? std::numeric_limits<double>::quiet_NaN()
                                                  : sum / denominator;
  return result;
}

}  // namespace losskit::LOSSKIT_ISA
