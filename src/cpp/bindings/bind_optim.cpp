// Update rules, clipping, penalties, gather and the sampler's generator.
//
// losskit/optim.py and losskit/_utils.py validate every argument (with messages naming it)
// before calling these; here the arrays are only re-checked cheaply (canonical, same dtype and
// size, writeable where written) so that a wrong call can never touch memory it should not.
#include <cstdint>
#include <stdexcept>
#include <string>
#include <vector>

#include "bindings.hpp"
#include "losskit/losskit.hpp"

namespace losskit::bindings {

namespace {

// The dtype shared by `param` and every non-None array in `others` (same size, canonical,
// writeable when `written`); throws std::invalid_argument otherwise.
Dtype common_dtype(const char* what, py::handle param, std::initializer_list<py::handle> others,
                   std::initializer_list<py::handle> written) {
  const Dtype t = canonical_dtype(param);
  bool ok = t != Dtype::other && writeable(param);
  const std::size_t n = ok ? size_of(param) : 0;
  for (py::handle h : others)
    ok = ok && (h.is_none() || (canonical_dtype(h) == t && size_of(h) == n));
  for (py::handle h : written) ok = ok && (h.is_none() || writeable(h));
  if (!ok)
    throw std::invalid_argument(std::string(what) +
                                ": arrays must be C-contiguous float32/float64 of one dtype and "
                                "size, the written ones writeable (use losskit.optim)");
  return t;
}

template <class T> T* ptr(py::handle h) { return h.is_none() ? nullptr : data<T>(h); }

NormType norm_from_code(int code) {
  switch (code) {
    case 1: return NormType::l1;
    case 2: return NormType::l2;
    case 3: return NormType::inf;
  }
  throw std::invalid_argument("norm code must be 1 (l1), 2 (l2) or 3 (inf)");
}

// A list of same-dtype canonical arrays as pointers + sizes.
template <class T> struct ArrayList {
  std::vector<T*> ptrs;
  std::vector<std::size_t> sizes;
  std::size_t total = 0;
};
Dtype list_dtype(const py::list& arrays, bool need_writeable) {
  Dtype t = Dtype::other;
  for (std::size_t k = 0; k < arrays.size(); ++k) {
    const py::handle h = arrays[k];
    const Dtype d = canonical_dtype(h);
    if (d == Dtype::other || (k > 0 && d != t) || (need_writeable && !writeable(h)))
      throw std::invalid_argument("arrays must be C-contiguous float32/float64 of one dtype");
    t = d;
  }
  return t;
}
template <class T> ArrayList<T> array_list(const py::list& arrays) {
  ArrayList<T> out;
  for (py::handle h : arrays) {
    out.ptrs.push_back(data<T>(h));
    out.sizes.push_back(size_of(h));
    out.total += size_of(h);
  }
  return out;
}

}  // namespace

void bind_optim(py::module_& m) {
  m.def("_sgd_step",
        [](py::handle param, py::handle grad, py::handle buf, bool is_new, double lr,
           double momentum, double dampening, double weight_decay, bool nesterov, bool maximize) {
          const SgdOptions o{lr, momentum, dampening, weight_decay, nesterov, maximize};
          if (momentum != 0 && buf.is_none()) throw std::invalid_argument("momentum_buffer missing");
          const Dtype t = common_dtype("sgd", param, {grad, buf}, {buf});
          const std::size_t n = size_of(param);
          if (t == Dtype::f32)
            run_kernel(n, [&] { sgd_step(o, data<float>(param), data<float>(grad), ptr<float>(buf), is_new, n); });
          else
            run_kernel(n, [&] { sgd_step(o, data<double>(param), data<double>(grad), ptr<double>(buf), is_new, n); });
        },
        py::arg("param"), py::arg("grad"), py::arg("momentum_buffer"), py::arg("is_new"),
        py::arg("lr"), py::arg("momentum"), py::arg("dampening"), py::arg("weight_decay"),
        py::arg("nesterov"), py::arg("maximize"), "One SGD step on one parameter array.");

  m.def("_adam_step",
        [](py::handle param, py::handle grad, py::handle exp_avg, py::handle exp_avg_sq,
           py::handle max_exp_avg_sq, std::int64_t step, double lr, double beta1, double beta2,
           double eps, double weight_decay, bool amsgrad, bool maximize, bool decoupled) {
          const AdamOptions o{lr, beta1, beta2, eps, weight_decay, amsgrad, maximize, decoupled};
          if (amsgrad && max_exp_avg_sq.is_none()) throw std::invalid_argument("max_exp_avg_sq missing");
          if (exp_avg.is_none() || exp_avg_sq.is_none()) throw std::invalid_argument("state missing");
          const Dtype t = common_dtype("adam", param, {grad, exp_avg, exp_avg_sq, max_exp_avg_sq},
                                       {exp_avg, exp_avg_sq, max_exp_avg_sq});
          const std::size_t n = size_of(param);
          if (t == Dtype::f32)
            run_kernel(n, [&] {
              adam_step(o, step, data<float>(param), data<float>(grad), data<float>(exp_avg),
                        data<float>(exp_avg_sq), ptr<float>(max_exp_avg_sq), n);
            });
          else
            run_kernel(n, [&] {
              adam_step(o, step, data<double>(param), data<double>(grad), data<double>(exp_avg),
                        data<double>(exp_avg_sq), ptr<double>(max_exp_avg_sq), n);
            });
        },
        py::arg("param"), py::arg("grad"), py::arg("exp_avg"), py::arg("exp_avg_sq"),
        py::arg("max_exp_avg_sq"), py::arg("step"), py::arg("lr"), py::arg("beta1"),
        py::arg("beta2"), py::arg("eps"), py::arg("weight_decay"), py::arg("amsgrad"),
        py::arg("maximize"), py::arg("decoupled"), "One Adam/AdamW step on one parameter array.");

  m.def("_rmsprop_step",
        [](py::handle param, py::handle grad, py::handle square_avg, py::handle grad_avg,
           py::handle buf, double lr, double alpha, double eps, double weight_decay,
           double momentum, bool centered, bool maximize) {
          const RmspropOptions o{lr, alpha, eps, weight_decay, momentum, centered, maximize};
          if (square_avg.is_none() || (centered && grad_avg.is_none()) ||
              (momentum > 0 && buf.is_none()))
            throw std::invalid_argument("state missing");
          const Dtype t = common_dtype("rmsprop", param, {grad, square_avg, grad_avg, buf},
                                       {square_avg, grad_avg, buf});
          const std::size_t n = size_of(param);
          if (t == Dtype::f32)
            run_kernel(n, [&] {
              rmsprop_step(o, data<float>(param), data<float>(grad), data<float>(square_avg),
                           ptr<float>(grad_avg), ptr<float>(buf), n);
            });
          else
            run_kernel(n, [&] {
              rmsprop_step(o, data<double>(param), data<double>(grad), data<double>(square_avg),
                           ptr<double>(grad_avg), ptr<double>(buf), n);
            });
        },
        py::arg("param"), py::arg("grad"), py::arg("square_avg"), py::arg("grad_avg"),
        py::arg("momentum_buffer"), py::arg("lr"), py::arg("alpha"), py::arg("eps"),
        py::arg("weight_decay"), py::arg("momentum"), py::arg("centered"), py::arg("maximize"),
        "One RMSprop step on one parameter array.");

  m.def("_adagrad_step",
        [](py::handle param, py::handle grad, py::handle sum, std::int64_t step, double lr,
           double lr_decay, double weight_decay, double eps, bool maximize) {
          const AdagradOptions o{lr, lr_decay, weight_decay, eps, maximize};
          if (sum.is_none()) throw std::invalid_argument("state missing");
          const Dtype t = common_dtype("adagrad", param, {grad, sum}, {sum});
          const std::size_t n = size_of(param);
          if (t == Dtype::f32)
            run_kernel(n, [&] { adagrad_step(o, step, data<float>(param), data<float>(grad), data<float>(sum), n); });
          else
            run_kernel(n, [&] { adagrad_step(o, step, data<double>(param), data<double>(grad), data<double>(sum), n); });
        },
        py::arg("param"), py::arg("grad"), py::arg("sum"), py::arg("step"), py::arg("lr"),
        py::arg("lr_decay"), py::arg("weight_decay"), py::arg("eps"), py::arg("maximize"),
        "One Adagrad step on one parameter array.");

  m.def("_total_norm",
        [](const py::list& arrays, int code) {
          const NormType type = norm_from_code(code);
          if (arrays.size() == 0) return 0.0;
          double r = 0;
          if (list_dtype(arrays, false) == Dtype::f32) {
            const auto a = array_list<float>(arrays);
            run_kernel(a.total, [&] { r = total_norm(type, a.ptrs.data(), a.sizes.data(), a.ptrs.size()); });
          } else {
            const auto a = array_list<double>(arrays);
            run_kernel(a.total, [&] { r = total_norm(type, a.ptrs.data(), a.sizes.data(), a.ptrs.size()); });
          }
          return r;
        },
        py::arg("arrays"), py::arg("norm_code"),
        "The norm (code 1: l1, 2: l2, 3: inf) of all arrays together.");

  m.def("_clip_grad_norm",
        [](const py::list& arrays, double max_norm, int code, bool error_if_nonfinite) {
          const NormType type = norm_from_code(code);
          if (arrays.size() == 0) return 0.0;
          double r = 0;
          if (list_dtype(arrays, true) == Dtype::f32) {
            const auto a = array_list<float>(arrays);
            run_kernel(a.total, [&] {
              r = clip_grad_norm(a.ptrs.data(), a.sizes.data(), a.ptrs.size(), max_norm, type,
                                 error_if_nonfinite);
            });
          } else {
            const auto a = array_list<double>(arrays);
            run_kernel(a.total, [&] {
              r = clip_grad_norm(a.ptrs.data(), a.sizes.data(), a.ptrs.size(), max_norm, type,
                                 error_if_nonfinite);
            });
          }
          return r;
        },
        py::arg("arrays"), py::arg("max_norm"), py::arg("norm_code"),
        py::arg("error_if_nonfinite"), "torch.nn.utils.clip_grad_norm_ in place; the total norm.");

  m.def("_clip_grad_value",
        [](const py::list& arrays, double clip_value) {
          if (arrays.size() == 0) return;
          if (list_dtype(arrays, true) == Dtype::f32) {
            const auto a = array_list<float>(arrays);
            run_kernel(a.total, [&] {
              for (std::size_t k = 0; k < a.ptrs.size(); ++k) clip_grad_value(a.ptrs[k], a.sizes[k], clip_value);
            });
          } else {
            const auto a = array_list<double>(arrays);
            run_kernel(a.total, [&] {
              for (std::size_t k = 0; k < a.ptrs.size(); ++k) clip_grad_value(a.ptrs[k], a.sizes[k], clip_value);
            });
          }
        },
        py::arg("arrays"), py::arg("clip_value"), "clamp every array to [-clip_value, clip_value].");

  m.def("_penalty",
        [](py::handle w, py::handle grad, double l1, double l2, bool want_value) {
          const Dtype t = canonical_dtype(w);
          if (t == Dtype::other || (!grad.is_none() && (canonical_dtype(grad) != t ||
                                                        size_of(grad) != size_of(w) || !writeable(grad))))
            throw std::invalid_argument("penalty: w and grad must be canonical arrays of one dtype");
          const PenaltyCoefficients c{l1, l2};
          const std::size_t n = size_of(w);
          double r = 0;
          if (t == Dtype::f32)
            run_kernel(n, [&] { r = penalty_value_and_grad(c, data<float>(w), ptr<float>(grad), n, want_value); });
          else
            run_kernel(n, [&] { r = penalty_value_and_grad(c, data<double>(w), ptr<double>(grad), n, want_value); });
          return r;
        },
        py::arg("w"), py::arg("grad"), py::arg("l1"), py::arg("l2"), py::arg("want_value"),
        "l1*||w||_1 + l2/2*||w||^2 and/or its (sub)gradient into grad.");

  m.def("_penalty_prox",
        [](py::handle w, double l1, double l2, double step) {
          const Dtype t = canonical_dtype(w);
          if (t == Dtype::other || !writeable(w))
            throw std::invalid_argument("prox: w must be a writeable canonical array");
          const PenaltyCoefficients c{l1, l2};
          const std::size_t n = size_of(w);
          if (t == Dtype::f32) run_kernel(n, [&] { penalty_prox(c, step, data<float>(w), n); });
          else run_kernel(n, [&] { penalty_prox(c, step, data<double>(w), n); });
        },
        py::arg("w"), py::arg("l1"), py::arg("l2"), py::arg("step"),
        "The proximal operator of step * penalty, in place.");

  m.def("_gather",
        [](const py::array& X, const py::array& indices, py::array out) -> std::int64_t {
          constexpr int kC = py::array::c_style;
          constexpr int kAligned = py::detail::npy_api::NPY_ARRAY_ALIGNED_;  // int64 reads
          // Equivalent dtypes, not identical objects (memmaps and unpickled arrays hold equal
          // but distinct dtype objects).
          const auto& api = py::detail::npy_api::get();
          auto same = [&](const py::dtype& a, const py::dtype& b) {
            return api.PyArray_EquivTypes_(a.ptr(), b.ptr());
          };
          if (!(X.flags() & kC) || !(out.flags() & kC) || !(indices.flags() & kC) ||
              !(indices.flags() & kAligned) ||
              !out.writeable() || !same(indices.dtype(), py::dtype::of<std::int64_t>()) ||
              !same(X.dtype(), out.dtype()) || X.ndim() < 1)
            throw std::invalid_argument("gather: arguments are not canonical (use losskit.gather)");
          const std::size_t rows = std::size_t(X.shape(0));
          const std::size_t row_bytes = rows ? std::size_t(X.nbytes()) / rows : 0;
          const std::size_t count = std::size_t(indices.size());
          if (std::size_t(out.nbytes()) != count * row_bytes)
            throw std::invalid_argument("gather: out has the wrong size");
          std::size_t bad = 0;
          const void* x = X.data();
          const auto* idx = static_cast<const std::int64_t*>(indices.data());
          void* o = out.mutable_data();
          run_kernel(count * row_bytes / 4, [&] { bad = gather_rows(x, rows, row_bytes, idx, count, o); });
          return bad == count ? -1 : std::int64_t(bad);
        },
        py::arg("X"), py::arg("indices"), py::arg("out"),
        "out[i] = X[indices[i]]; the position of the first bad index, or -1.");

  m.def("_random_permutation",
        [](std::uint64_t seed, std::uint64_t stream, std::size_t n) {
          py::array_t<std::int64_t> out(static_cast<py::ssize_t>(n));
          std::int64_t* p = out.mutable_data();
          run_kernel(n, [&] { random_permutation(seed, stream, p, n); });
          return out;
        },
        py::arg("seed"), py::arg("stream"), py::arg("n"),
        "A random permutation of range(n) (Fisher-Yates, SplitMix64 stream).");
  m.def("_random_indices",
        [](std::uint64_t seed, std::uint64_t stream, std::uint64_t range, std::size_t count) {
          py::array_t<std::int64_t> out(static_cast<py::ssize_t>(count));
          std::int64_t* p = out.mutable_data();
          run_kernel(count, [&] { random_indices(seed, stream, range, p, count); });
          return out;
        },
        py::arg("seed"), py::arg("stream"), py::arg("range"), py::arg("count"),
        "count uniform integers in [0, range) (with replacement).");
  m.def("_random_u64", &random_u64, py::arg("key"), py::arg("counter"),
        "SplitMix64 output number counter + 1 of the generator seeded with key.");
  m.def("_stream_key", &stream_key, py::arg("seed"), py::arg("stream"));
}

}  // namespace losskit::bindings
