// Helpers shared by the binding files: fast NumPy checks that avoid creating Python objects.
#pragma once

#include <pybind11/numpy.h>
#include <pybind11/pybind11.h>
#include <pybind11/stl.h>

#include <cstddef>

namespace losskit::bindings {

namespace py = pybind11;

void bind_runtime(py::module_& m);
void bind_losses(py::module_& m);
void bind_optim(py::module_& m);
// Only where jaxlib's FFI headers were found (src/cpp/jax/): the handlers of losskit.jax.
void bind_jax_ffi(py::module_& m);

// Kernels on fewer elements than this keep the GIL: releasing and re-taking it costs more
// than the work.
inline constexpr std::size_t kReleaseGilMin = 8192;

// Runs fn() on n elements, without the GIL when there are enough of them to pay for it.
template <class Fn> void run_kernel(std::size_t n, const Fn& fn) {
  if (n >= kReleaseGilMin) {
    py::gil_scoped_release nogil;
    fn();
  } else {
    fn();
  }
}

// The element type a kernel runs on.
enum class Dtype { f32, f64, other };

// Which arrays a fast path takes: only exact ndarrays (the losses: a subclass such as a masked
// array may mean something else by its data, so the Python layer decides), or any ndarray
// subclass too (the optimizer and clipping update the user's own arrays, np.memmap included).
enum class Subclasses { refuse, accept };

// A NumPy array, C-contiguous, aligned, native byte order, float32 or float64. Everything
// else is reported as not canonical (losskit/_validation.py converts it).
inline Dtype canonical_dtype(py::handle h, Subclasses subclasses = Subclasses::refuse) {
  const auto& api = py::detail::npy_api::get();
  auto* array_type = reinterpret_cast<PyTypeObject*>(api.PyArray_Type_);
  if (subclasses == Subclasses::refuse ? Py_TYPE(h.ptr()) != array_type
                                       : !PyObject_TypeCheck(h.ptr(), array_type))
    return Dtype::other;
  const auto* a = py::detail::array_proxy(h.ptr());
  constexpr int kNeed = py::detail::npy_api::NPY_ARRAY_C_CONTIGUOUS_ |
                        py::detail::npy_api::NPY_ARRAY_ALIGNED_;
  if ((a->flags & kNeed) != kNeed) return Dtype::other;
  const auto* d = py::detail::array_descriptor_proxy(a->descr);
  if (d->byteorder == '>') return Dtype::other;
  if (d->type_num == py::detail::npy_api::NPY_FLOAT_) return Dtype::f32;
  if (d->type_num == py::detail::npy_api::NPY_DOUBLE_) return Dtype::f64;
  return Dtype::other;
}

// A C-contiguous int64 NumPy array (class labels).
inline bool is_int64_array(py::handle h) {
  const auto& api = py::detail::npy_api::get();
  if (Py_TYPE(h.ptr()) != api.PyArray_Type_) return false;
  const auto* a = py::detail::array_proxy(h.ptr());
  constexpr int kNeed = py::detail::npy_api::NPY_ARRAY_C_CONTIGUOUS_ |
                        py::detail::npy_api::NPY_ARRAY_ALIGNED_;
  if ((a->flags & kNeed) != kNeed) return false;
  const auto* d = py::detail::array_descriptor_proxy(a->descr);
  if (d->byteorder == '>') return false;
  return d->type_num == py::detail::npy_api::NPY_LONGLONG_ ||
         (sizeof(long) == 8 && d->type_num == py::detail::npy_api::NPY_LONG_);
}

inline int ndim(py::handle h) { return py::detail::array_proxy(h.ptr())->nd; }
inline const Py_intptr_t* dims(py::handle h) {
  return py::detail::array_proxy(h.ptr())->dimensions;
}
inline bool writeable(py::handle h) {
  return py::detail::array_proxy(h.ptr())->flags & py::detail::npy_api::NPY_ARRAY_WRITEABLE_;
}
template <class T> inline T* data(py::handle h) {
  return reinterpret_cast<T*>(py::detail::array_proxy(h.ptr())->data);
}
inline bool same_shape(py::handle a, py::handle b) {
  const int n = ndim(a);
  if (ndim(b) != n) return false;
  for (int i = 0; i < n; ++i)
    if (dims(a)[i] != dims(b)[i]) return false;
  return true;
}
inline std::size_t size_of(py::handle h) {
  std::size_t n = 1;
  for (int i = 0; i < ndim(h); ++i) n *= std::size_t(dims(h)[i]);
  return n;
}
// Bytes of an array the fast paths accept (float32, float64 or int64).
inline std::size_t nbytes(py::handle h) {
  const int type = py::detail::array_descriptor_proxy(py::detail::array_proxy(h.ptr())->descr)->type_num;
  return size_of(h) * (type == py::detail::npy_api::NPY_FLOAT_ ? 4 : 8);
}

// A new uninitialised array with h's shape.
template <class T> inline py::array_t<T> empty_like(py::handle h) {
  return py::array_t<T>(std::vector<py::ssize_t>(dims(h), dims(h) + ndim(h)));
}

}  // namespace losskit::bindings
