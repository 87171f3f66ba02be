// Losses over labelled pairs (PyTorch's HingeEmbeddingLoss and MarginRankingLoss): the target
// is a label, -1 or +1, checked before anything is written (TargetCheck::signs).
#pragma once

#include "losskit/loss_types.hpp"
#include "losskit/definitions/point.hpp"

namespace losskit::LOSSKIT_ISA {

// PyTorch hinge_embedding_loss: x where y = 1, max(0, margin - x) where y = -1;
// d/dx = 1 (y = 1), -1 where margin - x >= 0 (y = -1: the kink included, as clamp_min's
// backward), else 0;  d2/dx2 = 0. The hinge (|margin - x| + margin - x) / 2 has the majorizer
// curvature 1 / (2 |margin - x|); the linear part none.
template <class T> struct HingeEmbeddingLoss {
  static constexpr LossInfo kInfo = with_params([] {
    LossInfo d;
    d.name = "hinge_embedding";
    d.torch_function = "hinge_embedding_loss";
    d.class_name = "HingeEmbeddingLoss";
    d.task = "classification";
    d.target_domain = Interval{-1, 1, true, true};
    d.target_check = TargetCheck::signs;
    d.hessians = "irls,exact,positive";
    d.summary = "Hinge embedding loss: x for similar pairs (y = 1), a hinge for dissimilar ones.";
    d.formula = "x if y = 1, max(0, margin - x) if y = -1";
    d.math = R"(\ell(x, y) = \begin{cases} x & y = 1 \\ \max(0, \mathrm{margin} - x) & y = -1
\end{cases})";
    d.notes = "Same as ``torch.nn.functional.hinge_embedding_loss``; x is typically a distance "
              "between the two embeddings of a pair. Targets must be -1 or +1 (ValueError "
              "otherwise).";
    return d;
  }(), {real_param("margin", 1.0, kReals, "The distance beyond which dissimilar pairs cost nothing.")});
  T margin;
  explicit HingeEmbeddingLoss(const LossParams& p) : margin(T(p.values[0])) {}
  LOSSKIT_INLINE Point<T> operator()(Vec<T> x, Vec<T> y) const {
    const auto similar = y == T(1);
    const Vec<T> h = margin - x;
    const auto active = h >= T(0);
    const Vec<T> hinge = select<Vec<T>>(active, h, splat<T>(0));
    const Vec<T> hinge_grad = select<Vec<T>>(active, splat<T>(-1), splat<T>(0));
    const Vec<T> grad = select<Vec<T>>(similar, splat<T>(1), hinge_grad);
    const auto nan = (x != x) | (y != y);  // NaN propagates (the label's too)
    return {select<Vec<T>>(nan, x + y, select<Vec<T>>(similar, x, hinge)),
            select<Vec<T>>(nan, x + y, grad), splat<T>(0),
            select<Vec<T>>(similar, splat<T>(0), T(0.5) * inverse_distance<T>(abs<T>(h)))};
  }
};

// PyTorch margin_ranking_loss, called (input1, input2, target): max(0, margin - y (x1 - x2)).
// The kernel reads x1 as its input, y as its target and x2 as its third argument
// (LossInfo::third_position = 1 puts x2 second in the call). With h = margin - y (x1 - x2):
// d/dx1 = -y and d/dx2 = y where h >= 0 (the kink included, as clamp_min's backward), else 0;
// d2/dx1^2 = 0; the hinge's majorizer curvature in x1 is y^2 / (2 |h|).
template <class T> struct MarginRankingLoss {
  static constexpr LossInfo kInfo = with_params([] {
    LossInfo d;
    d.name = "margin_ranking";
    d.torch_function = "margin_ranking_loss";
    d.class_name = "MarginRankingLoss";
    d.task = "classification";
    d.arity = 3;
    d.input_name = "input1";
    d.operands = "input2";
    d.third_position = 1;
    d.target_domain = Interval{-1, 1, true, true};
    d.target_check = TargetCheck::signs;
    d.hessians = "irls,exact,positive";
    d.summary = "Margin ranking loss: input1 should rank above input2 where y = 1, below where "
                "y = -1.";
    d.formula = "max(0, margin - y (x1 - x2))";
    d.math = R"(\ell(x_1, x_2, y) = \max(0,\ \mathrm{margin} - y\,(x_1 - x_2)))";
    d.notes = R"(Same as ``torch.nn.functional.margin_ranking_loss``; called
``loss(input1, input2, target)``. ``grad`` is d/d input1 and
``value_and_grads(input1, input2, target)`` returns ``(value, d_input1, d_input2)``. Targets
must be -1 or +1 (ValueError otherwise). input2 has input1's shape (or broadcasts to it as
``GaussianNLLLoss``'s variance does).)";
    return d;
  }(), {real_param("margin", 0.0, kReals, "The margin by which the pair should be ranked.")});
  T margin;
  explicit MarginRankingLoss(const LossParams& p) : margin(T(p.values[0])) {}
  LOSSKIT_INLINE Point<T> operator()(Vec<T> x1, Vec<T> y, Vec<T> x2) const {
    const Vec<T> h = margin - y * (x1 - x2);
    const auto active = h >= T(0);
    const Vec<T> g = select<Vec<T>>(h != h, h, select<Vec<T>>(active, -y, splat<T>(0)));
    Point<T> out{select<Vec<T>>(active, h, select<Vec<T>>(h != h, h, splat<T>(0))), g,
                 splat<T>(0), T(0.5) * y * y * inverse_distance<T>(abs<T>(h))};
    out.grad_third = -g;
    return out;
  }
};

}  // namespace losskit::LOSSKIT_ISA

// The losses this file defines, in registry order.
#define LOSSKIT_RANKING_LOSSES(X) X(HingeEmbeddingLoss) X(MarginRankingLoss)
