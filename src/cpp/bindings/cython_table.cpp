// The Cython module's array kernels over the C ABI: sizes, strides, pointers and the thread
// count are checked here, strided arrays are gathered into contiguous buffers (and outputs
// scattered back only after the call succeeded, so a failing call writes nothing), and every
// failure is a status code with this thread's message.
#include "cython_table.hpp"

#include <new>
#include <optional>
#include <stdexcept>
#include <string>
#include <vector>

#include "losskit/core.hpp"

namespace losskit::cython {
namespace {

thread_local std::string message;

template <class F> int guarded(F&& f) noexcept {
  try {
    return f();
  } catch (const std::invalid_argument& e) {
    message = e.what();
    return LOSSKIT_INVALID_ARGUMENT;
  } catch (const std::bad_alloc&) {
    message = "out of memory";
    return LOSSKIT_OUT_OF_MEMORY;
  } catch (const std::exception& e) {
    message = e.what();
    return LOSSKIT_INTERNAL_ERROR;
  } catch (...) {
    message = "unknown error";
    return LOSSKIT_INTERNAL_ERROR;
  }
}

// A C ABI status, its message kept as this module's.
int status(losskit_status s) {
  if (s != LOSSKIT_OK) message = losskit_last_error();
  return s;
}

[[noreturn]] void refuse(const std::string& what) { throw std::invalid_argument(what); }

void check_count(Index n, const char* name) {
  if (n < 0) refuse(std::string(name) + " must be >= 0, got " + std::to_string(n));
}
// Inputs may repeat one element (stride 0); outputs need distinct elements.
void check_stride(Index stride, const char* name, bool output) {
  if (stride < (output ? 1 : 0))
    refuse(std::string(name) + " must be >= " + (output ? "1" : "0") + ", got " +
           std::to_string(stride));
}
void check_pointer(const void* p, Index n, const char* name) {
  if (!p && n > 0) refuse(std::string(name) + " is null with " + std::to_string(n) + " elements");
}
// n_threads >= 1 for this call, 0 for losskit's setting (losskit.set_num_threads).
void check_threads(int n_threads) {
  if (n_threads < 0)
    refuse("n_threads must be >= 0 (0: losskit's setting), got " + std::to_string(n_threads));
}

// rows of `width` elements starting `stride` apart, as contiguous memory (p itself when they
// already are); null stays null.
template <class T> struct In {
  std::vector<T> copy;
  const T* data;
  In(const T* p, Index rows, Index stride, Index width = 1) : data(p) {
    if (!p || stride == width || rows == 0) return;
    copy.resize(std::size_t(rows) * std::size_t(width));
    for (Index r = 0; r < rows; ++r)
      for (Index j = 0; j < width; ++j) copy[std::size_t(r * width + j)] = p[r * stride + j];
    data = copy.data();
  }
};
// An output: written in place when contiguous, else into a buffer that commit() scatters.
template <class T> struct Out {
  T* target;
  Index rows, stride, width;
  std::vector<T> buffer;
  T* data;
  Out(T* p, Index rows_, Index stride_, Index width_ = 1)
      : target(p), rows(rows_), stride(stride_), width(width_), data(p) {
    if (!p || stride == width || rows == 0) return;
    buffer.resize(std::size_t(rows) * std::size_t(width));
    data = buffer.data();
  }
  void commit() const {
    if (buffer.empty()) return;
    for (Index r = 0; r < rows; ++r)
      for (Index j = 0; j < width; ++j) target[r * stride + j] = buffer[std::size_t(r * width + j)];
  }
};

template <class T> struct CallOf;
template <> struct CallOf<float> {
  using Elementwise = losskit_elementwise_f32;
  using Rowwise = losskit_rowwise_f32;
  static losskit_status run(const losskit_loss* l, const Elementwise* c, double* v) {
    return losskit_evaluate_f32(l, c, v);
  }
  static losskit_status run(const losskit_loss* l, const Rowwise* c, double* v) {
    return losskit_evaluate_rowwise_f32(l, c, v);
  }
};
template <> struct CallOf<double> {
  using Elementwise = losskit_elementwise_f64;
  using Rowwise = losskit_rowwise_f64;
  static losskit_status run(const losskit_loss* l, const Elementwise* c, double* v) {
    return losskit_evaluate_f64(l, c, v);
  }
  static losskit_status run(const losskit_loss* l, const Rowwise* c, double* v) {
    return losskit_evaluate_rowwise_f64(l, c, v);
  }
};

void check_elementwise(Index n, const void* input, Index input_stride, const void* target,
                       Index target_stride, Index weight_stride, int n_threads) {
  check_count(n, "n");
  check_stride(input_stride, "input_stride", false);
  check_stride(target_stride, "target_stride", false);
  check_stride(weight_stride, "weight_stride", false);
  check_pointer(input, n, "input");
  check_pointer(target, n, "target");
  check_threads(n_threads);
}

template <class T>
int value_and_grad(const losskit_loss* loss, Index n, const T* input, Index input_stride,
                   const T* target, Index target_stride, const T* sample_weight,
                   Index weight_stride, double* value, T* values, Index values_stride, T* grad,
                   Index grad_stride, int n_threads) noexcept {
  return guarded([&] {
    check_elementwise(n, input, input_stride, target, target_stride, weight_stride, n_threads);
    if (values) check_stride(values_stride, "values_stride", true);
    if (grad) check_stride(grad_stride, "grad_stride", true);
    std::optional<ScopedNumThreads> scope;
    if (n_threads > 0) scope.emplace(n_threads);
    const In<T> x(input, n, input_stride), y(target, n, target_stride),
        w(sample_weight, n, weight_stride);
    const Out<T> v(values, n, values_stride), g(grad, n, grad_stride);
    typename CallOf<T>::Elementwise call{};
    call.size = std::size_t(n);
    call.input = x.data;
    call.target = y.data;
    call.sample_weight = w.data;
    call.values = v.data;
    call.grad = g.data;
    const int s = status(CallOf<T>::run(loss, &call, value));
    if (s == LOSSKIT_OK) {
      v.commit();
      g.commit();
    }
    return s;
  });
}

template <class T>
int grad_hess(const losskit_loss* loss, Index n, const T* input, Index input_stride,
              const T* target, Index target_stride, const T* sample_weight, Index weight_stride,
              T* grad, Index grad_stride, T* hess, Index hess_stride, int hessian,
              int n_threads) noexcept {
  return guarded([&] {
    check_elementwise(n, input, input_stride, target, target_stride, weight_stride, n_threads);
    check_stride(grad_stride, "grad_stride", true);
    check_stride(hess_stride, "hess_stride", true);
    check_pointer(grad, n, "grad");
    check_pointer(hess, n, "hess");
    if (hessian < LOSSKIT_HESSIAN_EXACT || hessian > LOSSKIT_HESSIAN_POSITIVE)
      refuse("hessian must be 0 (exact), 1 (irls) or 2 (positive), got " + std::to_string(hessian));
    std::optional<ScopedNumThreads> scope;
    if (n_threads > 0) scope.emplace(n_threads);
    const In<T> x(input, n, input_stride), y(target, n, target_stride),
        w(sample_weight, n, weight_stride);
    const Out<T> g(grad, n, grad_stride), h(hess, n, hess_stride);
    typename CallOf<T>::Elementwise call{};
    call.size = std::size_t(n);
    call.input = x.data;
    call.target = y.data;
    call.sample_weight = w.data;
    call.grad = g.data;
    call.hess = h.data;
    call.hessian = static_cast<losskit_hessian>(hessian);
    const int s = status(CallOf<T>::run(loss, &call, nullptr));
    if (s == LOSSKIT_OK) {
      g.commit();
      h.commit();
    }
    return s;
  });
}

template <class T>
int rowwise_value_and_grad(const losskit_loss* loss, Index rows, Index classes, const T* input,
                           Index input_row_stride, const std::int64_t* labels, Index label_stride,
                           const T* sample_weight, Index weight_stride, double* value, T* grad,
                           Index grad_row_stride, int n_threads) noexcept {
  return guarded([&] {
    check_count(rows, "rows");
    check_count(classes, "classes");
    if (input_row_stride < classes)
      refuse("input_row_stride must be >= classes (" + std::to_string(classes) + "), got " +
             std::to_string(input_row_stride));
    if (grad && grad_row_stride < classes)
      refuse("grad_row_stride must be >= classes (" + std::to_string(classes) + "), got " +
             std::to_string(grad_row_stride));
    check_stride(label_stride, "label_stride", false);
    check_stride(weight_stride, "weight_stride", false);
    check_pointer(input, rows * classes, "input");
    check_pointer(labels, rows, "labels");
    check_threads(n_threads);
    std::optional<ScopedNumThreads> scope;
    if (n_threads > 0) scope.emplace(n_threads);
    const In<T> x(input, rows, input_row_stride, classes), w(sample_weight, rows, weight_stride);
    const In<std::int64_t> y(labels, rows, label_stride);
    const Out<T> g(grad, rows, grad_row_stride, classes);
    typename CallOf<T>::Rowwise call{};
    call.rows = std::size_t(rows);
    call.classes = std::size_t(classes);
    call.input = x.data;
    call.labels = y.data;
    call.sample_weight = w.data;
    call.grad = g.data;
    const int s = status(CallOf<T>::run(loss, &call, value));
    if (s == LOSSKIT_OK) g.commit();
    return s;
  });
}

int loss_new(const char* name, losskit_loss** out) { return status(losskit_loss_new(name, out)); }
int loss_set(losskit_loss* loss, const char* param, double value) {
  return status(losskit_loss_set(loss, param, value));
}
int loss_set_choice(losskit_loss* loss, const char* param, const char* choice) {
  return status(losskit_loss_set_choice(loss, param, choice));
}
int loss_set_reduction(losskit_loss* loss, int reduction) {
  if (reduction < LOSSKIT_REDUCTION_NONE || reduction > LOSSKIT_REDUCTION_BATCHMEAN) {
    message = "reduction must be 0 (none), 1 (sum), 2 (mean) or 3 (batchmean), got " +
              std::to_string(reduction);
    return LOSSKIT_INVALID_ARGUMENT;
  }
  return status(losskit_loss_set_reduction(loss, static_cast<losskit_reduction>(reduction)));
}
const char* last_error() { return message.c_str(); }

const Table kTable = {loss_new,
                      losskit_loss_free,
                      loss_set,
                      loss_set_choice,
                      loss_set_reduction,
                      last_error,
                      value_and_grad<float>,
                      value_and_grad<double>,
                      grad_hess<float>,
                      grad_hess<double>,
                      rowwise_value_and_grad<float>,
                      rowwise_value_and_grad<double>};

}  // namespace

const Table* table() { return &kTable; }

}  // namespace losskit::cython
