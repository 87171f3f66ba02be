// losskit._core: the only code that knows Python. Each family binds itself (bind_*.cpp).
#include <pybind11/pybind11.h>

#include "bindings.hpp"
#include "cython_table.hpp"

PYBIND11_MODULE(_core, m) {
  m.doc() = "losskit's compiled core (private: use the losskit package)";
  losskit::bindings::bind_runtime(m);
  losskit::bindings::bind_losses(m);
  losskit::bindings::bind_optim(m);
  // The array kernels of the Cython module losskit.kernels, which runs them through this module.
  m.attr("_cython_table") = pybind11::capsule(
      static_cast<const void*>(losskit::cython::table()), losskit::cython::kCapsuleName);
#ifdef LOSSKIT_JAX_FFI
  losskit::bindings::bind_jax_ffi(m);
#endif
}
