// log Z(alpha) of Barron's general robust loss, interpolated from the tables that
// tools/gen_barron_partition.py computes by high-precision quadrature (see there for the
// coordinates): cubic Hermite splines with exact slopes, in alpha on [0, kNear0Max] (finer)
// and [kNear0Max, kLowMax], and in s = log|alpha - 2| above (one table per side of alpha = 2).
#include <cmath>
#include <limits>
#include <stdexcept>

#include "losskit/losskit.hpp"
#include "generated/barron_partition_table.hpp"

namespace losskit {
namespace {

namespace tbl = barron_partition;

// Value and derivative at s of the cubic through (y0, dy0/ds) at s0 and (y1, dy1/ds) at s0 + h.
void hermite(const double* k0, const double* k1, double h, double s0, double s, double& y,
             double& dy) {
  const double t = (s - s0) / h;
  const double y0 = k0[0], m0 = k0[1] * h;
  const double y1 = k1[0], m1 = k1[1] * h;
  const double t2 = t * t, t3 = t2 * t;
  y = (2 * t3 - 3 * t2 + 1) * y0 + (t3 - 2 * t2 + t) * m0 + (-2 * t3 + 3 * t2) * y1 +
      (t3 - t2) * m1;
  dy = ((6 * t2 - 6 * t) * (y0 - y1) + (3 * t2 - 4 * t + 1) * m0 + (3 * t2 - 2 * t) * m1) / h;
}

double log_partition(double alpha, double* grad) {
  if (std::isnan(alpha)) {
    if (grad) *grad = alpha;
    return alpha;
  }
  if (alpha < 0) throw std::invalid_argument("barron_log_partition: alpha must be >= 0");
  const double d = alpha - 2;
  if (d == 0) {  // d logZ / d alpha ~ c log|alpha - 2| with c > 0 near 2
    if (grad) *grad = -std::numeric_limits<double>::infinity();
    return tbl::kLogZ2;
  }
  if (alpha <= tbl::kNear0Max) {
    int k = static_cast<int>(alpha / tbl::kNear0Step);
    if (k > tbl::kNear0Count - 2) k = tbl::kNear0Count - 2;
    double y, dy;
    hermite(tbl::kNear0[k], tbl::kNear0[k + 1], tbl::kNear0Step, k * tbl::kNear0Step, alpha, y,
            dy);
    if (grad) *grad = dy;
    return y;
  }
  if (alpha <= tbl::kLowMax) {
    int k = static_cast<int>(alpha / tbl::kLowStep);
    if (k > tbl::kLowCount - 2) k = tbl::kLowCount - 2;
    double y, dy;
    hermite(tbl::kLow[k], tbl::kLow[k + 1], tbl::kLowStep, k * tbl::kLowStep, alpha, y, dy);
    if (grad) *grad = dy;
    return y;
  }
  if (alpha > tbl::kAlphaMax) {
    // logZ - logZ(inf) ~ c / alpha, matched to the table at its end (alpha = kAlphaMax).
    const double c = (tbl::kLogZMax - tbl::kLogZInf) * tbl::kAlphaMax;
    if (grad) *grad = std::isinf(alpha) ? 0.0 : -c / (alpha * alpha);
    return std::isinf(alpha) ? tbl::kLogZInf : tbl::kLogZInf + c / alpha;
  }
  const bool right = d > 0;
  const double(*knots)[2] = right ? tbl::kRight : tbl::kLeft;
  const int count = right ? tbl::kRightCount : tbl::kLeftCount;
  const double s0 = right ? tbl::kRightLo : tbl::kLeftLo;
  const double sw = right ? tbl::kRightSwitch : tbl::kLeftSwitch;
  const double s = std::log(std::fabs(d));
  if (s <= s0) {
    // Below the first knot (|alpha - 2| < e^s0) G is linear in s up to O(|alpha - 2|) terms:
    // logZ = logZ(2) + d G, d logZ / d alpha = G + dG/ds.
    const double y = knots[0][0] + knots[0][1] * (s - s0);
    if (grad) *grad = y + knots[0][1];
    return tbl::kLogZ2 + d * y;
  }
  {
    int k = static_cast<int>((s - s0) / tbl::kStep);
    if (k > count - 2) k = count - 2;  // rounding at the end
    // Knots below the switch hold G = (logZ - logZ(2)) / d and dG/ds, the others logZ and
    // dlogZ/ds; the interval's left knot decides, and a knot of the other kind is converted
    // (logZ = logZ(2) + d G, dlogZ/ds = d (G + dG/ds)).
    const double sk = s0 + k * tbl::kStep;
    const bool g_interval = sk < sw;
    double ends[2][2];
    for (int j = 0; j < 2; ++j) {
      const double sj = s0 + (k + j) * tbl::kStep;  // as the generator spells the knots
      const double dj = right ? std::exp(sj) : -std::exp(sj);
      const double yj = knots[k + j][0], mj = knots[k + j][1];
      if ((sj < sw) == g_interval) {
        ends[j][0] = yj;
        ends[j][1] = mj;
      } else if (g_interval) {  // logZ knot -> G
        ends[j][0] = (yj - tbl::kLogZ2) / dj;
        ends[j][1] = mj / dj - ends[j][0];
      } else {  // G knot -> logZ
        ends[j][0] = tbl::kLogZ2 + dj * yj;
        ends[j][1] = dj * (yj + mj);
      }
    }
    double y, dy;  // the interval's quantity and its s-derivative at s
    hermite(ends[0], ends[1], tbl::kStep, sk, s, y, dy);
    if (!g_interval) {
      if (grad) *grad = dy / d;
      return y;
    }
    if (grad) *grad = y + dy;
    return tbl::kLogZ2 + d * y;
  }
}

}  // namespace

double barron_log_partition(double alpha, double* grad) { return log_partition(alpha, grad); }

void barron_log_partition(const double* alpha, double* out, double* grad, std::size_t n) {
  for (std::size_t i = 0; i < n; ++i)
    if (alpha[i] < 0) throw std::invalid_argument("barron_log_partition: alpha must be >= 0");
  for (std::size_t i = 0; i < n; ++i) out[i] = log_partition(alpha[i], grad ? grad + i : nullptr);
}

}  // namespace losskit
