// Update rules, clipping and penalties of the public C++ API against the formulas of
// losskit/optim.hpp (torch.optim's), evaluated here one scalar at a time in long double.
#include <cmath>
#include <limits>
#include <stdexcept>
#include <string>
#include <vector>

#include "check.hpp"
#include "support.hpp"

namespace {

using losskit_test::Lcg;
using Real = long double;
using losskit::StateName;

template <class T>
constexpr losskit_test::Tolerance kTolerance = losskit_test::for_type<T>({1e-5, 1e-6}, {1e-12, 1e-14});

// A parameter array with its gradients for `steps` steps, in T and as exact reals.
template <class T> struct Trajectory {
  std::vector<T> param;
  std::vector<std::vector<T>> grads;
};
template <class T> Trajectory<T> make_trajectory(std::size_t n, int steps, std::uint64_t seed) {
  Lcg rng(seed);
  Trajectory<T> tr;
  for (std::size_t i = 0; i < n; ++i) tr.param.push_back(T(rng.uniform(-2, 2)));
  for (int s = 0; s < steps; ++s) {
    std::vector<T> g;
    for (std::size_t i = 0; i < n; ++i) g.push_back(T(rng.uniform(-1, 1)));
    tr.grads.push_back(g);
  }
  return tr;
}

template <class T>
void check_params(const std::vector<T>& got, const std::vector<Real>& expected, const std::string& where) {
  for (std::size_t i = 0; i < got.size(); ++i)
    CHECK_CLOSE(got[i], double(expected[i]), kTolerance<T>.rtol, kTolerance<T>.atol,
                where + " [" + std::to_string(i) + "]");
}

// n elements: a tail on every ISA, and (large) past the threading threshold.
const std::size_t kSizes[] = {13, 70001};
constexpr int kSteps = 4;

template <class T> void check_sgd() {
  for (std::size_t n : kSizes) {
    for (const losskit::Sgd& o :
         {losskit::Sgd{0.1, 0, 0, 0, false, false}, losskit::Sgd{0.05, 0.9, 0, 0.01, false, false},
          losskit::Sgd{0.05, 0.9, 0.1, 0, true, false}, losskit::Sgd{0.02, 0.5, 0, 0.1, true, true}}) {
      const Trajectory<T> tr = make_trajectory<T>(n, kSteps, n + 1);
      std::vector<T> p = tr.param, buf(n);
      std::vector<Real> rp(p.begin(), p.end()), rbuf(n);
      for (int s = 0; s < kSteps; ++s) {
        losskit::State<T> state;
        state[StateName::momentum_buffer] = buf.data();
        if (s == 0) state.fresh = o.state_layout().from_first_grad;
        losskit::step(o, s + 1, p.data(), tr.grads[s].data(), state, n);
        for (std::size_t i = 0; i < n; ++i) {
          Real g = o.maximize ? -Real(tr.grads[s][i]) : Real(tr.grads[s][i]);
          g += Real(T(o.weight_decay)) * rp[i];
          if (o.momentum != 0) {
            rbuf[i] = s == 0 ? g : Real(T(o.momentum)) * rbuf[i] + Real(T(1 - o.dampening)) * g;
            g = o.nesterov ? g + Real(T(o.momentum)) * rbuf[i] : rbuf[i];
          }
          rp[i] -= Real(T(o.lr)) * g;
        }
      }
      const std::string where = std::string("sgd ") + losskit_test::dtype_name<T>() +
                                " momentum=" + losskit_test::show(o.momentum) + " n=" + std::to_string(n);
      check_params(p, rp, where);
      if (o.momentum != 0) check_params(buf, rbuf, where + " momentum_buffer");
    }
  }
}

template <class T> void check_adam() {
  for (std::size_t n : kSizes) {
    losskit::Adam plain;
    plain.lr = 0.01;
    losskit::Adam l2 = plain;
    l2.weight_decay = 0.1;
    l2.amsgrad = true;
    losskit::Adam adamw = plain;
    adamw.weight_decay = 0.05;
    adamw.decoupled_weight_decay = true;
    adamw.maximize = true;
    adamw.beta1 = 0.8;
    adamw.beta2 = 0.99;
    for (const losskit::Adam& o : {plain, l2, adamw}) {
      const Trajectory<T> tr = make_trajectory<T>(n, kSteps, n + 2);
      std::vector<T> p = tr.param, m(n, T(0)), v(n, T(0)), vmax(n, T(0));
      std::vector<Real> rp(p.begin(), p.end()), rm(n, 0), rv(n, 0), rvmax(n, 0);
      for (int s = 0; s < kSteps; ++s) {
        const std::int64_t t = s + 1;
        losskit::State<T> state;
        state[StateName::exp_avg] = m.data();
        state[StateName::exp_avg_sq] = v.data();
        if (o.amsgrad) state[StateName::max_exp_avg_sq] = vmax.data();
        losskit::step(o, t, p.data(), tr.grads[s].data(), state, n);
        const Real bc1 = 1 - std::pow(Real(o.beta1), Real(t)), bc2 = 1 - std::pow(Real(o.beta2), Real(t));
        for (std::size_t i = 0; i < n; ++i) {
          Real g = o.maximize ? -Real(tr.grads[s][i]) : Real(tr.grads[s][i]);
          if (o.decoupled_weight_decay) rp[i] *= 1 - Real(o.lr) * Real(o.weight_decay);
          else g += Real(o.weight_decay) * rp[i];
          rm[i] = Real(o.beta1) * rm[i] + (1 - Real(o.beta1)) * g;
          rv[i] = Real(o.beta2) * rv[i] + (1 - Real(o.beta2)) * g * g;
          Real vv = rv[i];
          if (o.amsgrad) vv = rvmax[i] = std::fmax(rvmax[i], rv[i]);
          rp[i] -= Real(o.lr) / bc1 * rm[i] / (std::sqrt(vv) / std::sqrt(bc2) + Real(o.eps));
        }
      }
      const std::string where = std::string("adam ") + losskit_test::dtype_name<T>() +
                                (o.amsgrad ? " amsgrad" : "") + (o.decoupled_weight_decay ? " adamw" : "") +
                                " n=" + std::to_string(n);
      check_params(p, rp, where);
      check_params(m, rm, where + " exp_avg");
      check_params(v, rv, where + " exp_avg_sq");
      if (o.amsgrad) check_params(vmax, rvmax, where + " max_exp_avg_sq");
    }
  }
}

template <class T> void check_rmsprop() {
  for (std::size_t n : kSizes) {
    for (const losskit::Rmsprop& o :
         {losskit::Rmsprop{0.01, 0.99, 1e-8, 0, 0, false, false},
          losskit::Rmsprop{0.01, 0.9, 1e-6, 0.1, 0.5, true, false},
          losskit::Rmsprop{0.005, 0.95, 1e-8, 0, 0.9, false, true}}) {
      const Trajectory<T> tr = make_trajectory<T>(n, kSteps, n + 3);
      std::vector<T> p = tr.param, sq(n, T(0)), ga(n, T(0)), buf(n, T(0));
      std::vector<Real> rp(p.begin(), p.end()), rsq(n, 0), rga(n, 0), rbuf(n, 0);
      for (int s = 0; s < kSteps; ++s) {
        losskit::State<T> state;
        state[StateName::square_avg] = sq.data();
        if (o.centered) state[StateName::grad_avg] = ga.data();
        if (o.momentum > 0) state[StateName::momentum_buffer] = buf.data();
        losskit::step(o, s + 1, p.data(), tr.grads[s].data(), state, n);
        for (std::size_t i = 0; i < n; ++i) {
          Real g = o.maximize ? -Real(tr.grads[s][i]) : Real(tr.grads[s][i]);
          g += Real(o.weight_decay) * rp[i];
          rsq[i] = Real(o.alpha) * rsq[i] + (1 - Real(o.alpha)) * g * g;
          Real avg;
          if (o.centered) {
            rga[i] = Real(o.alpha) * rga[i] + (1 - Real(o.alpha)) * g;
            avg = std::sqrt(rsq[i] - rga[i] * rga[i]) + Real(o.eps);
          } else {
            avg = std::sqrt(rsq[i]) + Real(o.eps);
          }
          if (o.momentum > 0) {
            rbuf[i] = Real(o.momentum) * rbuf[i] + g / avg;
            rp[i] -= Real(o.lr) * rbuf[i];
          } else {
            rp[i] -= Real(o.lr) * g / avg;
          }
        }
      }
      const std::string where = std::string("rmsprop ") + losskit_test::dtype_name<T>() +
                                (o.centered ? " centered" : "") + " n=" + std::to_string(n);
      check_params(p, rp, where);
      check_params(sq, rsq, where + " square_avg");
    }
  }
}

template <class T> void check_adagrad() {
  for (std::size_t n : kSizes) {
    for (const losskit::Adagrad& o :
         {losskit::Adagrad{0.1, 0, 0, 0, 1e-10, false}, losskit::Adagrad{0.05, 0.01, 0.1, 0.5, 1e-8, true}}) {
      const Trajectory<T> tr = make_trajectory<T>(n, kSteps, n + 4);
      // The caller fills the state as the layout says: sum starts at initial_accumulator_value.
      std::vector<T> p = tr.param, sum(n, T(o.state_layout().fill));
      std::vector<Real> rp(p.begin(), p.end()), rsum(n, Real(T(o.initial_accumulator_value)));
      for (int s = 0; s < kSteps; ++s) {
        const std::int64_t t = s + 1;
        losskit::State<T> state;
        state[StateName::sum] = sum.data();
        losskit::step(o, t, p.data(), tr.grads[s].data(), state, n);
        const Real clr = Real(o.lr) / (1 + Real(t - 1) * Real(o.lr_decay));
        for (std::size_t i = 0; i < n; ++i) {
          Real g = o.maximize ? -Real(tr.grads[s][i]) : Real(tr.grads[s][i]);
          g += Real(o.weight_decay) * rp[i];
          rsum[i] += g * g;
          rp[i] -= clr * g / (std::sqrt(rsum[i]) + Real(o.eps));
        }
      }
      const std::string where = std::string("adagrad ") + losskit_test::dtype_name<T>() +
                                " lr_decay=" + losskit_test::show(o.lr_decay) + " n=" + std::to_string(n);
      check_params(p, rp, where);
      check_params(sum, rsum, where + " sum");
    }
  }
}

LOSSKIT_TEST(update_rules_match_their_formulas) {
  losskit_test::for_each_isa([](losskit::Isa) {
    check_sgd<float>();
    check_sgd<double>();
    check_adam<float>();
    check_adam<double>();
    check_rmsprop<float>();
    check_rmsprop<double>();
    check_adagrad<float>();
    check_adagrad<double>();
  });
}

// Single steps worked out by hand: SGD p = 1 - 0.5 * (2 + 0.1 * 1) = -0.05.
LOSSKIT_TEST(steps_by_hand) {
  double p = 1.0, g = 2.0;
  losskit::Sgd o;
  o.lr = 0.5;
  o.weight_decay = 0.1;
  losskit::step(o, 1, &p, &g, losskit::State<double>{}, 1);
  CHECK_CLOSE(p, -0.05, 1e-15, 0, "sgd");
  // Adam's first step moves every element by lr (times sign(g)) when eps is negligible.
  double q[3] = {0, 0, 0}, gq[3] = {3.0, -0.25, 1e-3}, m[3] = {}, v[3] = {};
  losskit::Adam a;
  a.lr = 0.1;
  a.eps = 0;
  losskit::State<double> state;
  state[StateName::exp_avg] = m;
  state[StateName::exp_avg_sq] = v;
  losskit::step(a, 1, q, gq, state, 3);
  CHECK_CLOSE(q[0], -0.1, 1e-15, 0, "adam");
  CHECK_CLOSE(q[1], 0.1, 1e-15, 0, "adam");
  CHECK_CLOSE(q[2], -0.1, 1e-15, 0, "adam");
  // The gradient may be the parameter array itself: p - lr * p.
  float r[5] = {1, -2, 3, -4, 5};
  losskit::Sgd half;
  half.lr = 0.5;
  losskit::step(half, 1, r, r, losskit::State<float>{}, 5);
  for (int i = 0; i < 5; ++i) CHECK_CLOSE(r[i], 0.5 * (i % 2 ? -(i + 1) : i + 1), 0, 0, "grad = param");
}

// Which state each rule keeps, by PyTorch's names, and how it starts.
LOSSKIT_TEST(state_layouts) {
  using losskit::state_bit;
  CHECK(std::string(losskit::state_name(StateName::max_exp_avg_sq)) == "max_exp_avg_sq");
  CHECK(losskit::Sgd{}.state_layout().used == 0);
  losskit::Sgd sgd;
  sgd.momentum = 0.9;
  CHECK(sgd.state_layout().used == state_bit(StateName::momentum_buffer));
  CHECK(sgd.state_layout().from_first_grad == state_bit(StateName::momentum_buffer));
  CHECK(!sgd.state_layout().counts_steps);
  losskit::Adam adam;
  adam.amsgrad = true;
  CHECK(adam.state_layout().used == (state_bit(StateName::exp_avg) | state_bit(StateName::exp_avg_sq) |
                                     state_bit(StateName::max_exp_avg_sq)));
  CHECK(adam.state_layout().counts_steps && adam.state_layout().fill == 0);
  losskit::Rmsprop rms;
  rms.centered = true;
  CHECK(rms.state_layout().used == (state_bit(StateName::square_avg) | state_bit(StateName::grad_avg)));
  losskit::Adagrad ada;
  ada.initial_accumulator_value = 0.25;
  CHECK(ada.state_layout().used == state_bit(StateName::sum) && ada.state_layout().fill == 0.25);
}

template <class T> void check_norms_and_clipping() {
  const std::size_t sizes[] = {5, 0, 100003};  // an empty array among them
  Lcg rng(99);
  std::vector<std::vector<T>> arrays;
  for (std::size_t n : sizes) {
    std::vector<T> a;
    for (std::size_t i = 0; i < n; ++i) a.push_back(T(rng.uniform(-3, 3)));
    arrays.push_back(a);
  }
  // Squares are rounded to T (as torch squares them), then summed (in float64 by losskit).
  Real l1 = 0, l2 = 0, linf = 0;
  for (const auto& a : arrays)
    for (T v : a) {
      l1 += std::fabs(Real(v));
      l2 += Real(T(v * v));
      linf = std::fmax(linf, std::fabs(Real(v)));
    }
  l2 = std::sqrt(l2);
  std::vector<const T*> ptrs;
  std::vector<std::size_t> lens;
  for (const auto& a : arrays) {
    ptrs.push_back(a.data());
    lens.push_back(a.size());
  }
  const std::string dtype = losskit_test::dtype_name<T>();
  CHECK_CLOSE(losskit::total_norm(losskit::NormType::l1, ptrs.data(), lens.data(), 3), double(l1), 1e-13, 0, dtype);
  CHECK_CLOSE(losskit::total_norm(losskit::NormType::l2, ptrs.data(), lens.data(), 3), double(l2), 1e-13, 0, dtype);
  CHECK(losskit::total_norm(losskit::NormType::inf, ptrs.data(), lens.data(), 3) == double(linf));
  CHECK(losskit::total_norm(losskit::NormType::l2, ptrs.data(), lens.data(), 0) == 0);

  for (losskit::NormType type : {losskit::NormType::l1, losskit::NormType::l2, losskit::NormType::inf}) {
    const Real norm = type == losskit::NormType::l1 ? l1 : (type == losskit::NormType::l2 ? l2 : linf);
    for (double max_norm : {double(norm) * 0.25, double(norm) * 4}) {
      std::vector<std::vector<T>> clipped = arrays;
      std::vector<T*> mut;
      for (auto& a : clipped) mut.push_back(a.data());
      const double got = losskit::clip_grad_norm(mut.data(), lens.data(), 3, max_norm, type, false);
      CHECK_CLOSE(got, double(norm), 1e-13, 0, dtype + " clip_grad_norm's norm");
      // torch: coefficient = min(1, max_norm / (norm + 1e-6)), in the gradients' dtype
      const Real coef = std::fmin(Real(1), Real(max_norm) / (norm + Real(1e-6)));
      for (std::size_t k = 0; k < 3; ++k)
        for (std::size_t i = 0; i < lens[k]; ++i)
          CHECK_CLOSE(clipped[k][i], double(coef * arrays[k][i]), kTolerance<T>.rtol, 0, dtype + " clipped");
    }
  }

  // error_if_nonfinite: throws before touching any array; without it NaN spreads.
  std::vector<std::vector<T>> with_nan = arrays;
  with_nan[2][777] = std::numeric_limits<T>::quiet_NaN();
  std::vector<T*> mut;
  for (auto& a : with_nan) mut.push_back(a.data());
  CHECK_THROWS(losskit::clip_grad_norm(mut.data(), lens.data(), 3, 1.0, losskit::NormType::l2, true),
               std::runtime_error);
  CHECK(with_nan[0][0] == arrays[0][0]);
  with_nan[2][777] = std::numeric_limits<T>::infinity();
  CHECK_THROWS(losskit::clip_grad_norm(mut.data(), lens.data(), 3, 1.0, losskit::NormType::inf, true),
               std::runtime_error);
  with_nan[2][777] = std::numeric_limits<T>::quiet_NaN();
  CHECK(std::isnan(losskit::clip_grad_norm(mut.data(), lens.data(), 3, 1.0, losskit::NormType::inf, false)));
  CHECK(std::isnan(with_nan[0][0]));

  std::vector<T> v = {T(-3), T(0.5), std::numeric_limits<T>::quiet_NaN(), T(2), -std::numeric_limits<T>::infinity()};
  losskit::clip_grad_value(v.data(), v.size(), 1.0);
  CHECK(v[0] == T(-1) && v[1] == T(0.5) && std::isnan(v[2]) && v[3] == T(1) && v[4] == T(-1));
  losskit::scale(v.data(), 2, 3.0);
  CHECK(v[0] == T(-3) && v[1] == T(1.5));
}

LOSSKIT_TEST(norms_and_clipping) {
  losskit_test::for_each_isa([](losskit::Isa) {
    check_norms_and_clipping<float>();
    check_norms_and_clipping<double>();
  });
}

template <class T> void check_penalties() {
  const std::size_t n = 70003;
  Lcg rng(5);
  std::vector<T> w(n);
  for (auto& v : w) v = T(rng.uniform(-2, 2));
  w[3] = T(0);
  for (const losskit::PenaltyCoefficients& c :
       {losskit::PenaltyCoefficients{0.3, 0}, losskit::PenaltyCoefficients{0, 0.7},
        losskit::PenaltyCoefficients{0.2, 0.5}}) {
    Real abs_sum = 0, sq_sum = 0;
    for (T v : w) {
      abs_sum += std::fabs(Real(v));
      sq_sum += Real(T(v * v));  // squares in T, sums in float64
    }
    std::vector<T> g(n);
    const double value = losskit::penalty_value_and_grad(c, w.data(), g.data(), n, true);
    const std::string where = std::string("penalty ") + losskit_test::dtype_name<T>() + " l1=" +
                              losskit_test::show(c.l1) + " l2=" + losskit_test::show(c.l2);
    CHECK_CLOSE(value, double(Real(c.l1) * abs_sum + Real(c.l2) / 2 * sq_sum), 1e-12, 0, where);
    std::vector<T> g_only(n);
    CHECK(losskit::penalty_value_and_grad(c, w.data(), g_only.data(), n, false) == 0);
    CHECK(losskit_test::same_bytes(g, g_only));
    for (std::size_t i = 0; i < n; ++i) {
      const Real sgn = w[i] > 0 ? 1 : (w[i] < 0 ? -1 : 0);
      CHECK_CLOSE(g[i], double(Real(T(c.l1)) * sgn + Real(T(c.l2)) * w[i]), kTolerance<T>.rtol,
                  kTolerance<T>.atol, where + " grad");
    }
    const double step = 0.4;
    std::vector<T> prox = w;
    losskit::penalty_prox(c, step, prox.data(), n);
    for (std::size_t i = 0; i < n; ++i) {
      const Real a = std::fmax(Real(0), std::fabs(Real(w[i])) - step * c.l1) / (1 + step * c.l2);
      CHECK_CLOSE(prox[i], double(w[i] < 0 ? -a : a), kTolerance<T>.rtol, kTolerance<T>.atol, where + " prox");
    }
  }
}

LOSSKIT_TEST(penalties) {
  losskit_test::for_each_isa([](losskit::Isa) {
    check_penalties<float>();
    check_penalties<double>();
  });
}

}  // namespace
