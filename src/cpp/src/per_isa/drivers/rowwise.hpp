// The generic loop for row-wise losses (definitions/multiclass.hpp): label and weight checks, the
// reduction's denominator, blocks of rows, threads.
//
// Determinism as in elementwise.hpp: the rows are cut into blocks whose size depends only on
// the number of classes; each block sums its rows in order, the blocks are added in order.
#pragma once

#include <limits>

#include "drivers/elementwise.hpp"
#include "definitions/multiclass.hpp"

namespace losskit::LOSSKIT_ISA {

// About this many elements per block of rows (at least one row).
inline constexpr std::size_t kRowBlockElements = 8192;
// Row-wise kernels compute an exp or more per element: worth a second thread sooner.
inline constexpr std::size_t kParallelMinRowwise = std::size_t(1) << 14;

template <template <class> class Rows, class T>
ElementwiseResult evaluate_rowwise(const LossParams& params, const RowwiseCall<T>& c) {
  using R = Rows<T>;
  ElementwiseResult result{0, BadArgument::none, 0};
  const std::size_t N = c.rows, C = c.classes;

  // Check labels and weights before writing anything, and sum the mean's denominator.
  double denominator = 0;
  for (std::size_t r = 0; r < N; ++r) {
    const T s = c.sample_weight ? c.sample_weight[r] : T(1);
    if (s < 0) return {0, BadArgument::sample_weight, r};
    if (!c.labels) {
      denominator += double(s);
      continue;
    }
    const std::int64_t y = c.labels[r];
    if (R::kHonoursIgnoreIndex && y == c.ignore_index) continue;
    if (y < 0 || std::uint64_t(y) >= C) return {0, BadArgument::target, r};
    denominator += R::kLabelWeightedMean && c.class_weight ? double(s) * double(c.class_weight[y])
                                                           : double(s);
  }

  const double scale = c.reduction == Reduction::mean ? 1 / denominator : 1;
  if (!c.compute_value && !c.grad_out) return result;
  const R rows_loss(params, c);
  const std::size_t rows_per_block = C == 0 || C >= kRowBlockElements ? 1 : kRowBlockElements / C;
  auto block = [&](std::size_t r0, std::size_t r1) {
    // A local copy (the call included, by value): the gradient stores may alias anything
    // reachable from elsewhere, which would force reloads of every pointer per vector.
    const R local = rows_loss;
    // The scale stays in double: a row's factor k s w_y is formed in double and rounded once
    // (1 / denominator would overflow T for tiny weights, and lose bits for huge ones).
    BlockSummary out;
    out.sum = local.rows(r0, r1, scale);
    return out;
  };
  const BlockSummary s = run_blocks(block, N, rows_per_block,
                                    threads_for(N * C, kParallelMinRowwise));
  if (c.compute_value && c.reduction != Reduction::none)
    // A mean over no weight is 0/0 = NaN (PyTorch's), even where label smoothing adds terms
    // of classes whose weight is not that of the labels: sum / 0 would be inf.
    result.value = c.reduction != Reduction::mean ? s.sum
                   : denominator == 0             ? std::numeric_limits<double>::quiet_NaN()
                                                  : s.sum / denominator;
  return result;
}

}  // namespace losskit::LOSSKIT_ISA
