// The typed objects of the row-wise losses whose targets are not one label per row, or that take
// rows of other operands: poly1, multilabel_soft_margin (0/1 targets), multilabel_margin (label
// lists), cosine_embedding (pairs of rows, +1/-1 targets) and triplet_margin (triplets of rows),
// at their default parameters, float32 and float64, with sample weights. Values against per-row
// formulas written here in long double (PyTorch's definitions); gradients in every operand
// against central differences of those formulas; and the refusal of bad targets, sizes and
// operands before anything is written.
#include <algorithm>
#include <cmath>
#include <cstdint>
#include <functional>
#include <stdexcept>
#include <string>
#include <vector>

#include "check.hpp"
#include "support.hpp"

namespace {

using losskit::Reduction;
using losskit_test::Lcg;
using Real = long double;
using Row = std::vector<Real>;

constexpr std::size_t kRows = 7, kColumns = 5;

Real softplus(Real x) { return x > 0 ? x + std::log1p(std::exp(-x)) : std::log1p(std::exp(x)); }

Real poly1_row(const Row& x, std::int64_t y, Real epsilon) {
  const Real m = *std::max_element(x.begin(), x.end());
  Real s = 0;
  for (Real v : x) s += std::exp(v - m);
  const Real lse = m + std::log(s);
  return lse - x[std::size_t(y)] + epsilon * (1 - std::exp(x[std::size_t(y)] - lse));
}

Real multilabel_soft_margin_row(const Row& x, const Row& y) {
  Real total = 0;
  for (std::size_t c = 0; c < x.size(); ++c) total += softplus(x[c]) - y[c] * x[c];
  return total / Real(x.size());
}

Real multilabel_margin_row(const Row& x, const std::int64_t* labels) {
  std::vector<bool> listed(x.size(), false);
  std::vector<std::size_t> targets;
  for (std::size_t k = 0; k < x.size() && labels[k] >= 0; ++k) {
    targets.push_back(std::size_t(labels[k]));
    listed[std::size_t(labels[k])] = true;
  }
  Real total = 0;
  for (std::size_t j : targets)
    for (std::size_t c = 0; c < x.size(); ++c)
      if (!listed[c]) total += std::max<Real>(0, 1 - x[j] + x[c]);
  return total / Real(x.size());
}

Real cosine_embedding_row(const Row& a, const Row& b, Real y, Real margin) {
  Real ab = 0, aa = 0, bb = 0;
  for (std::size_t c = 0; c < a.size(); ++c) {
    ab += a[c] * b[c];
    aa += a[c] * a[c];
    bb += b[c] * b[c];
  }
  const Real cos = ab / std::sqrt((aa + 1e-12L) * (bb + 1e-12L));
  return y > 0 ? 1 - cos : std::max<Real>(0, cos - margin);
}

Real distance(const Row& u, const Row& v, Real p, Real eps) {
  Real total = 0;
  for (std::size_t c = 0; c < u.size(); ++c) total += std::pow(std::fabs(u[c] - v[c] + eps), p);
  return std::pow(total, 1 / p);
}

Real triplet_row(const Row& a, const Row& q, const Row& n, Real margin, Real p, Real eps) {
  return std::max<Real>(0, margin + distance(a, q, p, eps) - distance(a, n, p, eps));
}

// Row r of a row-major matrix, in long double.
template <class T> Row row(const std::vector<T>& m, std::size_t r) {
  return Row(m.begin() + long(r * kColumns), m.begin() + long((r + 1) * kColumns));
}

// Checks value and gradients of a typed call against `formula(rows of each operand, r)`:
// `operands` are the arrays the gradients are taken in (input first), `grads` what the call
// wrote into them. Each gradient is the sample-weighted derivative of the summed rows,
// checked against a central difference of the formula in long double.
template <class T>
void check_against(const std::string& where, double value, const std::vector<T>& sample_weight,
                   std::vector<std::vector<T>*> operands, std::vector<const std::vector<T>*> grads,
                   const std::function<Real(const std::vector<Row>&, std::size_t)>& formula) {
  const double rtol = sizeof(T) == 4 ? 3e-5 : 1e-10, atol = sizeof(T) == 4 ? 3e-5 : 1e-8;
  Real expected = 0, magnitude = 0;
  for (std::size_t r = 0; r < kRows; ++r) {
    std::vector<Row> rows;
    for (auto* m : operands) rows.push_back(row(*m, r));
    const Real v = sample_weight[r] * formula(rows, r);
    expected += v;
    magnitude += std::fabs(v);
    for (std::size_t k = 0; k < grads.size(); ++k) {
      for (std::size_t c = 0; c < kColumns; ++c) {
        const Real h = 1e-6L * std::max<Real>(1, std::fabs(rows[k][c]));
        std::vector<Row> up = rows, down = rows;
        up[k][c] += h;
        down[k][c] -= h;
        const Real slope = (formula(up, r) - formula(down, r)) / (2 * h);
        CHECK_CLOSE(double((*grads[k])[r * kColumns + c]), double(sample_weight[r] * slope), rtol,
                    atol, where + " operand " + std::to_string(k) + " row " + std::to_string(r));
      }
    }
  }
  CHECK_CLOSE(value, double(expected), 0.0, rtol * double(magnitude) + atol, where + " value");
}

template <class T> std::vector<T> uniform(Lcg& rng, std::size_t n, double lo, double hi) {
  std::vector<T> v(n);
  for (T& x : v) x = T(rng.uniform(lo, hi));
  return v;
}

template <class T> void check_objects() {
  const std::string dtype = losskit_test::dtype_name<T>();
  Lcg rng(11);
  const std::size_t n = kRows * kColumns;
  std::vector<T> x = uniform<T>(rng, n, -2, 2), second = uniform<T>(rng, n, -2, 2),
                 third = uniform<T>(rng, n, -2, 2), sw = uniform<T>(rng, kRows, 0.5, 2);
  losskit::Options<T> weighted;
  weighted.sample_weight = sw;
  std::vector<T> grad(n), grad2(n), grad3(n);

  {  // poly1: one label per row
    std::vector<std::int64_t> labels(kRows);
    for (auto& y : labels) y = rng.below(std::int64_t(kColumns));
    losskit::Poly loss;
    loss.reduction = Reduction::sum;
    const double v = loss.value_and_grad(x, kColumns, labels, grad, weighted);
    check_against<T>("poly1 " + dtype, v, sw, {&x}, {&grad}, [&](const auto& rows, std::size_t r) {
      return poly1_row(rows[0], labels[r], Real(loss.epsilon));
    });
  }
  {  // multilabel_soft_margin: 0/1 targets of the input's shape
    std::vector<T> target(n);
    for (T& y : target) y = T(rng.below(2));
    losskit::MultiLabelSoftMargin loss;
    loss.reduction = Reduction::sum;
    const double v = loss.value_and_grad(x, kColumns, target, grad, weighted);
    check_against<T>("multilabel_soft_margin " + dtype, v, sw, {&x}, {&grad},
                     [&](const auto& rows, std::size_t r) {
                       return multilabel_soft_margin_row(rows[0], row(target, r));
                     });
  }
  {  // multilabel_margin: each row's label list, ended by -1 (a row of no labels included)
    std::vector<std::int64_t> lists(n, -1);
    for (std::size_t r = 1; r < kRows; ++r)
      for (std::size_t k = 0; k < r % 4; ++k) lists[r * kColumns + k] = std::int64_t((r + 2 * k) % kColumns);
    losskit::MultiLabelMargin loss;
    loss.reduction = Reduction::sum;
    const double v = loss.value_and_grad(x, kColumns, lists, grad, weighted);
    check_against<T>("multilabel_margin " + dtype, v, sw, {&x}, {&grad},
                     [&](const auto& rows, std::size_t r) {
                       return multilabel_margin_row(rows[0], lists.data() + r * kColumns);
                     });
  }
  {  // cosine_embedding: pairs of rows, +1/-1 targets
    std::vector<T> signs(kRows);
    for (std::size_t r = 0; r < kRows; ++r) signs[r] = T(r % 2 ? 1 : -1);
    losskit::CosineEmbedding loss;
    loss.margin = -0.5;  // every dissimilar pair above it: the gradient is defined everywhere
    loss.reduction = Reduction::sum;
    const double v = loss.value_and_grads(x, second, kColumns, signs, grad, grad2, weighted);
    check_against<T>("cosine_embedding " + dtype, v, sw, {&x, &second}, {&grad, &grad2},
                     [&](const auto& rows, std::size_t r) {
                       return cosine_embedding_row(rows[0], rows[1], Real(signs[r]), Real(loss.margin));
                     });
    CHECK(loss.value(x, second, kColumns, signs, weighted) == v);
  }
  {  // triplet_margin: anchor, positive, negative
    losskit::TripletMargin loss;
    loss.margin = 5;  // every triplet inside the margin: the gradient is defined everywhere
    loss.reduction = Reduction::sum;
    const double v = loss.value_and_grads(x, second, third, kColumns, grad, grad2, grad3, weighted);
    check_against<T>("triplet_margin " + dtype, v, sw, {&x, &second, &third},
                     {&grad, &grad2, &grad3}, [&](const auto& rows, std::size_t) {
                       return triplet_row(rows[0], rows[1], rows[2], Real(loss.margin),
                                          Real(loss.p), Real(loss.eps));
                     });
    std::vector<T> anchor_only(n);
    CHECK(loss.value_and_grad(x, second, third, kColumns, anchor_only, weighted) == v);
    CHECK(anchor_only == grad);
  }
}

template <class Fn> std::string refusal(const Fn& fn) {
  try {
    fn();
  } catch (const std::invalid_argument& e) {
    return e.what();
  }
  return "(no std::invalid_argument)";
}
#define CHECK_REFUSED(expr, text)                                                              \
  do {                                                                                         \
    const std::string m_ = refusal([&] { (void)(expr); });                                     \
    if (m_.find(text) == std::string::npos)                                                    \
      losskit_test::report(__FILE__, __LINE__, "'" + m_ + "' does not mention '" + (text) + "'"); \
  } while (0)

}  // namespace

