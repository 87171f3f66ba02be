// Update rules, clipping, penalties, gather and the sampler's generator.
//
// One generic binding serves every update rule (bind_rule): a Python class per rule holding its
// hyperparameters, whose step() checks every array, step count and overlap of a whole
// optimizer step before it writes anything, so a failed step changes nothing.
// losskit/_utils.py validates the other functions' arguments (with messages naming them);
// here their arrays are only re-checked cheaply (layout, dtype, size, writeable where written)
// so that a wrong call can never touch memory it should not.
#include <algorithm>
#include <cstdint>
#include <cstring>
#include <limits>
#include <stdexcept>
#include <string>
#include <vector>

#include "bindings.hpp"
#include "losskit/losskit.hpp"

namespace losskit::bindings {

namespace {

// The optimizer and clipping update the user's own arrays, whatever their ndarray class.
Dtype inplace_dtype(py::handle h) { return canonical_dtype(h, Subclasses::accept); }
std::size_t itemsize(Dtype t) { return t == Dtype::f32 ? sizeof(float) : sizeof(double); }
std::uintptr_t address(py::handle array) { return reinterpret_cast<std::uintptr_t>(data<char>(array)); }

// The state names as interned Python strings (dict keys looked up on every step).
PyObject* state_key(int k) {
  static PyObject* const* keys = [] {
    static PyObject* table[kNumStateNames + 1];
    for (int i = 0; i < kNumStateNames; ++i)
      table[i] = PyUnicode_InternFromString(state_name(StateName(i)));
    table[kNumStateNames] = PyUnicode_InternFromString("step");
    return table;
  }();
  return keys[k];
}
constexpr int kStepKey = kNumStateNames;

// What a bad state entry is, for its error message.
std::string describe(py::handle h) {
  if (!PyObject_TypeCheck(h.ptr(), reinterpret_cast<PyTypeObject*>(
                                       py::detail::npy_api::get().PyArray_Type_)))
    return Py_TYPE(h.ptr())->tp_name;
  const py::array a = py::reinterpret_borrow<py::array>(h);
  return "an array of shape " + std::string(py::str(h.attr("shape"))) + ", dtype " +
         std::string(py::str(h.attr("dtype"))) +
         (a.writeable() ? "" : ", read-only") +
         (a.flags() & py::array::c_style ? "" : ", not C-contiguous");
}

// "params[3]", "state[3]['exp_avg']", ...: built only for error messages.
std::string param_label(std::size_t i) { return "params[" + std::to_string(i) + "]"; }
std::string state_label(std::size_t i, int k) {
  const char* key = k == kStepKey ? "step" : state_name(StateName(k));
  return "state[" + std::to_string(i) + "]['" + key + "']";
}

// One parameter's part of a step, gathered and checked before anything is written.
struct ParamWork {
  Dtype dtype = Dtype::other;
  std::size_t n = 0;
  py::handle param, grad;
  py::handle state[kNumStateNames];  // the arrays used (existing or created)
  py::object created[kNumStateNames];
  unsigned fresh = 0;
  std::int64_t t = 0;  // the new value of state "step"
  std::vector<double> grad_copy;  // when grad overlaps an array the step writes
};

// A byte range the step writes, with what it is (k < 0: the parameter, else state name k).
// Addresses as integers: ranges of unrelated arrays are compared.
struct Written {
  std::uintptr_t begin;
  std::uintptr_t end;
  std::size_t i;
  int k;
  std::string label() const { return k < 0 ? param_label(i) : state_label(i, k); }
};

// Creates state entry k of w's parameter (stored in the dict only when the step succeeds).
void create_state(ParamWork& w, int k, const StateLayout& layout) {
  py::array a(w.dtype == Dtype::f32 ? py::dtype::of<float>() : py::dtype::of<double>(),
              std::vector<py::ssize_t>(dims(w.param), dims(w.param) + ndim(w.param)));
  if (layout.from_first_grad & state_bit(StateName(k))) w.fresh |= state_bit(StateName(k));
  else if (w.dtype == Dtype::f32) std::fill_n(data<float>(a), w.n, float(layout.fill));
  else std::fill_n(data<double>(a), w.n, layout.fill);
  w.state[k] = a;
  w.created[k] = std::move(a);
}

// state[i]["step"] as an int in [0, 2**63 - 1), 0 when absent.
std::int64_t steps_taken(PyObject* st, std::size_t i) {
  PyObject* s = PyDict_GetItemWithError(st, state_key(kStepKey));
  if (!s) {
    if (PyErr_Occurred()) throw py::error_already_set();
    return 0;
  }
  if (PyBool_Check(s) || !PyIndex_Check(s))
    throw py::type_error(state_label(i, kStepKey) + " must be an integer, got " +
                         std::string(py::repr(s)));
  const py::object index = py::reinterpret_steal<py::object>(PyNumber_Index(s));
  if (!index) throw py::error_already_set();
  int overflow = 0;
  const long long v = PyLong_AsLongLongAndOverflow(index.ptr(), &overflow);
  if (v == -1 && PyErr_Occurred()) throw py::error_already_set();
  if (overflow || v < 0 || v == std::numeric_limits<long long>::max())
    throw py::value_error(state_label(i, kStepKey) +
                          " must be a non-negative integer below 2**63 - 1, got " +
                          std::string(py::repr(s)));
  return v;
}

// One step of `hyper` (with learning rate lr) on every parameter. Everything is checked
// first (arrays, steps, overlaps), then every parameter is updated, then new state entries
// and steps are stored: a failing call changes nothing.
template <class Rule>
void step_all(const Rule& hyper, double lr, const py::list& params, const py::list& grads,
              const py::list& states) {
  Rule rule = hyper;
  rule.lr = lr;
  const StateLayout layout = rule.state_layout();
  const std::size_t count = params.size();
  if (grads.size() != count || states.size() != count)
    throw py::value_error("grads and state must hold one entry per parameter: expected " +
                          std::to_string(count) + ", got " + std::to_string(grads.size()) +
                          " and " + std::to_string(states.size()));
  std::vector<ParamWork> work(count);
  std::vector<Written> written;
  std::size_t total = 0;
  for (std::size_t i = 0; i < count; ++i) {
    ParamWork& w = work[i];
    w.param = PyList_GET_ITEM(params.ptr(), py::ssize_t(i));
    w.dtype = inplace_dtype(w.param);
    if (w.dtype == Dtype::other || !writeable(w.param))
      throw py::value_error(param_label(i) + " must be a writable C-contiguous float32/float64 "
                            "array of native byte order");
    w.n = size_of(w.param);
    total += w.n;
    const std::size_t bytes = w.n * itemsize(w.dtype);
    written.push_back({address(w.param), address(w.param) + bytes, i, -1});
    w.grad = PyList_GET_ITEM(grads.ptr(), py::ssize_t(i));
    if (inplace_dtype(w.grad) != w.dtype || !same_shape(w.grad, w.param))
      throw py::value_error("grads[" + std::to_string(i) + "] must be a C-contiguous array of "
                            "the shape and dtype of " + param_label(i));
    PyObject* st = PyList_GET_ITEM(states.ptr(), py::ssize_t(i));
    if (!PyDict_Check(st))
      throw py::type_error("state[" + std::to_string(i) + "] must be a dict, got " +
                           std::string(Py_TYPE(st)->tp_name));
    for (int k = 0; k < kNumStateNames; ++k) {
      if (!layout.has(StateName(k))) continue;
      PyObject* a = PyDict_GetItemWithError(st, state_key(k));
      if (!a && PyErr_Occurred()) throw py::error_already_set();
      if (!a || a == Py_None) {
        create_state(w, k, layout);
        continue;
      }
      if (inplace_dtype(a) != w.dtype || !same_shape(a, w.param) || !writeable(a))
        throw py::value_error(state_label(i, k) + " must be a writable C-contiguous array of "
                              "the shape and dtype of " + param_label(i) + ", got " +
                              describe(a));
      w.state[k] = a;
      written.push_back({address(a), address(a) + bytes, i, k});
    }
    if (layout.counts_steps) w.t = steps_taken(st, i) + 1;
  }
  // Every written byte belongs to one array: the kernels read and write each element once,
  // so two written arrays over the same memory would give wrong numbers.
  std::sort(written.begin(), written.end(),
            [](const Written& a, const Written& b) { return a.begin < b.begin; });
  const Written* reach = nullptr;  // the range that extends furthest so far
  for (const Written& r : written) {
    if (r.begin == r.end) continue;
    if (reach && r.begin < reach->end)
      throw py::value_error(r.label() + " shares memory with " + reach->label() +
                            "; parameters and state arrays must not overlap");
    reach = &r;
  }
  // A gradient may share memory with what the step writes (even be the parameter itself):
  // it is read from a copy then, which gives what a fresh gradient array would give.
  for (ParamWork& w : work) {
    const std::size_t bytes = w.n * itemsize(w.dtype);
    const std::uintptr_t g = address(w.grad);
    const auto after = std::upper_bound(  // the first written range ending after g
        written.begin(), written.end(), g,
        [](std::uintptr_t p, const Written& r) { return p < r.end; });
    if (bytes && after != written.end() && after->begin < g + bytes) {
      w.grad_copy.resize((bytes + sizeof(double) - 1) / sizeof(double));
      std::memcpy(w.grad_copy.data(), data<char>(w.grad), bytes);
    }
  }
  run_kernel(total, [&] {
    for (const ParamWork& w : work) {
      const void* grad = w.grad_copy.empty() ? static_cast<const void*>(data<char>(w.grad))
                                              : w.grad_copy.data();
      State<float> s32;
      State<double> s64;
      for (int k = 0; k < kNumStateNames; ++k)
        if (w.state[k]) {
          s32.arrays[k] = data<float>(w.state[k]);
          s64.arrays[k] = data<double>(w.state[k]);
        }
      s32.fresh = s64.fresh = w.fresh;
      if (w.dtype == Dtype::f32)
        step(rule, w.t, data<float>(w.param), static_cast<const float*>(grad), s32, w.n);
      else
        step(rule, w.t, data<double>(w.param), static_cast<const double*>(grad), s64, w.n);
    }
  });
  for (std::size_t i = 0; i < count; ++i) {
    PyObject* st = PyList_GET_ITEM(states.ptr(), py::ssize_t(i));
    for (int k = 0; k < kNumStateNames; ++k)
      if (work[i].created[k] && PyDict_SetItem(st, state_key(k), work[i].created[k].ptr()) != 0)
        throw py::error_already_set();
    if (layout.counts_steps) {
      const py::int_ t(work[i].t);
      if (PyDict_SetItem(st, state_key(kStepKey), t.ptr()) != 0) throw py::error_already_set();
    }
  }
}

// The Python class of one update rule: its hyperparameters as attributes and constructor
// keywords, the state names it uses, and step().
template <class Rule> void bind_rule(py::module_& m, const char* name, const char* doc) {
  py::class_<Rule> cls(m, name, doc);
  // From keywords (the constructor) and from the dict of every field (pickling).
  auto from_dict = [name = std::string(name)](const py::dict& fields) {
    Rule rule;
    for (const auto& item : fields) {
      const std::string key = py::str(item.first);
      bool known = false;
      for_each_hyperparameter(static_cast<Rule*>(nullptr), [&](const char* field, auto member) {
        if (key != field) return;
        known = true;
        rule.*member = item.second.template cast<std::remove_reference_t<decltype(rule.*member)>>();
      });
      if (!known) throw py::type_error(name + " has no hyperparameter '" + key + "'");
    }
    check(rule);  // the domains, in C++ for every front end (std::invalid_argument: ValueError)
    return rule;
  };
  cls.def(py::init([from_dict](const py::kwargs& kwargs) { return from_dict(kwargs); }));
  cls.def(py::pickle(
      [](const Rule& rule) {
        py::dict fields;
        for_each_hyperparameter(static_cast<Rule*>(nullptr),
                                [&](const char* field, auto member) { fields[field] = rule.*member; });
        return fields;
      },
      [from_dict](const py::dict& fields) { return from_dict(fields); }));
  for_each_hyperparameter(static_cast<Rule*>(nullptr),
                          [&](const char* field, auto member) { cls.def_readwrite(field, member); });
  cls.def_property_readonly("state_names", [](const Rule& rule) {
    py::list names;
    for (int k = 0; k < kNumStateNames; ++k)
      if (rule.state_layout().has(StateName(k))) names.append(state_name(StateName(k)));
    if (rule.state_layout().counts_steps) names.append("step");
    return py::tuple(names);
  }, "The per-parameter state entries a step reads and writes (PyTorch's names).");
  cls.def("step", &step_all<Rule>, py::arg("lr"), py::arg("params"), py::arg("grads"),
          py::arg("state"),
          "One step with learning rate lr on every parameter, in place: state[i] is the dict of "
          "params[i]'s state arrays (missing ones are created) and step count. Checks "
          "everything before writing anything.");
}

template <class T> T* ptr(py::handle h) { return h.is_none() ? nullptr : data<T>(h); }

// A list of same-dtype arrays (in-place capable, see inplace_dtype) as pointers + sizes.
template <class T> struct ArrayList {
  std::vector<T*> ptrs;
  std::vector<std::size_t> sizes;
  std::size_t total = 0;
};
Dtype list_dtype(const py::list& arrays, bool need_writeable) {
  Dtype t = Dtype::other;
  for (std::size_t k = 0; k < arrays.size(); ++k) {
    const py::handle h = arrays[k];
    const Dtype d = inplace_dtype(h);
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
  bind_rule<Sgd>(m, "Sgd", "torch.optim.SGD's update rule (losskit/optim.hpp).");
  bind_rule<Adam>(m, "Adam", "torch.optim.Adam's (and AdamW's) update rule.");
  bind_rule<Rmsprop>(m, "Rmsprop", "torch.optim.RMSprop's update rule.");
  bind_rule<Adagrad>(m, "Adagrad", "torch.optim.Adagrad's update rule.");

  py::tuple names(kNumStateNames);
  for (int k = 0; k < kNumStateNames; ++k) names[k] = state_name(StateName(k));
  m.attr("STATE_NAMES") = names;

  py::enum_<NormType>(m, "NormType", "The norms clip_grad_norm supports.")
      .value("l1", NormType::l1)
      .value("l2", NormType::l2)
      .value("inf", NormType::inf);

  m.def("_total_norm",
        [](const py::list& arrays, NormType type) {
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
        py::arg("arrays"), py::arg("norm_type"), "The norm of all arrays together.");

  m.def("_clip_grad_norm",
        [](const py::list& arrays, double max_norm, NormType type, bool error_if_nonfinite) {
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
        py::arg("arrays"), py::arg("max_norm"), py::arg("norm_type"),
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