LOSSKIT_TEST(typed_pair_triplet_and_multilabel_objects_match_the_formulas) {
  check_objects<double>();
  check_objects<float>();
}

LOSSKIT_TEST(typed_pair_triplet_and_multilabel_objects_refuse_bad_arguments) {
  const std::size_t n = kRows * kColumns;
  std::vector<double> a(n, 0.5), b(n, -0.25), c(n, 1.0), signs(kRows, 1.0), grad(n, 7.0),
      grad2(n, 7.0), grad3(n, 7.0);
  const std::vector<double> untouched(n, 7.0);
  losskit::CosineEmbedding cosine;
  signs[3] = 0.5;
  CHECK_REFUSED(cosine.value_and_grad(a, b, kColumns, signs, grad), "target must be 1 or -1, got target[3] = 0.5");
  signs[3] = 1;
  CHECK_REFUSED(cosine.value(a, std::vector<double>(n - 1), kColumns, signs), "input2 has 34 elements");
  CHECK_REFUSED(cosine.value(a, b, kColumns, std::vector<double>(n, 1.0)), "target has 35 elements, expected 7");
  CHECK_REFUSED(cosine.value_and_grads(a, b, kColumns, signs, grad, losskit::span<double>(a.data(), n)),
                "grad_input2 shares memory with input1");
  losskit::TripletMargin triplet;
  CHECK_REFUSED(triplet.value_and_grads(a, b, c, kColumns, grad, grad2, losskit::span<double>()),
                "both operands' gradients or neither");
  CHECK_REFUSED(triplet.value(a, b, std::vector<double>(), kColumns), "negative has 0 elements");
  triplet.p = 0.5;
  CHECK_REFUSED(triplet.value(a, b, c, kColumns), "p must be");
  losskit::MultiLabelMargin multilabel;
  std::vector<std::int64_t> lists(n, -1);
  lists[2 * kColumns] = 9;
  CHECK_REFUSED(multilabel.value_and_grad(a, kColumns, lists, grad), "(a negative entry ends a row's labels)");
  CHECK_REFUSED(multilabel.value(a, kColumns, std::vector<std::int64_t>(kRows, 0)), "labels has 7 elements, expected 35");
  losskit::MultiLabelSoftMargin soft;
  CHECK_REFUSED(soft.value(a, kColumns, std::vector<double>(kRows, 1.0)), "target has 7 elements, expected 35");
  CHECK(grad == untouched && grad2 == untouched && grad3 == untouched);
}
